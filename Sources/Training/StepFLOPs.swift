// StepFLOPs.swift — the matmul FLOPs a training step computes, counted from its batches (for `orpo bench train`'s MFU):
// the positions the pair layout computes (packed: each prompt once, no padding; padded: every padded position) and
// the causal attention each needs, forward and backward; gradient checkpointing's recomputation is not counted.
import Data
import Models
import NN

public struct StepFLOPs: Sendable {
  /// Σ in·out over the linear layers (lm_head included), without adapters.
  public let baseWeights: Int
  /// Σ r·(in + out) over the LoRA adapters.
  public let adapterWeights: Int
  /// Whether the base weights get gradients (full fine-tuning) or only the inputs do (LoRA).
  public let trainsBase: Bool
  public let layers: Int
  /// heads × head_dim: the width of q·kᵀ and p·v.
  public let attentionWidth: Int

  public init(model: any CausalLanguageModel, trainsBase: Bool) {
    var base = 0, adapters = 0
    for (_, layer) in model.linearLayers {
      base += layer.inFeatures * layer.outFeatures
      if let lora = layer as? LoRALinear { adapters += lora.rank * (lora.inFeatures + lora.outFeatures) }
    }
    baseWeights = base
    adapterWeights = adapters
    self.trainsBase = trainsBase
    layers = model.config.numHiddenLayers
    let attention = model.linearLayers.first { $0.path.hasSuffix("self_attn.q_proj") }?.layer.outFeatures
    attentionWidth = attention ?? model.config.hiddenSize
  }

  /// Positions one forward computes for `pairs` and the (query, key) pairs causal attention needs among them.
  public static func work(of pairs: [EncodedPair], packed: Bool) -> (positions: Int, attended: Int) {
    func triangle(_ n: Int) -> Int { n * (n + 1) / 2 }
    if packed {
      var positions = 0, attended = 0
      for pair in pairs {
        // PackedPairCollator's segment: the shared prefix, then each tail without its last token.
        let s = pair.sharedPrefixLength
        let (ct, rt) = (max(pair.chosenIDs.count - s - 1, 0), max(pair.rejectedIDs.count - s - 1, 0))
        positions += s + ct + rt
        attended += triangle(s) + ct * s + triangle(ct) + rt * s + triangle(rt)
      }
      return (positions, attended)
    }
    let t = pairs.flatMap { [$0.chosenIDs.count, $0.rejectedIDs.count] }.max() ?? 0
    return (2 * pairs.count * t, 2 * pairs.count * triangle(t))
  }

  /// Forward + backward FLOPs: 2 per weight per position forward, 2 for the input gradient, 2 more for the weight
  /// gradient where it is trained (adapters always); attention 4·width per (query, key) forward, twice that backward.
  public func training(positions: Int, attended: Int) -> Double {
    let linear = Double(positions) * (Double(baseWeights) * (trainsBase ? 6 : 4) + Double(adapterWeights) * 6)
    let attention = Double(attended) * Double(layers) * Double(attentionWidth) * 12
    return linear + attention
  }
}

// ModelShapes.swift — a Llama-family model's weights known from config.json alone: every checkpoint key with its
// shape and which are linear layers (parameter counts and memory estimates without the weights), and a random
// initialisation drawn tensor by tensor (memory and speed checks at a real model's size without downloading it).
import Foundation
import NN
import Torch

/// One weight of the model as its checkpoint names it.
public struct WeightShape: Equatable, Sendable {
  public let key: String
  public let shape: [Int]
  /// The linear layer this weight (or bias) belongs to (`model.layers.0.self_attn.q_proj`), nil for embeddings and
  /// norms.
  public let linearPath: String?
  public var elementCount: Int { shape.reduce(1, *) }
}

extension LlamaConfiguration {
  /// Every weight `LlamaForCausalLM` (or `Qwen3ForCausalLM`, `Phi3ForCausalLM`, `Gemma3ForCausalLM`) reads, in declaration order (a tied lm_head is the embedding, listed once).
  public var weightShapes: [WeightShape] {
    let (c, i, v) = (hiddenSize, intermediateSize, vocabSize)
    let (q, kv) = (numAttentionHeads * resolvedHeadDim, kvHeads * resolvedHeadDim)
    var shapes = [WeightShape(key: "model.embed_tokens.weight", shape: [v, c], linearPath: nil)]
    func linear(_ path: String, _ out: Int, _ inFeatures: Int, bias: Bool) {
      shapes.append(WeightShape(key: "\(path).weight", shape: [out, inFeatures], linearPath: path))
      if bias { shapes.append(WeightShape(key: "\(path).bias", shape: [out], linearPath: path)) }
    }
    for layer in 0..<numHiddenLayers {
      let p = "model.layers.\(layer)"
      if isPhi3 {  // fused projections
        linear("\(p).self_attn.qkv_proj", q + 2 * kv, c, bias: attentionBias ?? false)
        linear("\(p).self_attn.o_proj", c, q, bias: attentionBias ?? false)
        linear("\(p).mlp.gate_up_proj", 2 * i, c, bias: false)
        linear("\(p).mlp.down_proj", c, i, bias: false)
      } else {
        linear("\(p).self_attn.q_proj", q, c, bias: qkvBias)
        linear("\(p).self_attn.k_proj", kv, c, bias: qkvBias)
        linear("\(p).self_attn.v_proj", kv, c, bias: qkvBias)
        linear("\(p).self_attn.o_proj", c, q, bias: outputBias)
        if isQwen3 || isGemma3 {
          shapes.append(WeightShape(key: "\(p).self_attn.q_norm.weight", shape: [resolvedHeadDim], linearPath: nil))
          shapes.append(WeightShape(key: "\(p).self_attn.k_norm.weight", shape: [resolvedHeadDim], linearPath: nil))
        }
        linear("\(p).mlp.gate_proj", i, c, bias: mlpBias ?? false)
        linear("\(p).mlp.up_proj", i, c, bias: mlpBias ?? false)
        linear("\(p).mlp.down_proj", c, i, bias: mlpBias ?? false)
      }
      shapes.append(WeightShape(key: "\(p).input_layernorm.weight", shape: [c], linearPath: nil))
      shapes.append(WeightShape(key: "\(p).post_attention_layernorm.weight", shape: [c], linearPath: nil))
      if isGemma3 {
        shapes.append(WeightShape(key: "\(p).pre_feedforward_layernorm.weight", shape: [c], linearPath: nil))
        shapes.append(WeightShape(key: "\(p).post_feedforward_layernorm.weight", shape: [c], linearPath: nil))
      }
    }
    shapes.append(WeightShape(key: "model.norm.weight", shape: [c], linearPath: nil))
    if !tiesEmbeddings { shapes.append(WeightShape(key: "lm_head.weight", shape: [v, c], linearPath: "lm_head")) }
    return shapes
  }

  /// All parameters (a tied lm_head counted once, as `model.num_parameters()` does).
  public var parameterCount: Int { weightShapes.reduce(0) { $0 + $1.elementCount } }

  /// The linear layers with their [out, in], in declaration order; lm_head last (also when tied to the embedding).
  public var linearShapes: [(path: String, outFeatures: Int, inFeatures: Int)] {
    var layers = weightShapes.compactMap { w -> (String, Int, Int)? in
      guard let path = w.linearPath, w.key.hasSuffix(".weight") else { return nil }
      return (path, w.shape[0], w.shape[1])
    }
    if tiesEmbeddings { layers.append(("lm_head", vocabSize, hiddenSize)) }
    return layers
  }
}

extension CheckpointReader {
  /// A model of `config`'s shape with random weights, drawn one tensor at a time as layers are built (norms 1,
  /// biases 0, everything else N(0, 0.02²) as transformers' `initializer_range` draws them) from one seeded generator.
  public static func randomWeights(_ config: LlamaConfiguration, seed: UInt64 = 0) throws -> CheckpointReader {
    let shapes = Dictionary(uniqueKeysWithValues: config.weightShapes.map { ($0.key, $0) })
    let generator = try Generator(seed: seed)
    return CheckpointReader(url: URL(fileURLWithPath: "random-weights"), config: config, format: .random,
                            keys: config.weightShapes.map(\.key), gguf: nil, ggufTensors: [:]) { key, dtype, _ in
      guard let w = shapes[key] else { return nil }
      if key.hasSuffix("norm.weight") {  // Gemma's norms scale by (1 + w): transformers starts w at 0
        return config.isGemma3 ? try Tensor.zeros(w.shape, dtype: dtype) : try Tensor.ones(w.shape, dtype: dtype)
      }
      if key.hasSuffix(".bias") { return try Tensor.zeros(w.shape, dtype: dtype) }
      let t = try Tensor.randn(w.shape, generator: generator) * 0.02
      return dtype == .float32 ? t : try t.to(dtype: dtype)
    }
  }
}

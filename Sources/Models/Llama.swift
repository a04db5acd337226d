// Llama.swift — the Llama-family decoder (Llama 2/3/3.x, Mistral, Qwen2, SmolLM2): grouped-query attention,
// RMSNorm, SwiGLU, RoPE; parameter paths equal Hugging Face checkpoint keys. The stack itself is Decoder.swift.
import Foundation
import NN
import Torch

/// The shared decoder stack (Decoder.swift) over the Llama family's layers.
public typealias LlamaForCausalLM = DecoderForCausalLM<LlamaArchitecture>

/// The Llama family (`LlamaForCausalLM`); Qwen3 (Qwen3.swift), Phi-3 (Phi3.swift) and Gemma 3 (Gemma3.swift) have their own.
public enum LlamaArchitecture: DecoderArchitecture {
  public typealias Layer = PreNormDecoderLayer<LlamaAttention, LlamaMLP>
  public static func check(_ config: LlamaConfiguration) throws {
    guard !config.isQwen3 && !config.isPhi3 && !config.isGemma3 else {  // their own files; a Llama over their weights would drop layers
      throw ModelError("\(config.architecture) is not a Llama-family model: build it with makeCausalLanguageModel")
    }
  }
}

/// Separate q/k/v projections; with `config.queryKeyNorms` (Qwen3) an RMSNorm over each head's queries and keys.
public final class LlamaAttention: SelfAttention {
  public let path: String
  @LinearSlot public var qProj: any LinearLayer
  @LinearSlot public var kProj: any LinearLayer
  @LinearSlot public var vProj: any LinearLayer
  @LinearSlot public var oProj: any LinearLayer
  public let qNorm, kNorm: RMSNorm?
  public let sizes: AttentionSizes

  public init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    sizes = AttentionSizes(config)
    let (hidden, q, kv) = (config.hiddenSize, sizes.queryWidth, sizes.keyValueWidth)
    qProj = try weights.linear("q_proj", shape: [q, hidden], bias: config.qkvBias)
    kProj = try weights.linear("k_proj", shape: [kv, hidden], bias: config.qkvBias)
    vProj = try weights.linear("v_proj", shape: [kv, hidden], bias: config.qkvBias)
    oProj = try weights.linear("o_proj", shape: [hidden, q], bias: config.outputBias)
    qNorm = config.queryKeyNorms ? try RMSNorm(weights["q_norm"], epsilon: config.rmsNormEps) : nil
    kNorm = config.queryKeyNorms ? try RMSNorm(weights["k_norm"], epsilon: config.rmsNormEps) : nil
  }

  // x [B, T, C] -> [B, T, H*d] -> [B, T, H, d] (-> per-head RMSNorm over d) -> [B, H, T, d]
  public func queriesKeysValues(_ x: Tensor, training: Bool) throws -> (q: Tensor, k: Tensor, v: Tensor) {
    let (b, t) = (x.size(0), x.size(1))
    func split(_ projected: Tensor, heads: Int, norm: RMSNorm?) throws -> Tensor {
      let perHead = try projected.view([b, t, heads, sizes.headDim])
      return try (norm.map { try $0(perHead) } ?? perHead).transposed(1, 2)
    }
    return try (split(qProj(x, training: training), heads: sizes.heads, norm: qNorm),
                split(kProj(x, training: training), heads: sizes.kvHeads, norm: kNorm),
                split(vProj(x, training: training), heads: sizes.kvHeads, norm: nil))
  }
}

public final class LlamaMLP: FeedForward {
  public let path: String
  @LinearSlot public var gateProj: any LinearLayer
  @LinearSlot public var upProj: any LinearLayer
  @LinearSlot public var downProj: any LinearLayer

  public init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    let (hidden, inner, bias) = (config.hiddenSize, config.intermediateSize, config.mlpBias ?? false)
    gateProj = try weights.linear("gate_proj", shape: [inner, hidden], bias: bias)
    upProj = try weights.linear("up_proj", shape: [inner, hidden], bias: bias)
    downProj = try weights.linear("down_proj", shape: [hidden, inner], bias: bias)
  }

  // [B, T, C] -> [B, T, C]
  public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
    let gate = try gateProj(x, training: training), up = try upProj(x, training: training)  // [B, T, I] each
    return try downProj(Functional.gatedActivation(gate: gate, up: up), training: training)  // silu(gate) · up
  }
}

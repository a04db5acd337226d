// Phi3.swift — the Phi-3 decoder (transformers' `Phi3ForCausalLM`): the Llama family's blocks with fused projections,
// `qkv_proj` (queries, keys, values stacked by rows) and `gate_up_proj` (gate, then up), and Mistral's sliding window.
import Foundation
import NN
import Torch

/// The shared decoder stack (Decoder.swift) over Phi-3's layers.
public typealias Phi3ForCausalLM = DecoderForCausalLM<Phi3Architecture>

public enum Phi3Architecture: DecoderArchitecture {
  public typealias Layer = PreNormDecoderLayer<Phi3Attention, Phi3MLP>
  public static func check(_ config: LlamaConfiguration) throws {
    guard config.isPhi3 else { throw ModelError("Phi3ForCausalLM needs a phi3 config, got \(config.architecture)") }
    let factor = config.resolvedPartialRotaryFactor
    if factor != 1 {
      throw ModelError("Phi-3 with partial_rotary_factor \(factor) is not supported (Phi-3 itself rotates whole heads)")
    }
  }
}

public final class Phi3Attention: SelfAttention {
  public let path: String
  @LinearSlot public var qkvProj: any LinearLayer
  @LinearSlot public var oProj: any LinearLayer
  public let sizes: AttentionSizes

  public init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    sizes = AttentionSizes(config)
    let (hidden, bias) = (config.hiddenSize, config.attentionBias ?? false)
    qkvProj = try weights.linear("qkv_proj", shape: [sizes.queryWidth + 2 * sizes.keyValueWidth, hidden], bias: bias)
    oProj = try weights.linear("o_proj", shape: [hidden, sizes.queryWidth], bias: bias)
  }

  // x [B, T, C] -> [B, T, (H + 2 Hkv) d] -> q [B, T, H d], k and v [B, T, Hkv d] -> [B, heads, T, d]
  public func queriesKeysValues(_ x: Tensor, training: Bool) throws -> (q: Tensor, k: Tensor, v: Tensor) {
    let (b, t) = (x.size(0), x.size(1))
    let qkv = try qkvProj(x, training: training)
    let (qWidth, kvWidth, d) = (sizes.queryWidth, sizes.keyValueWidth, sizes.headDim)
    return try (qkv.narrow(2, start: 0, length: qWidth).reshape([b, t, sizes.heads, d]).transposed(1, 2),
                qkv.narrow(2, start: qWidth, length: kvWidth).reshape([b, t, sizes.kvHeads, d]).transposed(1, 2),
                qkv.narrow(2, start: qWidth + kvWidth, length: kvWidth).reshape([b, t, sizes.kvHeads, d]).transposed(1, 2))
  }
}

public final class Phi3MLP: FeedForward {
  public let path: String
  @LinearSlot public var gateUpProj: any LinearLayer
  @LinearSlot public var downProj: any LinearLayer
  let inner: Int

  public init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    inner = config.intermediateSize
    gateUpProj = try weights.linear("gate_up_proj", shape: [2 * inner, config.hiddenSize], bias: false)
    downProj = try weights.linear("down_proj", shape: [config.hiddenSize, inner], bias: false)
  }

  // [B, T, C] -> [B, T, 2I] -> gate, up [B, T, I] -> [B, T, C]
  public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
    let gateUp = try gateUpProj(x, training: training)
    let gate = try gateUp.narrow(-1, start: 0, length: inner)
    let up = try gateUp.narrow(-1, start: inner, length: inner)
    return try downProj(Functional.gatedActivation(gate: gate, up: up), training: training)  // silu(gate) · up
  }
}

// Phi3.swift — the Phi-3 decoder (transformers' `Phi3ForCausalLM`): the Llama family's blocks with fused projections,
// `qkv_proj` (queries, keys, values stacked by rows) and `gate_up_proj` (gate, then up), and Mistral's sliding window.
import Foundation
import NN
import Torch

public final class Phi3Attention: Module {
  public let path: String
  @LinearSlot public var qkvProj: any LinearLayer
  @LinearSlot public var oProj: any LinearLayer
  let heads, kvHeads, headDim: Int

  init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    heads = config.numAttentionHeads
    kvHeads = config.kvHeads
    headDim = config.resolvedHeadDim
    let (hidden, bias) = (config.hiddenSize, config.attentionBias ?? false)
    qkvProj = try weights.linear("qkv_proj", shape: [(heads + 2 * kvHeads) * headDim, hidden], bias: bias)
    oProj = try weights.linear("o_proj", shape: [hidden, heads * headDim], bias: bias)
  }

  // x [B, T, C] -> [B, T, C]
  func callAsFunction(_ x: Tensor, cos: Tensor, sin: Tensor, mask: AttentionMask, cache: KVCache?, layer: Int,
                      training: Bool) throws -> Tensor
  {
    let (b, t) = (x.size(0), x.size(1))
    // [B, T, (H + 2 Hkv) d] -> q [B, T, H d], k and v [B, T, Hkv d] -> [B, heads, T, d]
    let qkv = try qkvProj(x, training: training)
    let (qWidth, kvWidth) = (heads * headDim, kvHeads * headDim)
    var q = try qkv.narrow(2, start: 0, length: qWidth).reshape([b, t, heads, headDim]).transposed(1, 2)
    var k = try qkv.narrow(2, start: qWidth, length: kvWidth).reshape([b, t, kvHeads, headDim]).transposed(1, 2)
    var v = try qkv.narrow(2, start: qWidth + kvWidth, length: kvWidth).reshape([b, t, kvHeads, headDim]).transposed(1, 2)
    q = try RotaryEmbedding.apply(q, cos: cos, sin: sin)
    k = try RotaryEmbedding.apply(k, cos: cos, sin: sin)
    if let cache {
      if let pk = cache.keys[layer], let pv = cache.values[layer] {
        k = try Tensor.cat([pk, k], dim: 2)
        v = try Tensor.cat([pv, v], dim: 2)
      }
      cache.keys[layer] = k
      cache.values[layer] = v
    }
    if kvHeads != heads {  // repeat_kv: [B, Hkv, Tk, d] -> [B, H, Tk, d]
      let (rep, tk) = (heads / kvHeads, k.size(2))
      k = try k.unsqueezed(2).expanded(to: [b, kvHeads, rep, tk, headDim]).reshape([b, heads, tk, headDim])
      v = try v.unsqueezed(2).expanded(to: [b, kvHeads, rep, tk, headDim]).reshape([b, heads, tk, headDim])
    }
    let out: Tensor
    switch mask {
    case .causal: out = try Functional.scaledDotProductAttention(query: q, key: k, value: v, isCausal: true)
    case .none: out = try Functional.scaledDotProductAttention(query: q, key: k, value: v)
    case .explicit(let m): out = try Functional.scaledDotProductAttention(query: q, key: k, value: v, mask: m)
    }
    // [B, H, T, d] -> [B, T, H*d] -> [B, T, C]
    return try oProj(out.transposed(1, 2).reshape([b, t, heads * headDim]), training: training)
  }
}

public final class Phi3MLP: Module {
  public let path: String
  @LinearSlot public var gateUpProj: any LinearLayer
  @LinearSlot public var downProj: any LinearLayer
  let inner: Int

  init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    inner = config.intermediateSize
    gateUpProj = try weights.linear("gate_up_proj", shape: [2 * inner, config.hiddenSize], bias: false)
    downProj = try weights.linear("down_proj", shape: [config.hiddenSize, inner], bias: false)
  }

  // [B, T, C] -> [B, T, 2I] -> gate, up [B, T, I] -> [B, T, C]
  func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
    let gateUp = try gateUpProj(x, training: training)
    let gate = try gateUp.narrow(-1, start: 0, length: inner)
    let up = try gateUp.narrow(-1, start: inner, length: inner)
    return try downProj(up * gate.silu(), training: training)
  }
}

public final class Phi3DecoderLayer: Module {
  public let path: String
  public let selfAttn: Phi3Attention
  public let mlp: Phi3MLP
  public let inputLayernorm, postAttentionLayernorm: RMSNorm

  init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    selfAttn = try Phi3Attention(weights["self_attn"], config: config)
    mlp = try Phi3MLP(weights["mlp"], config: config)
    inputLayernorm = try RMSNorm(weights["input_layernorm"], epsilon: config.rmsNormEps)
    postAttentionLayernorm = try RMSNorm(weights["post_attention_layernorm"], epsilon: config.rmsNormEps)
  }
}

public final class Phi3ForCausalLM: CausalLanguageModel {
  public let path = ""
  public var config: LlamaConfiguration
  public let embedTokens: Embedding
  public let layers: [Phi3DecoderLayer]
  public let norm: RMSNorm
  @LinearSlot public var lmHead: any LinearLayer
  public let rotary: RotaryEmbedding
  public var gradientCheckpointing = false
  public var training = false

  public convenience init(config: LlamaConfiguration, parameters: ParameterStore) throws {
    try self.init(config: config, weights: ParameterSource(parameters))
  }

  public init(config: LlamaConfiguration, weights: ParameterSource) throws {
    try config.validate()
    guard config.isPhi3 else { throw ModelError("Phi3ForCausalLM needs a phi3 config, got \(config.architecture)") }
    let factor = config.resolvedPartialRotaryFactor
    if factor != 1 {
      throw ModelError("Phi-3 with partial_rotary_factor \(factor) is not supported (Phi-3 itself rotates whole heads)")
    }
    self.config = config
    let (vocab, hidden) = (config.vocabSize, config.hiddenSize)
    do {
      embedTokens = try Embedding(weights["model"]["embed_tokens"], shape: [vocab, hidden])
      layers = try (0..<config.numHiddenLayers).map {
        try Phi3DecoderLayer(weights["model"]["layers"][$0], config: config)
      }
      norm = try RMSNorm(weights["model"]["norm"], epsilon: config.rmsNormEps)
      lmHead = config.tiesEmbeddings ? Linear(path: weights["lm_head"].path, weight: embedTokens.weight)
        : try Linear(weights["lm_head"], shape: [vocab, hidden])
      rotary = try RotaryEmbedding(headDim: config.resolvedHeadDim, theta: config.resolvedRopeTheta,
                                   scaling: config.resolvedRopeScaling)
    } catch let error as NNError {
      throw ModelError(error.description)
    }
  }

  public var dtype: DType { embedTokens.weight.dtype }
  public var device: Device { embedTokens.weight.device }

  public func resizeTokenEmbeddings(to size: Int) throws {
    try resizeEmbeddings(embedTokens, lmHead: lmHead, tied: config.tiesEmbeddings, to: size)
    config.vocabSize = size
  }

  // ids [B, T] -> [B, T, C] (see CausalLanguageModel)
  public func hiddenStates(inputIDs: Tensor, attentionMask: Tensor?, positions: Tensor?, cache: KVCache?,
                           blockMask: Tensor?) throws -> Tensor
  {
    let (b, t) = (inputIDs.size(0), inputIDs.size(1))
    let past = cache?.length ?? 0
    let pos = try positions ?? Tensor.arange(Double(past), Double(past + t), dtype: .int64, device: device)
      .unsqueezed(0).expanded(to: [b, t])
    let mask = try blockMask.map { AttentionMask.explicit($0) }
      ?? causalAttentionMask(batch: b, queries: t, past: past, attentionMask: attentionMask,
                             window: config.effectiveSlidingWindow, device: device)
    var h = try embedTokens(inputIDs)
    let (cos, sin) = try rotary.cosSin(positions: pos, dtype: h.dtype)
    for (i, layer) in layers.enumerated() {
      let run: (Tensor) throws -> Tensor = { [training] x in
        let a = try x + layer.selfAttn(layer.inputLayernorm(x), cos: cos, sin: sin, mask: mask, cache: cache, layer: i,
                                       training: training)
        return try a + layer.mlp(layer.postAttentionLayernorm(a), training: training)
      }
      if gradientCheckpointing && GradMode.isEnabled && cache == nil {
        h = try checkpoint([h]) { [try run($0[0])] }[0]
      } else {
        h = try run(h)
      }
    }
    return try norm(h)
  }
}

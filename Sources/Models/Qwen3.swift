// Qwen3.swift — the Qwen3 decoder (transformers' `Qwen3ForCausalLM`): the Llama family's blocks with an RMSNorm over
// each head's queries and keys (`q_norm`, `k_norm`, over head_dim) before RoPE; no q/k/v biases unless attention_bias.
import Foundation
import NN
import Torch

public final class Qwen3Attention: Module {
  public let path: String
  @LinearSlot public var qProj: any LinearLayer
  @LinearSlot public var kProj: any LinearLayer
  @LinearSlot public var vProj: any LinearLayer
  @LinearSlot public var oProj: any LinearLayer
  public let qNorm, kNorm: RMSNorm
  let heads, kvHeads, headDim: Int

  init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    heads = config.numAttentionHeads
    kvHeads = config.kvHeads
    headDim = config.resolvedHeadDim
    let (hidden, bias) = (config.hiddenSize, config.attentionBias ?? false)
    qProj = try weights.linear("q_proj", shape: [heads * headDim, hidden], bias: bias)
    kProj = try weights.linear("k_proj", shape: [kvHeads * headDim, hidden], bias: bias)
    vProj = try weights.linear("v_proj", shape: [kvHeads * headDim, hidden], bias: bias)
    oProj = try weights.linear("o_proj", shape: [hidden, heads * headDim], bias: bias)
    qNorm = try RMSNorm(weights["q_norm"], epsilon: config.rmsNormEps)
    kNorm = try RMSNorm(weights["k_norm"], epsilon: config.rmsNormEps)
  }

  // x [B, T, C] -> [B, T, C]
  func callAsFunction(_ x: Tensor, cos: Tensor, sin: Tensor, mask: AttentionMask, cache: KVCache?, layer: Int,
                      training: Bool) throws -> Tensor
  {
    let (b, t) = (x.size(0), x.size(1))
    // [B, T, H*d] -> [B, T, H, d] -> per-head RMSNorm over d -> [B, H, T, d]
    var q = try qNorm(qProj(x, training: training).view([b, t, heads, headDim])).transposed(1, 2)
    var k = try kNorm(kProj(x, training: training).view([b, t, kvHeads, headDim])).transposed(1, 2)
    var v = try vProj(x, training: training).view([b, t, kvHeads, headDim]).transposed(1, 2)
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

public final class Qwen3DecoderLayer: Module {
  public let path: String
  public let selfAttn: Qwen3Attention
  public let mlp: LlamaMLP  // SwiGLU, as Llama's
  public let inputLayernorm, postAttentionLayernorm: RMSNorm

  init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    selfAttn = try Qwen3Attention(weights["self_attn"], config: config)
    mlp = try LlamaMLP(weights["mlp"], config: config)
    inputLayernorm = try RMSNorm(weights["input_layernorm"], epsilon: config.rmsNormEps)
    postAttentionLayernorm = try RMSNorm(weights["post_attention_layernorm"], epsilon: config.rmsNormEps)
  }
}

public final class Qwen3ForCausalLM: CausalLanguageModel {
  public let path = ""
  public var config: LlamaConfiguration
  public let embedTokens: Embedding
  public let layers: [Qwen3DecoderLayer]
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
    guard config.isQwen3 else { throw ModelError("Qwen3ForCausalLM needs a qwen3 config, got \(config.architecture)") }
    if config.useSlidingWindow == true {
      throw ModelError("Qwen3 with use_sliding_window (per-layer windows) is not supported; its released models leave it off")
    }
    self.config = config
    let (vocab, hidden) = (config.vocabSize, config.hiddenSize)
    do {
      embedTokens = try Embedding(weights["model"]["embed_tokens"], shape: [vocab, hidden])
      layers = try (0..<config.numHiddenLayers).map {
        try Qwen3DecoderLayer(weights["model"]["layers"][$0], config: config)
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
      ?? causalAttentionMask(batch: b, queries: t, past: past, attentionMask: attentionMask, window: nil, device: device)
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

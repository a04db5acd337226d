// Llama.swift — the Llama-family decoder (Llama 2/3/3.x, Mistral, Qwen2, SmolLM2): grouped-query attention,
// RMSNorm, SwiGLU, RoPE; parameter paths equal Hugging Face checkpoint keys.
import Foundation
import NN
import Torch

public final class LlamaAttention: Module {
  public let path: String
  @LinearSlot public var qProj: any LinearLayer
  @LinearSlot public var kProj: any LinearLayer
  @LinearSlot public var vProj: any LinearLayer
  @LinearSlot public var oProj: any LinearLayer
  let heads, kvHeads, headDim: Int

  init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    heads = config.numAttentionHeads
    kvHeads = config.kvHeads
    headDim = config.resolvedHeadDim
    let hidden = config.hiddenSize
    qProj = try weights.linear("q_proj", shape: [heads * headDim, hidden], bias: config.qkvBias)
    kProj = try weights.linear("k_proj", shape: [kvHeads * headDim, hidden], bias: config.qkvBias)
    vProj = try weights.linear("v_proj", shape: [kvHeads * headDim, hidden], bias: config.qkvBias)
    oProj = try weights.linear("o_proj", shape: [hidden, heads * headDim], bias: config.outputBias)
  }

  // x [B, T, C] -> [B, T, C]
  func callAsFunction(_ x: Tensor, cos: Tensor, sin: Tensor, mask: AttentionMask, cache: KVCache?, layer: Int,
                      training: Bool) throws -> Tensor
  {
    let (b, t) = (x.size(0), x.size(1))
    // [B, T, H*d] -> [B, H, T, d]
    var q = try qProj(x, training: training).view([b, t, heads, headDim]).transposed(1, 2)
    var k = try kProj(x, training: training).view([b, t, kvHeads, headDim]).transposed(1, 2)
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
    if kvHeads != heads {  // repeat_kv: [B, Hkv, T, d] -> [B, H, T, d]
      let rep = heads / kvHeads
      let tk = k.size(2)
      k = try k.unsqueezed(2).expanded(to: [b, kvHeads, rep, tk, headDim]).reshape([b, heads, tk, headDim])
      v = try v.unsqueezed(2).expanded(to: [b, kvHeads, rep, tk, headDim]).reshape([b, heads, tk, headDim])
    }
    let out: Tensor
    switch mask {
    case .causal:
      out = try Functional.scaledDotProductAttention(query: q, key: k, value: v, isCausal: true)
    case .none:
      out = try Functional.scaledDotProductAttention(query: q, key: k, value: v)
    case .explicit(let m):
      out = try Functional.scaledDotProductAttention(query: q, key: k, value: v, mask: m)
    }
    // [B, H, T, d] -> [B, T, H*d] -> [B, T, C]
    return try oProj(out.transposed(1, 2).reshape([b, t, heads * headDim]), training: training)
  }
}

public final class LlamaMLP: Module {
  public let path: String
  @LinearSlot public var gateProj: any LinearLayer
  @LinearSlot public var upProj: any LinearLayer
  @LinearSlot public var downProj: any LinearLayer

  init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    let (hidden, inner, bias) = (config.hiddenSize, config.intermediateSize, config.mlpBias ?? false)
    gateProj = try weights.linear("gate_proj", shape: [inner, hidden], bias: bias)
    upProj = try weights.linear("up_proj", shape: [inner, hidden], bias: bias)
    downProj = try weights.linear("down_proj", shape: [hidden, inner], bias: bias)
  }

  // [B, T, C] -> [B, T, C]
  func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
    try downProj(gateProj(x, training: training).silu() * upProj(x, training: training), training: training)
  }
}

public final class LlamaDecoderLayer: Module {
  public let path: String
  public let selfAttn: LlamaAttention
  public let mlp: LlamaMLP
  public let inputLayernorm, postAttentionLayernorm: RMSNorm

  init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    selfAttn = try LlamaAttention(weights["self_attn"], config: config)
    mlp = try LlamaMLP(weights["mlp"], config: config)
    inputLayernorm = try RMSNorm(weights["input_layernorm"], epsilon: config.rmsNormEps)
    postAttentionLayernorm = try RMSNorm(weights["post_attention_layernorm"], epsilon: config.rmsNormEps)
  }
}

public final class LlamaForCausalLM: CausalLanguageModel {
  public let path = ""
  public var config: LlamaConfiguration
  public let embedTokens: Embedding
  public let layers: [LlamaDecoderLayer]
  public let norm: RMSNorm
  @LinearSlot public var lmHead: any LinearLayer
  public let rotary: RotaryEmbedding
  public var gradientCheckpointing = false
  public var training = false

  /// Builds the model over `parameters` (keys as in a Hugging Face checkpoint). Missing keys are an error naming
  /// the key; the tensors are used as given (no copy).
  public convenience init(config: LlamaConfiguration, parameters: ParameterStore) throws {
    try self.init(config: config, weights: ParameterSource(parameters))
  }

  /// Builds the model from `weights`, which reads each tensor as its layer is built (and may make quantized
  /// projections). The output layer is always dense, as transformers keeps it when it quantizes.
  public init(config: LlamaConfiguration, weights: ParameterSource) throws {
    try config.validate()
    guard !config.isQwen3 && !config.isPhi3 else {  // their own files; a Llama over their weights would drop layers
      throw ModelError("\(config.architecture) is not a Llama-family model: build it with makeCausalLanguageModel")
    }
    self.config = config
    let (vocab, hidden) = (config.vocabSize, config.hiddenSize)
    do {
      embedTokens = try Embedding(weights["model"]["embed_tokens"], shape: [vocab, hidden])
      layers = try (0..<config.numHiddenLayers).map {
        try LlamaDecoderLayer(weights["model"]["layers"][$0], config: config)
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

  /// New rows start at the mean of the existing ones (see `resizeEmbeddings`).
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
      ?? buildMask(batch: b, queries: t, past: past, attentionMask: attentionMask)
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

  /// Causal + key-padding (+ sliding-window) mask, exactly the positions Hugging Face lets each query attend to.
  func buildMask(batch b: Int, queries t: Int, past: Int, attentionMask: Tensor?) throws -> AttentionMask {
    try causalAttentionMask(batch: b, queries: t, past: past, attentionMask: attentionMask,
                            window: config.effectiveSlidingWindow, device: device)
  }
}

/// Causal + key-padding (+ sliding-window) mask, exactly the positions Hugging Face lets each query attend to
/// (shared by the architecture files).
func causalAttentionMask(batch b: Int, queries t: Int, past: Int, attentionMask: Tensor?, window slidingWindow: Int?,
                         device: Device) throws -> AttentionMask
{
  let keys = past + t
  let window = slidingWindow.flatMap { keys > $0 ? $0 : nil }
  let padded = try attentionMask.map { try $0.eq(0).any().item() != 0 } ?? false
  if !padded && window == nil {
    if past == 0 { return .causal }
    if t == 1 { return .none }
  }
  // query i sits at absolute position past + i and may see keys j <= past + i
  let q = try Tensor.arange(Double(past), Double(keys), dtype: .int64, device: device).unsqueezed(1)  // [T, 1]
  let k = try Tensor.arange(keys, dtype: .int64, device: device).unsqueezed(0)                 // [1, Tk]
  var allowed = try k.le(q)
  if let window { allowed = try allowed.logicalAnd(k.gt(q - Double(window))) }
  var m = try allowed.unsqueezed(0).unsqueezed(0)  // [1, 1, T, Tk]
  if let attentionMask, padded {
    let keyMask = try attentionMask.ne(0).view([b, 1, 1, keys])
    m = try m.logicalAnd(keyMask)
    // A query with nothing to attend to (left padding) attends to itself, so SDPA gives no NaN.
    let empty = try m.sum(dims: [3], keepDim: true).eq(0)
    let diagonal = try k.eq(q).unsqueezed(0).unsqueezed(0)
    m = try m.logicalOr(empty.logicalAnd(diagonal))
  }
  return .explicit(m)
}

/// Resizes a token embedding (and an untied output layer) to `size` rows. New rows start at the mean of the
/// existing ones (transformers' `mean_resizing` samples around that mean; we take its centre, deterministically). A
/// tied output layer keeps sharing the embedding.
func resizeEmbeddings(_ embedTokens: Embedding, lmHead: any LinearLayer, tied: Bool, to size: Int) throws {
  let old = embedTokens.weight
  let rows = old.size(0)
  guard size != rows else { return }
  guard size > 0 else { throw ModelError("cannot resize the embeddings to \(size) rows") }
  guard let head = lmHead as? Linear else {
    throw ModelError("cannot resize the embeddings: lm_head is a \(type(of: lmHead)), resize before adding adapters")
  }
  func resized(_ w: Tensor) throws -> Tensor {
    try withNoGrad {
      if size < rows { return try w.narrow(0, start: 0, length: size).contiguous() }
      let mean = try w.to(dtype: .float32).mean(dim: 0, keepDim: true).to(dtype: w.dtype)
      return try Tensor.cat([w, mean.expanded(to: [size - rows, w.size(1)])], dim: 0).contiguous()
    }
  }
  embedTokens.weight = try resized(old)
  head.weight = tied ? embedTokens.weight : try resized(head.weight)
}

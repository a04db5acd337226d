// Decoder.swift — the decoder-only stack every architecture file shares (transformers' `XModel` + `XForCausalLM`):
// embedding, layers, final norm, output layer, the attention core (RoPE, KV cache, grouped heads, SDPA) and the masks.
// An architecture file supplies only what differs: its `DecoderArchitecture` (which layer, which configs it runs),
// and its attention projections and MLP when they are not Llama's.
import Foundation
import NN
import Torch

/// One architecture family: the decoder layer it stacks and the configurations it refuses.
public protocol DecoderArchitecture {
  associatedtype Layer: DecoderLayer
  /// Throws a `ModelError` when `config` is not this architecture's, or uses a variant it does not implement.
  static func check(_ config: LlamaConfiguration) throws
}

/// One decoder block, built under `model.layers.<i>` and run once per forward pass.
public protocol DecoderLayer: Module {
  init(_ weights: ParameterSource, config: LlamaConfiguration) throws
  /// x [B, T, C] -> [B, T, C]; `index` is the layer's slot in the KV cache.
  func callAsFunction(_ x: Tensor, pass: DecoderPass, index: Int, training: Bool) throws -> Tensor
}

/// What every layer of one forward pass shares: the rotary tables, the mask and the cache. A layer with its own
/// window (sliding-window layers among global ones) asks `mask(window:)`.
public struct DecoderPass {
  public let positions: Tensor     // [B, T]
  public let cos, sin: Tensor      // rotary tables for `positions`
  public let mask: AttentionMask   // the model's mask (config's sliding window, if any)
  public let cache: KVCache?
  let batch, queries, past: Int
  let attentionMask: Tensor?
  let blockMask: BlockDiagonalMask?
  let device: Device

  /// The causal + padding mask with `window` (nil: none); a packed batch's blocks (under the same window) replace it.
  public func mask(window: Int?) throws -> AttentionMask {
    if let blockMask { return .blocks(try blockMask.windowed(window)) }
    return try causalAttentionMask(batch: batch, queries: queries, past: past, attentionMask: attentionMask,
                                   window: window, device: device)
  }
}

/// A decoder-only model over `Architecture`'s layers; parameter paths are Hugging Face's (`model.embed_tokens`,
/// `model.layers.<i>…`, `model.norm`, `lm_head`). `LlamaForCausalLM`, `Qwen3ForCausalLM` and `Phi3ForCausalLM`
/// name it for their architectures.
public final class DecoderForCausalLM<Architecture: DecoderArchitecture>: CausalLanguageModel {
  public let path = ""
  public var config: LlamaConfiguration
  public let embedTokens: Embedding
  public let layers: [Architecture.Layer]
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
    try Architecture.check(config)
    self.config = config
    let (vocab, hidden) = (config.vocabSize, config.hiddenSize)
    do {
      embedTokens = try Embedding(weights["model"]["embed_tokens"], shape: [vocab, hidden])
      layers = try (0..<config.numHiddenLayers).map {
        try Architecture.Layer(weights["model"]["layers"][$0], config: config)
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
                           blockMask: BlockDiagonalMask?) throws -> Tensor
  {
    let (b, t) = (inputIDs.size(0), inputIDs.size(1))
    let past = cache?.length ?? 0
    let pos = try positions ?? Tensor.arange(Double(past), Double(past + t), dtype: .int64, device: device)
      .unsqueezed(0).expanded(to: [b, t])
    let mask = try blockMask.map { AttentionMask.blocks(try $0.windowed(config.effectiveSlidingWindow)) }
      ?? causalAttentionMask(batch: b, queries: t, past: past, attentionMask: attentionMask,
                             window: config.effectiveSlidingWindow, device: device)
    var h = try embedTokens(inputIDs)
    let (cos, sin) = try rotary.cosSin(positions: pos, dtype: h.dtype)
    let pass = DecoderPass(positions: pos, cos: cos, sin: sin, mask: mask, cache: cache, batch: b, queries: t,
                           past: past, attentionMask: attentionMask, blockMask: blockMask, device: device)
    for (i, layer) in layers.enumerated() {
      let run: (Tensor) throws -> Tensor = { [training] x in try layer(x, pass: pass, index: i, training: training) }
      if gradientCheckpointing && GradMode.isEnabled && cache == nil {
        h = try checkpoint([h]) { [try run($0[0])] }[0]
      } else {
        h = try run(h)
      }
    }
    return try norm(h)
  }
}

/// The feed-forward half of a decoder layer (SwiGLU, or a fused variant), built under `…mlp`.
public protocol FeedForward: Module {
  init(_ weights: ParameterSource, config: LlamaConfiguration) throws
  // [B, T, C] -> [B, T, C]
  func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor
}

/// The Llama family's block: pre-norm attention and pre-norm MLP, each added to the residual stream.
public final class PreNormDecoderLayer<Attention: SelfAttention, MLP: FeedForward>: DecoderLayer {
  public let path: String
  public let selfAttn: Attention
  public let mlp: MLP
  public let inputLayernorm, postAttentionLayernorm: RMSNorm

  public init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    selfAttn = try Attention(weights["self_attn"], config: config)
    mlp = try MLP(weights["mlp"], config: config)
    inputLayernorm = try RMSNorm(weights["input_layernorm"], epsilon: config.rmsNormEps)
    postAttentionLayernorm = try RMSNorm(weights["post_attention_layernorm"], epsilon: config.rmsNormEps)
  }

  // x [B, T, C] -> [B, T, C]
  public func callAsFunction(_ x: Tensor, pass: DecoderPass, index: Int, training: Bool) throws -> Tensor {
    let a = try x + selfAttn(inputLayernorm(x), cos: pass.cos, sin: pass.sin, mask: pass.mask, cache: pass.cache,
                             layer: index, training: training)
    return try a + mlp(postAttentionLayernorm(a), training: training)
  }
}

/// Grouped-query self-attention, given how an architecture projects queries, keys and values; the rest (RoPE, KV
/// cache, grouped key/value heads, SDPA, output projection) is shared.
public protocol SelfAttention: Module {
  init(_ weights: ParameterSource, config: LlamaConfiguration) throws
  var sizes: AttentionSizes { get }
  /// [B, T, H*d] -> [B, T, C]
  var oProj: any LinearLayer { get }
  /// x [B, T, C] -> q [B, H, T, d], k and v [B, Hkv, T, d], before RoPE.
  func queriesKeysValues(_ x: Tensor, training: Bool) throws -> (q: Tensor, k: Tensor, v: Tensor)
}

extension SelfAttention {
  // x [B, T, C] -> [B, T, C]; `scale` nil is SDPA's 1/sqrt(d)
  public func callAsFunction(_ x: Tensor, cos: Tensor, sin: Tensor, mask: AttentionMask, cache: KVCache?, layer: Int,
                             training: Bool, scale: Double? = nil) throws -> Tensor
  {
    let (b, t) = (x.size(0), x.size(1))
    let (heads, kvHeads, headDim) = (sizes.heads, sizes.kvHeads, sizes.headDim)
    var (q, k, v) = try queriesKeysValues(x, training: training)
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
    let halfType = q.dtype
    let upcast = attentionRunsInFloat32(query: q, key: k, value: v)
    if upcast { (q, k, v) = (try q.to(dtype: .float32), try k.to(dtype: .float32), try v.to(dtype: .float32)) }
    // Grouped-query attention: where the kernel SDPA picks reads each key/value head for its own group of query
    // heads (enable_gqa; libtorch's CPU flash kernel does), k and v go in as [B, Hkv, Tk, d], so no repeated copy is
    // made or kept for backward. Elsewhere (a kernel that would repeat them itself) repeat_kv, as transformers does.
    var grouped = false
    if kvHeads != heads {
      grouped = try groupedQueriesAreNative(query: q, key: k, value: v, mask: mask)
      if !grouped {  // repeat_kv: [B, Hkv, Tk, d] -> [B, H, Tk, d]
        let (rep, tk) = (heads / kvHeads, k.size(2))
        k = try k.unsqueezed(2).expanded(to: [b, kvHeads, rep, tk, headDim]).reshape([b, heads, tk, headDim])
        v = try v.unsqueezed(2).expanded(to: [b, kvHeads, rep, tk, headDim]).reshape([b, heads, tk, headDim])
      }
    }
    var out: Tensor
    switch mask {
    case .causal:
      out = try Functional.scaledDotProductAttention(query: q, key: k, value: v, isCausal: true, scale: scale,
                                                     enableGQA: grouped)
    case .none: out = try Functional.scaledDotProductAttention(query: q, key: k, value: v, scale: scale, enableGQA: grouped)
    case .explicit(let m):
      let mask = upcast && m.dtype == halfType ? try m.to(dtype: .float32) : m
      out = try Functional.scaledDotProductAttention(query: q, key: k, value: v, mask: mask, scale: scale, enableGQA: grouped)
    case .blocks(let blocks): out = try blocks.attention(query: q, key: k, value: v, scale: scale, enableGQA: grouped)
    }
    if upcast { out = try out.to(dtype: halfType) }
    // [B, H, T, d] -> [B, T, H*d] -> [B, T, C]
    return try oProj(out.transposed(1, 2).reshape([b, t, heads * headDim]), training: training)
  }
}

/// Whether attention over these half-precision inputs runs in float32 (the output cast back): on the CPU, float16
/// always, and bfloat16 while autograd records it. libtorch's CPU kernels take 1.7–1.8× as long in bfloat16 as in
/// float32 forward and backward, 2.0–6.1× in float16; without a graph bfloat16 is slightly faster as it is (torch 2.13
/// on an AMD EPYC Zen 4, 6 Dec 2026: SmolLM2-shaped heads, blocks of 64 and 160 tokens). The values are then float32
/// attention's, closer to float32 training than the half types' own. GPUs keep their half-precision kernels.
func attentionRunsInFloat32(query q: Tensor, key k: Tensor, value v: Tensor) -> Bool {
  guard q.device == .cpu else { return false }
  switch q.dtype {
  case .float16: return true
  case .bfloat16: return GradMode.isEnabled && (q.requiresGrad || k.requiresGrad || v.requiresGrad)
  default: return false
  }
}

/// Whether grouped-query attention of these inputs (q [B, H, Tq, d], k and v [B, Hkv, Tk, d]) runs on a kernel that
/// reads the shared key/value heads in place. The math kernel would repeat them itself (and keep the copies for
/// backward), and some fused kernels take no grouped heads at all: those get repeat_kv instead.
/// `GroupedQueryAttention.native` false forces repeat_kv everywhere (tests compare both paths).
func groupedQueriesAreNative(query q: Tensor, key k: Tensor, value v: Tensor, mask: AttentionMask) throws -> Bool {
  guard GroupedQueryAttention.native else { return false }
  let kernel: AttentionKernel
  switch mask {
  case .causal: kernel = try .selected(query: q, key: k, value: v, isCausal: true, enableGQA: true)
  case .none: kernel = try .selected(query: q, key: k, value: v, enableGQA: true)
  case .explicit(let m): kernel = try .selected(query: q, key: k, value: v, mask: m, enableGQA: true)
  case .blocks(let blocks):
    // Every block goes to the same kernel (same dtype, device and head layout); the first one stands for all.
    guard let first = blocks.blocks.first else { return false }
    let (qs, ks, vs) = (try q.narrow(2, start: 0, length: first.length), try k.narrow(2, start: 0, length: first.length),
                        try v.narrow(2, start: 0, length: first.length))
    kernel = try .selected(query: qs, key: ks, value: vs, mask: try blocks.additiveMasks(dtype: q.dtype)[0], enableGQA: true)
  }
  return kernel != .math
}

/// The switch between the two grouped-query attention paths (see `groupedQueriesAreNative`).
enum GroupedQueryAttention {
  /// true: SDPA's own grouped heads where the kernel supports them; false: always repeat_kv. Tests only.
  nonisolated(unsafe) static var native = true
}

/// Query heads, key/value heads (grouped-query attention) and the width of one head, from config.json.
public struct AttentionSizes {
  public let heads, kvHeads, headDim: Int
  public init(_ config: LlamaConfiguration) {
    (heads, kvHeads, headDim) = (config.numAttentionHeads, config.kvHeads, config.resolvedHeadDim)
  }
  public var queryWidth: Int { heads * headDim }
  public var keyValueWidth: Int { kvHeads * headDim }
}

/// Causal + key-padding (+ sliding-window) mask, exactly the positions Hugging Face lets each query attend to.
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

// Gemma3.swift — Gemma 3's text decoder (transformers' `Gemma3ForCausalLM`, model_type gemma3_text): the embedding
// scaled by sqrt(hidden) in its own dtype; RMSNorms that scale by (1 + w) in float32; q/k norms per head; norms before
// and after both attention and MLP; GeGLU (tanh GELU); sliding-window and global layers interleaved, each with its
// RoPE base; attention scaled by 1/sqrt(query_pre_attn_scalar); and final_logit_softcapping when set. Attention core,
// masks and layer protocol are the shared decoder's (Decoder.swift); the model runs each layer with its kind's pass.
import Foundation
import NN
import Torch

extension LlamaConfiguration {
  /// Each layer's attention: "sliding_attention" or "full_attention" (config's layer_types, else every
  /// sliding_window_pattern-th layer, default 6, is global, as transformers fills them in).
  public var gemma3LayerTypes: [String] {
    if let layerTypes { return layerTypes }
    let pattern = slidingWindowPattern ?? 6
    return (0..<numHiddenLayers).map { ($0 + 1) % pattern == 0 ? "full_attention" : "sliding_attention" }
  }

  /// (theta, scaling) of the global layers: rope_parameters.full_attention (transformers 5), else rope_theta and
  /// rope_scaling (default 1e6).
  var gemma3GlobalRope: (theta: Double, scaling: RopeScaling?) {
    if let set = ropeParameters?.byLayerType["full_attention"] { return (set.ropeTheta ?? 1_000_000, set) }
    return (ropeTheta ?? ropeParameters?.shared?.ropeTheta ?? 1_000_000, ropeScaling ?? ropeParameters?.shared)
  }

  /// (theta, scaling) of the sliding layers: rope_parameters.sliding_attention, else rope_local_base_freq
  /// (default 1e4) without scaling.
  var gemma3LocalRope: (theta: Double, scaling: RopeScaling?) {
    if let set = ropeParameters?.byLayerType["sliding_attention"] { return (set.ropeTheta ?? 10_000, set) }
    return (ropeLocalBaseFreq ?? 10_000, nil)
  }
}

/// Gemma's RMSNorm: x / sqrt(mean(x²) + eps) · (1 + w), all in float32, then cast back (transformers' Gemma3RMSNorm).
public final class Gemma3RMSNorm: Module {
  public let path: String
  public var weight: Tensor  // [dim], stored as w; the scale is 1 + w
  public let epsilon: Double

  init(_ source: ParameterSource, dim: Int, epsilon: Double) throws {
    path = source.path
    weight = try source.tensor("weight", shape: [dim])
    self.epsilon = epsilon
  }

  public var localParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

  // [*, dim] -> [*, dim]
  func callAsFunction(_ x: Tensor) throws -> Tensor {
    let normed = try Functional.rmsNorm(x.to(dtype: .float32), weight: nil, epsilon: epsilon)
    return try (normed * (weight.to(dtype: .float32) + 1)).to(dtype: x.dtype)
  }
}

/// Gemma 3's projections: separate q/k/v, then a (1 + w) norm over each head's queries and keys; the attention core
/// is the shared one (Decoder.swift), scaled by 1/sqrt(query_pre_attn_scalar) (default 256) rather than 1/sqrt(d).
public final class Gemma3Attention: SelfAttention {
  public let path: String
  @LinearSlot public var qProj: any LinearLayer
  @LinearSlot public var kProj: any LinearLayer
  @LinearSlot public var vProj: any LinearLayer
  @LinearSlot public var oProj: any LinearLayer
  public let qNorm, kNorm: Gemma3RMSNorm
  public let sizes: AttentionSizes
  public let scale: Double

  public init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    sizes = AttentionSizes(config)
    scale = 1 / (config.queryPreAttnScalar ?? 256).squareRoot()
    let (hidden, q, kv, bias) = (config.hiddenSize, sizes.queryWidth, sizes.keyValueWidth, config.attentionBias ?? false)
    qProj = try weights.linear("q_proj", shape: [q, hidden], bias: bias)
    kProj = try weights.linear("k_proj", shape: [kv, hidden], bias: bias)
    vProj = try weights.linear("v_proj", shape: [kv, hidden], bias: bias)
    oProj = try weights.linear("o_proj", shape: [hidden, q], bias: bias)
    qNorm = try Gemma3RMSNorm(weights["q_norm"], dim: sizes.headDim, epsilon: config.rmsNormEps)
    kNorm = try Gemma3RMSNorm(weights["k_norm"], dim: sizes.headDim, epsilon: config.rmsNormEps)
  }

  // x [B, T, C] -> [B, T, H*d] -> [B, T, H, d] -> per-head norm over d -> [B, H, T, d]
  public func queriesKeysValues(_ x: Tensor, training: Bool) throws -> (q: Tensor, k: Tensor, v: Tensor) {
    let (b, t, d) = (x.size(0), x.size(1), sizes.headDim)
    return try (qNorm(qProj(x, training: training).view([b, t, sizes.heads, d])).transposed(1, 2),
                kNorm(kProj(x, training: training).view([b, t, sizes.kvHeads, d])).transposed(1, 2),
                vProj(x, training: training).view([b, t, sizes.kvHeads, d]).transposed(1, 2))
  }
}

/// GeGLU: down(gelu_tanh(gate(x)) · up(x)).
public final class Gemma3MLP: FeedForward {
  public let path: String
  @LinearSlot public var gateProj: any LinearLayer
  @LinearSlot public var upProj: any LinearLayer
  @LinearSlot public var downProj: any LinearLayer

  public init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    let (hidden, inner) = (config.hiddenSize, config.intermediateSize)
    gateProj = try weights.linear("gate_proj", shape: [inner, hidden])
    upProj = try weights.linear("up_proj", shape: [inner, hidden])
    downProj = try weights.linear("down_proj", shape: [hidden, inner])
  }

  // [B, T, C] -> [B, T, C]
  public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
    let gate = try gateProj(x, training: training), up = try upProj(x, training: training)  // [B, T, I] each
    return try downProj(Functional.gatedActivation(gate: gate, up: up, geluTanh: true), training: training)
  }
}

/// Norms before and after both halves; the pass (its RoPE tables and mask) is the layer kind's, chosen by the model.
public final class Gemma3DecoderLayer: DecoderLayer {
  public let path: String
  public let selfAttn: Gemma3Attention
  public let mlp: Gemma3MLP
  public let inputLayernorm, postAttentionLayernorm, preFeedforwardLayernorm, postFeedforwardLayernorm: Gemma3RMSNorm

  public init(_ weights: ParameterSource, config: LlamaConfiguration) throws {
    path = weights.path
    let (c, eps) = (config.hiddenSize, config.rmsNormEps)
    selfAttn = try Gemma3Attention(weights["self_attn"], config: config)
    mlp = try Gemma3MLP(weights["mlp"], config: config)
    inputLayernorm = try Gemma3RMSNorm(weights["input_layernorm"], dim: c, epsilon: eps)
    postAttentionLayernorm = try Gemma3RMSNorm(weights["post_attention_layernorm"], dim: c, epsilon: eps)
    preFeedforwardLayernorm = try Gemma3RMSNorm(weights["pre_feedforward_layernorm"], dim: c, epsilon: eps)
    postFeedforwardLayernorm = try Gemma3RMSNorm(weights["post_feedforward_layernorm"], dim: c, epsilon: eps)
  }

  // x [B, T, C] -> [B, T, C]
  public func callAsFunction(_ x: Tensor, pass: DecoderPass, index: Int, training: Bool) throws -> Tensor {
    let attended = try selfAttn(inputLayernorm(x), cos: pass.cos, sin: pass.sin, mask: pass.mask, cache: pass.cache,
                                layer: index, training: training, scale: selfAttn.scale)
    let a = try x + postAttentionLayernorm(attended)
    return try a + postFeedforwardLayernorm(mlp(preFeedforwardLayernorm(a), training: training))
  }
}

public final class Gemma3ForCausalLM: CausalLanguageModel {
  public let path = ""
  public var config: LlamaConfiguration
  public let embedTokens: Embedding
  public let layers: [Gemma3DecoderLayer]
  public let norm: Gemma3RMSNorm
  @LinearSlot public var lmHead: any LinearLayer
  public let globalRotary, localRotary: RotaryEmbedding
  /// Which layers are sliding-window ones (local RoPE base, windowed mask); the others are global.
  public let slidingLayers: [Bool]
  public var gradientCheckpointing = false
  public var training = false

  public convenience init(config: LlamaConfiguration, parameters: ParameterStore) throws {
    try self.init(config: config, weights: ParameterSource(parameters))
  }

  public init(config: LlamaConfiguration, weights: ParameterSource) throws {
    try config.validate()
    guard config.isGemma3 else { throw ModelError("Gemma3ForCausalLM needs a gemma3_text config, got \(config.architecture)") }
    if config.useBidirectionalAttention == true {
      throw ModelError("Gemma 3 with use_bidirectional_attention (an encoder) is not a causal language model")
    }
    let types = config.gemma3LayerTypes
    guard types.count == config.numHiddenLayers, types.allSatisfy({ ["sliding_attention", "full_attention"].contains($0) })
    else {
      throw ModelError("layer_types must name sliding_attention or full_attention for each of the \(config.numHiddenLayers) layers, got \(types)")
    }
    if types.contains("sliding_attention") && (config.slidingWindow ?? 0) < 1 {
      throw ModelError("Gemma 3's sliding layers need a positive sliding_window")
    }
    self.config = config
    slidingLayers = types.map { $0 == "sliding_attention" }
    let (vocab, hidden) = (config.vocabSize, config.hiddenSize)
    do {
      embedTokens = try Embedding(weights["model"]["embed_tokens"], shape: [vocab, hidden])
      layers = try (0..<config.numHiddenLayers).map { try Gemma3DecoderLayer(weights["model"]["layers"][$0], config: config) }
      norm = try Gemma3RMSNorm(weights["model"]["norm"], dim: hidden, epsilon: config.rmsNormEps)
      lmHead = config.tiesEmbeddings ? Linear(path: weights["lm_head"].path, weight: embedTokens.weight)
        : try Linear(weights["lm_head"], shape: [vocab, hidden])
      let (global, local) = (config.gemma3GlobalRope, config.gemma3LocalRope)
      globalRotary = try RotaryEmbedding(headDim: config.resolvedHeadDim, theta: global.theta, scaling: global.scaling)
      localRotary = try RotaryEmbedding(headDim: config.resolvedHeadDim, theta: local.theta, scaling: local.scaling)
    } catch let error as NNError {
      throw ModelError(error.description)
    }
  }

  public var dtype: DType { embedTokens.weight.dtype }
  public var device: Device { embedTokens.weight.device }
  public var finalLogitSoftcapping: Double? { config.finalLogitSoftcapping }

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
    func mask(window: Int?) throws -> AttentionMask {
      try blockMask.map { AttentionMask.blocks(try $0.windowed(window)) }
        ?? causalAttentionMask(batch: b, queries: t, past: past, attentionMask: attentionMask, window: window, device: device)
    }
    // sqrt(hidden) as a float32 scalar cast to the embedding's dtype (bfloat16 rounds it), as transformers scales
    let scale = try Tensor([Float(Double(config.hiddenSize).squareRoot())], shape: [1]).to(dtype: dtype, device: device)
    var h = try embedTokens(inputIDs) * scale
    func pass(_ rotary: RotaryEmbedding, window: Int?) throws -> DecoderPass {
      let (cos, sin) = try rotary.cosSin(positions: pos, dtype: h.dtype)
      return DecoderPass(positions: pos, cos: cos, sin: sin, mask: try mask(window: window), cache: cache, batch: b,
                         queries: t, past: past, attentionMask: attentionMask, blockMask: blockMask, device: device)
    }
    let global = try pass(globalRotary, window: nil)
    let local = slidingLayers.contains(true) ? try pass(localRotary, window: config.slidingWindow) : global
    for (i, layer) in layers.enumerated() {
      let run: (Tensor) throws -> Tensor = { [training, slidingLayers] x in
        try layer(x, pass: slidingLayers[i] ? local : global, index: i, training: training)
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

// Llama.swift — the Llama-family decoder (Llama 2/3/3.x, Mistral, Qwen2, SmolLM2): grouped-query attention,
// RMSNorm, SwiGLU, RoPE; parameter paths equal Hugging Face checkpoint keys.
import Foundation
import NN
import Torch

/// Keys and values of past positions, one pair per layer ([B, Hkv, Tpast, d]); grows as generation proceeds.
public final class KVCache {
  public var keys: [Tensor?]
  public var values: [Tensor?]
  public init(layers: Int) {
    keys = Array(repeating: nil, count: layers)
    values = Array(repeating: nil, count: layers)
  }
  public var length: Int { keys.first??.size(2) ?? 0 }
}

public final class LlamaAttention {
  public let qProj, kProj, vProj, oProj: Linear
  let heads, kvHeads, headDim: Int

  init(_ p: ParameterStore, prefix: String, config: LlamaConfiguration) throws {
    func linear(_ name: String, bias: Bool) throws -> Linear {
      Linear(weight: try p.require("\(prefix).\(name).weight"),
             bias: bias ? try p.require("\(prefix).\(name).bias") : nil)
    }
    qProj = try linear("q_proj", bias: config.qkvBias)
    kProj = try linear("k_proj", bias: config.qkvBias)
    vProj = try linear("v_proj", bias: config.qkvBias)
    oProj = try linear("o_proj", bias: config.outputBias)
    heads = config.numAttentionHeads
    kvHeads = config.kvHeads
    headDim = config.resolvedHeadDim
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

public final class LlamaMLP {
  public let gateProj, upProj, downProj: Linear
  init(_ p: ParameterStore, prefix: String, bias: Bool) throws {
    func linear(_ name: String) throws -> Linear {
      Linear(weight: try p.require("\(prefix).\(name).weight"), bias: bias ? try p.require("\(prefix).\(name).bias") : nil)
    }
    gateProj = try linear("gate_proj")
    upProj = try linear("up_proj")
    downProj = try linear("down_proj")
  }

  // [B, T, C] -> [B, T, C]
  func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
    try downProj(gateProj(x, training: training).silu() * upProj(x, training: training), training: training)
  }
}

public final class LlamaDecoderLayer {
  public let selfAttn: LlamaAttention
  public let mlp: LlamaMLP
  public let inputLayernorm, postAttentionLayernorm: RMSNorm

  init(_ p: ParameterStore, index: Int, config: LlamaConfiguration) throws {
    let prefix = "model.layers.\(index)"
    selfAttn = try LlamaAttention(p, prefix: "\(prefix).self_attn", config: config)
    mlp = try LlamaMLP(p, prefix: "\(prefix).mlp", bias: config.mlpBias ?? false)
    inputLayernorm = RMSNorm(weight: try p.require("\(prefix).input_layernorm.weight"), epsilon: config.rmsNormEps)
    postAttentionLayernorm = RMSNorm(weight: try p.require("\(prefix).post_attention_layernorm.weight"),
                                     epsilon: config.rmsNormEps)
  }
}

/// How attention is masked in one forward pass.
public enum AttentionMask {
  case causal           // no padding, no cache: SDPA's fast causal path
  case none             // one new token attending to the whole cache
  case explicit(Tensor) // boolean [B, 1, Tq, Tk], true = attend
}

public final class LlamaForCausalLM {
  public internal(set) var config: LlamaConfiguration
  public let embedTokens: Embedding
  public let layers: [LlamaDecoderLayer]
  public let norm: RMSNorm
  public let lmHead: Linear
  public let rotary: RotaryEmbedding
  /// Recompute each decoder layer in backward instead of keeping its activations (trades compute for memory).
  public var gradientCheckpointing = false
  /// Dropout and LoRA dropout are active only while training.
  public var training = false

  /// Builds the model over `parameters` (keys as in a Hugging Face checkpoint). Missing keys are an error naming
  /// the key; the tensors are used as given (no copy).
  public init(config: LlamaConfiguration, parameters p: ParameterStore) throws {
    try config.validate()
    self.config = config
    embedTokens = Embedding(weight: try p.require("model.embed_tokens.weight", shape: [config.vocabSize, config.hiddenSize]))
    layers = try (0..<config.numHiddenLayers).map { try LlamaDecoderLayer(p, index: $0, config: config) }
    norm = RMSNorm(weight: try p.require("model.norm.weight"), epsilon: config.rmsNormEps)
    if config.tiesEmbeddings {
      lmHead = Linear(weight: embedTokens.weight)
    } else {
      lmHead = Linear(weight: try p.require("lm_head.weight", shape: [config.vocabSize, config.hiddenSize]))
    }
    rotary = try RotaryEmbedding(headDim: config.resolvedHeadDim, theta: config.resolvedRopeTheta,
                                 scaling: config.resolvedRopeScaling)
  }

  public var dtype: DType { embedTokens.weight.dtype }
  public var device: Device { embedTokens.weight.device }

  /// Every parameter by its checkpoint key (tied lm_head omitted, as in Hugging Face's safetensors).
  public var parameters: ParameterStore {
    var p: ParameterStore = ["model.embed_tokens.weight": embedTokens.weight, "model.norm.weight": norm.weight]
    if !config.tiesEmbeddings { p["lm_head.weight"] = lmHead.weight }
    for (i, layer) in layers.enumerated() {
      let prefix = "model.layers.\(i)"
      for (path, linear) in linearModules(of: layer, prefix: prefix) {
        p["\(path).weight"] = linear.weight
        if let b = linear.bias { p["\(path).bias"] = b }
      }
      p["\(prefix).input_layernorm.weight"] = layer.inputLayernorm.weight
      p["\(prefix).post_attention_layernorm.weight"] = layer.postAttentionLayernorm.weight
    }
    return p
  }

  func linearModules(of layer: LlamaDecoderLayer, prefix: String) -> [(String, Linear)] {
    [("\(prefix).self_attn.q_proj", layer.selfAttn.qProj), ("\(prefix).self_attn.k_proj", layer.selfAttn.kProj),
     ("\(prefix).self_attn.v_proj", layer.selfAttn.vProj), ("\(prefix).self_attn.o_proj", layer.selfAttn.oProj),
     ("\(prefix).mlp.gate_proj", layer.mlp.gateProj), ("\(prefix).mlp.up_proj", layer.mlp.upProj),
     ("\(prefix).mlp.down_proj", layer.mlp.downProj)]
  }

  /// Every Linear layer with its module path (`model.layers.0.self_attn.q_proj`, …, and `lm_head`).
  public var linearLayers: [(path: String, layer: Linear)] {
    var all: [(String, Linear)] = []
    for (i, layer) in layers.enumerated() { all += linearModules(of: layer, prefix: "model.layers.\(i)") }
    all.append(("lm_head", lmHead))
    return all
  }

  /// Final hidden states (after the last norm): ids [B, T] -> [B, T, C].
  /// `attentionMask` [B, Tpast + T] (1 = real token) covers cached and new positions; nil means all real.
  /// `positions` [B, T] default to Tpast..<Tpast+T. `blockMask` [B, 1, T, T] (boolean, true = attend) replaces
  /// the causal/padding mask entirely (packed sequences).
  public func hiddenStates(inputIDs: Tensor, attentionMask: Tensor? = nil, positions: Tensor? = nil,
                           cache: KVCache? = nil, blockMask: Tensor? = nil) throws -> Tensor
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

  /// Logits: ids [B, T] -> [B, T, V].
  public func callAsFunction(_ inputIDs: Tensor, attentionMask: Tensor? = nil, positions: Tensor? = nil,
                             cache: KVCache? = nil) throws -> Tensor
  {
    try lmHead(hiddenStates(inputIDs: inputIDs, attentionMask: attentionMask, positions: positions, cache: cache),
               training: training)
  }

  /// Causal + key-padding (+ sliding-window) mask, exactly the positions Hugging Face lets each query attend to.
  func buildMask(batch b: Int, queries t: Int, past: Int, attentionMask: Tensor?) throws -> AttentionMask {
    let keys = past + t
    let window = config.effectiveSlidingWindow.flatMap { keys > $0 ? $0 : nil }
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
}

extension Dictionary where Key == String, Value == Tensor {
  /// The tensor stored under `key`, or an error naming the missing key (and the expected shape).
  public func require(_ key: String, shape: [Int]? = nil) throws -> Tensor {
    guard let t = self[key] else { throw ModelError("checkpoint has no tensor \"\(key)\"") }
    if let shape, t.shape != shape {
      throw ModelError("tensor \"\(key)\" has shape \(t.shape), expected \(shape)")
    }
    return t
  }
}

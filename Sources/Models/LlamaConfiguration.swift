// LlamaConfiguration.swift — config.json of the decoder families (Llama 2/3/3.x, Mistral, Qwen2, SmolLM2, Qwen3,
// Phi-3, Gemma 3 text), decoded with Hugging Face's own key names.
import Foundation
import NN

public struct LlamaConfiguration: ModelConfiguration {
  /// The Llama family (Llama.swift), Qwen3 (Qwen3.swift), Phi-3 (Phi3.swift) and Gemma 3's text model
  /// (Gemma3.swift), whose config.json files share these keys.
  public static let supportedArchitectures = ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM",
                                              "Phi3ForCausalLM", "Gemma3ForCausalLM"]

  public var architectures: [String]?
  public var modelType: String?
  public var vocabSize: Int
  public var hiddenSize: Int
  public var intermediateSize: Int
  public var numHiddenLayers: Int
  public var numAttentionHeads: Int
  public var numKeyValueHeads: Int?
  public var headDim: Int?
  public var rmsNormEps: Double
  public var ropeTheta: Double?
  public var ropeScaling: RopeScaling?
  public var ropeParameters: RopeParameters?
  public var maxPositionEmbeddings: Int?
  public var tieWordEmbeddings: Bool?
  public var attentionBias: Bool?
  public var mlpBias: Bool?
  public var slidingWindow: Int?
  public var useSlidingWindow: Bool?
  public var hiddenAct: String?
  public var bosTokenId: Int?
  public var eosTokenId: TokenIDs?
  public var padTokenId: Int?
  public var torchDtype: String?
  /// Phi-3 (top level in transformers 4, inside rope_parameters in 5).
  public var partialRotaryFactor: Double?
  /// Gemma 3 (Gemma3.swift): attention scale 1/sqrt(query_pre_attn_scalar); the sliding layers' RoPE base
  /// (transformers 4; 5 keeps it in rope_parameters.sliding_attention); each layer's kind, or every
  /// sliding_window_pattern-th layer global; tanh caps; the GeGLU activation; bidirectional attention (refused).
  public var queryPreAttnScalar: Double?
  public var ropeLocalBaseFreq: Double?
  public var layerTypes: [String]?
  public var slidingWindowPattern: Int?
  public var finalLogitSoftcapping: Double?
  public var attnLogitSoftcapping: Double?
  public var hiddenActivation: String?
  public var useBidirectionalAttention: Bool?

  enum CodingKeys: String, CodingKey {
    case architectures, modelType = "model_type", vocabSize = "vocab_size", hiddenSize = "hidden_size"
    case intermediateSize = "intermediate_size", numHiddenLayers = "num_hidden_layers"
    case numAttentionHeads = "num_attention_heads", numKeyValueHeads = "num_key_value_heads", headDim = "head_dim"
    case rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta", ropeScaling = "rope_scaling", ropeParameters = "rope_parameters"
    case maxPositionEmbeddings = "max_position_embeddings", tieWordEmbeddings = "tie_word_embeddings"
    case attentionBias = "attention_bias", mlpBias = "mlp_bias", slidingWindow = "sliding_window"
    case useSlidingWindow = "use_sliding_window", hiddenAct = "hidden_act", bosTokenId = "bos_token_id"
    case eosTokenId = "eos_token_id", padTokenId = "pad_token_id", torchDtype = "torch_dtype"
    case partialRotaryFactor = "partial_rotary_factor"
    case queryPreAttnScalar = "query_pre_attn_scalar", ropeLocalBaseFreq = "rope_local_base_freq"
    case layerTypes = "layer_types", slidingWindowPattern = "sliding_window_pattern"
    case finalLogitSoftcapping = "final_logit_softcapping", attnLogitSoftcapping = "attn_logit_softcapping"
    case hiddenActivation = "hidden_activation", useBidirectionalAttention = "use_bidirectional_attention"
  }

  public typealias TokenIDs = Models.TokenIDs

  public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
              numKeyValueHeads: Int? = nil, headDim: Int? = nil, rmsNormEps: Double = 1e-5, ropeTheta: Double = 10000,
              tieWordEmbeddings: Bool = false, modelType: String = "llama")
  {
    self.vocabSize = vocabSize
    self.hiddenSize = hiddenSize
    self.intermediateSize = intermediateSize
    self.numHiddenLayers = numHiddenLayers
    self.numAttentionHeads = numAttentionHeads
    self.numKeyValueHeads = numKeyValueHeads
    self.headDim = headDim
    self.rmsNormEps = rmsNormEps
    self.ropeTheta = ropeTheta
    self.tieWordEmbeddings = tieWordEmbeddings
    self.modelType = modelType
    self.architectures = [Self.architecture(forModelType: modelType)]
  }

  static func architecture(forModelType t: String) -> String {
    switch t {
    case "mistral": return "MistralForCausalLM"
    case "qwen2": return "Qwen2ForCausalLM"
    case "qwen3": return "Qwen3ForCausalLM"
    case "phi3": return "Phi3ForCausalLM"
    case "gemma3_text": return "Gemma3ForCausalLM"
    default: return "LlamaForCausalLM"
    }
  }

  /// Reads and validates a config.json.
  public static func load(_ url: URL) throws -> LlamaConfiguration {
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
      throw ModelError("\(url.path): cannot read config.json (\(error.localizedDescription))")
    }
    let config: LlamaConfiguration
    do { config = try JSONDecoder().decode(LlamaConfiguration.self, from: data) } catch let DecodingError.keyNotFound(key, _) {
      throw ModelError("\(url.path): missing key \"\(key.stringValue)\"")
    } catch let DecodingError.typeMismatch(_, ctx) {
      throw ModelError("\(url.path): key \"\(ctx.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type (\(ctx.debugDescription))")
    } catch {
      throw ModelError("\(url.path): not a valid config.json (\(error))")
    }
    try config.validate(source: url.path)
    return config
  }

  public func validate(source: String = "config") throws {
    let arch = architectures?.first ?? modelType.map(Self.architecture(forModelType:)) ?? "?"
    guard Self.supportedArchitectures.contains(arch) else {
      throw ModelError("\(source): unsupported architecture \"\(arch)\" (supported: \(Self.supportedArchitectures.joined(separator: ", ")))")
    }
    if isGemma3 {
      for act in [hiddenActivation, hiddenAct].compactMap({ $0 }) where act != "gelu_pytorch_tanh" {
        throw ModelError("\(source): unsupported hidden_activation \"\(act)\" (Gemma 3 uses gelu_pytorch_tanh)")
      }
    } else if let act = hiddenAct, act != "silu" {
      throw ModelError("\(source): unsupported hidden_act \"\(act)\" (the Llama family uses silu)")
    }
    guard hiddenSize > 0, numAttentionHeads > 0, numHiddenLayers > 0, vocabSize > 0, intermediateSize > 0 else {
      throw ModelError("\(source): sizes must be positive")
    }
    guard kvHeads > 0, numAttentionHeads % kvHeads == 0 else {
      throw ModelError("\(source): num_attention_heads (\(numAttentionHeads)) must be a multiple of num_key_value_heads (\(kvHeads))")
    }
    if headDim == nil, hiddenSize % numAttentionHeads != 0 {
      throw ModelError("\(source): hidden_size (\(hiddenSize)) is not divisible by num_attention_heads (\(numAttentionHeads))")
    }
  }

  /// The one RoPE set (Gemma 3: its global layers', for reports; Gemma3.swift reads both).
  public var resolvedRopeTheta: Double {
    ropeTheta ?? ropeParameters?.shared?.ropeTheta ?? ropeParameters?.byLayerType["full_attention"]?.ropeTheta ?? 10000
  }
  public var resolvedRopeScaling: RopeScaling? {
    ropeScaling ?? ropeParameters?.shared ?? ropeParameters?.byLayerType["full_attention"]
  }
  public var kvHeads: Int { numKeyValueHeads ?? numAttentionHeads }
  public var resolvedHeadDim: Int { headDim ?? hiddenSize / numAttentionHeads }
  public var isQwen2: Bool { modelType == "qwen2" || architectures?.first == "Qwen2ForCausalLM" }
  /// Qwen3: q/k RMSNorms per head (Qwen3.swift), biases only with attention_bias.
  public var isQwen3: Bool { modelType == "qwen3" || architectures?.first == "Qwen3ForCausalLM" }
  /// Phi-3: fused qkv_proj and gate_up_proj (Phi3.swift).
  public var isPhi3: Bool { modelType == "phi3" || architectures?.first == "Phi3ForCausalLM" }
  /// Gemma 3's text model: (1 + w) norms, four per layer, sliding and global layers (Gemma3.swift).
  public var isGemma3: Bool { modelType == "gemma3_text" || architectures?.first == "Gemma3ForCausalLM" }
  /// An RMSNorm over each head's queries and keys before RoPE (`q_norm`, `k_norm`): Qwen3 (Gemma 3's are its own).
  public var queryKeyNorms: Bool { isQwen3 }
  public var resolvedPartialRotaryFactor: Double { partialRotaryFactor ?? resolvedRopeScaling?.partialRotaryFactor ?? 1 }
  /// Qwen2 always has q/k/v biases; Llama has them when attention_bias is set.
  public var qkvBias: Bool { isQwen2 || (attentionBias ?? false) }
  public var outputBias: Bool { !isQwen2 && (attentionBias ?? false) }
  /// The sliding-window size in force (Mistral; Qwen2 only with use_sliding_window).
  public var effectiveSlidingWindow: Int? {
    if isQwen2 || isQwen3 { return (useSlidingWindow ?? false) ? slidingWindow : nil }
    return slidingWindow
  }
  public var tiesEmbeddings: Bool { tieWordEmbeddings ?? isGemma3 }  // transformers' defaults
  public var architecture: String { architectures?.first ?? Self.architecture(forModelType: modelType ?? "llama") }

  public func exported(tiedEmbeddings: Bool, dtype: String) -> LlamaConfiguration {
    var config = self
    config.architectures = [architecture]
    config.modelType = modelType ?? "llama"
    config.tieWordEmbeddings = tiedEmbeddings
    if !isGemma3 { config.hiddenAct = hiddenAct ?? "silu" }
    config.torchDtype = dtype
    return config
  }
}

/// `rope_parameters` (transformers 5): one set for every layer, or one per layer type (Gemma 3's
/// `full_attention` and `sliding_attention`).
public struct RopeParameters: Codable, Equatable, Sendable {
  public var shared: RopeScaling?
  public var byLayerType: [String: RopeScaling]

  public init(shared: RopeScaling?) {
    self.shared = shared
    byLayerType = [:]
  }

  public init(byLayerType: [String: RopeScaling]) {
    shared = nil
    self.byLayerType = byLayerType
  }

  public init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    if let sets = try? container.decode([String: RopeScaling].self), !sets.isEmpty,
       sets.keys.allSatisfy({ $0.hasSuffix("_attention") })
    {
      self.init(byLayerType: sets)
    } else {
      self.init(shared: try container.decode(RopeScaling.self))
    }
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    if byLayerType.isEmpty { try container.encode(shared) } else { try container.encode(byLayerType) }
  }
}

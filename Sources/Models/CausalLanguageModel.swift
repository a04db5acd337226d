// CausalLanguageModel.swift — what the trainer, PEFT, export and generation need from a decoder-only model, so each
// architecture family is one file (Llama.swift, Qwen3.swift, Phi3.swift) over the shared stack of Decoder.swift;
// the KV cache and mask kinds they share.
import NN
import Torch

/// The configuration facts every causal LM exposes (config.json keys in Hugging Face's names).
public protocol ModelConfiguration: Codable, Equatable, Sendable {
  /// transformers' class name (`LlamaForCausalLM`), written as `architectures` on export.
  var architecture: String { get }
  var vocabSize: Int { get set }
  var hiddenSize: Int { get }
  var numHiddenLayers: Int { get }
  /// The output layer shares the token embedding's weight.
  var tiesEmbeddings: Bool { get }
  var maxPositionEmbeddings: Int? { get }
  var bosTokenId: Int? { get set }
  var eosTokenId: TokenIDs? { get set }
  var padTokenId: Int? { get set }
  /// config.json for an exported Hugging Face folder: every key transformers needs filled in, with
  /// `tie_word_embeddings` = `tiedEmbeddings` and the weights' dtype (`float32`, `bfloat16`, `float16`).
  func exported(tiedEmbeddings: Bool, dtype: String) -> Self
}

/// A decoder-only language model: token ids -> hidden states -> logits, with a replaceable output layer.
///
/// The Llama-shaped architectures are `DecoderForCausalLM` (Decoder.swift) over a `DecoderArchitecture`: adding one
/// is one file, like Qwen3.swift or Phi3.swift, naming its decoder layer (and its attention projections or MLP when
/// they are not Llama's, each built from a `ParameterSource`, `weights["model"]["layers"][i]["self_attn"]…`, so
/// parameter names are the checkpoint's, every projection declared `@LinearSlot var …: any LinearLayer` so LoRA and
/// quantized layers can stand there) and the configurations it refuses; then `makeCausalLanguageModel` chooses it
/// by config.json's architecture. LoRA, PEFT files, export, generation, ChatML set-up and the trainer come with the
/// protocol.
public protocol CausalLanguageModel: Module {
  associatedtype Configuration: ModelConfiguration
  var config: Configuration { get set }
  /// The output projection, [*, hidden] -> [*, vocab] (a `LinearSlot`: LoRA may wrap it).
  var lmHead: any LinearLayer { get }
  /// Dropout (LoRA's) is active only while training.
  var training: Bool { get set }
  /// Recompute each decoder layer in backward instead of keeping its activations (trades compute for memory).
  var gradientCheckpointing: Bool { get set }
  var dtype: DType { get }
  var device: Device { get }

  /// Final hidden states (after the last norm): ids [B, T] -> [B, T, C].
  /// `attentionMask` [B, Tpast + T] (1 = real token) covers cached and new positions; nil means all real.
  /// `positions` [B, T] default to Tpast..<Tpast+T. `blockMask` (a packed row's diagonal blocks, B = 1) replaces
  /// the causal/padding mask entirely; sliding windows still apply inside each block.
  func hiddenStates(inputIDs: Tensor, attentionMask: Tensor?, positions: Tensor?, cache: KVCache?,
                    blockMask: BlockDiagonalMask?) throws -> Tensor

  /// Grows (or shrinks) the token embedding and the output layer to `size` rows; `config.vocabSize` follows.
  func resizeTokenEmbeddings(to size: Int) throws

  /// Logits are capped as cap·tanh(logits / cap) when set (Gemma's `final_logit_softcapping`); nil by default.
  var finalLogitSoftcapping: Double? { get }
}

extension CausalLanguageModel {
  public func hiddenStates(inputIDs: Tensor, attentionMask: Tensor? = nil, positions: Tensor? = nil,
                           cache: KVCache? = nil, blockMask: BlockDiagonalMask? = nil) throws -> Tensor
  {
    try hiddenStates(inputIDs: inputIDs, attentionMask: attentionMask, positions: positions, cache: cache,
                     blockMask: blockMask)
  }

  /// Logits: ids [B, T] -> [B, T, V].
  public func callAsFunction(_ inputIDs: Tensor, attentionMask: Tensor? = nil, positions: Tensor? = nil,
                             cache: KVCache? = nil) throws -> Tensor
  {
    try logits(hiddenStates(inputIDs: inputIDs, attentionMask: attentionMask, positions: positions, cache: cache))
  }

  public var finalLogitSoftcapping: Double? { nil }

  /// The output layer over hidden states (then the soft cap, if any): [*, C] -> [*, V].
  public func logits(_ hidden: Tensor) throws -> Tensor {
    let logits = try lmHead(hidden, training: training)
    guard let cap = finalLogitSoftcapping else { return logits }
    return try (logits / cap).tanh() * cap
  }

  /// An empty cache with one slot per decoder layer.
  public func makeCache() -> KVCache { KVCache(layers: config.numHiddenLayers) }

  /// The adapter weights by PEFT key (`base_model.model.<path>.lora_A.weight`), in declaration order.
  public var loraParameters: [(key: String, tensor: Tensor)] {
    loraLayers.flatMap { $0.adapterParameters.map { ("base_model.model.\($0.key)", $0.tensor) } }
  }
}

/// The model class config.json's architecture names, built over `weights`: `Qwen3ForCausalLM` (Qwen3.swift),
/// `Phi3ForCausalLM` (Phi3.swift), `Gemma3ForCausalLM` (Gemma3.swift), else the Llama family (Llama.swift).
public func makeCausalLanguageModel(config: LlamaConfiguration, weights: ParameterSource) throws -> any CausalLanguageModel {
  if config.isGemma3 { return try Gemma3ForCausalLM(config: config, weights: weights) }
  if config.isQwen3 { return try Qwen3ForCausalLM(config: config, weights: weights) }
  if config.isPhi3 { return try Phi3ForCausalLM(config: config, weights: weights) }
  return try LlamaForCausalLM(config: config, weights: weights)
}

public func makeCausalLanguageModel(config: LlamaConfiguration, parameters: ParameterStore) throws -> any CausalLanguageModel {
  try makeCausalLanguageModel(config: config, weights: ParameterSource(parameters))
}

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

/// How attention is masked in one forward pass.
public enum AttentionMask {
  case causal           // no padding, no cache: SDPA's fast causal path
  case none             // one new token attending to the whole cache
  case explicit(Tensor) // boolean [B, 1, Tq, Tk], true = attend
  case blocks(BlockDiagonalMask)  // a packed row: attention block by block
}

/// `eos_token_id` is an int or a list of ints in config.json.
public enum TokenIDs: Codable, Equatable, Sendable {
  case one(Int)
  case many([Int])
  public init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let i = try? c.decode(Int.self) { self = .one(i) } else { self = .many(try c.decode([Int].self)) }
  }
  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .one(let i): try c.encode(i)
    case .many(let l): try c.encode(l)
    }
  }
  public var all: [Int] {
    switch self {
    case .one(let i): return [i]
    case .many(let l): return l
    }
  }
}

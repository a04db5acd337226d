// GGUFExport.swift — `orpo export --merge --format gguf`: the merged model as one GGUF file that llama.cpp, Ollama
// and LM Studio read: llama.cpp's tensor names and metadata (llama.cpp's convert_hf_to_gguf.py: Llama/Mistral, Qwen2,
// Qwen3, Phi-3, Gemma 3 with its norms stored as 1 + w), q/k rows permuted back to llama.cpp's interleaved-RoPE layout for Llama, tensors in F32, F16, BF16,
// Q8_0, Q4_0 or llama-quantize's Q4_K_M mixture (GGUF/Quantize.swift, GGUF/KQuantize.swift).
import Foundation
import GGUF
import NN
import Support
import Tokenization
import Torch

public enum GGUFExport {
  /// `--quant`: the type of the 2-D weights (1-D norms stay F32, as convert_hf_to_gguf.py keeps them); q4_k_m is
  /// llama.cpp's Q4_K_M mixture (`tensorTypes`).
  public enum Quantization: String, CaseIterable, Sendable {
    case f32, f16, bf16, q8_0, q4_0, q4_k_m

    /// llama.cpp's `general.file_type` (LlamaFileType).
    var fileType: UInt32 {
      switch self {
      case .f32: return 0
      case .f16: return 1
      case .q4_0: return 2
      case .q8_0: return 7
      case .bf16: return 32
      case .q4_k_m: return 15
      }
    }
  }

  /// Hugging Face name → llama.cpp name (the inverse of `Checkpoint.huggingFaceName(forGGUF:architecture:)`, plus the
  /// tensors of Qwen3 and Phi-3 that our GGUF reader does not read: q/k norms, fused qkv and gate_up projections).
  public static func ggufName(forHuggingFace name: String, architecture: String? = nil) -> String? {
    switch name {
    case "model.embed_tokens.weight": return "token_embd.weight"
    case "model.norm.weight": return "output_norm.weight"
    case "lm_head.weight": return "output.weight"
    default: break
    }
    let parts = name.split(separator: ".").map(String.init)
    guard parts.count >= 5, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]) else { return nil }
    let module = parts[3..<(parts.count - 1)].joined(separator: ".")
    let names = (architecture == "gemma3" ? Checkpoint.gemma3GGUFNames : []) + Checkpoint.ggufNames + [
      ("attn_q_norm", "self_attn.q_norm"), ("attn_k_norm", "self_attn.k_norm"), ("attn_qkv", "self_attn.qkv_proj"),
      ("ffn_up", "mlp.gate_up_proj"),
    ]
    guard let gguf = names.first(where: { $0.hf == module })?.gguf else { return nil }
    return "blk.\(layer).\(gguf).\(parts.last!)"
  }

  /// llama.cpp's architecture for a config: convert_hf_to_gguf.py writes Llama and Mistral as `llama` (q/k rows
  /// permuted to interleaved RoPE pairs), Qwen2, Qwen3 and Phi-3 under their own names (NEOX RoPE, rows as they are).
  static func architecture(_ config: LlamaConfiguration) throws -> String {
    if config.isGemma3 { return "gemma3" }
    if config.isQwen3 { return "qwen3" }
    if config.isPhi3 { return "phi3" }
    if config.isQwen2 { return "qwen2" }
    let modelType = config.modelType ?? "llama"
    guard ["llama", "mistral"].contains(modelType) else {
      throw ModelError("GGUF export writes Llama, Mistral, SmolLM2, Qwen2, Qwen3, Phi-3 and Gemma 3 models; this one is \(modelType)")
    }
    return "llama"
  }

  /// llama.cpp's permutation of q/k rows (convert_hf_to_gguf.py `LlamaModel.permute`): [out, in] viewed as
  /// [heads, 2, d/2, in], the middle axes swapped — rotate-half RoPE pairs to interleaved ones.
  static func permuteRows(_ w: Tensor, heads: Int) throws -> Tensor {
    let (out, inFeatures) = (w.size(0), w.size(1))
    return try w.view([heads, 2, out / heads / 2, inFeatures]).transposed(1, 2).reshape([out, inFeatures]).contiguous()
  }

  /// The order llama-quantize writes (llama_model_loader's weight_name_comparer): tensors outside the blocks by name,
  /// then block by block, by name within a block. Q4_K_M's per-layer choices count tensors in this order.
  static func quantizeOrder(_ a: String, _ b: String) -> Bool {
    func layer(_ n: String) -> Int {
      let parts = n.split(separator: ".")
      return parts.count > 1 && parts[0] == "blk" ? Int(parts[1]) ?? -1 : -1
    }
    let (la, lb) = (layer(a), layer(b))
    return la != lb ? la < lb : a.utf8.lexicographicallyPrecedes(b.utf8)
  }

  /// The type of each tensor (given in `quantizeOrder`) under `quantization`: 1-D tensors stay F32; otherwise the
  /// type asked for, or for q4_k_m llama.cpp's Q4_K_M mixture (llama-quant.cpp, llama_tensor_get_type): Q4_K, with
  /// Q6_K for the output layer (the token embedding when tied), and for attn_v/attn_qkv and ffn_down of the layers
  /// `useMoreBits` picks; a type whose block does not divide a row falls back (Q4_K → Q5_0, Q6_K → Q8_0, else F16).
  static func tensorTypes(_ tensors: [(name: String, shape: [Int])], quantization: Quantization, layers: Int)
    -> [GGMLType]
  {
    func useMoreBits(_ i: Int, _ n: Int) -> Bool { i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2 }
    func fits(_ type: GGMLType, _ columns: Int) -> Bool { columns % type.blockSize == 0 }
    let isAttentionV = { (name: String) in name.hasSuffix(".attn_v.weight") || name.hasSuffix(".attn_qkv.weight") }
    let attentionVCount = tensors.filter { isAttentionV($0.name) }.count
    let tied = !tensors.contains { $0.name == "output.weight" }
    var (attentionV, ffnDown) = (0, 0)
    return tensors.map { tensor in
      let columns = tensor.shape.last ?? 1
      guard tensor.shape.count >= 2 else { return .f32 }
      var type: GGMLType
      switch quantization {
      case .f32: return .f32
      case .f16: return .f16
      case .bf16: return .bf16
      case .q8_0: type = .q8_0
      case .q4_0: type = .q4_0
      case .q4_k_m:
        type = .q4_K
        if tensor.name == "output.weight" || (tied && tensor.name == "token_embd.weight") {
          type = fits(.q4_K, columns) ? .q6_K : .q8_0
        } else if isAttentionV(tensor.name) {
          if useMoreBits(attentionV, attentionVCount) { type = .q6_K }
          attentionV += 1
        } else if tensor.name.hasSuffix(".ffn_down.weight") {
          if useMoreBits(ffnDown, layers) { type = .q6_K }
          ffnDown += 1
        }
        if !fits(type, columns) { type = [GGMLType.q4_K: .q5_0, .q6_K: .q8_0][type] ?? type }
      }
      // A row that is not a whole number of blocks is written F16 (as llama-quantize and gguf-py's converter do).
      return fits(type, columns) ? type : .f16
    }
  }

  /// Writes `model` (adapters merged; `config` is its configuration) to `url`, with the tokenizer metadata of
  /// `sourceGGUF`, the file the model was read from, or else converted from the Hugging Face folder `tokenizerFolder`
  /// (`Tokenizer.ggufVocabulary(folder:)`); `chatTemplate` replaces the template when given. Returns a line saying
  /// where the vocabulary came from.
  @discardableResult
  public static func write(model: some CausalLanguageModel, config: LlamaConfiguration, sourceGGUF: GGUFFile?,
                           tokenizerFolder: URL? = nil, chatTemplate: String?, quantization: Quantization, name: String,
                           to url: URL) throws -> String
  {
    let arch = try architecture(config)
    let scaling = config.resolvedRopeScaling
    if let scaling, !["default", "linear"].contains(scaling.kind) {
      throw ModelError("GGUF export: rope scaling \(scaling.kind) is not supported yet (default and linear only)")
    }
    if arch == "gemma3" { try checkGemma3(config) }
    var w = GGUFWriter()
    w.add("general.architecture", .string(arch))
    w.add("general.name", .string(name))
    // convert_hf_to_gguf.py's TextModel keys, then each model's own.
    w.add("\(arch).block_count", .uint32(UInt32(config.numHiddenLayers)))
    w.add("\(arch).context_length", .uint32(UInt32(config.maxPositionEmbeddings ?? (arch == "gemma3" ? 131_072 : 2048))))
    w.add("\(arch).embedding_length", .uint32(UInt32(config.hiddenSize)))
    w.add("\(arch).feed_forward_length", .uint32(UInt32(config.intermediateSize)))
    w.add("\(arch).attention.head_count", .uint32(UInt32(config.numAttentionHeads)))
    w.add("\(arch).attention.head_count_kv", .uint32(UInt32(config.kvHeads)))
    w.add("\(arch).rope.freq_base", .float32(Float(arch == "gemma3" ? config.gemma3GlobalRope.theta : config.resolvedRopeTheta)))
    w.add("\(arch).attention.layer_norm_rms_epsilon", .float32(Float(config.rmsNormEps)))
    if let headDim = config.headDim ?? (arch == "gemma3" ? 256 : nil) {
      w.add("\(arch).attention.key_length", .uint32(UInt32(headDim)))
      w.add("\(arch).attention.value_length", .uint32(UInt32(headDim)))
    }
    w.add("general.file_type", .uint32(quantization.fileType))
    switch arch {
    case "llama":
      w.add("llama.vocab_size", .uint32(UInt32(config.vocabSize)))
      w.add("llama.rope.dimension_count", .uint32(UInt32(config.resolvedHeadDim)))
    case "phi3":
      let rotary = Int(Double(config.resolvedHeadDim) * config.resolvedPartialRotaryFactor)
      w.add("phi3.rope.dimension_count", .uint32(UInt32(rotary)))
      w.add("phi3.attention.sliding_window", .uint32(UInt32(config.slidingWindow ?? 0)))
      if let original = scaling?.originalMaxPositionEmbeddings {
        w.add("phi3.rope.scaling.original_context_length", .uint32(UInt32(original)))
      }
    case "gemma3":
      // convert_hf_to_gguf.py's Gemma3Model; llama.cpp takes every 6th layer as global and 10000 as the sliding
      // layers' RoPE base unless told otherwise (keys it reads, which the converter leaves out at those defaults).
      if let cap = config.finalLogitSoftcapping { w.add("gemma3.final_logit_softcapping", .float32(Float(cap))) }
      if config.slidingWindowPattern != 1 { w.add("gemma3.attention.sliding_window", .uint32(UInt32(config.slidingWindow ?? 4096))) }
      let types = config.gemma3LayerTypes
      if types != (0..<config.numHiddenLayers).map({ ($0 + 1) % 6 == 0 ? "full_attention" : "sliding_attention" }) {
        w.add("gemma3.attention.sliding_window_pattern", .array(types.map { .bool($0 == "sliding_attention") }))
      }
      if config.gemma3LocalRope.theta != 10_000 { w.add("gemma3.rope.freq_base_swa", .float32(Float(config.gemma3LocalRope.theta))) }
    default:
      break
    }
    if let scaling, scaling.kind == "linear", let factor = scaling.factor {
      w.add("\(arch).rope.scaling.type", .string("linear"))
      w.add("\(arch).rope.scaling.factor", .float32(Float(factor)))
    }
    let vocabularyNote = try addTokenizer(to: &w, architecture: arch, vocabSize: config.vocabSize, sourceGGUF: sourceGGUF,
                                          folder: tokenizerFolder, chatTemplate: chatTemplate)
    w.add("general.quantization_version", .uint32(2))

    let plan = try ModelExport.mergedWeights(model)
    var named: [(entry: ModelExport.PlannedTensor, gguf: String)] = []
    for entry in plan.entries {
      guard let gguf = ggufName(forHuggingFace: entry.name, architecture: arch) else {
        throw ModelError("GGUF export: no llama.cpp name for the tensor \(entry.name)")
      }
      named.append((entry, gguf))
    }
    named.sort { quantizeOrder($0.gguf, $1.gguf) }
    let types = tensorTypes(named.map { ($0.gguf, $0.entry.shape) }, quantization: quantization,
                            layers: config.numHiddenLayers)
    for ((entry, gguf), type) in zip(named, types) {
      var t = try withNoGrad { try entry.produce().detached().to(dtype: .float32, device: .cpu).contiguous() }
      if arch == "llama" && entry.name.hasSuffix("q_proj.weight") { t = try permuteRows(t, heads: config.numAttentionHeads) }
      if arch == "llama" && entry.name.hasSuffix("k_proj.weight") { t = try permuteRows(t, heads: config.kvHeads) }
      if arch == "gemma3" && entry.name.hasSuffix("norm.weight") { t = try t + 1 }  // llama.cpp stores Gemma's 1 + w
      let bytes = try GGUFQuantizer.quantize(try t.scalars(as: Float.self), rowLength: t.shape.last ?? 1, as: type)
      try w.addTensor(name: gguf, shape: t.shape.reversed(), type: type, data: bytes)
    }
    try AtomicFile.write(w.serialized(), to: url)
    return vocabularyNote
  }

  /// What llama.cpp's gemma3 cannot express: an attention scale other than 1/sqrt(head_dim) (query_pre_attn_scalar;
  /// only its 27B layout differs, by size), scaled RoPE on the sliding layers, attention logit soft-capping.
  static func checkGemma3(_ config: LlamaConfiguration) throws {
    let headDim = config.headDim ?? 256
    if let scalar = config.queryPreAttnScalar, scalar != Double(headDim) {
      throw ModelError("GGUF export: llama.cpp scales Gemma 3's attention by 1/sqrt(head_dim) (\(headDim)); this model's query_pre_attn_scalar is \(scalar)")
    }
    if let local = config.gemma3LocalRope.scaling, local.kind != "default" {
      throw ModelError("GGUF export: llama.cpp's Gemma 3 has no RoPE scaling on the sliding layers (this model: \(local.kind))")
    }
    if config.attnLogitSoftcapping != nil {
      throw ModelError("GGUF export: llama.cpp's Gemma 3 has no attention logit soft-capping (attn_logit_softcapping is set)")
    }
  }

  /// `tokenizer.*` (vocabulary, merges, token types, special token ids, `tokenizer.ggml.pre`) copied from the source
  /// GGUF as it was, or converted from the Hugging Face tokenizer in `folder` as llama.cpp's converter does (for the
  /// llama architecture also its `add_space_prefix` and, for a 49152-token vocabulary, `add_bos_token` false);
  /// `chatTemplate` replaces `tokenizer.chat_template` when given.
  static func addTokenizer(to w: inout GGUFWriter, architecture: String, vocabSize: Int, sourceGGUF: GGUFFile?,
                           folder: URL?, chatTemplate: String?) throws -> String {
    var template = chatTemplate
    if let source = sourceGGUF {
      for key in source.metadataKeys where key.hasPrefix("tokenizer.") {
        if key == "tokenizer.chat_template" {
          template = template ?? source.metadata[key]?.string
          continue
        }
        w.add(key, source.metadata[key]!)
      }
      if let template { w.add("tokenizer.chat_template", .string(template)) }
      return "vocabulary copied from \(source.url.lastPathComponent)"
    }
    guard let folder else {
      throw ModelError("GGUF export needs the tokenizer: a GGUF model file or a Hugging Face folder with tokenizer.json")
    }
    let vocabulary = try Tokenizer.ggufVocabulary(folder: folder)
    var metadata = vocabulary.metadata
    if architecture == "llama" {
      if let prefix = vocabulary.addPrefixSpace { metadata.insert(("tokenizer.ggml.add_space_prefix", .bool(prefix)), at: 0) }
      // convert_hf_to_gguf.py's LlamaModel: "granite small models" (any 49152-token vocabulary, SmolLM2's too).
      if vocabSize == 49152 {
        if let i = metadata.firstIndex(where: { $0.key == "tokenizer.ggml.add_bos_token" }) {
          metadata[i].value = .bool(false)
        } else {
          metadata.append(("tokenizer.ggml.add_bos_token", .bool(false)))
        }
      }
    }
    if let template {
      metadata.removeAll { $0.key == "tokenizer.chat_template" }
      metadata.append(("tokenizer.chat_template", .string(template)))
    }
    for (key, value) in metadata { w.add(key, value) }
    let how = vocabulary.checksumRecognized
      ? "llama.cpp's checksum \(vocabulary.checksum.prefix(12))…"
      : "the pre-tokenizer's structure (checksum \(vocabulary.checksum.prefix(12))… is not one llama.cpp lists)"
    return "vocabulary converted from \(folder.lastPathComponent)/tokenizer.json, tokenizer.ggml.pre \"\(vocabulary.pre)\" by \(how)"
  }
}

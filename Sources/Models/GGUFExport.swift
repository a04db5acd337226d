// GGUFExport.swift — `orpo export --merge --format gguf`: the merged model as one GGUF file that llama.cpp, Ollama
// and LM Studio read: llama.cpp's tensor names and metadata (llama.cpp's convert_hf_to_gguf.py, LlamaModel), q/k rows
// permuted back to llama.cpp's interleaved-RoPE layout, tensors in F32/F16/BF16/Q8_0/Q4_0 (GGUF/Quantize.swift).
import Foundation
import GGUF
import NN
import Support
import Torch

public enum GGUFExport {
  /// `--quant`: the type of the 2-D weights (1-D norms stay F32, as convert_hf_to_gguf.py keeps them).
  public enum Quantization: String, CaseIterable, Sendable {
    case f32, f16, bf16, q8_0, q4_0, q4_k_m

    var type: GGMLType? {
      switch self {
      case .f32: return .f32
      case .f16: return .f16
      case .bf16: return .bf16
      case .q8_0: return .q8_0
      case .q4_0: return .q4_0
      case .q4_k_m: return nil
      }
    }

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

  /// Hugging Face name → llama.cpp name (the inverse of `Checkpoint.huggingFaceName(forGGUF:)`).
  public static func ggufName(forHuggingFace name: String) -> String? {
    switch name {
    case "model.embed_tokens.weight": return "token_embd.weight"
    case "model.norm.weight": return "output_norm.weight"
    case "lm_head.weight": return "output.weight"
    default: break
    }
    let parts = name.split(separator: ".").map(String.init)
    guard parts.count >= 5, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]) else { return nil }
    let module = parts[3..<(parts.count - 1)].joined(separator: ".")
    guard let gguf = Checkpoint.ggufNames.first(where: { $0.hf == module })?.gguf else { return nil }
    return "blk.\(layer).\(gguf).\(parts.last!)"
  }

  /// llama.cpp's permutation of q/k rows (convert_hf_to_gguf.py `LlamaModel.permute`): [out, in] viewed as
  /// [heads, 2, d/2, in], the middle axes swapped — rotate-half RoPE pairs to interleaved ones.
  static func permuteRows(_ w: Tensor, heads: Int) throws -> Tensor {
    let (out, inFeatures) = (w.size(0), w.size(1))
    return try w.view([heads, 2, out / heads / 2, inFeatures]).transposed(1, 2).reshape([out, inFeatures]).contiguous()
  }

  /// Writes `model` (adapters merged) to `url`, with the tokenizer metadata of `sourceGGUF`, the file the model was
  /// read from; `chatTemplate` replaces the template when given.
  public static func write(model: LlamaForCausalLM, sourceGGUF: GGUFFile?,
                           chatTemplate: String?, quantization: Quantization, name: String, to url: URL) throws
  {
    guard let weightType = quantization.type else {
      throw ModelError("--quant q4_k_m is not supported yet (its k-quant search is not ported); use q4_0, q8_0, f16, bf16 or f32")
    }
    let config = model.config
    let modelType = config.modelType ?? "llama"
    guard ["llama", "mistral"].contains(modelType) else {
      throw ModelError("GGUF export writes the llama architecture (Llama, Mistral, SmolLM2); this model is \(modelType)")
    }
    if let scaling = config.ropeScaling, scaling.ropeType != "linear" {
      throw ModelError("GGUF export: rope_scaling type \(scaling.ropeType ?? "?") is not supported yet (linear only)")
    }
    let arch = "llama"
    var w = GGUFWriter()
    w.add("general.architecture", .string(arch))
    w.add("general.name", .string(name))
    w.add("\(arch).block_count", .uint32(UInt32(config.numHiddenLayers)))
    w.add("\(arch).context_length", .uint32(UInt32(config.maxPositionEmbeddings ?? 2048)))
    w.add("\(arch).embedding_length", .uint32(UInt32(config.hiddenSize)))
    w.add("\(arch).feed_forward_length", .uint32(UInt32(config.intermediateSize)))
    w.add("\(arch).attention.head_count", .uint32(UInt32(config.numAttentionHeads)))
    w.add("\(arch).attention.head_count_kv", .uint32(UInt32(config.kvHeads)))
    w.add("\(arch).rope.freq_base", .float32(Float(config.ropeTheta ?? 10000)))
    w.add("\(arch).attention.layer_norm_rms_epsilon", .float32(Float(config.rmsNormEps)))
    if let scaling = config.ropeScaling, let factor = scaling.factor {
      w.add("\(arch).rope.scaling.type", .string("linear"))
      w.add("\(arch).rope.scaling.factor", .float32(Float(factor)))
    }
    w.add("general.file_type", .uint32(quantization.fileType))
    w.add("\(arch).vocab_size", .uint32(UInt32(config.vocabSize)))
    w.add("\(arch).rope.dimension_count", .uint32(UInt32(config.resolvedHeadDim)))
    try addTokenizer(to: &w, sourceGGUF: sourceGGUF, chatTemplate: chatTemplate)
    w.add("general.quantization_version", .uint32(2))

    let plan = try ModelExport.mergedWeights(model)
    let order = plan.entries.compactMap { entry in ggufName(forHuggingFace: entry.name).map { (entry, $0) } }
    guard order.count == plan.entries.count else {
      let unknown = plan.entries.map(\.name).filter { ggufName(forHuggingFace: $0) == nil }
      throw ModelError("GGUF export: no llama.cpp name for \(unknown.prefix(3).joined(separator: ", "))")
    }
    // llama.cpp's order: token_embd, then the blocks in order, then output_norm and output.
    func rank(_ gguf: String) -> (Int, Int, String) {
      if gguf.hasPrefix("token_embd") { return (0, 0, gguf) }
      if gguf.hasPrefix("blk.") { return (1, Int(gguf.split(separator: ".")[1]) ?? 0, gguf) }
      return (2, gguf.hasPrefix("output_norm") ? 0 : 1, gguf)
    }
    for (entry, gguf) in order.sorted(by: { rank($0.1) < rank($1.1) }) {
      var t = try withNoGrad { try entry.produce().detached().to(dtype: .float32, device: .cpu).contiguous() }
      if entry.name.hasSuffix("q_proj.weight") { t = try permuteRows(t, heads: config.numAttentionHeads) }
      if entry.name.hasSuffix("k_proj.weight") { t = try permuteRows(t, heads: config.kvHeads) }
      let values = try t.scalars(as: Float.self)
      let shape = t.shape
      let rowLength = shape.last ?? 1
      var type: GGMLType = shape.count == 1 ? .f32 : weightType
      // A row that is not a whole number of blocks falls back to F16 (as gguf-py's converter does).
      if rowLength % type.blockSize != 0 { type = .f16 }
      let bytes = try GGUFQuantizer.quantize(values, rowLength: rowLength, as: type)
      try w.addTensor(name: gguf, shape: shape.reversed(), type: type, data: bytes)
    }
    try AtomicFile.write(w.serialized(), to: url)
  }

  /// `tokenizer.*` (vocabulary, merges, token types, special token ids, `tokenizer.ggml.pre`) copied from the source
  /// GGUF as it was; `chatTemplate` replaces `tokenizer.chat_template` when given.
  static func addTokenizer(to w: inout GGUFWriter, sourceGGUF: GGUFFile?, chatTemplate: String?) throws {
    guard let source = sourceGGUF else {
      throw ModelError("GGUF export needs the tokenizer's llama.cpp metadata, which this session only copies from a GGUF model (--model FILE.gguf); writing it from tokenizer.json (the pre-tokenizer's llama.cpp name) is not done yet")
    }
    var template = chatTemplate
    for key in source.metadataKeys where key.hasPrefix("tokenizer.") {
      if key == "tokenizer.chat_template" {
        template = template ?? source.metadata[key]?.string
        continue
      }
      w.add(key, source.metadata[key]!)
    }
    if let template { w.add("tokenizer.chat_template", .string(template)) }
  }
}

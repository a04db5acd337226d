// Checkpoint.swift — loading model weights: Hugging Face folders (model.safetensors or shards) and GGUF files
// (llama.cpp names mapped to Hugging Face names here, in one table; q/k row permutation undone).
import Foundation
import GGUF
import NN
import Torch

public enum CheckpointFormat: String, Sendable { case huggingFace = "hf-folder", gguf, random = "random-weights" }

/// A checkpoint opened for reading one tensor at a time: its configuration, the Hugging Face keys it holds, and each
/// weight converted to a dtype when a layer asks for it. Loading a model this way never holds the dense checkpoint
/// whole: a quantizing loader quantizes each weight as it is read.
public struct CheckpointReader {
  public let url: URL
  public let config: LlamaConfiguration
  public let format: CheckpointFormat
  /// Every weight's Hugging Face key (`model.layers.0.self_attn.q_proj.weight`), in file order.
  public let keys: [String]
  /// The GGUF file itself (for layers that keep its quantized blocks), nil for a Hugging Face folder.
  public let gguf: GGUFFile?
  /// The GGUF tensor behind each Hugging Face key (empty for a Hugging Face folder).
  public var ggufTensors: [String: GGUFTensorInfo] = [:]
  let read: (_ key: String, _ dtype: DType, _ ownCopy: Bool) throws -> Tensor?

  /// The weight `key` on the CPU, floating-point ones converted to `dtype`; `ownCopy` never borrows the file's
  /// memory map (so the mapping can go once the model is built). nil when the checkpoint has no such key.
  public func tensor(_ key: String, dtype: DType, ownCopy: Bool = false) throws -> Tensor? {
    try read(key, dtype, ownCopy)
  }
}

public enum Checkpoint {
  /// Opens the model at `path` (an HF folder or a .gguf file): its configuration now, the weights when read.
  public static func open(_ path: URL) throws -> CheckpointReader {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDir) else {
      throw ModelError("\(path.path): no such file or folder")
    }
    if isDir.boolValue {
      let config = try LlamaConfiguration.load(path.appendingPathComponent("config.json"))
      return try openSafetensorsFolder(path, config: config)
    }
    guard path.pathExtension.lowercased() == "gguf" else {
      throw ModelError("\(path.path): expected a Hugging Face model folder or a .gguf file")
    }
    let file = try GGUFFile(url: path)
    return try openGGUF(file, config: try configuration(fromGGUF: file))
  }

  /// Reads the configuration and every weight of a model at `path` (an HF folder or a .gguf file), converting
  /// floating-point weights to `dtype`.
  public static func load(_ path: URL, dtype: DType = .float32, device: Device = .cpu) throws
    -> (config: LlamaConfiguration, parameters: ParameterStore, format: CheckpointFormat)
  {
    let reader = try open(path)
    var store: ParameterStore = [:]
    for key in reader.keys {
      guard let t = try reader.tensor(key, dtype: dtype) else { continue }
      store[key] = device == .cpu ? t : try t.to(device: device)
    }
    return (reader.config, store, reader.format)
  }

  // MARK: Hugging Face folders

  static func openSafetensorsFolder(_ folder: URL, config: LlamaConfiguration) throws -> CheckpointReader {
    let index = folder.appendingPathComponent("model.safetensors.index.json")
    var files: [URL]
    if FileManager.default.fileExists(atPath: index.path) {
      struct Index: Decodable { let weight_map: [String: String] }
      let data: Data
      do { data = try Data(contentsOf: index) } catch {
        throw ModelError("\(index.path): cannot read (\(error.localizedDescription))")
      }
      guard let map = try? JSONDecoder().decode(Index.self, from: data) else {
        throw ModelError("\(index.path): expected an object with a \"weight_map\"")
      }
      files = Set(map.weight_map.values).sorted().map { folder.appendingPathComponent($0) }
    } else {
      files = [folder.appendingPathComponent("model.safetensors")]
    }
    for f in files where !FileManager.default.fileExists(atPath: f.path) {
      throw ModelError("\(f.path): missing (model folders need model.safetensors or the shards their index names)")
    }
    var keys: [String] = []
    var fileOf: [String: SafeTensorsFile] = [:]
    for f in files {
      let st = try SafeTensorsFile(url: f)
      for name in st.names {
        keys.append(name)
        fileOf[name] = st
      }
    }
    return CheckpointReader(url: folder, config: config, format: .huggingFace, keys: keys, gguf: nil, ggufTensors: [:]) { key, dtype, ownCopy in
      guard let st = fileOf[key] else { return nil }
      let convert = try st.info(key).dtype.isFloatingPoint && st.info(key).dtype != dtype
      // Same dtype and no copy asked for: the tensor borrows the memory map, no copy at all.
      let t = try st.tensor(key, copy: ownCopy && !convert)
      return convert ? try t.to(dtype: dtype) : t
    }
  }

  // MARK: GGUF

  /// The model configuration carried in GGUF metadata (llama.cpp's keys, prefixed by the architecture).
  public static func configuration(fromGGUF file: GGUFFile) throws -> LlamaConfiguration {
    let m = file.metadata
    let source = file.url.lastPathComponent
    guard let arch = m["general.architecture"]?.string else {
      throw ModelError("\(source): GGUF metadata has no general.architecture")
    }
    let modelType: String
    switch arch {
    case "llama": modelType = "llama"
    case "qwen2": modelType = "qwen2"
    case "mistral": modelType = "mistral"
    case "gemma3": modelType = "gemma3_text"
    default:
      throw ModelError("\(source): unsupported GGUF architecture \"\(arch)\" (supported: llama, mistral, qwen2, gemma3)")
    }
    func int(_ key: String) throws -> Int {
      guard let v = m["\(arch).\(key)"]?.int else { throw ModelError("\(source): GGUF metadata has no \(arch).\(key)") }
      return v
    }
    let vocab = m["\(arch).vocab_size"]?.int ?? m["tokenizer.ggml.tokens"]?.array?.count
    guard let vocab else { throw ModelError("\(source): GGUF metadata gives no vocabulary size") }
    let heads = try int("attention.head_count")
    let hidden = try int("embedding_length")
    var config = LlamaConfiguration(
      vocabSize: vocab, hiddenSize: hidden, intermediateSize: try int("feed_forward_length"),
      numHiddenLayers: try int("block_count"), numAttentionHeads: heads,
      numKeyValueHeads: m["\(arch).attention.head_count_kv"]?.int ?? heads,
      headDim: arch == "gemma3" ? m["\(arch).attention.key_length"]?.int : m["\(arch).rope.dimension_count"]?.int,
      rmsNormEps: m["\(arch).attention.layer_norm_rms_epsilon"]?.double ?? 1e-5,
      ropeTheta: m["\(arch).rope.freq_base"]?.double ?? 10000,
      tieWordEmbeddings: file.tensor(named: "output.weight") == nil, modelType: modelType)
    config.maxPositionEmbeddings = m["\(arch).context_length"]?.int
    config.bosTokenId = m["tokenizer.ggml.bos_token_id"]?.int
    config.eosTokenId = m["tokenizer.ggml.eos_token_id"]?.int.map { .one($0) }
    config.padTokenId = m["tokenizer.ggml.padding_token_id"]?.int
    if let window = m["\(arch).attention.sliding_window"]?.int { config.slidingWindow = window }
    if arch == "gemma3" {
      // What llama.cpp's gemma3 takes for granted, as it does: GELU (tanh), attention scaled by 1/sqrt(key_length)
      // (transformers' GGUF loader leaves query_pre_attn_scalar at 256, the same for every Gemma 3 but 27B), every 6th
      // layer global and 10000 as the sliding layers' RoPE base — unless the optional keys llama.cpp reads say otherwise.
      config.hiddenActivation = "gelu_pytorch_tanh"
      config.queryPreAttnScalar = Double(m["gemma3.attention.key_length"]?.int ?? 256)
      config.ropeLocalBaseFreq = m["gemma3.rope.freq_base_swa"]?.double ?? 10_000
      config.slidingWindowPattern = 6
      if let pattern = m["gemma3.attention.sliding_window_pattern"] {
        if let flags = pattern.array?.compactMap(\.bool), flags.count == config.numHiddenLayers {
          config.layerTypes = flags.map { $0 ? "sliding_attention" : "full_attention" }
        } else if let every = pattern.int {
          config.slidingWindowPattern = every
        } else {
          throw ModelError("\(source): gemma3.attention.sliding_window_pattern is neither a layer count nor one flag per layer")
        }
      }
      config.finalLogitSoftcapping = m["gemma3.final_logit_softcapping"]?.double
    }
    if let type = m["\(arch).rope.scaling.type"]?.string, type != "none" {
      config.ropeScaling = RopeScaling(ropeType: type, factor: m["\(arch).rope.scaling.factor"]?.double,
                                       originalMaxPositionEmbeddings: m["\(arch).rope.scaling.original_context_length"]?.int)
    }
    return config
  }

  /// llama.cpp tensor names -> Hugging Face names (the one mapping table).
  static let ggufNames: [(gguf: String, hf: String)] = [
    ("attn_norm", "input_layernorm"), ("ffn_norm", "post_attention_layernorm"),
    ("attn_q", "self_attn.q_proj"), ("attn_k", "self_attn.k_proj"), ("attn_v", "self_attn.v_proj"),
    ("attn_output", "self_attn.o_proj"), ("ffn_gate", "mlp.gate_proj"), ("ffn_up", "mlp.up_proj"),
    ("ffn_down", "mlp.down_proj"),
  ]

  /// Gemma 3's names where they differ (its feed-forward has norms before and after; q/k norms).
  static let gemma3GGUFNames: [(gguf: String, hf: String)] = [
    ("ffn_norm", "pre_feedforward_layernorm"), ("post_attention_norm", "post_attention_layernorm"),
    ("post_ffw_norm", "post_feedforward_layernorm"), ("attn_q_norm", "self_attn.q_norm"),
    ("attn_k_norm", "self_attn.k_norm"),
  ]

  /// The Hugging Face key of a llama.cpp tensor of a GGUF file whose `general.architecture` is `architecture`.
  public static func huggingFaceName(forGGUF name: String, architecture: String? = nil) -> String? {
    switch name {
    case "token_embd.weight": return "model.embed_tokens.weight"
    case "output_norm.weight": return "model.norm.weight"
    case "output.weight": return "lm_head.weight"
    default: break
    }
    let parts = name.split(separator: ".")
    guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]) else { return nil }
    let table = architecture == "gemma3" ? gemma3GGUFNames + ggufNames : ggufNames
    guard let hf = table.first(where: { $0.gguf == parts[2] })?.hf else { return nil }
    return "model.layers.\(layer).\(hf).\(parts[3])"
  }

  static func openGGUF(_ file: GGUFFile, config: LlamaConfiguration) throws -> CheckpointReader {
    let architecture = file.metadata["general.architecture"]?.string
    var infos: [String: GGUFTensorInfo] = [:]
    var keys: [String] = []
    for info in file.tensors {
      guard let name = huggingFaceName(forGGUF: info.name, architecture: architecture) else { continue }  // e.g. rope_freqs
      infos[name] = info
      keys.append(name)
    }
    return CheckpointReader(url: file.url, config: config, format: .gguf, keys: keys, gguf: file, ggufTensors: infos) { key, dtype, _ in
      guard let info = infos[key] else { return nil }
      let t = try Tensor.empty(info.rowMajorShape, dtype: .float32)
      let count = info.elementCount
      let pointer = try t.dataPointer().bindMemory(to: Float.self, capacity: count)
      try file.dequantize(info, into: UnsafeMutableBufferPointer(start: pointer, count: count))
      var w = t
      if let heads = permutedHeads(key, config: config, file: file) { w = try unpermuteRows(w, heads: heads) }
      if architecture == "gemma3" && key.hasSuffix("norm.weight") { w = try w - 1 }  // llama.cpp stores 1 + w
      return dtype == .float32 ? w : try w.to(dtype: dtype)
    }
  }

  /// The head count whose rows llama.cpp permuted in `key` (q/k projections of a llama GGUF), or nil.
  static func permutedHeads(_ key: String, config: LlamaConfiguration, file: GGUFFile) -> Int? {
    guard file.metadata["general.architecture"]?.string == "llama" else { return nil }
    if key.hasSuffix("q_proj.weight") { return config.numAttentionHeads }
    if key.hasSuffix("k_proj.weight") { return config.kvHeads }
    return nil
  }

  /// Inverse of llama.cpp's convert script permutation of q/k rows (interleaved RoPE -> rotate-half layout):
  /// [out, in] viewed as [heads, d/2, 2, in], swap the middle axes, back to [out, in].
  static func unpermuteRows(_ w: Tensor, heads: Int) throws -> Tensor {
    let (out, inFeatures) = (w.size(0), w.size(1))
    let half = out / heads / 2
    return try w.view([heads, half, 2, inFeatures]).transposed(1, 2).reshape([out, inFeatures]).contiguous()
  }
}

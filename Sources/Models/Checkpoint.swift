// Checkpoint.swift — loading model weights: Hugging Face folders (model.safetensors or shards) and GGUF files
// (llama.cpp names mapped to Hugging Face names here, in one table; q/k row permutation undone).
import Foundation
import GGUF
import NN
import Torch

public enum CheckpointFormat: String, Sendable { case huggingFace = "hf-folder", gguf }

public enum Checkpoint {
  /// Reads the configuration and every weight of a model at `path` (an HF folder or a .gguf file), converting
  /// floating-point weights to `dtype`.
  public static func load(_ path: URL, dtype: DType = .float32, device: Device = .cpu) throws
    -> (config: LlamaConfiguration, parameters: ParameterStore, format: CheckpointFormat)
  {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDir) else {
      throw ModelError("\(path.path): no such file or folder")
    }
    if isDir.boolValue {
      let config = try LlamaConfiguration.load(path.appendingPathComponent("config.json"))
      return (config, try loadSafetensorsFolder(path, dtype: dtype, device: device), .huggingFace)
    }
    guard path.pathExtension.lowercased() == "gguf" else {
      throw ModelError("\(path.path): expected a Hugging Face model folder or a .gguf file")
    }
    let file = try GGUFFile(url: path)
    let config = try configuration(fromGGUF: file)
    return (config, try loadGGUFWeights(file, config: config, dtype: dtype, device: device), .gguf)
  }

  // MARK: Hugging Face folders

  static func loadSafetensorsFolder(_ folder: URL, dtype: DType, device: Device) throws -> ParameterStore {
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
    var store: ParameterStore = [:]
    for f in files {
      let st = try SafeTensorsFile(url: f)
      for name in st.names {
        let t = try st.tensor(name)
        let converted = t.dtype.isFloatingPoint && t.dtype != dtype ? try t.to(dtype: dtype) : t
        // Same dtype on the CPU: the tensor borrows the memory map, no copy at all.
        store[name] = device == .cpu ? converted : try converted.to(device: device)
      }
    }
    return store
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
    default:
      throw ModelError("\(source): unsupported GGUF architecture \"\(arch)\" (supported: llama, mistral, qwen2)")
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
      headDim: m["\(arch).rope.dimension_count"]?.int,
      rmsNormEps: m["\(arch).attention.layer_norm_rms_epsilon"]?.double ?? 1e-5,
      ropeTheta: m["\(arch).rope.freq_base"]?.double ?? 10000,
      tieWordEmbeddings: file.tensor(named: "output.weight") == nil, modelType: modelType)
    config.maxPositionEmbeddings = m["\(arch).context_length"]?.int
    config.bosTokenId = m["tokenizer.ggml.bos_token_id"]?.int
    config.eosTokenId = m["tokenizer.ggml.eos_token_id"]?.int.map { .one($0) }
    config.padTokenId = m["tokenizer.ggml.padding_token_id"]?.int
    if let window = m["\(arch).attention.sliding_window"]?.int { config.slidingWindow = window }
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

  public static func huggingFaceName(forGGUF name: String) -> String? {
    switch name {
    case "token_embd.weight": return "model.embed_tokens.weight"
    case "output_norm.weight": return "model.norm.weight"
    case "output.weight": return "lm_head.weight"
    default: break
    }
    let parts = name.split(separator: ".")
    guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]) else { return nil }
    guard let hf = ggufNames.first(where: { $0.gguf == parts[2] })?.hf else { return nil }
    return "model.layers.\(layer).\(hf).\(parts[3])"
  }

  static func loadGGUFWeights(_ file: GGUFFile, config: LlamaConfiguration, dtype: DType, device: Device) throws
    -> ParameterStore
  {
    var store: ParameterStore = [:]
    let permutes = file.metadata["general.architecture"]?.string == "llama"
    for info in file.tensors {
      guard let name = huggingFaceName(forGGUF: info.name) else { continue }  // e.g. rope_freqs
      let shape = info.rowMajorShape
      let t = try Tensor.empty(shape, dtype: .float32)
      let count = info.elementCount
      let pointer = try t.dataPointer().bindMemory(to: Float.self, capacity: count)
      try file.dequantize(info, into: UnsafeMutableBufferPointer(start: pointer, count: count))
      var w = t
      if permutes, name.hasSuffix("q_proj.weight") || name.hasSuffix("k_proj.weight") {
        let heads = name.hasSuffix("q_proj.weight") ? config.numAttentionHeads : config.kvHeads
        w = try unpermuteRows(w, heads: heads)
      }
      if dtype != .float32 { w = try w.to(dtype: dtype) }
      store[name] = device == .cpu ? w : try w.to(device: device)
    }
    return store
  }

  /// Inverse of llama.cpp's convert script permutation of q/k rows (interleaved RoPE -> rotate-half layout):
  /// [out, in] viewed as [heads, d/2, 2, in], swap the middle axes, back to [out, in].
  static func unpermuteRows(_ w: Tensor, heads: Int) throws -> Tensor {
    let (out, inFeatures) = (w.size(0), w.size(1))
    let half = out / heads / 2
    return try w.view([heads, half, 2, inFeatures]).transposed(1, 2).reshape([out, inFeatures]).contiguous()
  }
}

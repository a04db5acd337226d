// GGUFExportTests.swift — `orpo export --merge --format gguf` on the ORPO fixture model with its TRL adapter: llama.cpp
// names, metadata and tokenizer keys, q/k rows permuted back (our GGUF reader, checked against transformers, reads the
// merged weights back exactly from f32), quant blocks equal to the quantizer's (checked against gguf-py), refusals.
import Foundation
import GGUF
import NN
import Support
import Testing
import Torch
@testable import Models

/// True when `value` is what gguf-py read back: `[type, value]`, or `["array", element type, values]`.
private func ggufValue(_ value: GGUFValue, matches json: JSONValue) -> Bool {
  guard let parts = json.arrayValue, let type = parts.first?.stringValue else { return false }
  func scalar(_ v: GGUFValue, _ type: String, _ j: JSONValue) -> Bool {
    switch (type, v) {
    case ("string", .string(let s)): return j.stringValue.map { $0.utf8.elementsEqual(s.utf8) } ?? false
    case ("bool", .bool(let b)): return j.boolValue == b
    case ("uint32", .uint32(let x)): return j.intValue == Int(x)
    case ("int32", .int32(let x)): return j.intValue == Int(x)
    case ("float32", .float32(let x)): return j.doubleValue.map { Float($0) == x } ?? false
    default: return false
    }
  }
  if type == "array" {
    guard parts.count == 3, let elementType = parts[1].stringValue, let items = parts[2].arrayValue,
          case .array(let values) = value, values.count == items.count else { return false }
    return zip(values, items).allSatisfy { scalar($0, elementType, $1) }
  }
  return parts.count == 2 && scalar(value, type, parts[1])
}

@Suite(.serialized) struct GGUFExportTests {
  /// A GGUF holding only tokenizer metadata, standing in for the model file the weights came from.
  func sourceGGUF(in dir: URL, vocabulary: Int = 900) throws -> GGUFFile {
    var w = GGUFWriter()
    w.add("general.architecture", .string("llama"))
    w.add("tokenizer.ggml.model", .string("gpt2"))
    w.add("tokenizer.ggml.pre", .string("smollm"))
    w.add("tokenizer.ggml.tokens", .array((0..<vocabulary).map { .string("t\($0)") }))
    w.add("tokenizer.ggml.bos_token_id", .uint32(1))
    w.add("tokenizer.chat_template", .string("{{ messages }}"))
    let url = dir.appendingPathComponent("source-\(vocabulary).gguf")
    try Data(w.serialized()).write(to: url)
    return try GGUFFile(url: url)
  }

  func merged() throws -> (LlamaForCausalLM, URL) {
    let dir = try ExportFixture.temporaryFolder("gguf-export")
    let model = try ExportFixture.loadBase()
    _ = try ModelExport.loadAdapter(from: try ExportFixture.trlAdapter(in: dir), into: model)
    return (model, dir)
  }

  @Test func f32ReadsBackAsTheMergedWeights() throws {
    let (model, dir) = try merged()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("model.gguf")
    try GGUFExport.write(model: model, config: model.config, sourceGGUF: try sourceGGUF(in: dir), chatTemplate: nil, quantization: .f32,
                         name: "orpo", to: file)
    let g = try GGUFFile(url: file)
    let m = g.metadata
    #expect(m["general.architecture"]?.string == "llama" && m["general.file_type"]?.int == 0)
    #expect(m["llama.block_count"]?.int == 2 && m["llama.embedding_length"]?.int == 32)
    #expect(m["llama.attention.head_count"]?.int == 4 && m["llama.attention.head_count_kv"]?.int == 2)
    #expect(m["llama.rope.dimension_count"]?.int == 8 && m["llama.context_length"]?.int == 128)
    #expect(m["llama.feed_forward_length"]?.int == 64 && m["llama.vocab_size"]?.int == 900)
    #expect(m["tokenizer.ggml.pre"]?.string == "smollm" && m["tokenizer.ggml.tokens"]?.array?.count == 900)
    #expect(m["tokenizer.chat_template"]?.string == "{{ messages }}")
    // llama-quantize's order: the tensors outside the blocks by name, then block by block, by name.
    #expect(g.tensorNames.prefix(5) == ["output.weight", "output_norm.weight", "token_embd.weight", "blk.0.attn_k.weight",
                                        "blk.0.attn_norm.weight"])
    #expect(g.tensorNames.last == "blk.1.ffn_up.weight")
    #expect(g.tensors.count == 2 * 9 + 3 && g.tensors.allSatisfy { $0.type == .f32 })
    #expect(g.tensor(named: "blk.1.attn_q.weight")?.shape == [32, 32] && g.tensor(named: "blk.1.ffn_up.weight")?.shape == [32, 64])
    // Read back through the GGUF loader (which undoes llama.cpp's q/k permutation): the merged weights, exactly.
    let (config, parameters, _) = try Checkpoint.load(file)
    #expect(config.numKeyValueHeads == 2 && !config.tiesEmbeddings)
    let want = try ModelExport.mergedWeights(model).entries
    #expect(want.count == parameters.count)
    for entry in want {
      let ours = try #require(parameters[entry.name], "\(entry.name) read back")
      let difference = try (ours - entry.produce()).abs().max().item()
      #expect(difference == 0, "\(entry.name): \(difference)")
    }
  }

  @Test func q8_0BlocksAreTheQuantizersBytesOfThePermutedRows() throws {
    let (model, dir) = try merged()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("model-q8_0.gguf")
    try GGUFExport.write(model: model, config: model.config, sourceGGUF: try sourceGGUF(in: dir), chatTemplate: "custom", quantization: .q8_0,
                         name: "orpo", to: file)
    let g = try GGUFFile(url: file)
    #expect(g.metadata["general.file_type"]?.int == 7 && g.metadata["tokenizer.chat_template"]?.string == "custom")
    #expect(g.tensor(named: "blk.0.attn_norm.weight")?.type == .f32 && g.tensor(named: "blk.0.attn_k.weight")?.type == .q8_0)
    let entries = Dictionary(uniqueKeysWithValues: try ModelExport.mergedWeights(model).entries.map { ($0.name, $0) })
    let k = try entries["model.layers.0.self_attn.k_proj.weight"]!.produce()
    let permuted = try GGUFExport.permuteRows(k, heads: 2).scalars(as: Float.self)
    let info = try #require(g.tensor(named: "blk.0.attn_k.weight"))
    #expect(try g.rawBytes(of: info) == GGUFQuantizer.quantize(permuted, rowLength: 32, as: .q8_0))
    // Within Q8_0's own error: half a step (max|x| / 127 / 2) per block of 32.
    let (_, parameters, _) = try Checkpoint.load(file)
    for (name, entry) in entries where entry.shape.count == 2 {
      let x = try entry.produce()
      let error = try (parameters[name]! - x).abs().max().item()
      #expect(error <= (try x.abs().max().item()) / 127 * 0.5 * 1.01, "\(name): \(error)")
    }
  }

  @Test func refusesWhatItCannotWrite() throws {
    let (model, dir) = try merged()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("x.gguf")
    var llama3 = model.config
    llama3.ropeScaling = RopeScaling(ropeType: "llama3", factor: 8)
    #expect(throws: ModelError.self) {
      try GGUFExport.write(model: model, config: llama3, sourceGGUF: try sourceGGUF(in: dir), chatTemplate: nil,
                           quantization: .f16, name: "x", to: file)
    }
    var gemma = model.config
    gemma.modelType = "gemma"
    #expect(throws: ModelError.self) {
      try GGUFExport.write(model: model, config: gemma, sourceGGUF: try sourceGGUF(in: dir), chatTemplate: nil,
                           quantization: .f16, name: "x", to: file)
    }
    #expect(throws: ModelError.self) {
      try GGUFExport.write(model: model, config: model.config, sourceGGUF: nil, chatTemplate: nil, quantization: .f16,
                           name: "x", to: file)
    }
    // A SentencePiece-style tokenizer.json is not converted (yet): a clear refusal, no file.
    let spm = try ExportFixture.temporaryFolder("gguf-spm")
    defer { try? FileManager.default.removeItem(at: spm) }
    try FileManager.default.copyItem(at: ExportFixture.testsFolder.appendingPathComponent("../TokenizationTests/Fixtures/llama2/tokenizer.json"),
                                     to: spm.appendingPathComponent("tokenizer.json"))
    #expect(throws: (any Error).self) {
      try GGUFExport.write(model: model, config: model.config, sourceGGUF: nil, tokenizerFolder: spm, chatTemplate: nil,
                           quantization: .f16, name: "x", to: file)
    }
    #expect(!FileManager.default.fileExists(atPath: file.path))
  }

  /// From the tiny merged model's Hugging Face folder (no GGUF source), f32: every metadata key (the vocabulary
  /// converted from tokenizer.json, `tokenizer.ggml.pre` included) and every tensor's bytes are what llama.cpp's own
  /// convert_hf_to_gguf.py wrote for that folder (reference/check_gguf_vocab.py → gguf_from_hf.json), but the name.
  @Test func fromHuggingFaceFolderIsLlamaCppsConversion() throws {
    let folder = ExportFixture.testsFolder.appendingPathComponent("Fixtures/export/merged")
    let fixture = try JSONValue.parse(Data(contentsOf: ExportFixture.testsFolder.appendingPathComponent("Fixtures/gguf_from_hf.json")))
    let (config, parameters, _) = try Checkpoint.load(folder)
    let model = try makeCausalLanguageModel(config: config, parameters: parameters)
    let dir = try ExportFixture.temporaryFolder("gguf-from-hf")
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("merged.gguf")
    let note = try GGUFExport.write(model: model, config: config, sourceGGUF: nil, tokenizerFolder: folder, chatTemplate: nil,
                                    quantization: .f32, name: "merged", to: file)
    #expect(note.contains("\"smollm\""))
    let g = try GGUFFile(url: file)
    let want = try #require(fixture[first: "metadata"]?.objectValue)
    #expect(Set(g.metadataKeys.filter { $0 != "general.name" }) == Set(want.map(\.key)))
    for (key, json) in want {
      let ours = try #require(g.metadata[key], "\(key)")
      #expect(ggufValue(ours, matches: json), "\(key): ours \(String(describing: ours).prefix(200))")
    }
    let tensors = try #require(fixture[first: "tensors_fnv1a64"]?.objectValue)
    #expect(Set(g.tensorNames) == Set(tensors.map(\.key)))
    for (name, hex) in tensors {
      let info = try #require(g.tensor(named: name))
      var hash = StableHash()
      hash.combine(try g.rawBytes(of: info))
      #expect(hash.hex == hex.stringValue, "\(name)")
    }
  }

  /// Gemma 3 (the tiny random model of ArchitectureTests: global layers every 2nd, linear RoPE scaling on them, sliding
  /// window 4) under llama.cpp's gemma3 keys and names, norms stored as 1 + w; read back by our GGUF loader it gives the
  /// model's logits. Its query_pre_attn_scalar (24, not head_dim 16) is what llama.cpp cannot express: refused, then
  /// exported with the scalar set to head_dim.
  @Test func gemma3UsesLlamaCppsKeysAndNormsAndReadsBack() throws {
    let folder = ExportFixture.testsFolder.appendingPathComponent("Fixtures/gemma3")
    var (config, parameters, _) = try Checkpoint.load(folder)
    let dir = try ExportFixture.temporaryFolder("gguf-gemma3")
    defer { try? FileManager.default.removeItem(at: dir) }
    let source = try sourceGGUF(in: dir, vocabulary: config.vocabSize)
    let file = dir.appendingPathComponent("gemma3.gguf")
    #expect(throws: ModelError.self) {
      try GGUFExport.write(model: try makeCausalLanguageModel(config: config, parameters: parameters), config: config,
                           sourceGGUF: source, chatTemplate: nil, quantization: .f32, name: "gemma3", to: file)
    }
    #expect(!FileManager.default.fileExists(atPath: file.path))
    config.queryPreAttnScalar = 16
    let model = try makeCausalLanguageModel(config: config, parameters: parameters)
    try GGUFExport.write(model: model, config: config, sourceGGUF: source, chatTemplate: nil, quantization: .f32,
                         name: "gemma3", to: file)
    let g = try GGUFFile(url: file)
    let m = g.metadata
    #expect(m["general.architecture"]?.string == "gemma3" && m["gemma3.attention.key_length"]?.int == 16)
    #expect(m["gemma3.attention.sliding_window"]?.int == 4 && m["gemma3.rope.freq_base"]?.double == 1_000_000)
    #expect(m["gemma3.attention.sliding_window_pattern"]?.array?.compactMap(\.bool) == [true, false, true, false])
    #expect(m["gemma3.rope.scaling.type"]?.string == "linear" && m["gemma3.rope.scaling.factor"]?.double == 2)
    #expect(m["gemma3.rope.freq_base_swa"] == nil && m["gemma3.context_length"]?.int == 256)
    #expect(g.tensor(named: "output.weight") == nil)  // tied
    for name in ["blk.0.attn_norm", "blk.0.post_attention_norm", "blk.0.ffn_norm", "blk.0.post_ffw_norm",
                 "blk.0.attn_q_norm", "blk.3.attn_k_norm", "output_norm"] {
      #expect(g.tensor(named: "\(name).weight")?.type == .f32, "\(name)")
    }
    // Norms are 1 + w (Gemma3RMSNorm's scale), the rest as they are.
    let (_, written, _) = try Checkpoint.load(file)
    let preFeedForward = try #require(g.tensor(named: "blk.1.ffn_norm.weight"))
    let stored = try Tensor(try g.rawBytes(of: preFeedForward).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }, shape: [32])
    let hf = try #require(parameters["model.layers.1.pre_feedforward_layernorm.weight"])
    #expect(try maxAbsDifference(stored, hf + 1) == 0)
    let embedding = try #require(written["model.embed_tokens.weight"])
    #expect(try maxAbsDifference(embedding, try #require(parameters["model.embed_tokens.weight"])) == 0)
    // Our loader reads llama.cpp's gemma3 keys back into the same model: the same logits.
    let (readConfig, _, _) = try Checkpoint.load(file)
    #expect(readConfig.queryPreAttnScalar == 16 && readConfig.gemma3LayerTypes == config.gemma3LayerTypes)
    let readBack = try makeCausalLanguageModel(config: readConfig, parameters: written)
    let ids = try Tensor([Int64]([2, 17, 5, 64, 89, 42, 7, 33, 90, 11, 3, 60]), shape: [1, 12])
    let difference = try withNoGrad { try maxAbsDifference(try readBack(ids), try model(ids)) }
    #expect(difference < 1e-5)
  }

  /// What reference/check_gguf_export.py saw when it loaded our GGUFs with gguf-py and transformers.
  struct Checked: Decodable {
    struct File: Decodable {
      let fnv1a64: String
      let types: [String: Int]
      let generated_ids: [Int]
      let generation_equals_merged: Bool
    }
    let prompt: [Int]
    let new_tokens: Int
    let merged_generated_ids: [Int]
    let files: [String: File]
    struct Family: Decodable {
      let prompt: [Int]
      let merged_generated_ids: [Int]
    }
    let families: [String: Family]
  }

  /// The tiny model (base + TRL adapter, merged) in every --quant: the very files the reference script checked
  /// (FNV-1a of their bytes), whose greedy 32 tokens through transformers equal ours on the merged HF export (f32,
  /// f16) and ours on each file as our GGUF reader reads it back (every quant).
  /// `ORPO_GGUF_EXPORT_DIR=DIR` copies the files to DIR for `check_gguf_export.py --tiny DIR`.
  @Test func transformersGeneratesWhatWeGenerate() throws {
    let (model, dir) = try merged()
    defer { try? FileManager.default.removeItem(at: dir) }
    let source = try sourceGGUF(in: dir)
    let exportDir = ProcessInfo.processInfo.environment["ORPO_GGUF_EXPORT_DIR"].map { URL(fileURLWithPath: $0) }
    var files: [String: URL] = [:]
    for quant in GGUFExport.Quantization.allCases {
      let file = dir.appendingPathComponent("orpo-\(quant.rawValue).gguf")
      try GGUFExport.write(model: model, config: model.config, sourceGGUF: source, chatTemplate: nil, quantization: quant,
                           name: "orpo", to: file)
      files[file.lastPathComponent] = file
      if let exportDir {
        try FileManager.default.createDirectory(at: exportDir, withIntermediateDirectories: true)
        let target = exportDir.appendingPathComponent(file.lastPathComponent)
        try? FileManager.default.removeItem(at: target)
        try FileManager.default.copyItem(at: file, to: target)
      }
    }
    if exportDir != nil { return }  // the fixture is rewritten from these files
    let fixtureURL = ExportFixture.testsFolder.appendingPathComponent("Fixtures/gguf_export.json")
    let checked = try JSONDecoder().decode(Checked.self, from: Data(contentsOf: fixtureURL))
    #expect(Set(checked.files.keys.filter { $0.hasPrefix("orpo-") }) == Set(files.keys))
    let greedy = GenerationConfig(maxNewTokens: checked.new_tokens, stopsAtEndOfSequence: false)
    let merged = ExportFixture.testsFolder.appendingPathComponent("Fixtures/export/merged")
    let (mergedConfig, mergedParameters, _) = try Checkpoint.load(merged)
    let fromMerged = try LlamaForCausalLM(config: mergedConfig, parameters: mergedParameters)
      .generate(prompts: [checked.prompt], config: greedy)[0]
    #expect(fromMerged == checked.merged_generated_ids, "ours vs transformers on the merged HF export")
    for (name, url) in files.sorted(by: { $0.key < $1.key }) {
      let want = try #require(checked.files[name])
      var hash = StableHash()
      hash.combine(try Data(contentsOf: url))
      #expect(hash.hex == want.fnv1a64, "\(name) is not the file check_gguf_export.py checked")
      if ["orpo-f32.gguf", "orpo-f16.gguf"].contains(name) {
        #expect(want.generation_equals_merged && want.generated_ids == fromMerged, "\(name)")
      }
      let (config, parameters, _) = try Checkpoint.load(url)
      let ours = try LlamaForCausalLM(config: config, parameters: parameters).generate(prompts: [checked.prompt], config: greedy)[0]
      #expect(ours == want.generated_ids, "\(name): ours on the file vs transformers on the file")
    }
  }

  /// Qwen3 and Phi-3 (the tiny fixtures of ArchitectureTests) under llama.cpp's names: qwen3 with attn_q_norm/attn_k_norm
  /// and no q/k permutation, phi3 with the fused attn_qkv and ffn_up; their keys (key_length, sliding_window, rope
  /// dimensions). check_gguf_export.py reads these files with gguf-py and transformers (gguf_export.json).
  @Test(arguments: ["qwen3", "phi3"])
  func otherArchitecturesUseLlamaCppNames(family: String) throws {
    let folder = ExportFixture.testsFolder.appendingPathComponent("Fixtures/\(family)")
    let (config, parameters, _) = try Checkpoint.load(folder)
    let model = try makeCausalLanguageModel(config: config, parameters: parameters)
    let dir = try ExportFixture.temporaryFolder("gguf-\(family)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let source = try sourceGGUF(in: dir, vocabulary: config.vocabSize)
    let exportDir = ProcessInfo.processInfo.environment["ORPO_GGUF_EXPORT_DIR"].map { URL(fileURLWithPath: $0) }
    let checked = exportDir == nil
      ? try JSONDecoder().decode(Checked.self, from: Data(contentsOf: ExportFixture.testsFolder.appendingPathComponent("Fixtures/gguf_export.json")))
      : nil
    for quant in [GGUFExport.Quantization.f32, .f16, .q4_k_m] {
      let file = dir.appendingPathComponent("\(family)-\(quant.rawValue).gguf")
      try GGUFExport.write(model: model, config: config, sourceGGUF: source, chatTemplate: nil, quantization: quant,
                           name: family, to: file)
      if let exportDir {
        try FileManager.default.createDirectory(at: exportDir, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: exportDir.appendingPathComponent(file.lastPathComponent))
        try FileManager.default.copyItem(at: file, to: exportDir.appendingPathComponent(file.lastPathComponent))
        continue
      }
      let g = try GGUFFile(url: file)
      #expect(g.metadata["general.architecture"]?.string == family)
      if family == "qwen3" {
        #expect(g.metadata["qwen3.attention.key_length"]?.int == 16 && g.tensor(named: "blk.1.attn_k_norm.weight")?.shape == [16])
        #expect(g.tensor(named: "output.weight") == nil)  // tied
      } else {
        #expect(g.metadata["phi3.attention.sliding_window"]?.int == 5 && g.metadata["phi3.rope.dimension_count"]?.int == 8)
        #expect(g.tensor(named: "blk.0.attn_qkv.weight")?.shape == [32, 64] && g.tensor(named: "blk.0.ffn_up.weight")?.shape == [32, 96])
      }
      let want = try #require(checked?.files[file.lastPathComponent], "\(file.lastPathComponent) in gguf_export.json")
      var hash = StableHash()
      hash.combine(try Data(contentsOf: file))
      #expect(hash.hex == want.fnv1a64, "\(file.lastPathComponent) is not the file check_gguf_export.py checked")
      // transformers on the GGUF generates what we generate on the Hugging Face folder (f32, f16).
      let reference = try #require(checked?.families[family])
      if quant != .q4_k_m {
        let ours = try model.generate(prompts: [reference.prompt],
                                      config: GenerationConfig(maxNewTokens: 32, stopsAtEndOfSequence: false))[0]
        #expect(ours == reference.merged_generated_ids && want.generated_ids == ours, "\(file.lastPathComponent)")
      }
    }
  }
}

// ResizedAdapterTests.swift — LoRA adapters trained after a vocabulary resize (clone_chat_template on an untied
// Llama, setup_chat_format on a tied Gemma 3): the whole embed_tokens and lm_head saved under PEFT's keys with the
// tokenizer beside them, loaded back by our strict loader and by peft 0.21.2 (reference/check_resized_adapter.py),
// giving the logits of our merged model.
import Foundation
import Testing
@testable import Models
import NN
import Tokenization
import Torch

/// The exact calls behind Tests/ModelsTests/Fixtures/export_resized/<case>/ (rewritten there with
/// ORPO_UPDATE_FIXTURES=1; then run reference/check_resized_adapter.py).
enum ResizedAdapterFixture {
  static let cases = ["llama_clone", "gemma3_chatml"]
  static let lora = LoRAConfiguration(rank: 2, alpha: 4, dropout: 0, targetModules: .allLinear)
  static let adapterFiles = ["adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "tokenizer_config.json"]
  static let mergedFiles = ["README.md", "config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                            "tokenizer_config.json"]

  /// The base model of a case (as its fixture folder holds it) and the name written as base_model_name_or_path.
  static func base(_ name: String) throws -> (model: any CausalLanguageModel, tokenizer: Tokenizer, baseName: String) {
    switch name {
    case "llama_clone":
      let loaded = try ModelLoader.load(try fixtureURL("clone_chat_template").appendingPathComponent("target"))
      return (loaded.model, loaded.tokenizer, "Tests/ModelsTests/Fixtures/clone_chat_template/target")
    default:
      let (config, parameters, _) = try Checkpoint.load(try fixtureURL("gemma3"))
      return (try makeCausalLanguageModel(config: config, parameters: parameters),
              try ArchitectureExportFixture.tinyTokenizer(), "Tests/ModelsTests/Fixtures/gemma3")
    }
  }

  /// The base resized by its chat-format step, with a seeded LoRA (B not zero) and the new embedding rows moved off
  /// their common mean (so that a loader keeping resize's own rows would be caught).
  static func adaptedModel(_ name: String) throws
    -> (model: any CausalLanguageModel, tokenizer: Tokenizer, baseVocabularySize: Int, baseName: String)
  {
    let (model, tokenizer, baseName) = try base(name)
    let baseVocabularySize = model.config.vocabSize
    if name == "llama_clone" {
      let source = try Tokenizer(folder: try fixtureURL("clone_chat_template").appendingPathComponent("source"))
      try model.cloneChatTemplate(tokenizer: tokenizer, from: source, sourceName: "source")
    } else {
      try model.setUpChatFormat(tokenizer: tokenizer, multipleOf: 64)
    }
    Torch.manualSeed(11)
    try withNoGrad {
      let added = model.config.vocabSize - baseVocabularySize
      try model.embedTokens.weight.narrow(0, start: baseVocabularySize, length: added)
        .add_(Tensor.randn([added, model.config.hiddenSize]) * 0.02)
    }
    try model.attachLoRA(lora)
    try withNoGrad { for layer in model.loraLayers { try layer.b.normal_(mean: 0, std: 0.05) } }
    return (model, tokenizer, baseVocabularySize, baseName)
  }

  /// Writes adapter/ (as training saves it) and merged/ (as `orpo export --merge` does) into `dir`.
  static func export(_ name: String, into dir: URL) throws {
    let (model, tokenizer, baseVocabularySize, baseName) = try adaptedModel(name)
    try ModelExport.adapter(model: model, configuration: lora, baseModel: baseName,
                            baseVocabularySize: baseVocabularySize, tokenizer: tokenizer,
                            to: dir.appendingPathComponent("adapter"))
    try ModelExport.mergedModel(model: model, tokenizer: tokenizer, chatTemplate: nil, dtype: .float32,
                                to: dir.appendingPathComponent("merged"),
                                sourceDescription: "\(baseName) resized by its chat format, with a seeded LoRA adapter (r=2, alpha=4)")
  }
}

@Suite(.serialized) struct ResizedAdapterTests {
  struct Expected: Decodable {
    let input_ids: [[Int64]]
    let vocab_size: Int
    let peft_saved_keys: [String]
    let logits_adapter: [[[Double]]]
    let logits_merged: [[[Double]]]
    let tokenizer_len: Int
  }

  func tensor(_ values: [[[Double]]]) throws -> Tensor {
    try Tensor(values.flatMap { $0.flatMap { $0 } }, shape: [values.count, values[0].count, values[0][0].count])
  }

  @Test(arguments: ResizedAdapterFixture.cases)
  func exportedFilesAreByteIdenticalToTheFixture(name: String) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-resized-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: dir) }
    try ResizedAdapterFixture.export(name, into: dir)
    var committed: URL
    if ProcessInfo.processInfo.environment["ORPO_UPDATE_FIXTURES"] == "1" {
      committed = ExportFixture.testsFolder.appendingPathComponent("Fixtures/export_resized/\(name)")
      try FileManager.default.createDirectory(at: committed, withIntermediateDirectories: true)
      for kind in ["adapter", "merged"] {
        try? FileManager.default.removeItem(at: committed.appendingPathComponent(kind))
        try FileManager.default.copyItem(at: dir.appendingPathComponent(kind), to: committed.appendingPathComponent(kind))
      }
    } else {
      committed = try fixtureURL("export_resized/\(name)")
    }
    for (kind, names) in [("adapter", ResizedAdapterFixture.adapterFiles), ("merged", ResizedAdapterFixture.mergedFiles)] {
      let written = (try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(kind).path)) ?? []
      #expect(written.sorted() == names, "\(name) \(kind): files written")
      for file in names {
        let ours = try Data(contentsOf: dir.appendingPathComponent(kind).appendingPathComponent(file))
        let theirs = try Data(contentsOf: committed.appendingPathComponent(kind).appendingPathComponent(file))
        #expect(ours == theirs, "\(name) \(kind)/\(file) differs from the committed fixture (ORPO_UPDATE_FIXTURES=1 rewrites it; then run reference/check_resized_adapter.py)")
      }
    }
  }

  /// PEFT's keys, and what peft (base resized to the adapter's rows + adapter/) and transformers (merged/) computed,
  /// reproduced by our loader on a fresh base; the saved tokenizer carries the added tokens.
  @Test(arguments: ResizedAdapterFixture.cases)
  func loadsLikePeftAndMatchesTheMergedModel(name: String) throws {
    let folder = try fixtureURL("export_resized/\(name)")
    let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
    let adapter = folder.appendingPathComponent("adapter")
    let file = try SafeTensorsFile(url: adapter.appendingPathComponent(PEFTAdapter.weightsFileName))
    #expect(file.names.sorted() == expected.peft_saved_keys.sorted(), "\(name): the keys peft's get_peft_model_state_dict saves")
    let ids = try Tensor(expected.input_ids.flatMap { $0 }, shape: [expected.input_ids.count, expected.input_ids[0].count])
    try withNoGrad {
      let (base, _, _) = try ResizedAdapterFixture.base(name)
      #expect(base.config.vocabSize < expected.vocab_size)
      try PEFTAdapter.load(adapter, into: base, trainable: false)
      #expect(base.config.vocabSize == expected.vocab_size && base.embedTokens.weight.size(0) == expected.vocab_size)
      #expect(try maxAbsDifference(base(ids), tensor(expected.logits_adapter)) < 1e-5, "\(name): base + adapter vs PeftModel")

      let (mergedConfig, mergedParameters, _) = try Checkpoint.load(folder.appendingPathComponent("merged"))
      let merged = try makeCausalLanguageModel(config: mergedConfig, parameters: mergedParameters)
      #expect(try maxAbsDifference(merged(ids), tensor(expected.logits_merged)) < 1e-5, "\(name): merged vs AutoModelForCausalLM")
      #expect(try maxAbsDifference(base(ids), merged(ids)) < 1e-5, "\(name): our adapter path vs our merged model")

      // The in-memory model the files came from gives the same logits.
      let (original, _, _, _) = try ResizedAdapterFixture.adaptedModel(name)
      #expect(try maxAbsDifference(original(ids), base(ids)) < 1e-6, "\(name): reloaded vs trained")
    }
    let tokenizer = try #require(try PEFTAdapter.savedTokenizer(in: adapter))
    #expect(tokenizer.vocabularyCount == expected.tokenizer_len)
    #expect(tokenizer.tokenID("<|im_start|>") != nil && tokenizer.tokenID("<|im_end|>") != nil)
    #expect(tokenizer.chatTemplate != nil)
  }

  /// An adapter without embeddings leaves the vocabulary alone; mismatched embedding rows are refused before the
  /// model is touched.
  @Test func refusesEmbeddingsThatDisagree() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-resized-bad-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: dir) }
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let source = try fixtureURL("export_resized/gemma3_chatml/adapter")
    try FileManager.default.copyItem(at: source.appendingPathComponent(PEFTAdapter.configFileName),
                                     to: dir.appendingPathComponent(PEFTAdapter.configFileName))
    let file = try SafeTensorsFile(url: source.appendingPathComponent(PEFTAdapter.weightsFileName))
    var tensors = try file.names.map { ($0, try file.tensor($0, copy: true)) }
    tensors = try tensors.map { name, t in
      (name, name == PEFTAdapter.outputEmbeddingKey ? try t.narrow(0, start: 0, length: t.size(0) - 1).contiguous() : t)
    }
    try SafeTensors.write(tensors, metadata: ["format": "pt"], to: dir.appendingPathComponent(PEFTAdapter.weightsFileName))
    let (base, _, _) = try ResizedAdapterFixture.base("gemma3_chatml")
    let rows = base.config.vocabSize
    #expect(throws: ModelError.self) { try PEFTAdapter.load(dir, into: base, trainable: false) }
    #expect(base.config.vocabSize == rows && base.loraLayers.isEmpty)
  }
}

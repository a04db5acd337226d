// ArchitectureExportTests.swift — `orpo export` beyond the Llama family: a PEFT adapter and a merged folder written
// from the tiny Qwen3, Phi-3 and Gemma 3 models stay byte-identical to the committed ones that peft and transformers loaded
// (reference/check_architecture_export.py), and reproduce the logits they computed.
import Foundation
import Testing
@testable import Models
import NN
import Tokenization
import Torch

/// The exact export calls behind Tests/ModelsTests/Fixtures/export_architectures/<family>/ (rewritten there with
/// ORPO_UPDATE_FIXTURES=1; then run reference/check_architecture_export.py).
enum ArchitectureExportFixture {
  static let families = ["qwen3", "phi3", "gemma3"]
  static let fileNames = [
    "adapter": ["adapter_config.json", "adapter_model.safetensors"],
    "merged": ["README.md", "config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
               "tokenizer_config.json"],
  ]

  /// A byte-level BPE small enough for the tiny models' 96 embedding rows (the merged folder needs a tokenizer).
  static func tinyTokenizer() throws -> Tokenizer {
    let vocab = (0..<90).map { "\"t\($0)\": \($0)" }.joined(separator: ", ")
    let json = #"{"model": {"type": "BPE", "vocab": {"# + vocab + #"}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "decoder": {"type": "ByteLevel"}, "added_tokens": [{"id": 90, "content": "<|endoftext|>", "special": true, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false}]}"#
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-tiny-tokenizer-\(UInt32.random(in: 0...UInt32.max)).json")
    try json.write(to: url, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: url) }
    let tokenizer = try Tokenizer(tokenizerJSON: url)
    tokenizer.setSpecialTokens(bos: "<|endoftext|>", eos: "<|endoftext|>")
    return tokenizer
  }

  /// The fixture model with a seeded LoRA (r 2, alpha 4, every linear layer but lm_head) whose B is not zero.
  static func adaptedModel(_ family: String) throws -> any CausalLanguageModel {
    let (config, parameters, _) = try Checkpoint.load(try fixtureURL(family))
    let model = try makeCausalLanguageModel(config: config, parameters: parameters)
    Torch.manualSeed(5)
    try model.attachLoRA(LoRAConfiguration(rank: 2, alpha: 4, dropout: 0, targetModules: .allLinear))
    try withNoGrad { for layer in model.loraLayers { try layer.b.normal_(mean: 0, std: 0.05) } }
    return model
  }

  /// Writes adapter/ and merged/ into `dir`, as `orpo export` does without and with --merge.
  static func export(_ family: String, into dir: URL) throws {
    let model = try adaptedModel(family)
    let lora = LoRAConfiguration(rank: 2, alpha: 4, dropout: 0, targetModules: .allLinear)
    try ModelExport.adapter(model: model, configuration: lora, baseModel: "Tests/ModelsTests/Fixtures/\(family)",
                            to: dir.appendingPathComponent("adapter"))
    try ModelExport.mergedModel(model: model, tokenizer: try tinyTokenizer(), chatTemplate: nil, dtype: .float32,
                                to: dir.appendingPathComponent("merged"),
                                sourceDescription: "the tiny \(family) fixture with a seeded LoRA adapter (r=2, alpha=4)")
  }
}

@Suite(.serialized) struct ArchitectureExportTests {
  struct Expected: Decodable {
    let architecture: String
    let input_ids: [[Int64]]
    let logits_adapter: [[[Double]]]
    let logits_merged: [[[Double]]]
  }

  func tensor(_ values: [[[Double]]]) throws -> Tensor {
    try Tensor(values.flatMap { $0.flatMap { $0 } }, shape: [values.count, values[0].count, values[0][0].count])
  }

  @Test(arguments: ArchitectureExportFixture.families)
  func exportedFilesAreByteIdenticalToTheFixture(family: String) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-archexport-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: dir) }
    try ArchitectureExportFixture.export(family, into: dir)
    var committed: URL
    if ProcessInfo.processInfo.environment["ORPO_UPDATE_FIXTURES"] == "1" {
      committed = ExportFixture.testsFolder.appendingPathComponent("Fixtures/export_architectures/\(family)")
      try FileManager.default.createDirectory(at: committed, withIntermediateDirectories: true)
      for kind in ["adapter", "merged"] {
        try? FileManager.default.removeItem(at: committed.appendingPathComponent(kind))
        try FileManager.default.copyItem(at: dir.appendingPathComponent(kind), to: committed.appendingPathComponent(kind))
      }
    } else {
      committed = try fixtureURL("export_architectures/\(family)")
    }
    for (kind, names) in ArchitectureExportFixture.fileNames {
      let written = (try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(kind).path)) ?? []
      #expect(written.sorted() == names, "\(family) \(kind): files written")
      for name in names {
        let ours = try Data(contentsOf: dir.appendingPathComponent(kind).appendingPathComponent(name))
        let theirs = try Data(contentsOf: committed.appendingPathComponent(kind).appendingPathComponent(name))
        #expect(ours == theirs, "\(family) \(kind)/\(name) differs from the committed fixture (ORPO_UPDATE_FIXTURES=1 rewrites it; then run reference/check_architecture_export.py)")
      }
    }
  }

  /// What peft (base + adapter/) and transformers (merged/) computed from the committed folders, reproduced: the
  /// adapter through our strict PEFT loader on the base, the merged folder as the class its config.json names.
  @Test(arguments: ArchitectureExportFixture.families)
  func logitsMatchPeftAndTransformers(family: String) throws {
    let folder = try fixtureURL("export_architectures/\(family)")
    let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
    let ids = try Tensor(expected.input_ids.flatMap { $0 }, shape: [expected.input_ids.count, expected.input_ids[0].count])
    try withNoGrad {
      let (config, parameters, _) = try Checkpoint.load(try fixtureURL(family))
      let base = try makeCausalLanguageModel(config: config, parameters: parameters)
      try PEFTAdapter.load(folder.appendingPathComponent("adapter"), into: base, trainable: false)
      #expect(try maxAbsDifference(base(ids), tensor(expected.logits_adapter)) < 1e-5, "\(family): base + adapter vs PeftModel")

      let (mergedConfig, mergedParameters, _) = try Checkpoint.load(folder.appendingPathComponent("merged"))
      #expect(mergedConfig.architecture == expected.architecture)
      let merged = try makeCausalLanguageModel(config: mergedConfig, parameters: mergedParameters)
      #expect(type(of: merged) == type(of: base))
      #expect(try maxAbsDifference(merged(ids), tensor(expected.logits_merged)) < 1e-5, "\(family): merged vs AutoModelForCausalLM")
    }
  }
}

// ExportTests.swift — ModelExport against peft/transformers: the adapter and merged folders exported from the tiny
// ORPO fixture stay byte-identical to the committed ones that reference/check_export.py loaded, reproduce its
// logits, merging equals the adapter path, and bad inputs fail with clear errors and leave nothing behind.
import ChatTemplates
import Foundation
import Testing
@testable import Models
import NN
import Tokenization
import Torch

/// The inputs and the exact export calls behind Tests/ModelsTests/Fixtures/export/ (rewritten there with
/// ORPO_UPDATE_FIXTURES=1; then run reference/check_export.py).
enum ExportFixture {
  static let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()  // Tests/ModelsTests
  static let base = testsFolder.deletingLastPathComponent().appendingPathComponent("TrainingTests/Fixtures/orpo")
  static let baseModelName = "Tests/TrainingTests/Fixtures/orpo"
  static let sourceDescription = "Tests/TrainingTests/Fixtures/orpo with the LoRA adapter adapter_final.safetensors (r=4, alpha=8)"
  static let fileNames = [
    "adapter": ["adapter_config.json", "adapter_model.safetensors"],
    "merged": ["README.md", "chat_template.jinja", "config.json", "generation_config.json", "model.safetensors",
               "tokenizer.json", "tokenizer_config.json"],
    "full": ["README.md", "config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
             "tokenizer_config.json"],
  ]
  static let fullSourceDescription = "a full fine-tune (Tests/TrainingTests/Fixtures/orpo with tied embeddings and adapter_final.safetensors folded into its weights)"

  static func temporaryFolder(_ name: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-\(name)-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }

  static func loadBase() throws -> LlamaForCausalLM {
    let (config, parameters, _) = try Checkpoint.load(base)
    return try LlamaForCausalLM(config: config, parameters: parameters)
  }

  /// The adapter as TRL/PEFT left it: adapter_init's adapter_config.json (r=4, alpha=8) with the trained weights.
  static func trlAdapter(in dir: URL) throws -> URL {
    let folder = dir.appendingPathComponent("trl-adapter")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: base.appendingPathComponent("adapter_init/adapter_config.json"),
                                     to: folder.appendingPathComponent("adapter_config.json"))
    try FileManager.default.copyItem(at: base.appendingPathComponent("adapter_final.safetensors"),
                                     to: folder.appendingPathComponent("adapter_model.safetensors"))
    return folder
  }

  /// Writes adapter/ and merged/ into `dir`, as `orpo export` does without and with --merge, and full/, as
  /// `orpo train` saves a full fine-tune (a model without adapters whose weights changed: here the base, its
  /// output layer tied to the embedding as in SmolLM2, with the adapter folded in).
  static func export(into dir: URL) throws -> LlamaForCausalLM {
    let model = try loadBase()
    try ModelExport.adapter(from: try trlAdapter(in: dir), model: model, baseModel: baseModelName,
                            to: dir.appendingPathComponent("adapter"))
    let tokenizer = try Tokenizer(folder: base)
    try ModelExport.mergedModel(model: model, tokenizer: tokenizer, chatTemplate: ChatTemplate.chatML, dtype: .float32,
                                to: dir.appendingPathComponent("merged"), sourceDescription: sourceDescription,
                                tokenizerFolder: base)
    // The full fine-tune ties its output layer to the embedding, as SmolLM2 (the default model) does.
    var (config, parameters, _) = try Checkpoint.load(base)
    config.tieWordEmbeddings = true
    parameters["lm_head.weight"] = nil
    let full = try LlamaForCausalLM(config: config, parameters: parameters)
    try PEFTAdapter.load(dir.appendingPathComponent("adapter"), into: full, trainable: false)
    try full.mergeLoRA()
    try ModelExport.mergedModel(model: full, tokenizer: tokenizer, chatTemplate: nil, dtype: .float32,
                                to: dir.appendingPathComponent("full"), sourceDescription: fullSourceDescription,
                                tokenizerFolder: base)
    return model
  }
}

struct ExpectedExport: Decodable {
  struct Chat: Decodable {
    let add_generation_prompt: Bool
    let text: String
    let ids: [Int]
  }
  let versions: [String: String]
  let input_ids: [[Int64]]
  let logits_adapter: [[[Double]]]
  let logits_merged: [[[Double]]]
  let logits_full: [[[Double]]]
  let messages: [[String: String]]
  let chat: [Chat]
}

/// Entries of `folder` (recursively, relative paths), to check that a failed export left nothing behind.
private func listing(_ folder: URL) -> [String] {
  (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String] ?? []).sorted()
}

private func message(_ body: () throws -> Void) -> String {
  do { try body(); return "" } catch { return "\(error)" }
}

@Suite(.serialized) struct ExportTests {
  var fixture: URL { get throws { try fixtureURL("export") } }
  var expected: ExpectedExport {
    get throws {
      try JSONDecoder().decode(ExpectedExport.self, from: Data(contentsOf: fixture.appendingPathComponent("expected.json")))
    }
  }

  func inputIDs() throws -> Tensor {
    let expected = try self.expected
    return try Tensor(expected.input_ids.flatMap { $0 }, shape: [expected.input_ids.count, expected.input_ids[0].count])
  }

  func tensor(_ values: [[[Double]]]) throws -> Tensor {
    try Tensor(values.flatMap { $0.flatMap { $0 } }, shape: [values.count, values[0].count, values[0][0].count])
  }

  @Test func exportedFilesAreByteIdenticalToTheFixture() throws {
    let dir = try ExportFixture.temporaryFolder("export")
    defer { try? FileManager.default.removeItem(at: dir) }
    _ = try ExportFixture.export(into: dir)
    let update = ProcessInfo.processInfo.environment["ORPO_UPDATE_FIXTURES"] == "1"
    var fixture = update ? nil : try self.fixture
    if update {
      let target = ExportFixture.testsFolder.appendingPathComponent("Fixtures/export")
      fixture = target
      try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
      for kind in ["adapter", "merged", "full"] {
        try? FileManager.default.removeItem(at: target.appendingPathComponent(kind))
        try FileManager.default.copyItem(at: dir.appendingPathComponent(kind), to: target.appendingPathComponent(kind))
      }
    }
    for (kind, names) in ExportFixture.fileNames {
      #expect(listing(dir.appendingPathComponent(kind)) == names, "\(kind): files written")
      for name in names {
        let ours = try Data(contentsOf: dir.appendingPathComponent(kind).appendingPathComponent(name))
        let committed = try Data(contentsOf: try #require(fixture).appendingPathComponent(kind).appendingPathComponent(name))
        #expect(ours == committed, "\(kind)/\(name) differs from the committed fixture (ORPO_UPDATE_FIXTURES=1 rewrites it; then run reference/check_export.py)")
      }
    }
    // Copied verbatim from the source folder.
    for name in ["tokenizer.json", "tokenizer_config.json"] {
      #expect(try Data(contentsOf: dir.appendingPathComponent("merged/\(name)"))
                == Data(contentsOf: ExportFixture.base.appendingPathComponent(name)))
    }
  }

  @Test func logitsMatchPeftAndTransformers() throws {
    let (fixture, expected) = (try self.fixture, try self.expected)
    let ids = try inputIDs()
    try withNoGrad {
      let model = try ExportFixture.loadBase()
      try PEFTAdapter.load(fixture.appendingPathComponent("adapter"), into: model, trainable: false)
      let adapterLogits = try model(ids)
      #expect(try maxAbsDifference(adapterLogits, tensor(expected.logits_adapter)) < 1e-5, "base + adapter vs PeftModel")

      let (config, parameters, format) = try Checkpoint.load(fixture.appendingPathComponent("merged"))
      #expect(format == .huggingFace)
      #expect(parameters["lm_head.weight"] != nil && !config.tiesEmbeddings)
      let merged = try LlamaForCausalLM(config: config, parameters: parameters)
      #expect(try maxAbsDifference(merged(ids), tensor(expected.logits_merged)) < 1e-5, "merged vs AutoModelForCausalLM")

      // The full fine-tune's folder, as transformers loads it.
      let loaded = try ModelLoader.load(fixture.appendingPathComponent("full"))
      #expect(loaded.format == .huggingFace && loaded.model.loraLayers.isEmpty && loaded.configuration.tiesEmbeddings)
      #expect(loaded.model.parameters["lm_head.weight"] == nil)
      #expect(try maxAbsDifference(loaded.model(ids), tensor(expected.logits_full)) < 1e-5, "full vs AutoModelForCausalLM")
    }
  }

  @Test func mergingEqualsTheAdapterPathAndLeavesTheModelAlone() throws {
    let dir = try ExportFixture.temporaryFolder("merge")
    defer { try? FileManager.default.removeItem(at: dir) }
    let ids = try inputIDs()
    let model = try ExportFixture.export(into: dir)
    try withNoGrad {
      // The caller's model still has its adapters and its own base weights.
      #expect(model.loraParameters.count == 28)
      let base = try ExportFixture.loadBase()
      #expect(try maxAbsDifference(#require(model.layers[0].selfAttn.qProj as? LoRALinear).base.denseWeight(),
                                   base.layers[0].selfAttn.qProj.denseWeight()) == 0)
      let adapterLogits = try model(ids)
      let (config, parameters, _) = try Checkpoint.load(dir.appendingPathComponent("merged"))
      let merged = try LlamaForCausalLM(config: config, parameters: parameters)
      #expect(try maxAbsDifference(adapterLogits, merged(ids)) < 1e-5)
      // In place (mergeLoRA) and exported agree too.
      try model.mergeLoRA()
      #expect(try maxAbsDifference(model(ids), merged(ids)) < 1e-6)
    }
  }

  @Test func shardedAndHalfPrecisionExportsLoadBack() throws {
    let (fixture, expected) = (try self.fixture, try self.expected)
    let dir = try ExportFixture.temporaryFolder("shards")
    defer { try? FileManager.default.removeItem(at: dir) }
    let ids = try inputIDs()
    let model = try ExportFixture.loadBase()
    try ModelExport.loadAdapter(from: fixture.appendingPathComponent("adapter"), into: model)
    let tokenizer = try Tokenizer(folder: ExportFixture.base)
    try ModelExport.mergedModel(model: model, tokenizer: tokenizer, chatTemplate: nil, dtype: .float32,
                                to: dir.appendingPathComponent("sharded"), sourceDescription: "test",
                                tokenizerFolder: ExportFixture.base, maximumShardBytes: 100_000)
    let files = listing(dir.appendingPathComponent("sharded"))
    #expect(files.contains("model.safetensors.index.json") && files.filter { $0.hasPrefix("model-0000") }.count > 1
              && !files.contains("model.safetensors") && !files.contains("chat_template.jinja"), "\(files)")
    try ModelExport.mergedModel(model: model, tokenizer: tokenizer, chatTemplate: nil, dtype: .bfloat16,
                                to: dir.appendingPathComponent("bf16"), sourceDescription: "test")
    try withNoGrad {
      let want = try tensor(expected.logits_merged)
      let sharded = try Checkpoint.load(dir.appendingPathComponent("sharded"))
      #expect(try maxAbsDifference(LlamaForCausalLM(config: sharded.config, parameters: sharded.parameters)(ids), want) < 1e-5)
      let half = try Checkpoint.load(dir.appendingPathComponent("bf16"))
      #expect(half.parameters.values.allSatisfy { $0.dtype == .float32 })  // Checkpoint.load converts to float32
      #expect(try LlamaConfiguration.load(dir.appendingPathComponent("bf16/config.json")).torchDtype == "bfloat16")
      #expect(try maxAbsDifference(LlamaForCausalLM(config: half.config, parameters: half.parameters)(ids), want) < 0.05)
      // Written from the Tokenizer (no source folder): same ids.
      let written = try Tokenizer(folder: dir.appendingPathComponent("bf16"))
      for text in ["What is 2 plus 3?", "<|im_start|>user\nhi<|im_end|>\n"] {
        #expect(written.encode(text) == tokenizer.encode(text))
      }
    }
  }

  @Test func chatTemplateAppliesAsInTransformers() throws {
    let (fixture, expected) = (try self.fixture, try self.expected)
    let folder = fixture.appendingPathComponent("merged")
    let tokenizer = try Tokenizer(folder: folder)
    let template = try ChatTemplate(try #require(tokenizer.chatTemplate))
    let messages = expected.messages.map { ChatMessage(role: $0["role"]!, content: $0["content"]!) }
    #expect(expected.chat.count == 2)
    for chat in expected.chat {
      let shown = chat.add_generation_prompt ? Array(messages.prefix(1)) : messages
      let text = try template.render(messages: shown, addGenerationPrompt: chat.add_generation_prompt,
                                     bosToken: tokenizer.bosToken, eosToken: tokenizer.eosToken)
      #expect(text == chat.text)
      #expect(tokenizer.encode(text, addSpecialTokens: false) == chat.ids)
    }
  }

  @Test func badInputsFailClearlyAndLeaveNothingBehind() throws {
    let dir = try ExportFixture.temporaryFolder("bad")
    defer { try? FileManager.default.removeItem(at: dir) }
    let trl = try ExportFixture.trlAdapter(in: dir)
    let out = dir.appendingPathComponent("out")
    let before = listing(dir)
    func export(_ adapter: URL, to destination: URL? = nil) -> String {
      message {
        try ModelExport.adapter(from: adapter, model: try ExportFixture.loadBase(), baseModel: "base",
                                to: destination ?? out)
      }
    }
    func copyOfTRLAdapter(_ name: String) throws -> URL {
      let folder = dir.appendingPathComponent(name)
      try FileManager.default.copyItem(at: trl, to: folder)
      return folder
    }

    // Missing adapter_config.json.
    let noConfig = try copyOfTRLAdapter("no-config")
    try FileManager.default.removeItem(at: noConfig.appendingPathComponent("adapter_config.json"))
    #expect(export(noConfig) == "\(noConfig.path): no adapter_config.json (a PEFT adapter folder holds adapter_config.json and adapter_model.safetensors)")

    // An adapter for a different shape (hidden size 16 instead of 32).
    let wrongShape = try copyOfTRLAdapter("wrong-shape")
    let file = try SafeTensorsFile(url: trl.appendingPathComponent("adapter_model.safetensors"))
    var tensors = try file.names.map { ($0, try file.tensor($0, copy: true)) }
    let key = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
    tensors = try tensors.map { $0.0 == key ? ($0.0, try Tensor.zeros([4, 16])) : $0 }
    try SafeTensors.write(tensors, to: wrongShape.appendingPathComponent("adapter_model.safetensors"))
    let shapeError = export(wrongShape)
    #expect(shapeError.contains(wrongShape.path) && shapeError.contains("\(key) has shape [4, 16]")
              && shapeError.contains("needs [4, 32]"), "\(shapeError)")

    // A tensor for a layer the model does not have.
    let extraLayer = try copyOfTRLAdapter("extra-layer")
    try SafeTensors.write(try file.names.map { ($0, try file.tensor($0, copy: true)) }
                            + [("base_model.model.model.layers.7.mlp.up_proj.lora_A.weight", try Tensor.zeros([4, 32]))],
                          to: extraLayer.appendingPathComponent("adapter_model.safetensors"))
    #expect(export(extraLayer).contains("tensor \"base_model.model.model.layers.7.mlp.up_proj.lora_A.weight\" matches no layer of the model"))

    // PEFT options we cannot apply.
    let dora = try copyOfTRLAdapter("dora")
    let configURL = dora.appendingPathComponent("adapter_config.json")
    let text = try String(contentsOf: configURL, encoding: .utf8).replacingOccurrences(of: "\"use_dora\": false", with: "\"use_dora\": true")
    try text.write(to: configURL, atomically: true, encoding: .utf8)
    #expect(export(dora) == "\(configURL.path): use_dora: true asks for DoRA, which orpo-swift cannot apply")

    // No adapter folder at all.
    #expect(export(dir.appendingPathComponent("missing")) == "\(dir.appendingPathComponent("missing").path): no such adapter folder")

    let inputs = listing(dir)
    #expect(Set(inputs).isSuperset(of: before))
    #expect(!FileManager.default.fileExists(atPath: out.path), "a failed export left \(out.path)")
    #expect(!inputs.contains { $0.contains(".tmp-") || $0.contains(".old-") }, "\(inputs)")

    // The output path is a file: refused, the file untouched.
    let fileOut = dir.appendingPathComponent("a-file")
    try Data("keep me".utf8).write(to: fileOut)
    #expect(export(trl, to: fileOut) == "\(fileOut.path): exists and is a file; the output must be a folder path")
    #expect(try Data(contentsOf: fileOut) == Data("keep me".utf8))
    let mergedError = message {
      try ModelExport.mergedModel(model: try ExportFixture.loadBase(), tokenizer: try Tokenizer(folder: ExportFixture.base),
                                  chatTemplate: nil, dtype: .float32, to: fileOut, sourceDescription: "x")
    }
    #expect(mergedError == "\(fileOut.path): exists and is a file; the output must be a folder path")
    let underFile = fileOut.appendingPathComponent("sub/out")
    #expect(export(trl, to: underFile) == "\(underFile.path): \(fileOut.path) is a file, so the output folder cannot be created there")

    // A chat template that does not parse stops a merged export before anything is written.
    let templateError = message {
      try ModelExport.mergedModel(model: try ExportFixture.loadBase(), tokenizer: try Tokenizer(folder: ExportFixture.base),
                                  chatTemplate: "{% for m in messages %}", dtype: .float32, to: out.appendingPathComponent("merged"),
                                  sourceDescription: "x")
    }
    #expect(templateError.hasPrefix("the chat template does not parse"), "\(templateError)")
    #expect(!FileManager.default.fileExists(atPath: out.path))

    // A folder holding something else is not replaced; an earlier export is.
    let busy = dir.appendingPathComponent("busy")
    try FileManager.default.createDirectory(at: busy, withIntermediateDirectories: true)
    try Data().write(to: busy.appendingPathComponent("notes.txt"))
    #expect(export(trl, to: busy).contains("exists and holds other files"))
    #expect(listing(busy) == ["notes.txt"])
    #expect(export(trl, to: out) == "")
    #expect(export(trl, to: out) == "")
    #expect(listing(out) == ["adapter_config.json", "adapter_model.safetensors"])
    #expect(!listing(dir).contains { $0.contains(".tmp-") || $0.contains(".old-") })

    // An output that is also the input.
    #expect(export(trl, to: trl) == "\(trl.path): the output folder is also an input; choose another path")
  }
}

// CausalLanguageModelTests.swift — the model seams: parameter names derived from where layers are built equal the
// checkpoint's keys, linear layers carry their paths, adapters leave names alone and switch off exactly.
import Foundation
import Testing
@testable import Models
import NN
import Torch

@Suite(.serialized) struct CausalLanguageModelTests {
  /// The tiny transformers checkpoints (reference/make_model_fixtures.py): Llama 3, Mistral, Qwen2 (q/k/v biases),
  /// SmolLM2 (tied embeddings).
  @Test(arguments: ["llama3", "mistral", "qwen2", "smollm2"])
  func parameterNamesAreTheCheckpointKeys(family: String) throws {
    let folder = try fixtureURL(family)
    let (config, parameters, _) = try Checkpoint.load(folder)
    let model: any CausalLanguageModel = try LlamaForCausalLM(config: config, parameters: parameters)
    let stored = try SafeTensorsFile(url: folder.appendingPathComponent("model.safetensors")).names
    let names = model.namedParameters().map(\.key)
    #expect(names.sorted() == stored.sorted(), "\(family)")
    #expect(Set(names).count == names.count)
    #expect(config.tiesEmbeddings == !stored.contains("lm_head.weight"))
    // Each listed tensor is the one the checkpoint gave (no copies).
    for (key, tensor) in model.namedParameters() { #expect(tensor === parameters[key], "\(key)") }

    let projections = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
                       "mlp.up_proj", "mlp.down_proj"]
    let expectedLinear = (0..<config.numHiddenLayers).flatMap { i in projections.map { "model.layers.\(i).\($0)" } } + ["lm_head"]
    #expect(model.linearLayers.map(\.path) == expectedLinear)
    if family == "qwen2" { #expect(names.contains("model.layers.0.self_attn.q_proj.bias")) }

    try model.attachLoRA(LoRAConfiguration(rank: 2, alpha: 4, dropout: 0, targetModules: .allLinear))
    #expect(model.namedParameters().map(\.key) == names, "adapters do not rename parameters")
    #expect(model.loraParameters.count == 2 * (expectedLinear.count - 1))
    #expect(model.loraParameters.first?.key == "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")
  }

  @Test func adaptersDisabledGiveTheBaseLogitsExactly() throws {
    let (config, parameters, _) = try Checkpoint.load(try fixtureURL("qwen2"))
    let model: any CausalLanguageModel = try LlamaForCausalLM(config: config, parameters: parameters)
    let ids = try Tensor([1, 5, 9, 2, 7, 3] as [Int64], shape: [1, 6])
    try withNoGrad {
      let base = try model(ids)
      try model.attachLoRA(LoRAConfiguration(rank: 2, alpha: 4, dropout: 0.1, targetModules: .allLinear),
                           generator: Generator(seed: 3))
      for lora in model.loraLayers { try lora.b.copy_(Tensor.randn(lora.b.shape, generator: Generator(seed: 4))) }
      model.training = true  // dropout on: the disabled path must skip it too
      let adapted = try model(ids)
      #expect(try maxAbsDifference(adapted, base) > 1e-3)
      struct Stop: Error {}
      #expect(throws: Stop.self) {
        try model.withAdaptersDisabled {
          #expect(try model(ids).equals(base))
          throw Stop()
        }
      }
      let switchedBackOn = model.loraLayers.allSatisfy { $0.enabled }
      #expect(switchedBackOn)
      model.training = false
      #expect(try model(ids).isClose(to: model(ids)))  // enabled again, deterministic without dropout
      #expect(try !model(ids).equals(base))
    }
  }

  @Test func loadingErrorsNameTheFolderAndTheKey() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-missing-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    for name in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
      try FileManager.default.copyItem(at: ExportFixture.base.appendingPathComponent(name), to: dir.appendingPathComponent(name))
    }
    let file = try SafeTensorsFile(url: ExportFixture.base.appendingPathComponent("model.safetensors"))
    let key = "model.layers.1.mlp.up_proj.weight"
    try SafeTensors.write(try file.names.filter { $0 != key }.map { ($0, try file.tensor($0, copy: true)) },
                          to: dir.appendingPathComponent("model.safetensors"))
    #expect(throws: ModelError("\(dir.path): checkpoint has no tensor \"\(key)\"")) { try ModelLoader.load(dir) }
    // A tensor of the wrong shape: the key, its shape and the one the configuration implies.
    try SafeTensors.write(try file.names.map { ($0, $0 == key ? try Tensor.zeros([64, 16]) : try file.tensor($0, copy: true)) },
                          to: dir.appendingPathComponent("model.safetensors"))
    #expect(throws: ModelError("\(dir.path): tensor \"\(key)\" has shape [64, 16], expected [64, 32]")) {
      try ModelLoader.load(dir)
    }
  }
}

// DryRunTests.swift — `orpo train --dry-run` on every recipe in configs/ with its architecture's config.json
// (configs/models), parameter counts against transformers' (Fixtures/model_sizes.json,
// reference/make_model_sizes.py), and the memory estimate's parts.
import Foundation
import Testing
import Models
import NN
@testable import Training

struct ModelSize: Decodable {
  let parameters: Int
  let projection_elements: Int
  let lora_r16_all_linear: Int
  let projections: Int
}

@Suite struct DryRunTests {
  static let root: URL = {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("configs").path) { dir = dir.deletingLastPathComponent() }
    return dir
  }()

  /// The architecture each seed recipe is written for (nil: the default model). A new recipe needs a row here.
  static let recipeModels: [String: String?] = [
    "default.yaml": nil, "mistral-7b-qlora.yaml": "mistral-7b", "llama-3-8b-qlora.yaml": "llama-3-8b",
    "llama-3.2-1b.yaml": "llama-3.2-1b", "llama-3.1-8b-lora.yaml": "llama-3.1-8b",
  ]

  func sizes() throws -> [String: ModelSize] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/model_sizes", withExtension: "json"))
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    var result: [String: ModelSize] = [:]
    for (name, value) in object where name != "versions" {
      result[name] = try JSONDecoder().decode(ModelSize.self, from: JSONSerialization.data(withJSONObject: value))
    }
    return result
  }

  @Test func everySeedRecipeValidates() throws {
    let configs = Self.root.appendingPathComponent("configs")
    let recipes = try FileManager.default.contentsOfDirectory(atPath: configs.path).filter { $0.hasSuffix(".yaml") }.sorted()
    #expect(recipes.count >= 5)
    for name in recipes {
      let entry = Self.recipeModels[name]
      try #require(entry != nil, "configs/\(name) has no architecture in DryRunTests.recipeModels")
      var overrides: [ConfigurationOverride] = []
      if let model = entry! {
        overrides.append(.flag("--model", \.model, configs.appendingPathComponent("models").appendingPathComponent(model).path))
      } else if DefaultModel.locate() == nil {
        continue  // the default recipe's model comes with `make setup`
      }
      let config = try TrainingConfiguration.load(recipe: configs.appendingPathComponent(name), overrides: overrides)
      let report = try TrainingRun.dryRun(config, recipeName: name)
      #expect(report.text.hasPrefix("recipe: \(name): valid"), "\(name)")
      #expect(report.counts.trainable > 0 && report.memory.total > 0, "\(name)")
    }
  }

  /// Counted from config.json alone, as transformers counts the model it builds.
  @Test func parameterCountsAreTransformers() throws {
    for (name, size) in try sizes() {
      let config = try LlamaConfiguration.load(Self.root.appendingPathComponent("configs/models/\(name)/config.json"))
      #expect(config.parameterCount == size.parameters, "\(name)")
      let projections = config.linearShapes.filter { $0.path != "lm_head" }
      #expect(projections.count == size.projections, "\(name)")
      #expect(projections.reduce(0) { $0 + $1.outFeatures * $1.inFeatures } == size.projection_elements, "\(name)")
      var recipe = TrainingConfiguration()
      recipe.lora = LoRAConfiguration(rank: 16, targetModules: .allLinear)
      let (_, counts) = try MemoryEstimate.estimate(config: recipe, model: config)
      #expect(counts.trainable == size.lora_r16_all_linear && counts.total == size.parameters, "\(name)")
    }
  }

  /// QLoRA's base weights: 4 bits and a scale a block for the projections, float32 for the rest.
  @Test func qloraEstimateOfAnEightBillionModel() throws {
    let model = try LlamaConfiguration.load(Self.root.appendingPathComponent("configs/models/llama-3-8b/config.json"))
    let recipe = try TrainingConfiguration.load(recipe: Self.root.appendingPathComponent("configs/llama-3-8b-qlora.yaml"))
    let (memory, counts) = try MemoryEstimate.estimate(config: recipe, model: model)
    let base = try #require(memory.parts.first { $0.name == "base weights" })
    // 6,979,321,856 projection weights at 0.5 + 1/64 + 4/(64·256) bytes; 1,050,939,392 others at 4 bytes.
    let perWeight: Double = 0.5 + 1.0 / 64 + 4.0 / 16384
    let packed = Int((Double(6_979_321_856) * perWeight).rounded(.up))
    let expected = packed + 1_050_939_392 * 4
    #expect(base.bytes == expected)
    #expect(counts.quantized == 6_979_321_856)
    var dense = recipe
    dense.quantization = QuantizationSettings()
    let (denseMemory, _) = try MemoryEstimate.estimate(config: dense, model: model)
    #expect(denseMemory.parts.first { $0.name == "base weights" }!.bytes == 8_030_261_248 * 2)  // bf16
    #expect(memory.total < denseMemory.total)
  }

  /// The loss's logits: two float32 [loss_chunk_size, vocabulary] buffers with the fused loss (the logits and one
  /// log-sum-exp temporary; backward reuses the logits' buffer for their gradient), three of the whole batch without.
  @Test func logitCopiesOfTheLoss() throws {
    let model = try LlamaConfiguration.load(Self.root.appendingPathComponent("configs/models/llama-3.2-1b/config.json"))
    func logits(_ text: String) throws -> Int {
      let config = try TrainingConfiguration.load(recipeText: text, name: "r.yaml")
      let (memory, _) = try MemoryEstimate.estimate(config: config, model: model)
      return try #require(memory.parts.first { $0.name == "logits and loss" }).bytes
    }
    #expect(try logits("loss_chunk_size: 64\n") == 2 * 64 * model.vocabSize * 4)
    let tokens = 2 * 4 * 256  // chosen and rejected of per_device_train_batch_size 4 at max_length 256
    #expect(try logits("fused_loss: false\nper_device_train_batch_size: 4\nmax_length: 256\n") == 3 * tokens * model.vocabSize * 4)
  }

  /// Optimizer state of Llama-3.2-1B with LoRA r 16 on its 7 projections (11,272,192 adapter weights, every A and B
  /// at least 4,096 and a multiple of 256 elements): AdamW 8 bytes a weight; 8-bit AdamW 2 bytes a weight and two
  /// float32 scales per 256 (2 + 8/256); GaLore on a full fine-tune keeps rank-r moments for its targets.
  @Test func optimizerStateFollowsOptim() throws {
    let model = try LlamaConfiguration.load(Self.root.appendingPathComponent("configs/models/llama-3.2-1b/config.json"))
    func state(_ text: String) throws -> Int {
      let config = try TrainingConfiguration.load(recipeText: text, name: "r.yaml")
      let (memory, _) = try MemoryEstimate.estimate(config: config, model: model)
      let part = try #require(memory.parts.first { $0.name == "trainable + grads + optimizer" })
      let trainable = config.finetuningType == .full ? 0 : 2 * 4 * 11_272_192  // adapters and their gradients
      return part.bytes - trainable
    }
    #expect(try state("optim: adamw_torch") == 8 * 11_272_192)
    #expect(try state("optim: adamw_8bit") == 2 * 11_272_192 + 8 * 11_272_192 / 256)
    #expect(try state("optim: paged_adamw_32bit") == 8 * 11_272_192)
    // GaLore, rank 128, on q_proj only: 16 × [2048, 2048] → moments [2048, 128] and projection [128, 2048] each;
    // every other weight (1,235,814,400 − 16 · 2048²) gets its gradient and two moments, q_proj its gradient.
    let galore = try state("finetuning_type: full\noptim: galore_adamw\noptim_target_modules: .*q_proj\n")
    let q = 16 * 2048 * 2048
    #expect(galore == 4 * 1_235_814_400 + 8 * (1_235_814_400 - q) + 16 * (8 * 2048 * 128 + 4 * 128 * 2048))
  }

  @Test func dryRunErrorsNameTheKey() throws {
    let folder = Self.root.appendingPathComponent("configs/models/llama-3.2-1b").path
    let gguf = try TrainingConfiguration.load(recipeText: "quantization: gguf", name: "r.yaml",
                                              overrides: [.flag("--model", \.model, folder)])
    #expect(throws: ConfigurationError.self) { try TrainingRun.dryRun(gguf, recipeName: "r.yaml") }
    let targets = try TrainingConfiguration.load(recipeText: "lora:\n  target_modules: [wq]\n", name: "r.yaml",
                                                 overrides: [.flag("--model", \.model, folder)])
    do {
      _ = try TrainingRun.dryRun(targets, recipeName: "r.yaml")
      Issue.record("expected an error")
    } catch let error as ConfigurationError {
      #expect(error.description.hasPrefix("r.yaml:2: key \"lora.target_modules\": wq match no linear layer"))
    }
  }
}

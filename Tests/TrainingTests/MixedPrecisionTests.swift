// MixedPrecisionTests.swift — bf16 / fp16 training on the tiny fixture model: the base in the low dtype, adapters and
// AdamW state in float32, the loss curve within the low dtype's tolerance of float32's; fp16's loss scaling; the
// precision keys' errors.
import Data
import Foundation
import Models
import NN
import Testing
import Tokenization
import Torch
@testable import Training

@Suite(.serialized) struct MixedPrecisionTests {
  /// The fixture trainer (TRL's adapter_init, 20 steps) with the base loaded in `config.baseDType`.
  func trainer(_ config: TrainingConfiguration) throws -> Trainer {
    let (shape, parameters, _) = try Checkpoint.load(orpoFixture, dtype: config.baseDType)
    let model = try LlamaForCausalLM(config: shape, parameters: parameters)
    try PEFTAdapter.load(orpoFixture.appendingPathComponent("adapter_init"), into: model)
    for layer in model.loraLayers { layer.computeDType = config.adapterComputeDType }
    let tokenizer = try Tokenizer(folder: orpoFixture)
    let data = try PreferenceDataset(contentsOf: orpoFixture.appendingPathComponent("data.jsonl"))
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: config.maxLength)
    let pairs = try data.map { try #require(try encoder.encode($0)) }
    return try Trainer(config: config, model: model, padTokenID: tokenizer.padTokenID!, trainPairs: pairs,
                       evalPairs: [], objectives: config.objectiveSchedule)
  }

  func losses(_ config: TrainingConfiguration) throws -> (losses: [Double], trainer: Trainer) {
    let t = try trainer(config)
    var losses: [Double] = []
    t.onLog = { log in losses += log.values.filter { $0.0 == "loss" }.map(\.1) }
    _ = try t.train()
    return (losses, t)
  }

  /// bf16 keeps 8 bits of mantissa (relative rounding 2⁻⁹ ≈ 0.002 per operation): over 5 steps of a 2-layer model
  /// the loss stays within 2% of float32's, while the adapters and the optimizer state stay float32.
  @Test func bf16LossCurveFollowsFloat32() throws {
    var config = fixtureConfiguration(paddingFree: true)
    config.maxSteps = 5
    let (full, _) = try losses(config)
    config.bf16 = true
    let (low, t) = try losses(config)
    #expect(low.count == 5 && full.count == 5)
    for (step, (a, b)) in zip(low, full).enumerated() {
      #expect(Swift.abs(a - b) <= 0.02 * Swift.abs(b), "step \(step + 1): bf16 \(a) vs float32 \(b)")
    }
    #expect(low != full, "bf16 really computed in bf16")
    #expect(t.model.dtype == .bfloat16)
    #expect(t.trainable.allSatisfy { $0.tensor.dtype == .float32 })
    #expect(try t.optimizer.state().tensors.allSatisfy { $0.tensor.dtype == .float32 || $0.tensor.elementCount == 1 })
  }

  /// fp16 trains with a loss scale that starts at 2¹⁶ and travels in the checkpoint state.
  @Test func fp16TrainsWithALossScale() throws {
    var config = fixtureConfiguration(paddingFree: true)
    config.maxSteps = 2
    config.fp16 = true
    let (low, t) = try losses(config)
    #expect(low.count == 2 && low.allSatisfy(\.isFinite))
    #expect(t.state.lossScaler?.scale == 65536)
    #expect(t.state.lossScaler?.cleanSteps == 2)
    let decoded = try JSONDecoder().decode(TrainerState.self, from: JSONEncoder().encode(t.state))
    #expect(decoded.lossScaler == t.state.lossScaler)
  }

  /// GradScaler's rule: an overflow halves the scale and restarts the count; growth_interval clean steps double it.
  @Test func lossScalerBacksOffAndGrows() throws {
    var s = LossScaler(scale: 1024, growthInterval: 3)
    s.update(overflowed: false)
    s.update(overflowed: true)
    #expect(s.scale == 512 && s.cleanSteps == 0)
    for _ in 0..<3 { s.update(overflowed: false) }
    #expect(s.scale == 1024 && s.cleanSteps == 0)
    // Unscaling divides the gradients by the scale.
    let w = try Tensor([1, 2] as [Float]).requiringGrad()
    try (w * 512).sum().backward()
    try LossScaler(scale: 512).unscale([w])
    #expect(try w.grad!.scalars(as: Float.self) == [1, 1])
  }

  @Test func precisionKeysThatDoNotFitSayWhy() throws {
    func problem(_ yaml: String) throws -> String? {
      do {
        _ = try TrainingConfiguration.load(recipeText: yaml, name: "recipe.yaml")
        return nil
      } catch { return "\(error)" }
    }
    #expect(try problem("bf16: true\nfp16: true\n") == "recipe.yaml:2: key \"fp16\": bf16 is also true; give one of them")
    #expect(try problem("bf16: true\ntorch_dtype: float16\n")
            == "recipe.yaml:1: key \"bf16\": torch_dtype is float16; bf16 holds the base in bfloat16 (leave torch_dtype out)")
    #expect(try problem("fp16: true\nfinetuning_type: full\n")
            == "recipe.yaml:1: key \"fp16\": needs finetuning_type lora: full fine-tuning would train the weights themselves in float16")
    let c = try TrainingConfiguration.load(recipeText: "bf16: true\n", name: "recipe.yaml")
    #expect(c.baseDType == .bfloat16 && c.adapterComputeDType == .bfloat16)
  }
}

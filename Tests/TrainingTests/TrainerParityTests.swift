// TrainerParityTests.swift — the training loop against TRL 1.16's 20-step run (same data order, same initial LoRA
// weights, dropout off), the packed prompt-sharing path against TRL's batch, and bit-identical resume.
import Data
import Foundation
import Models
import NN
import Testing
import Tokenization
import Torch
@testable import Training

/// Trains the fixture model on the fixture data under `config` (seed 7 for dropout and order), from `resume` when
/// given: the trainer and its trainable tensors' bytes, for the optimizers' resume tests.
func trainFixture(_ config: TrainingConfiguration, resumingFrom resume: URL?) throws -> (Trainer, [UInt8]) {
  let (modelConfig, parameters, _) = try Checkpoint.load(orpoFixture)
  let model = try LlamaForCausalLM(config: modelConfig, parameters: parameters)
  let tokenizer = try Tokenizer(folder: orpoFixture)
  let data = try PreferenceDataset(contentsOf: orpoFixture.appendingPathComponent("data.jsonl"))
  let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: config.maxLength)
  let pairs = try data.map { try #require(try encoder.encode($0)) }
  let trainer = try Trainer(config: config, model: model, padTokenID: tokenizer.padTokenID!, trainPairs: pairs,
                            evalPairs: [], objectives: config.objectiveSchedule)
  Torch.manualSeed(7)
  _ = try trainer.train(resumingFrom: resume)
  return (trainer, try trainer.trainable.flatMap { try $0.tensor.bytes() })
}

/// The fixture run's settings (reference/make_orpo_fixtures.py).
func fixtureConfiguration(paddingFree: Bool, outputDir: String = "/tmp/orpo-test-unused") -> TrainingConfiguration {
  var c = TrainingConfiguration()
  c.perDeviceTrainBatchSize = 2
  c.gradientAccumulationSteps = 2
  c.perDeviceEvalBatchSize = 8
  c.maxSteps = 20
  c.learningRate = 2e-3
  c.lrSchedulerType = .linear
  c.warmupSteps = 2
  c.weightDecay = 0.01
  c.maxGradNorm = 1.0
  c.beta = 0.1
  c.maxLength = 64
  c.loggingSteps = 1
  c.seed = 42
  c.shuffle = false  // the fixture used a SequentialSampler
  c.paddingFree = paddingFree
  c.reportTo = [.none]
  c.outputDir = outputDir
  return c
}

func fixtureTrainer(_ config: TrainingConfiguration) throws -> Trainer {
  let (model, tokenizer, data) = try fixtureSetup()
  let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: config.maxLength)
  let pairs = try data.map { try #require(try encoder.encode($0)) }
  return try Trainer(config: config, model: model, padTokenID: tokenizer.padTokenID!, trainPairs: pairs,
                     evalPairs: Array(pairs.prefix(8)), objectives: config.objectiveSchedule)
}

@Suite(.serialized) struct TrainerParityTests {
  @Test func packedPromptSharingMatchesTRLBatch() throws {
    let trainer = try fixtureTrainer(fixtureConfiguration(paddingFree: true))
    let expected = try loadExpectation()
    let pairs = expected.batch.rows.map { trainer.trainPairs[$0] }
    let r = try trainer.forward(pairs, objective: ORPOLoss(beta: 0.1))
    #expect(close(try r.loss.item(), expected.batch.loss))
    for (name, value) in try r.values().metrics where !name.hasPrefix("logits/") {
      #expect(close(value, expected.batch.metrics[name]!), "\(name): ours \(value), TRL \(expected.batch.metrics[name]!)")
    }
    try r.loss.backward()
    let grads = try SafeTensorsFile(url: orpoFixture.appendingPathComponent("batch_grads.safetensors"))
    for (key, tensor) in trainer.model.loraParameters {
      let want = try grads.tensor(key)
      let relative = try (tensor.grad! - want).norm().item() / Swift.max(try want.norm().item(), 1e-12)
      #expect(relative < 1e-5, "\(key): relative gradient error \(relative)")
    }
  }

  @Test(arguments: [false, true])
  func twentyStepsFollowTRLLossCurve(paddingFree: Bool) throws {
    let trainer = try fixtureTrainer(fixtureConfiguration(paddingFree: paddingFree))
    let expected = try loadExpectation()
    var logs: [TrainerLog] = []
    trainer.onLog = { logs.append($0) }
    _ = try trainer.train()
    let train = logs.filter { !$0.isEvaluation }
    #expect(train.count == 20)
    for (ours, theirs) in zip(train, expected.train) {
      let v = Dictionary(ours.values, uniquingKeysWith: { a, _ in a })
      #expect(ours.step == Int(theirs["step"]!))
      #expect(close(v["epoch"]!, theirs["epoch"]!, rtol: 1e-9))
      #expect(close(v["learning_rate"]!, theirs["learning_rate"]!, rtol: 1e-9, atol: 1e-12), "step \(ours.step) lr")
      #expect(close(v["loss"]!, theirs["loss"]!, rtol: 1e-3), "step \(ours.step): loss \(v["loss"]!) vs TRL \(theirs["loss"]!)")
      // TRL's grad-enabled forward picks other attention kernels than its no-grad one (float32 rounding ~1e-6 in
      // log-probs; its no-grad numbers equal ours to 1e-9, see ORPOParityTests). Quantities that are differences of
      // nearly equal log-probs (margins, log-odds) amplify that ~1000x, so they get absolute tolerances sized to it.
      #expect(close(v["grad_norm"]!, theirs["grad_norm"]!, rtol: 1e-2), "step \(ours.step): grad_norm \(v["grad_norm"]!) vs \(theirs["grad_norm"]!)")
      for name in ["rewards/chosen", "rewards/rejected", "logps/chosen", "logps/rejected", "nll_loss"] {
        #expect(close(v[name]!, theirs[name]!, rtol: 1e-4), "step \(ours.step) \(name): \(v[name]!) vs \(theirs[name]!)")
      }
      #expect(close(v["rewards/margins"]!, theirs["rewards/margins"]!, rtol: 0, atol: 1e-4))
      #expect(close(v["log_odds_chosen"]!, theirs["log_odds_chosen"]!, rtol: 0, atol: 1e-3))
      #expect(close(v["rewards/accuracies"]!, theirs["rewards/accuracies"]!, rtol: 0, atol: 0.26))
    }
    // The final adapter follows TRL's.
    let final = try SafeTensorsFile(url: orpoFixture.appendingPathComponent("adapter_final.safetensors"))
    for (key, tensor) in trainer.model.loraParameters {
      let want = try final.tensor(key)
      let relative = try (tensor - want).norm().item() / Swift.max(try want.norm().item(), 1e-12)
      #expect(relative < 1e-2, "\(key): relative difference \(relative) after 20 steps")
    }
  }

  @Test func evaluateInOneBatchMatchesTRL() throws {
    var config = fixtureConfiguration(paddingFree: false)
    config.perDeviceEvalBatchSize = 8
    let trainer = try fixtureTrainer(config)
    let expected = try loadExpectation()
    let values = try trainer.evaluate()
    // Well-conditioned values within 1e-5 relative; differences of nearly equal log-probs (margins, log-odds) and
    // means of near-zero logits get absolute tolerances sized to float32 noise in the log-probs (see above).
    let absolute: [String: Double] = ["eval_rewards/margins": 5e-5, "eval_log_odds_chosen": 5e-4,
                                      "eval_log_odds_ratio": 5e-4, "eval_logits/chosen": 1e-5, "eval_logits/rejected": 1e-5]
    for (name, value) in values where name != "eval_accuracy" {
      let want = try #require(expected.eval[name], "TRL reports \(name)")
      if let atol = absolute[name] {
        #expect(close(value, want, rtol: 0, atol: atol), "\(name): ours \(value), TRL \(want)")
      } else {
        #expect(close(value, want), "\(name): ours \(value), TRL \(want)")
      }
    }
  }

  @Test func resumeContinuesBitIdentically() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-resume-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: root) }
    func run(_ name: String, steps: Int, saveSteps: Int?, resume: URL? = nil) throws -> (Trainer, [UInt8]) {
      var config = fixtureConfiguration(paddingFree: true, outputDir: root.appendingPathComponent(name).path)
      config.maxSteps = steps
      config.saveSteps = saveSteps
      config.shuffle = true
      config.loraDropoutForTest()
      let trainer = try fixtureTrainer(config)
      Torch.manualSeed(7)
      _ = try trainer.train(resumingFrom: resume)
      let bytes = try trainer.model.loraParameters.flatMap { try $0.tensor.bytes() }
      return (trainer, bytes)
    }
    let (_, uninterrupted) = try run("full", steps: 12, saveSteps: nil)
    let (first, _) = try run("split", steps: 12, saveSteps: 5)  // writes checkpoint-5 and checkpoint-10
    let checkpoint = try #require(Trainer.latestCheckpoint(in: first.outputDirectory))
    #expect(checkpoint.lastPathComponent == "checkpoint-10")
    let five = first.outputDirectory.appendingPathComponent("checkpoint-5")
    let (_, resumed) = try run("split", steps: 12, saveSteps: nil, resume: five)
    #expect(resumed == uninterrupted, "resuming from step 5 must give the uninterrupted run's adapter bytes")
  }
}

extension TrainingConfiguration {
  /// Resume must also replay dropout randomness: turn LoRA dropout on for that test.
  mutating func loraDropoutForTest() { lora.dropout = 0.1 }
}

// TrainerSeamTests.swift — the trainer's seams for what comes next (an injected sampler, the hook between backward
// and clipping, the main-process gate) and its errors, on the tiny fixture model.
import Data
import Foundation
import Testing
import Torch
@testable import Training

/// Visits the pairs back to front: a stand-in for a data-parallel sampler.
private struct ReversedSampler: EpochSampler {
  func order(epoch: Int, count: Int) throws -> [Int] { Array((0..<count).reversed()) }
}

@Suite(.serialized) struct TrainerSeamTests {
  func trainer(steps: Int, outputDir: String = "/tmp/orpo-test-unused", sampler: (any EpochSampler)? = nil) throws
    -> Trainer
  {
    var config = fixtureConfiguration(paddingFree: true, outputDir: outputDir)
    config.maxSteps = steps
    let (model, tokenizer, data) = try fixtureSetup()
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: config.maxLength)
    let pairs = try data.map { try #require(try encoder.encode($0)) }
    return try Trainer(config: config, model: model, padTokenID: tokenizer.padTokenID!, trainPairs: pairs,
                       evalPairs: [], objectives: config.objectiveSchedule, sampler: sampler)
  }

  @Test func anInjectedSamplerOrdersTheEpoch() throws {
    let t = try trainer(steps: 1, sampler: ReversedSampler())
    let n = t.trainPairs.count
    #expect(try t.batches(epoch: 0).first == [n - 1, n - 2])
    #expect(try trainer(steps: 1).batches(epoch: 0).first == [0, 1], "shuffle: false is the data's order")
  }

  /// The hook sees every gradient once per optimizer step, before clipping: zeroing them there makes the logged
  /// grad_norm (the norm before clipping) zero.
  @Test func afterBackwardRunsOncePerStepBeforeClipping() throws {
    let t = try trainer(steps: 2)
    var calls = 0
    t.afterBackward = { parameters in
      calls += 1
      for p in parameters {
        let grad = try #require(p.grad, "every trainable parameter has its gradient by then")
        try grad.zero_()
      }
    }
    var gradNorms: [Double] = []
    t.onLog = { log in gradNorms += log.values.filter { $0.0 == "grad_norm" }.map(\.1) }
    _ = try t.train()
    #expect(calls == 2)
    #expect(gradNorms == [0, 0])
  }

  /// A stop asked before the first step (Ctrl-C while the model loads or the first evaluation runs) ends the run
  /// there: no step, no checkpoint. Otherwise the trainer asks before the first step and after each one but the last.
  /// On a GPU every value read back waits for the device: a step reads once (the gradient norm clipping needs, with
  /// the step's losses); the metrics of the window wait on the device for the log, read with one copy there.
  @Test func aStepReadsTheDeviceOnceAndALogOnceMore() throws {
    var config = fixtureConfiguration(paddingFree: true)
    config.maxSteps = 8
    config.loggingSteps = 4
    config.probePairs = 0
    let trainer = try fixtureTrainer(config)
    var reads: [Int: Int] = [:]
    trainer.onStep = { step, _, _, _ in reads[step] = Tensor.hostReadCount }
    var logs: [Int] = []
    trainer.onLog = { log in logs.append(log.step) }
    let start = Tensor.hostReadCount
    _ = try trainer.train()
    let end = Tensor.hostReadCount
    #expect(config.gradientAccumulationSteps == 2 && logs == [4, 8])
    // Steps 2–4 and 6–8 (two micro-batches each) read once; step 5 once plus the log of step 4.
    #expect((2...8).map { reads[$0]! - reads[$0 - 1]! } == [1, 1, 1, 2, 1, 1, 1], "reads per step: \(reads.sorted { $0.key < $1.key })")
    #expect(end - reads[8]! == 1, "the last log's read")
    #expect(reads[1]! - start == 1)
  }

  /// Before any step the policy is its reference (LoRA's B starts at zero, as peft initializes it; the fixture's
  /// adapter is trained, so B is zeroed here): DPO's rewards are exactly zero, the
  /// reference pass (no graph, adapters off) and the policy's (with the completion statistics DPO logs) computing the
  /// output layer the same way — in training and in evaluation, with the reference computed on the fly or beforehand.
  /// (Vocabulary blocks of 7 ids, so that the blocked output layer crosses blocks on the fixture's small vocabulary.)
  @Test(arguments: [false, true])
  func dpoRewardsStartAtExactlyZero(precomputed: Bool) throws {
    try FusedLogProbabilities.$vocabularyBlockOverride.withValue(7) {
      var config = fixtureConfiguration(paddingFree: true)
      config.method = .dpo
      config.precomputeRefLogProbs = precomputed
      let trainer = try fixtureTrainer(config)
      try withNoGrad { for (key, tensor) in trainer.model.loraParameters where key.contains("lora_B") { try tensor.zero_() } }
      if precomputed { try trainer.precomputeReference() }
      let indices = [0, 1, 2, 3]
      let output = try trainer.forward(indices.map { trainer.trainPairs[$0] }, objective: trainer.objective(at: 0),
                                       reference: try trainer.precomputedReference(of: indices))
      let metrics = Dictionary(try output.values().metrics.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
      #expect(metrics["rewards/chosen"] == 0 && metrics["rewards/rejected"] == 0 && metrics["rewards/margins"] == 0, "\(metrics)")
      let evaluation = Dictionary(try trainer.evaluate(), uniquingKeysWith: { a, _ in a })
      #expect(evaluation["eval_rewards/chosen"] == 0 && evaluation["eval_rewards/margins"] == 0, "\(evaluation)")
    }
  }

  @Test func aStopBeforeTheFirstStepTrainsNothing() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-stop-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    let t = try trainer(steps: 3, outputDir: root.path)
    var asked = 0
    t.shouldStop = { asked += 1; return true }
    let summary = try t.train()
    #expect(summary.steps == 0 && summary.stoppedEarly && asked == 1)
    #expect(t.state.globalStep == 0)
    let written = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
    #expect(!written.contains { $0.hasPrefix("checkpoint-") }, "\(written)")

    let plain = try trainer(steps: 3)
    var askedPlain = 0
    plain.shouldStop = { askedPlain += 1; return false }
    let full = try plain.train()
    #expect(full.steps == 3 && !full.stoppedEarly && askedPlain == 3)
  }

  @Test func onlyTheMainProcessReportsAndWritesCheckpoints() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-gate-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    let t = try trainer(steps: 1, outputDir: root.path)
    t.isMainProcess = false
    var logs = 0, steps = 0
    t.onLog = { _ in logs += 1 }
    t.onStep = { _, _, _, _ in steps += 1 }
    _ = try t.train()
    #expect(logs == 0 && steps == 0)
    #expect(try t.saveCheckpoint() == nil)
    #expect(!FileManager.default.fileExists(atPath: root.path))
    t.isMainProcess = true
    #expect(try t.saveCheckpoint()?.lastPathComponent == "checkpoint-1")
  }

  @Test func resumingFromAFolderThatIsNoCheckpointSaysWhichFileIsMissing() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-not-a-checkpoint-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let t = try trainer(steps: 1)
    #expect(throws: TrainingError("not a checkpoint (no trainable.safetensors)", context: ["resuming from \(folder.path)"])) {
      try t.restore(from: folder)
    }
  }

  /// A NaN gradient (injected after backward) skips its optimizer step: the weights stay as they were, the step is
  /// counted and logged (nonfinite_steps), and the next finite step updates again; max_nonfinite_steps skipped
  /// steps in a row stop the run with a message naming the key, and the weights are never NaN.
  @Test func nonFiniteStepsAreSkippedCountedAndLimited() throws {
    func make(steps: Int, maxNonfinite: Int = 5) throws -> Trainer {
      var config = fixtureConfiguration(paddingFree: true)
      (config.maxSteps, config.warmupSteps, config.maxNonfiniteSteps) = (steps, 0, maxNonfinite)
      let (model, tokenizer, data) = try fixtureSetup()
      let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: config.maxLength)
      return try Trainer(config: config, model: model, padTokenID: tokenizer.padTokenID!,
                         trainPairs: try data.map { try #require(try encoder.encode($0)) }, evalPairs: [],
                         objectives: config.objectiveSchedule)
    }
    let t = try make(steps: 4)
    var step = 0
    var poisoned: Set<Int> = [2]
    t.afterBackward = { parameters in
      step += 1
      if poisoned.contains(step) { try parameters[0].grad!.fill_(.nan) }
    }
    func weights() throws -> [[Float]] { try t.trainable.map { try $0.tensor.detached().scalars(as: Float.self) } }
    var snapshots: [[[Float]]] = [try weights()]
    t.onStep = { _, _, _, _ in snapshots.append((try? weights()) ?? []) }
    var logs: [TrainerLog] = []
    t.onLog = { logs.append($0) }
    var skipped: [Int] = []
    t.onNonfiniteStep = { step, loss, norm in
      skipped.append(step)
      #expect(loss.isFinite && norm.isNaN, "the loss was finite, the gradient not")
    }
    let summary = try t.train()
    #expect(summary.nonfiniteSteps == 1 && skipped == [2] && t.state.nonfiniteSteps == 1)
    #expect(snapshots[2] == snapshots[1], "step 2 was skipped: no update")
    #expect(snapshots[1] != snapshots[0] && snapshots[3] != snapshots[2], "finite steps update")
    let skipLog = try #require(logs.first { $0.values.contains { $0.0 == "nonfinite_steps" } })
    #expect(skipLog.step == 2 && skipLog.values[0].0 == "nonfinite_steps" && skipLog.values[0].1 == 1)
    #expect(logs.last?.values.first { $0.0 == "nonfinite_steps" }?.1 == 1, "the window logs carry the count")
    try t.checkWeightsAreFinite()

    // Three poisoned steps in a row with max_nonfinite_steps 3: stopped at the third, the weights of step 1.
    let limited = try make(steps: 6, maxNonfinite: 3)
    (step, poisoned) = (0, [2, 3, 4])
    limited.afterBackward = t.afterBackward
    let error = try #require(throws: TrainingError.self) { _ = try limited.train() }
    #expect(error.message.hasPrefix("stopped at step 4: 3 optimizer steps in a row had a NaN or infinite loss or gradient (the last: loss "))
    #expect(error.message.hasSuffix(", grad_norm nan); each was skipped, so the weights are those of step 1. Lower learning_rate "
                                      + "or check the data; max_nonfinite_steps (3) sets how many in a row are tolerated"))
    #expect(limited.state.globalStep == 4 && limited.state.consecutiveNonfiniteSteps == 3)
    try limited.checkWeightsAreFinite()
  }
}

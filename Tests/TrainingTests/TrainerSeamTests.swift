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
}

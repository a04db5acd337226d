// LeakTests.swift — a training run holds no more after warm-up than at its start: the same number of tensor handles
// after every optimizer step and the same open files, with logging and evaluation in between.
import Foundation
import Testing
import Torch
@testable import Training

@Suite(.serialized) struct LeakTests {
  /// Open file descriptors of this process.
  func openFileCount() -> Int {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
  }

  @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/fd"), "needs /proc"))
  func stepsLeaveNoTensorsOrFilesBehind() throws {
    var config = fixtureConfiguration(paddingFree: true)
    config.maxSteps = 40
    config.loggingSteps = 5
    config.evalStrategy = .steps
    config.evalSteps = 10
    let trainer = try fixtureTrainer(config)
    var tensors: [Int: Int] = [:], files: [Int: Int] = [:]
    trainer.onStep = { step, _, _, _ in
      tensors[step] = Tensor.liveCount
      files[step] = self.openFileCount()
    }
    _ = try trainer.train()
    // Step 1 creates the optimizer's moments; from then on every step ends holding what the step one logging window
    // before held (within a window, each micro-batch's metrics wait on the device for the log: one vector each).
    let counts = (2...40).map { tensors[$0] ?? -1 }
    #expect(counts[0] > 0 && (2...35).allSatisfy { tensors[$0] == tensors[$0 + 5] }, "live tensors after steps 2…40: \(counts)")
    let growth = (2...40).filter { ($0 - 1) % 5 != 0 }.map { tensors[$0]! - tensors[$0 - 1]! }
    #expect(Set(growth) == [config.gradientAccumulationSteps], "tensors added by a step within a window: \(growth)")
    #expect(files[40] == files[10], "open files after steps 10 and 40: \(files[10] ?? -1), \(files[40] ?? -1)")
  }
}

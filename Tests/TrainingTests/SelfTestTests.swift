// SelfTestTests.swift — `orpo selftest`'s checks that can be run in-process on the CPU (the whole command is run by
// the CLI tests).
import Testing
import Torch
@testable import Training

/// `orpo selftest`'s data-parallel check on the CPU (gloo, one process): gradient buckets sent during backward, the
/// averaged gradients equal to the local ones. On a GPU the same check makes an NCCL group.
@Suite struct SelfTestGradientAllReduceTests {
  @Test func theGradientAllReduceCheckPassesOnTheCPU() throws {
    let (passed, detail) = try SelfTest(device: .cpu).gradientAllReduce()
    #expect(passed, "\(detail)")
    #expect(detail.hasPrefix("gloo: "), "\(detail)")
  }
}

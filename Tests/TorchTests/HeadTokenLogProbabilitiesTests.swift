// HeadTokenLogProbabilitiesTests.swift — Functional.headTokenLogProbabilities (the fused loss through a frozen output
// layer: backward from p · W, no logits kept or recomputed): the values of the autograd ops it replaces bit for bit,
// and their gradient at the hidden states within rounding, in float32 and bfloat16, with and without rounding to
// the logits' dtype, with several predictions at one position (prompt sharing) and positions without any.
import Testing
@testable import Torch

@Suite struct HeadTokenLogProbabilitiesTests {
  /// Log-probs of (source, target) predictions from hidden [n, C] through a frozen weight [V, C] in `dtype`, and the
  /// gradient reaching the float32 leaf under the hidden states, under a fixed upstream gradient.
  static func run(fused: Bool, dtype: DType, round: Bool, sources: [Int], targets: [Int]) throws
    -> (values: [Double], gradient: Tensor)
  {
    let (n, c, v) = (6, 8, 13)
    let generator = try Generator(seed: 5)
    let leaf = try Tensor.uniform([n, c], low: -2, high: 2, generator: generator).requiringGrad()
    let weight = try Tensor.uniform([v, c], low: -1, high: 1, generator: generator).to(dtype: dtype)
    let upstream = try Tensor.uniform([sources.count], low: -1, high: 1, generator: generator)
    let flat = try Tensor(zip(sources, targets).map { Int64($0 * v + $1) })
    let source = try Tensor(sources.map(Int64.init)), target = try Tensor(targets.map(Int64.init))
    let hidden = try (leaf * 1.5).to(dtype: dtype)                                        // [n, C], in the graph
    let out: Tensor
    if fused {
      let logits = try withNoGrad { try hidden.detached().linear(weight: weight) }
      out = try Functional.headTokenLogProbabilities(hidden: hidden, weight: weight, logits: logits, flat: flat,
                                                     source: source, target: target, roundToLogitsDType: round)
    } else {
      out = try TokenLogProbabilitiesTests.reference(try hidden.linear(weight: weight), flat: flat, source: source,
                                                     round: round)
    }
    try (out * upstream).sum().backward()
    return (try values(out), try #require(leaf.grad))
  }

  @Test(arguments: [(DType.float32, false, 1e-6), (.float32, true, 1e-6), (.bfloat16, false, 2e-2), (.bfloat16, true, 2e-2)])
  func matchesTheAutogradOps(dtype: DType, round: Bool, tolerance: Double) throws {
    let sources = [0, 1, 1, 2, 3, 5, 5], targets = [3, 4, 9, 0, 12, 2, 7]  // position 4 predicts nothing
    let fused = try Self.run(fused: true, dtype: dtype, round: round, sources: sources, targets: targets)
    let plain = try Self.run(fused: false, dtype: dtype, round: round, sources: sources, targets: targets)
    #expect(fused.values == plain.values)
    let error = try (fused.gradient - plain.gradient).norm().item() / (try plain.gradient.norm().item())
    #expect(error < tolerance, "relative gradient error \(error)")
    #expect(try fused.gradient.select(0, 4).abs().sum().item() == 0)
  }

  /// The chosen and rejected answers scoring the same shared prompt token: both gradients reach one position.
  @Test func repeatedPrediction() throws {
    let sources = [0, 2, 2, 4], targets = [1, 5, 5, 8]
    let fused = try Self.run(fused: true, dtype: .float32, round: false, sources: sources, targets: targets)
    let plain = try Self.run(fused: false, dtype: .float32, round: false, sources: sources, targets: targets)
    #expect(fused.values == plain.values)
    #expect(try fused.gradient.isClose(to: plain.gradient, relativeTolerance: 1e-5, absoluteTolerance: 1e-7))
  }
}

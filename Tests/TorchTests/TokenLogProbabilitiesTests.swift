// TokenLogProbabilitiesTests.swift — Functional.tokenLogProbabilities (the fused loss's per-chunk op, whose backward
// reuses the logits' buffer): the same values and gradients as the autograd ops it replaces, in float32 and
// bfloat16, with and without rounding to the logits' dtype, and with a prediction repeated.
import Testing
@testable import Torch

@Suite struct TokenLogProbabilitiesTests {
  /// What FusedLogProbabilities computed with autograd before the fused op.
  static func reference(_ logits: Tensor, flat: Tensor, source: Tensor, round: Bool) throws -> Tensor {
    let lse = try logits.to(dtype: .float32).logSumExp(dim: -1)                          // [n]
    let picked = try logits.view([-1]).indexSelect(0, flat)                              // [m]
    let partition = try lse.indexSelect(0, source)                                       // [m]
    return round ? try (picked - partition.to(dtype: logits.dtype)).to(dtype: .float32)
                 : try picked.to(dtype: .float32) - partition
  }

  /// Log-probs and the gradient that reaches `weights` [n, V] through logits = (weights · 1.5) in `dtype`, under a
  /// fixed upstream gradient. The logits live only inside the graph, so the fused op may overwrite them in backward.
  static func run(fused: Bool, dtype: DType, round: Bool, sources: [Int], targets: [Int]) throws
    -> (values: [Double], gradient: [Double])
  {
    let (n, v) = (6, 11)
    let generator = try Generator(seed: 7)
    let weights = try Tensor.uniform([n, v], low: -4, high: 4, generator: generator).requiringGrad()
    let upstream = try Tensor.uniform([sources.count], low: -1, high: 1, generator: generator)
    let flat = try Tensor(zip(sources, targets).map { Int64($0 * v + $1) })
    let source = try Tensor(sources.map(Int64.init))
    func logps() throws -> Tensor {
      let logits = try (weights * 1.5).to(dtype: dtype)                                  // [n, V]
      return fused ? try Functional.tokenLogProbabilities(logits, flat: flat, source: source, roundToLogitsDType: round)
                   : try reference(logits, flat: flat, source: source, round: round)
    }
    let out = try logps()
    try (out * upstream).sum().backward()
    return (try values(out), try values(try #require(weights.grad)))
  }

  @Test(arguments: [(DType.float32, false), (.bfloat16, false), (.bfloat16, true), (.float32, true)])
  func matchesTheAutogradOps(dtype: DType, round: Bool) throws {
    let sources = [0, 1, 1, 2, 3, 5, 5], targets = [3, 4, 9, 0, 10, 2, 7]
    let fused = try Self.run(fused: true, dtype: dtype, round: round, sources: sources, targets: targets)
    let plain = try Self.run(fused: false, dtype: dtype, round: round, sources: sources, targets: targets)
    #expect(fused.values == plain.values)
    #expect(fused.gradient == plain.gradient)
    #expect(fused.gradient.contains { $0 != 0 })
  }

  /// A prediction scored twice (prompt sharing: the chosen and rejected answers start with the same token) adds
  /// its two gradients at one entry: the same sum, up to the order of the additions.
  @Test func repeatedPrediction() throws {
    let sources = [0, 2, 2, 4], targets = [1, 5, 5, 8]
    let fused = try Self.run(fused: true, dtype: .float32, round: false, sources: sources, targets: targets)
    let plain = try Self.run(fused: false, dtype: .float32, round: false, sources: sources, targets: targets)
    #expect(fused.values == plain.values)
    #expect(approxEqual(fused.gradient, plain.gradient, tolerance: 1e-6))
  }

  @Test func logitsHeldElsewhereAreNotOverwritten() throws {
    let logits = try Tensor.uniform([3, 5], low: -2, high: 2, generator: try Generator(seed: 1)).requiringGrad()
    let before = try values(logits)
    let out = try Functional.tokenLogProbabilities(logits, flat: Tensor([Int64(2), 9]), source: Tensor([Int64(0), 1]),
                                                   roundToLogitsDType: false)
    try out.sum().backward()
    #expect(try values(logits) == before)
    #expect(logits.grad != nil)
  }
}

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

  /// Without a graph, a vocabulary block at a time (online log-sum-exp): the log-probs and mean logits of the whole
  /// logits within float32 rounding, whether the blocks divide the vocabulary or not, with targets on block edges,
  /// repeated predictions and a position predicting nothing; one block is the plain computation.
  @Test(arguments: [1000, 256, 300, 1])
  func blockedMatchesTheWholeLogits(block: Int) throws {
    let (n, c, v) = (9, 16, 1000)
    let generator = try Generator(seed: 11)
    let hidden = try Tensor.uniform([n, c], low: -3, high: 3, generator: generator)
    let weight = try Tensor.uniform([v, c], low: -1, high: 1, generator: generator)
    let sources = [0, 0, 1, 2, 2, 3, 5, 6, 7, 8, 8], targets = [0, 999, 255, 256, 256, 299, 300, 511, 512, 767, 768]
    let source = try Tensor(sources.map(Int64.init)), target = try Tensor(targets.map(Int64.init))
    let head = try Functional.headTokenLogProbabilitiesBlocked(hidden: hidden, weight: weight, source: source,
                                                               target: target, block: block, statistics: true)
    let (logps, means) = (head.logps, head.meanLogits)
    let logits = try hidden.linear(weight: weight)
    let flat = try Tensor(zip(sources, targets).map { Int64($0 * v + $1) })
    let want = try TokenLogProbabilitiesTests.reference(logits, flat: flat, source: source, round: false)
    let (got, expected) = (try values(logps), try values(want))
    #expect(try logps.isClose(to: want, relativeTolerance: 1e-6, absoluteTolerance: 1e-5), "\(got) vs \(expected)")
    #expect(try means.isClose(to: try logits.mean(dim: -1), relativeTolerance: 1e-5, absoluteTolerance: 1e-6))
    #expect(means.shape == [n] && logps.shape == [sources.count] && !logps.requiresGrad)
    #expect(got.allSatisfy { $0 < 0 })
    // The completion statistics as CompletionStatistics computes them from the whole logits.
    let logp = try logits.logSoftmax(dim: -1)
    let entropy = try -((logp.exp() * logp).sum(dim: -1))
    #expect(try #require(head.entropy).isClose(to: entropy, relativeTolerance: 1e-5, absoluteTolerance: 1e-5))
    #expect(try values(try #require(head.argmax)) == (try values(try logits.argmax(dim: -1))))
    let plain = try Functional.headTokenLogProbabilitiesBlocked(hidden: hidden, weight: weight, source: source,
                                                                target: target, block: block)
    let plainValues = try values(plain.logps)
    #expect(plain.entropy == nil && plain.argmax == nil && plainValues == got)
  }

  /// Equal largest logits in two blocks: the arg-max is the first, as argmax gives it. The hidden states are
  /// multiples of 1/8 and the two rows all 5s, so their logits are exact sums, equal whatever order a GEMM kernel adds
  /// in (AVX2 and AVX-512 kernels order them differently).
  @Test(arguments: [1000, 256, 7])
  func blockedArgmaxTakesTheFirstOfEqualMaxima(block: Int) throws {
    let generator = try Generator(seed: 13)
    let hidden = try ((Tensor.uniform([5, 16], low: 0, high: 1, generator: generator) * 8).floor() + 1) / 8
    let weight = try Tensor.uniform([1000, 16], low: -1, high: 1, generator: generator)
    try withNoGrad {
      try weight.select(0, 5).fill_(5)
      try weight.select(0, 700).fill_(5)
    }
    let head = try Functional.headTokenLogProbabilitiesBlocked(hidden: hidden, weight: weight, source: try Tensor([Int64(0)]),
                                                               target: try Tensor([Int64(1)]), block: block, statistics: true)
    #expect(try values(try #require(head.argmax)) == [5, 5, 5, 5, 5])
    #expect(try values(try #require(head.argmax)) == (try values(try hidden.linear(weight: weight).argmax(dim: -1))))
  }

  /// In a graph: the gradient at the hidden states is the whole-logits node's within float32 rounding (p·W summed
  /// over the blocks, rescaled as the running maximum grows).
  @Test(arguments: [1000, 256, 300])
  func blockedGradientMatches(block: Int) throws {
    let (n, c, v) = (9, 16, 1000)
    let generator = try Generator(seed: 12)
    let weight = try Tensor.uniform([v, c], low: -1, high: 1, generator: generator)
    let upstream = try Tensor.uniform([7], low: -1, high: 1, generator: generator)
    let start = try Tensor.uniform([n, c], low: -3, high: 3, generator: generator)
    let sources = [0, 1, 1, 3, 5, 7, 8], targets = [0, 256, 299, 300, 999, 511, 512]  // positions 2, 4, 6 predict nothing
    let source = try Tensor(sources.map(Int64.init)), target = try Tensor(targets.map(Int64.init))
    let flat = try Tensor(zip(sources, targets).map { Int64($0 * v + $1) })
    func gradient(blocked: Bool) throws -> (values: Tensor, gradient: Tensor) {
      let leaf = try start.clone().requiringGrad()
      let hidden = try leaf * 1.5
      let out: Tensor
      if blocked {
        out = try Functional.headTokenLogProbabilitiesBlocked(hidden: hidden, weight: weight, source: source,
                                                              target: target, block: block, statistics: true).logps
      } else {
        let logits = try withNoGrad { try hidden.detached().linear(weight: weight) }
        out = try Functional.headTokenLogProbabilities(hidden: hidden, weight: weight, logits: logits, flat: flat,
                                                       source: source, target: target, roundToLogitsDType: false)
      }
      try (out * upstream).sum().backward()
      return (try out.detached(), try #require(leaf.grad))
    }
    let blocked = try gradient(blocked: true), whole = try gradient(blocked: false)
    #expect(try blocked.values.isClose(to: whole.values, relativeTolerance: 1e-6, absoluteTolerance: 1e-5))
    let error = try (blocked.gradient - whole.gradient).norm().item() / (try whole.gradient.norm().item())
    #expect(error < 1e-5, "relative gradient error \(error)")
    #expect(try blocked.gradient.select(0, 2).abs().sum().item() == 0)
  }
}

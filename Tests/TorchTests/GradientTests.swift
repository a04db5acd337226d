// GradientTests.swift — analytic gradients of every differentiable op the models use, against finite differences.
import Testing
@testable import Torch

@Suite struct GradientTests {
  let a = (sample(6, seed: 1), [2, 3])
  let b = (sample(6, seed: 2), [2, 3])
  let positive = (sample(6, seed: 3).map { $0 + 1.5 }, [2, 3])

  @Test func arithmetic() throws {
    try gradcheck([a, b]) { try ($0[0] + $0[1]).square().sum() }
    try gradcheck([a, b]) { try ($0[0] - $0[1] * 2.0).square().sum() }
    try gradcheck([a, b]) { try ($0[0] * $0[1]).sum() }
    try gradcheck([a, positive]) { try ($0[0] / $0[1]).sum() }
    try gradcheck([positive]) { try $0[0].pow(2.5).sum() }
    try gradcheck([a]) { try (1.0 - $0[0]).square().mean() }
  }

  @Test func elementwiseFunctions() throws {
    try gradcheck([a]) { try $0[0].exp().sum() }
    try gradcheck([positive]) { try $0[0].log().sum() }
    try gradcheck([positive]) { try $0[0].log1p().sum() }
    try gradcheck([a]) { try $0[0].expm1().sum() }
    try gradcheck([positive]) { try $0[0].sqrt().sum() }
    try gradcheck([positive]) { try $0[0].rsqrt().sum() }
    try gradcheck([a]) { try $0[0].sigmoid().sum() }
    try gradcheck([a]) { try $0[0].logSigmoid().sum() }
    try gradcheck([a]) { try $0[0].silu().sum() }
    try gradcheck([a]) { try $0[0].gelu().sum() }
    try gradcheck([a]) { try $0[0].tanh().sum() }
    try gradcheck([a]) { try ($0[0].sin() * $0[0].cos()).sum() }
    try gradcheck([a]) { try $0[0].clamped(min: -0.3, max: 0.4).square().sum() }
    try gradcheck([a]) { try $0[0].abs().sum() }
  }

  @Test func linearAlgebra() throws {
    let x = (sample(8, seed: 4), [2, 4])
    let w = (sample(12, seed: 5), [3, 4])
    let bias = (sample(3, seed: 6), [3])
    try gradcheck([x, w, bias]) { try $0[0].linear(weight: $0[1], bias: $0[2]).square().sum() }
    try gradcheck([x, (sample(12, seed: 7), [4, 3])]) { try $0[0].matmul($0[1]).sin().sum() }
  }

  @Test func reductionsAndSoftmax() throws {
    try gradcheck([a]) { try $0[0].mean(dim: 1).square().sum() }
    try gradcheck([a]) { try $0[0].sum(dim: 0).square().sum() }
    try gradcheck([a]) { try $0[0].logSumExp(dim: 1).sum() }
    try gradcheck([a, b]) { try ($0[0].softmax(dim: 1) * $0[1]).sum() }
    try gradcheck([a, b]) { try ($0[0].logSoftmax(dim: -1) * $0[1]).sum() }
    try gradcheck([a]) { try $0[0].max(dims: [1]).sum() }
    try gradcheck([a]) { try $0[0].norm() }
  }

  @Test func viewsAndIndexing() throws {
    try gradcheck([a, b]) { try Tensor.cat([$0[0], $0[1].square()], dim: 1).transposed(0, 1).reshape([12]).sin().sum() }
    try gradcheck([a]) { try $0[0].permuted([1, 0]).narrow(0, start: 1, length: 2).square().sum() }
    try gradcheck([a]) { try $0[0].gather(1, Tensor([2, 0, 1, 1] as [Int64], shape: [2, 2])).square().sum() }
    try gradcheck([a]) { try $0[0].indexSelect(1, Tensor([2, 2, 0] as [Int64])).square().sum() }
    try gradcheck([a]) { try $0[0].maskedFill(Tensor([true, false, true, false, false, true], shape: [2, 3]), 0).square().sum() }
    try gradcheck([a, b]) { try Tensor.where($0[0].gt(0), $0[0], $0[1]).square().sum() }
    try gradcheck([a]) { try $0[0].expanded(to: [4, 2, 3]).square().sum() }
    try gradcheck([a]) { try $0[0].chunk(3, dim: 1)[1].square().sum() }
    try gradcheck([a]) { try Tensor.stack([$0[0], $0[0].exp()], dim: 0).sum() }
    try gradcheck([a]) { try $0[0].padded([1, 1], value: 0.5).square().sum() }
  }

  @Test func embeddingAndNorm() throws {
    let weight = (sample(8, seed: 8), [4, 2])
    try gradcheck([weight]) { try Functional.embedding(Tensor([3, 1, 3] as [Int64]), weight: $0[0]).square().sum() }
    try gradcheck([a, (sample(3, seed: 9), [3])]) {
      try Functional.rmsNorm($0[0], weight: $0[1], epsilon: 1e-5).sin().sum()
    }
  }

  @Test func crossEntropy() throws {
    let logits = (sample(12, seed: 10), [4, 3])
    let targets = try Tensor([0, -100, 2, 1] as [Int64])
    try gradcheck([logits]) { try Functional.crossEntropy(logits: $0[0], targets: targets) }
    try gradcheck([logits]) {
      try Functional.nllLoss(logProbabilities: $0[0].logSoftmax(dim: -1), targets: targets, reduction: .sum)
    }
  }

  @Test func attention() throws {
    let q = (sample(1 * 2 * 3 * 4, seed: 11), [1, 2, 3, 4])
    let k = (sample(1 * 2 * 3 * 4, seed: 12), [1, 2, 3, 4])
    let v = (sample(1 * 2 * 3 * 4, seed: 13), [1, 2, 3, 4])
    try gradcheck([q, k, v], tolerance: 1e-4) {
      try Functional.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], isCausal: true).sin().sum()
    }
    let mask = try Tensor([true, false, true, true, true, false, true, true, true], shape: [1, 1, 3, 3])
    try gradcheck([q, k, v], tolerance: 1e-4) {
      try Functional.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: mask).sin().sum()
    }
  }
}

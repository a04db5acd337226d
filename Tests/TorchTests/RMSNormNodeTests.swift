// RMSNormNodeTests.swift — RMSNorm through a frozen weight as one autograd node (Functional.rmsNorm while training):
// the values of at::rms_norm without a graph bit for bit, and the input's gradient of the composed ops
// (pow, mean, add, rsqrt, two products) within float32 rounding.
import Testing
@testable import Torch

@Suite struct RMSNormNodeTests {
  @Test func matchesTheComposedOps() throws {
    let g = try Generator(seed: 4)
    let weight = try Tensor.randn([16], generator: g)
    let upstream = try Tensor.randn([1, 9, 16], generator: g)
    let eps = 1e-5
    var outputs: [Tensor] = [], gradients: [Tensor] = []
    for node in [true, false] {
      let leaf = try (Tensor.randn([1, 9, 16], generator: try Generator(seed: 5)) * 3).requiringGrad()
      let x = try leaf * 1.0
      let y = node ? try Functional.rmsNorm(x, weight: weight, epsilon: eps)
        : try x * (x.pow(2).mean(dims: [-1], keepDim: true) + eps).rsqrt() * weight
      try (y * upstream).sum().backward()
      outputs.append(try y.detached())
      gradients.append(try #require(leaf.grad))
    }
    let plain = try withNoGrad { try Functional.rmsNorm(try Tensor.randn([1, 9, 16], generator: try Generator(seed: 5)) * 3,
                                                        weight: weight, epsilon: eps) }
    #expect(try outputs[0].equals(plain))
    #expect(try outputs[0].isClose(to: outputs[1], relativeTolerance: 1e-6, absoluteTolerance: 1e-6))
    #expect(try gradients[0].isClose(to: gradients[1], relativeTolerance: 1e-5, absoluteTolerance: 1e-6))
  }
}

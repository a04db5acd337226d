// LoRALinearTests.swift — Functional.loraLinear (a LoRA layer over a frozen dense base as one autograd node) against
// the ops it replaces, linear + linear + addmm under autograd: the same values bit for bit, and the gradients of
// the input, A and B up to the order of additions — with and without a bias, with a dropped-out input beside the
// plain one, over [1, T, C] inputs as the decoder passes them.
import Testing
@testable import Torch

@Suite struct LoRALinearTests {
  struct Result {
    var output: Tensor
    var input: Tensor, a: Tensor, b: Tensor
  }

  static func run(fused: Bool, bias: Bool, dropout: Bool) throws -> Result {
    let (t, inF, outF, r) = (7, 12, 10, 3)
    let g = try Generator(seed: 11)
    let leaf = try Tensor.randn([1, t, inF], generator: g).requiringGrad()
    let weight = try Tensor.randn([outF, inF], generator: g)
    let b0 = bias ? try Tensor.randn([outF], generator: g) : nil
    let a = try Tensor.randn([r, inF], generator: g).requiringGrad()
    let b = try (Tensor.randn([outF, r], generator: g) * 0.5).requiringGrad()
    let upstream = try Tensor.randn([1, t, outF], generator: g)
    let x = try leaf * 1.0                                                               // inside the graph
    // A fixed "dropout" mask (the op takes whatever dropped-out input it is given).
    let mask = try (Tensor.uniform([1, t, inF], low: 0, high: 1, generator: g).gt(0.3)).to(dtype: .float32) / 0.7
    let xa = dropout ? try x * mask : nil
    let y: Tensor
    if fused {
      y = try Functional.loraLinear(x, droppedOut: xa, weight: weight, bias: b0, a: a, b: b, scaling: 1.5)
    } else {
      y = try x.linear(weight: weight, bias: b0).addingScaledLinear((xa ?? x).linear(weight: a), weight: b, scaling: 1.5)
    }
    try (y * upstream).sum().backward()
    return Result(output: try y.detached(), input: try #require(leaf.grad), a: try #require(a.grad),
                  b: try #require(b.grad))
  }

  @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
  func matchesTheComposedOps(bias: Bool, dropout: Bool) throws {
    let fused = try Self.run(fused: true, bias: bias, dropout: dropout)
    let plain = try Self.run(fused: false, bias: bias, dropout: dropout)
    #expect(fused.output.shape == [1, 7, 10])
    #expect(try fused.output.equals(plain.output))
    for (name, x, y) in [("input", fused.input, plain.input), ("A", fused.a, plain.a), ("B", fused.b, plain.b)] {
      #expect(x.shape == y.shape)
      #expect(try x.isClose(to: y, relativeTolerance: 1e-5, absoluteTolerance: 1e-6), "\(name)")
    }
  }

  /// Without a graph (evaluation) it is the same forward.
  @Test func withoutAGraph() throws {
    let g = try Generator(seed: 2)
    let (x, w, a, b) = (try Tensor.randn([5, 4], generator: g), try Tensor.randn([6, 4], generator: g),
                        try Tensor.randn([2, 4], generator: g), try Tensor.randn([6, 2], generator: g))
    let y = try withNoGrad { try Functional.loraLinear(x, droppedOut: nil, weight: w, bias: nil, a: a, b: b, scaling: 2) }
    #expect(try y.equals(x.linear(weight: w).addingScaledLinear(x.linear(weight: a), weight: b, scaling: 2)))
  }
}

// LoRALinearTests.swift — Functional.loraLinear (a LoRA layer over a frozen dense base as one autograd node) against
// the ops it replaces, linear + linear + addmm under autograd: the same values bit for bit, and the gradients of
// the input, A and B up to the order of additions — with and without a bias, with a dropped-out input beside the
// plain one, over [1, T, C] inputs as the decoder passes them; and in mixed precision (a bfloat16 input and base, A
// and B float32, cast inside as autocast casts them).
import Testing
@testable import Torch

@Suite struct LoRALinearTests {
  struct Result {
    var output: Tensor
    var input: Tensor, a: Tensor, b: Tensor
  }

  /// `compute`: the input's and the base's dtype (A and B stay float32).
  static func run(fused: Bool, bias: Bool, dropout: Bool, compute: DType = .float32) throws -> Result {
    let (t, inF, outF, r) = (7, 12, 10, 3)
    let g = try Generator(seed: 11)
    let leaf = try Tensor.randn([1, t, inF], generator: g).to(dtype: compute).requiringGrad()
    let weight = try Tensor.randn([outF, inF], generator: g).to(dtype: compute)
    let b0 = bias ? try Tensor.randn([outF], generator: g).to(dtype: compute) : nil
    let a = try Tensor.randn([r, inF], generator: g).requiringGrad()
    let b = try (Tensor.randn([outF, r], generator: g) * 0.5).requiringGrad()
    let upstream = try Tensor.randn([1, t, outF], generator: g).to(dtype: compute)
    let x = try leaf * 1.0                                                               // inside the graph
    // A fixed "dropout" mask (the op takes whatever dropped-out input it is given).
    let mask = try (Tensor.uniform([1, t, inF], low: 0, high: 1, generator: g).gt(0.3)).to(dtype: compute) / 0.7
    let xa = dropout ? try x * mask : nil
    let y: Tensor
    if fused {
      y = try Functional.loraLinear(x, droppedOut: xa, weight: weight, bias: b0, a: a, b: b, scaling: 1.5)
    } else {
      let (wa, wb) = compute == .float32 ? (a, b) : (try a.to(dtype: compute), try b.to(dtype: compute))
      y = try x.linear(weight: weight, bias: b0).addingScaledLinear((xa ?? x).linear(weight: wa), weight: wb, scaling: 1.5)
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

  /// bfloat16 input and base under float32 A and B: the composed ops' forward bit for bit, float32 gradients for A and
  /// B within bfloat16 rounding of the composed ones (the products are bfloat16's; summed in another order).
  @Test(arguments: [false, true])
  func mixedPrecisionMatchesTheComposedOps(dropout: Bool) throws {
    let fused = try Self.run(fused: true, bias: false, dropout: dropout, compute: .bfloat16)
    let plain = try Self.run(fused: false, bias: false, dropout: dropout, compute: .bfloat16)
    #expect(fused.output.dtype == .bfloat16)
    #expect(try fused.output.equals(plain.output))
    #expect(fused.input.dtype == .bfloat16 && fused.a.dtype == .float32 && fused.b.dtype == .float32)
    for (name, x, y) in [("input", fused.input, plain.input), ("A", fused.a, plain.a), ("B", fused.b, plain.b)] {
      let scale = try y.to(dtype: .float32).abs().max().item()
      let difference = try (x.to(dtype: .float32) - y.to(dtype: .float32)).abs().max().item()
      #expect(difference <= 1e-2 * scale, "\(name): \(difference) of \(scale)")
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

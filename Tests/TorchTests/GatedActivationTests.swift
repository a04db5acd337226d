// GatedActivationTests.swift — Functional.gatedActivation (a gated MLP's act(gate) · up, whose backward recomputes
// act(gate) instead of keeping it): bit for bit the values and gradients of the autograd ops it replaces, for silu
// and tanh-gelu, in float32 and bfloat16, on contiguous inputs and on the column views Phi-3's fused projection gives.
import Testing
@testable import Torch

@Suite struct GatedActivationTests {
  /// Output and the gradients reaching `weights` [5, 2·7] (gate = first 7 columns, up = the rest, each · a scale) under
  /// a fixed upstream gradient, through the fused op or through act(gate) * up.
  static func run(fused: Bool, gelu: Bool, dtype: DType) throws -> (out: Tensor, grad: Tensor) {
    let generator = try Generator(seed: 5)
    let weights = try Tensor.uniform([5, 14], low: -4, high: 4, generator: generator).requiringGrad()
    let upstream = try Tensor.uniform([5, 7], low: -1, high: 1, generator: generator).to(dtype: dtype)
    let both = try (weights * 1.25).to(dtype: dtype)  // [5, 14]
    let gate = try both.narrow(-1, start: 0, length: 7), up = try both.narrow(-1, start: 7, length: 7)
    let out = fused ? try Functional.gatedActivation(gate: gate, up: up, geluTanh: gelu)
                    : try (gelu ? gate.gelu(approximateTanh: true) : gate.silu()) * up
    try (out * upstream).sum().backward()
    return (try out.detached(), try #require(weights.grad))
  }

  @Test(arguments: [(false, DType.float32), (true, .float32), (false, .bfloat16), (true, .bfloat16)])
  func equalsTheAutogradOpsBitForBit(gelu: Bool, dtype: DType) throws {
    let fused = try Self.run(fused: true, gelu: gelu, dtype: dtype)
    let reference = try Self.run(fused: false, gelu: gelu, dtype: dtype)
    #expect(fused.out.dtype == dtype)
    #expect(try fused.out.equals(reference.out))
    #expect(try fused.grad.equals(reference.grad))
    #expect(try fused.grad.abs().sum().item() > 1)  // the gradients are real, not both zero
  }

  @Test func onlyTheInputsThatNeedAGradientGetOne() throws {
    let gate = try Tensor([0.5, -1.0, 2.0] as [Float]).requiringGrad()
    let up = try Tensor([1.0, 3.0, -2.0] as [Float])
    try Functional.gatedActivation(gate: gate, up: up).sum().backward()
    // d/dg silu(g)·u = u · σ(g)(1 + g(1 − σ(g)))
    let want = try (up * gate.sigmoid() * (gate * (gate.sigmoid() * -1 + 1) + 1)).detached()
    #expect(try #require(gate.grad).isClose(to: want, relativeTolerance: 1e-6, absoluteTolerance: 1e-7))
    #expect(up.grad == nil)
  }
}

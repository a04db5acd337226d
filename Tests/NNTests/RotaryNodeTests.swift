// RotaryNodeTests.swift — RoPE as one autograd node (Functional.rotary, used by RotaryEmbedding.apply) against the
// composed ops it replaces: values and the input's gradient bit for bit, float32 and bfloat16, one head group and
// grouped heads.
import Testing
@testable import NN
import Torch

@Suite struct RotaryNodeTests {
  /// x·cos + [−x₂, x₁]·sin with autograd, as RotaryEmbedding.apply composed it.
  static func composed(_ x: Tensor, cos: Tensor, sin: Tensor) throws -> Tensor {
    let (c, s) = (try cos.unsqueezed(1), try sin.unsqueezed(1))
    let half = x.size(-1) / 2
    let rotated = try Tensor.cat([x.narrow(-1, start: half, length: half).neg(), x.narrow(-1, start: 0, length: half)], dim: -1)
    return try x * c + rotated * s
  }

  @Test(arguments: [(DType.float32, 3), (.bfloat16, 3), (.float32, 1)])
  func matchesTheComposedOps(dtype: DType, heads: Int) throws {
    let rope = try RotaryEmbedding(headDim: 8, theta: 10_000, scaling: nil)
    let positions = try Tensor([0, 1, 2, 3, 0, 1, 5] as [Int64], shape: [1, 7])
    let (cos, sin) = try rope.cosSin(positions: positions, dtype: dtype)
    var results: [(Tensor, Tensor)] = []
    for fused in [true, false] {
      let g = try Generator(seed: 9)
      let leaf = try Tensor.randn([1, heads, 7, 8], generator: g).requiringGrad()
      let upstream = try Tensor.randn([1, heads, 7, 8], generator: g).to(dtype: dtype)
      let x = try leaf.to(dtype: dtype)
      let y = fused ? try RotaryEmbedding.apply(x, cos: cos, sin: sin) : try Self.composed(x, cos: cos, sin: sin)
      try (y * upstream).sum().backward()
      results.append((try y.detached(), try #require(leaf.grad)))
    }
    #expect(try results[0].0.equals(results[1].0))
    #expect(try results[0].1.equals(results[1].1))
  }
}

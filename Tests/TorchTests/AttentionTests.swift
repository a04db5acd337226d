// AttentionTests.swift — scaled dot-product attention against an explicit computation and its masking modes.
import Testing
@testable import Torch

@Suite struct AttentionTests {
  func qkv(_ t: Int) throws -> (Tensor, Tensor, Tensor) {
    let g = try Generator(seed: 42)
    return (try Tensor.randn([2, 4, t, 8], generator: g), try Tensor.randn([2, 4, t, 8], generator: g),
            try Tensor.randn([2, 4, t, 8], generator: g))
  }

  @Test func explicitCausalMaskEqualsIsCausal() throws {
    let (q, k, v) = try qkv(7)
    let causal = try Functional.scaledDotProductAttention(query: q, key: k, value: v, isCausal: true)
    let mask = try Tensor.ones([7, 7], dtype: .bool).tril()
    let masked = try Functional.scaledDotProductAttention(query: q, key: k, value: v, mask: mask)
    #expect(try causal.isClose(to: masked, relativeTolerance: 1e-5, absoluteTolerance: 1e-6))
  }

  @Test func matchesManualSoftmaxAttention() throws {
    let (q, k, v) = try qkv(5)
    let scores = try q.matmul(k.transposed(-2, -1)) / 8.0.squareRoot()
    let mask = try Tensor.ones([5, 5], dtype: .bool).tril()
    let manual = try scores.maskedFill(mask.logicalNot(), -.infinity).softmax(dim: -1).matmul(v)
    let sdpa = try Functional.scaledDotProductAttention(query: q, key: k, value: v, isCausal: true)
    #expect(try sdpa.isClose(to: manual, relativeTolerance: 1e-5, absoluteTolerance: 1e-6))
    let scaled = try Functional.scaledDotProductAttention(query: q, key: k, value: v, isCausal: true, scale: 0.1)
    let manual2 = try (q.matmul(k.transposed(-2, -1)) * 0.1).maskedFill(mask.logicalNot(), -.infinity)
      .softmax(dim: -1).matmul(v)
    #expect(try scaled.isClose(to: manual2, relativeTolerance: 1e-5, absoluteTolerance: 1e-6))
  }

  @Test func paddingMaskAndGroupedQueries() throws {
    // Key-padding mask per batch row, broadcast over heads and queries: masked keys get no weight.
    let (q, k, v) = try qkv(4)
    let keep = try Tensor([true, true, true, false, true, true, false, false], shape: [2, 1, 1, 4])
    let out = try Functional.scaledDotProductAttention(query: q, key: k, value: v, mask: keep)
    let trimmed = try Functional.scaledDotProductAttention(
      query: q.narrow(0, start: 1, length: 1), key: k.narrow(0, start: 1, length: 1).narrow(2, start: 0, length: 2),
      value: v.narrow(0, start: 1, length: 1).narrow(2, start: 0, length: 2))
    #expect(try out.narrow(0, start: 1, length: 1).isClose(to: trimmed, relativeTolerance: 1e-5, absoluteTolerance: 1e-6))
    // GQA: 4 query heads over 2 key/value heads equals repeating the kv heads.
    let kv2 = try k.narrow(1, start: 0, length: 2)
    let vv2 = try v.narrow(1, start: 0, length: 2)
    let gqa = try Functional.scaledDotProductAttention(query: q, key: kv2, value: vv2, isCausal: true, enableGQA: true)
    let repeated = try Functional.scaledDotProductAttention(
      query: q, key: kv2.repeatInterleave(2, dim: 1), value: vv2.repeatInterleave(2, dim: 1), isCausal: true)
    #expect(try gqa.isClose(to: repeated, relativeTolerance: 1e-5, absoluteTolerance: 1e-6))
  }
}

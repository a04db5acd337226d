// TensorOpsTests.swift — operation results against hand-computed values.
import Testing
@testable import Torch

@Suite struct CreationTests {
  @Test func arraysRoundTripEveryDtype() throws {
    #expect(try Tensor([1.5, -2, 3] as [Float]).scalars(as: Float.self) == [1.5, -2, 3])
    #expect(try Tensor([1.5, -2] as [Double]).scalars(as: Double.self) == [1.5, -2])
    #expect(try Tensor([Int64.max, -7] as [Int64]).scalars(as: Int64.self) == [Int64.max, -7])
    #expect(try Tensor([7, -7] as [Int32]).scalars(as: Int32.self) == [7, -7])
    #expect(try Tensor([255, 0] as [UInt8]).scalars(as: UInt8.self) == [255, 0])
    #expect(try Tensor([true, false] as [Bool]).scalars(as: Bool.self) == [true, false])
    let half = try Tensor([1.5, -2, 65504] as [Float]).to(dtype: .float16)
    #expect(half.dtype == .float16)
    #expect(try half.to(dtype: .float32).scalars(as: Float.self) == [1.5, -2, 65504])
    let bf = try Tensor([1.5, 3.0078125] as [Float]).to(dtype: .bfloat16)
    #expect(try bf.to(dtype: .float32).scalars(as: Float.self) == [1.5, 3.0])  // bf16 keeps 8 bits of mantissa
    #expect(try bf.bytes() == [0xC0, 0x3F, 0x40, 0x40])
  }

  @Test func shapesAndFactories() throws {
    let t = try Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
    #expect(t.shape == [2, 3])
    #expect(t.rank == 2)
    #expect(t.elementCount == 6)
    #expect(t.device == .cpu)
    #expect(try Tensor.zeros([2, 2]).scalars(as: Float.self) == [0, 0, 0, 0])
    #expect(try Tensor.ones([3], dtype: .int64).scalars(as: Int64.self) == [1, 1, 1])
    #expect(try Tensor.full([2], 2.5).scalars(as: Float.self) == [2.5, 2.5])
    #expect(try Tensor.arange(5).scalars(as: Int64.self) == [0, 1, 2, 3, 4])
    #expect(try Tensor.arange(1, 2, step: 0.25, dtype: .float64).scalars(as: Double.self) == [1, 1.25, 1.5, 1.75])
    #expect(throws: TorchError.self) { try Tensor([1, 2, 3] as [Float], shape: [2, 2]) }
  }

  @Test func seededGeneratorsRepeat() throws {
    let a = try Tensor.randn([4], generator: Generator(seed: 7)).scalars(as: Float.self)
    let b = try Tensor.randn([4], generator: Generator(seed: 7)).scalars(as: Float.self)
    let c = try Tensor.randn([4], generator: Generator(seed: 8)).scalars(as: Float.self)
    #expect(a == b)
    #expect(a != c)
    let u = try Tensor.uniform([1000], low: -2, high: 3, generator: Generator(seed: 1))
    #expect(try u.min().item() >= -2)
    #expect(try u.max().item() < 3)
    let r = try Tensor.rand([1000], generator: Generator(seed: 2))
    #expect(Swift.abs(try r.mean().item() - 0.5) < 0.05)
    // generator state save/restore replays the same numbers
    let g = try Generator(seed: 3)
    let state = try g.state()
    let first = try Tensor.rand([3], generator: g).scalars(as: Float.self)
    try g.setState(state)
    #expect(try Tensor.rand([3], generator: g).scalars(as: Float.self) == first)
    // torch.manual_seed(0); torch.randn(3) in PyTorch
    let expected: [Float] = [1.5409961, -0.2934289, -2.1787894]
    let seeded = try Tensor.randn([3], generator: Generator(seed: 0)).scalars(as: Float.self)
    #expect(approxEqual(seeded.map(Double.init), expected.map(Double.init), tolerance: 1e-6))
  }
}

@Suite struct ViewTests {
  let t: Tensor = try! Tensor([0, 1, 2, 3, 4, 5] as [Float], shape: [2, 3])

  @Test func reshapeTransposePermute() throws {
    #expect(try t.reshape([3, 2]).scalars(as: Float.self) == [0, 1, 2, 3, 4, 5])
    #expect(try t.transposed(0, 1).contiguous().scalars(as: Float.self) == [0, 3, 1, 4, 2, 5])
    #expect(try t.transposed(0, 1).isContiguous == false)
    #expect(try t.reshape([1, 2, 3]).permuted([2, 0, 1]).shape == [3, 1, 2])
    #expect(try t.view([6]).shape == [6])
    #expect(try t.unsqueezed(0).shape == [1, 2, 3])
    #expect(try t.unsqueezed(0).squeezed(0).shape == [2, 3])
    #expect(try t.reshape([1, 2, 3]).flattened().shape == [6])
  }

  @Test func slicing() throws {
    #expect(try t.narrow(1, start: 1, length: 2).scalars(as: Float.self) == [1, 2, 4, 5])
    #expect(try t.slice(1, 0, nil, step: 2).scalars(as: Float.self) == [0, 2, 3, 5])
    #expect(try t.slice(1, -1).scalars(as: Float.self) == [2, 5])
    #expect(try t.select(0, 1).scalars(as: Float.self) == [3, 4, 5])
  }

  @Test func indexing() throws {
    let idx = try Tensor([2, 0] as [Int64])
    #expect(try t.indexSelect(1, idx).scalars(as: Float.self) == [2, 0, 5, 3])
    let g = try Tensor([1, 1, 0, 2] as [Int64], shape: [2, 2])
    #expect(try t.gather(1, g).scalars(as: Float.self) == [1, 1, 3, 5])
    let z = try Tensor.zeros([2, 3])
    let src = try Tensor([9, 8, 7, 6] as [Float], shape: [2, 2])
    let unique = try Tensor([1, 0, 0, 2] as [Int64], shape: [2, 2])  // scatter with repeated indices is unordered
    #expect(try z.scatter(1, unique, src).scalars(as: Float.self) == [8, 9, 0, 7, 0, 6])
    #expect(try z.scatterAdd(1, g, src).scalars(as: Float.self) == [0, 17, 0, 7, 0, 6])
    let mask = try t.gt(2.5)
    #expect(try t.maskedSelect(mask).scalars(as: Float.self) == [3, 4, 5])
    #expect(try t.maskedFill(mask, -1).scalars(as: Float.self) == [0, 1, 2, -1, -1, -1])
    #expect(try Tensor.where(mask, t, t.neg()).scalars(as: Float.self) == [0, -1, -2, 3, 4, 5])
    #expect(try t.expanded(to: [2, 2, 3]).shape == [2, 2, 3])
    let c = try t.clone()
    try c.indexPut_(mask, Tensor(scalar: Float(7)))
    #expect(try c.scalars(as: Float.self) == [0, 1, 2, 7, 7, 7])
  }

  @Test func joinAndSplit() throws {
    #expect(try Tensor.cat([t, t], dim: 0).shape == [4, 3])
    #expect(try Tensor.cat([t, t], dim: 1).select(0, 0).scalars(as: Float.self) == [0, 1, 2, 0, 1, 2])
    #expect(try Tensor.stack([t, t], dim: 1).shape == [2, 2, 3])
    let parts = try t.split(size: 2, dim: 1)
    #expect(parts.map(\.shape) == [[2, 2], [2, 1]])
    let chunks = try t.chunk(3, dim: 1)
    #expect(try chunks[2].scalars(as: Float.self) == [2, 5])
    #expect(try t.flipped([1]).scalars(as: Float.self) == [2, 1, 0, 5, 4, 3])
    #expect(try t.padded([1, 0], value: 9).scalars(as: Float.self) == [9, 0, 1, 2, 9, 3, 4, 5])
    #expect(try t.repeatInterleave(2, dim: 0).shape == [4, 3])
  }

  @Test func triangles() throws {
    let ones = try Tensor.ones([3, 3])
    #expect(try ones.tril().scalars(as: Float.self) == [1, 0, 0, 1, 1, 0, 1, 1, 1])
    #expect(try ones.triu(1).scalars(as: Float.self) == [0, 1, 1, 0, 0, 1, 0, 0, 0])
  }
}

@Suite struct MathTests {
  @Test func elementwise() throws {
    let a = try Tensor([1, 2, 4] as [Double])
    let b = try Tensor([2, 2, 2] as [Double])
    #expect(try (a + b).scalars(as: Double.self) == [3, 4, 6])
    #expect(try (a - b).scalars(as: Double.self) == [-1, 0, 2])
    #expect(try (a * b).scalars(as: Double.self) == [2, 4, 8])
    #expect(try (a / b).scalars(as: Double.self) == [0.5, 1, 2])
    #expect(try (1.0 - a).scalars(as: Double.self) == [0, -1, -3])
    #expect(try (1.0 / a).scalars(as: Double.self) == [1, 0.5, 0.25])
    #expect(try (-a).scalars(as: Double.self) == [-1, -2, -4])
    #expect(try a.pow(2).scalars(as: Double.self) == [1, 4, 16])
    // ATen's vectorised sqrt/rsqrt (Sleef on AVX-512 hosts) may differ from the correctly rounded value by 1 ulp.
    #expect(approxEqual(try a.sqrt().scalars(as: Double.self), [1, 2.0.squareRoot(), 2], tolerance: 1e-15))
    #expect(approxEqual(try a.rsqrt().scalars(as: Double.self), [1, 1 / 2.0.squareRoot(), 0.5], tolerance: 1e-15))
    #expect(approxEqual(try values(a.exp()), [1, 2, 4].map { Foundation.exp($0) }))
    #expect(approxEqual(try values(a.log()), [1, 2, 4].map { Foundation.log($0) }))
    #expect(approxEqual(try values(a.log1p()), [1, 2, 4].map { Foundation.log1p($0) }))
    #expect(approxEqual(try values(a.expm1()), [1, 2, 4].map { Foundation.expm1($0) }))
    #expect(try (a - 3.0).abs().scalars(as: Double.self) == [2, 1, 1])
    #expect(try a.clamped(min: 1.5, max: 3).scalars(as: Double.self) == [1.5, 2, 3])
    #expect(try a.clamped(max: 2).scalars(as: Double.self) == [1, 2, 2])
    let x = try Tensor([-1, 0, 2] as [Double])
    let sig = [-1.0, 0, 2].map { 1 / (1 + Foundation.exp(-$0)) }
    #expect(approxEqual(try values(x.sigmoid()), sig))
    #expect(approxEqual(try values(x.logSigmoid()), sig.map { Foundation.log($0) }))
    #expect(approxEqual(try values(x.silu()), zip([-1.0, 0, 2], sig).map { $0 * $1 }))
    #expect(approxEqual(try values(x.gelu()), [-1.0, 0, 2].map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }))
    #expect(try x.relu().scalars(as: Double.self) == [0, 0, 2])
  }

  @Test func linearAlgebra() throws {
    let a = try Tensor([1, 2, 3, 4] as [Float], shape: [2, 2])
    #expect(try a.matmul(a).scalars(as: Float.self) == [7, 10, 15, 22])
    let w = try Tensor([1, 0, 1, 1, 1, 1] as [Float], shape: [3, 2])
    let b = try Tensor([0, 1, 2] as [Float])
    #expect(try a.linear(weight: w, bias: b).scalars(as: Float.self) == [1, 4, 5, 3, 8, 9])
    let batch = try Tensor.ones([5, 2, 3]).matmul(Tensor.ones([3, 4]))
    #expect(batch.shape == [5, 2, 4])
  }

  @Test func reductions() throws {
    let t = try Tensor([1, 5, 3, 4, 2, 6] as [Double], shape: [2, 3])
    #expect(try t.sum().item() == 21)
    #expect(try t.sum(dim: 1).scalars(as: Double.self) == [9, 12])
    #expect(try t.sum(dim: 0, keepDim: true).shape == [1, 3])
    #expect(try t.mean(dim: 0).scalars(as: Double.self) == [2.5, 3.5, 4.5])
    #expect(try t.max().item() == 6)
    #expect(try t.min().item() == 1)
    let (v, i) = try t.max(dim: 1)
    #expect(try v.scalars(as: Double.self) == [5, 6])
    #expect(try i.scalars(as: Int64.self) == [1, 2])
    #expect(try t.argmax(dim: 0).scalars(as: Int64.self) == [1, 0, 1])
    #expect(try t.min(dim: 1).indices.scalars(as: Int64.self) == [0, 1])
    let lse = [Foundation.log(exp(1.0) + exp(5) + exp(3)), Foundation.log(exp(4.0) + exp(2) + exp(6))]
    #expect(approxEqual(try values(t.logSumExp(dim: 1)), lse))
    #expect(try t.cumsum(dim: 1).scalars(as: Double.self) == [1, 6, 9, 4, 6, 12])
    #expect(try Tensor([3, 4] as [Double]).norm().item() == 5)
    #expect(try t.gt(4.5).any().item() == 1)
    #expect(try t.gt(0.5).all().item() == 1)
  }

  @Test func softmaxTopkSort() throws {
    let t = try Tensor([1, 2, 3] as [Double])
    let e = [1.0, 2, 3].map { Foundation.exp($0) }
    let s = e.reduce(0, +)
    #expect(approxEqual(try values(t.softmax(dim: 0)), e.map { $0 / s }))
    #expect(approxEqual(try values(t.logSoftmax(dim: 0)), e.map { Foundation.log($0 / s) }))
    let (tv, ti) = try Tensor([3, 1, 4, 1, 5] as [Float]).topk(2)
    #expect(try tv.scalars(as: Float.self) == [5, 4])
    #expect(try ti.scalars(as: Int64.self) == [4, 2])
    let (sv, _) = try Tensor([3, 1, 2] as [Float]).sorted(descending: true)
    #expect(try sv.scalars(as: Float.self) == [3, 2, 1])
  }

  @Test func multinomialIsSeededAndRespectsZeros() throws {
    let p = try Tensor([0, 0.2, 0, 0.8] as [Float])
    let a = try p.multinomial(50, replacement: true, generator: Generator(seed: 5)).scalars(as: Int64.self)
    let b = try p.multinomial(50, replacement: true, generator: Generator(seed: 5)).scalars(as: Int64.self)
    #expect(a == b)
    #expect(a.allSatisfy { $0 == 1 || $0 == 3 })
  }

  @Test func crossEntropyWithIgnoreIndex() throws {
    let logits = try Tensor([1, 2, 3, 1, 1, 1, 0, 0, 5] as [Double], shape: [3, 3])
    let targets = try Tensor([2, -100, 0] as [Int64])
    func nll(_ row: [Double], _ k: Int) -> Double {
      -(row[k] - Foundation.log(row.map { Foundation.exp($0) }.reduce(0, +)))
    }
    let l0 = nll([1, 2, 3], 2)
    let l2 = nll([0, 0, 5], 0)
    let mean = try Functional.crossEntropy(logits: logits, targets: targets).item()
    #expect(Swift.abs(mean - (l0 + l2) / 2) < 1e-12)  // ignored rows leave the denominator
    let none = try Functional.crossEntropy(logits: logits, targets: targets, reduction: .none)
    #expect(approxEqual(try values(none), [l0, 0, l2]))
    let sum = try Functional.crossEntropy(logits: logits, targets: targets, reduction: .sum).item()
    #expect(Swift.abs(sum - (l0 + l2)) < 1e-12)
  }

  @Test func embeddingRmsNormDropout() throws {
    let w = try Tensor([0, 1, 10, 11, 20, 21] as [Float], shape: [3, 2])
    let e = try Functional.embedding(Tensor([2, 0, 2] as [Int64], shape: [1, 3]), weight: w)
    #expect(e.shape == [1, 3, 2])
    #expect(try e.scalars(as: Float.self) == [20, 21, 0, 1, 20, 21])
    let x = try Tensor([3, 4] as [Double], shape: [1, 2])
    let g = try Tensor([1, 2] as [Double])
    let rms = (12.5 + 1e-6).squareRoot()
    #expect(approxEqual(try values(Functional.rmsNorm(x, weight: g, epsilon: 1e-6)), [3 / rms, 8 / rms]))
    let ones = try Tensor.ones([10000])
    #expect(try Functional.dropout(ones, probability: 0.5, training: false).sum().item() == 10000)
    let dropped = try Functional.dropout(ones, probability: 0.5, training: true)
    let kept = try dropped.ne(0).sum().item()
    #expect(kept > 4500 && kept < 5500)
    #expect(try dropped.max().item() == 2)  // survivors are scaled by 1/(1-p)
  }

  @Test func inPlaceOptimizerUpdates() throws {
    let p = try Tensor([1, 2] as [Double])
    try p.add_(Tensor([1, 1] as [Double]), alpha: -0.5)
    #expect(try p.scalars(as: Double.self) == [0.5, 1.5])
    try p.mul_(2)
    #expect(try p.scalars(as: Double.self) == [1, 3])
    try p.addcmul_(Tensor([1, 2] as [Double]), Tensor([3, 4] as [Double]), value: 0.5)
    #expect(try p.scalars(as: Double.self) == [2.5, 7])
    try p.addcdiv_(Tensor([1, 2] as [Double]), Tensor([2, 4] as [Double]), value: 2)
    #expect(try p.scalars(as: Double.self) == [3.5, 8])
    try p.lerp_(Tensor([5.5, 0] as [Double]), weight: 0.5)
    #expect(try p.scalars(as: Double.self) == [4.5, 4])
    try p.copy_(Tensor([9, 16] as [Double]))
    try p.sqrt_()
    #expect(try p.scalars(as: Double.self) == [3, 4])
    try p.add_(1)
    try p.div_(2)
    #expect(try p.scalars(as: Double.self) == [2, 2.5])
    try p.zero_()
    #expect(try p.scalars(as: Double.self) == [0, 0])
    try p.fill_(3)
    #expect(try p.scalars(as: Double.self) == [3, 3])
  }
}

import Foundation

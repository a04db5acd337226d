// HalfPrecisionAttentionTests.swift — on the CPU, attention over float16 inputs (always) and bfloat16 ones (while
// autograd records) runs in float32 and is cast back (Decoder.swift, `attentionRunsInFloat32`): which inputs take
// that path, and a half-precision model through it for every mask the attention core takes, forward and backward.
import Foundation
import Testing
@testable import Models
import Torch

@Suite(.serialized) struct HalfPrecisionAttentionTests {
  @Test func whichInputsRunInFloat32() throws {
    func inputs(_ dtype: DType, grad: Bool) throws -> Tensor {
      let t = try Tensor.zeros([1, 2, 3, 4], dtype: dtype)
      return grad ? try t.requiringGrad() : t
    }
    func runs(_ dtype: DType, grad: Bool, noGrad: Bool = false) throws -> Bool {
      let (q, k, v) = (try inputs(dtype, grad: grad), try inputs(dtype, grad: false), try inputs(dtype, grad: false))
      return noGrad ? try withNoGrad { attentionRunsInFloat32(query: q, key: k, value: v) }
        : attentionRunsInFloat32(query: q, key: k, value: v)
    }
    #expect(try runs(.float16, grad: false) && runs(.float16, grad: true) && runs(.float16, grad: true, noGrad: true))
    #expect(try runs(.bfloat16, grad: true))
    #expect(try !runs(.bfloat16, grad: false) && !runs(.bfloat16, grad: true, noGrad: true))
    #expect(try !runs(.float32, grad: true) && !runs(.float32, grad: false))
  }

  /// The llama3 fixture (grouped-query heads) in each half type, weights recording gradients: causal, padded
  /// (explicit mask) and packed-block logits stay in the half type, within its rounding of float32's, and every weight
  /// gets a finite gradient.
  @Test(arguments: [DType.float16, .bfloat16])
  func halfPrecisionModelFollowsFloat32(dtype: DType) throws {
    let url = try fixtureURL("llama3")
    func logits(_ dtype: DType) throws -> (logits: [Tensor], grads: [Tensor]) {
      let (config, parameters, _) = try Checkpoint.load(url, dtype: dtype)
      let model = try makeCausalLanguageModel(config: config, parameters: parameters)
      let weights = model.namedParameters().map(\.tensor)
      for w in weights { _ = try w.requiringGrad() }
      let (ids, mask, blocks, positions) = try maskModeInputs(seed: 5)
      let all = [
        try model(ids),
        try model(ids, attentionMask: mask),
        try model.logits(model.hiddenStates(inputIDs: ids.narrow(0, start: 0, length: 1), positions: positions,
                                            blockMask: blocks)),
      ]
      try all.reduce(try Tensor.zeros([])) { try $0 + $1.to(dtype: .float32).sum() }.backward()
      return (try all.map { try $0.detached() }, try weights.map { try #require($0.grad) })
    }
    let (half, grads) = try logits(dtype)
    let (full, _) = try logits(.float32)
    for (h, f) in zip(half, full) {
      #expect(h.dtype == dtype)
      let scale = try f.abs().max().item()
      // float16 keeps 11 bits, bfloat16 8: a few roundings of each over two layers.
      #expect(try maxAbsDifference(h.to(dtype: .float32), f) <= (dtype == .float16 ? 0.01 : 0.05) * scale)
    }
    #expect(try grads.allSatisfy { g in
      try g.to(dtype: .float32).abs().max().item().isFinite
    })
  }
}

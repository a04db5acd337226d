// AutogradTests.swift — backward semantics, no-grad scopes, autograd.grad, and gradient checkpointing.
import Testing
@testable import Torch

@Suite struct AutogradTests {
  @Test func backwardAccumulatesAndRetains() throws {
    let x = try Tensor([1, 2, 3] as [Double]).requiringGrad()
    #expect(x.requiresGrad && x.isLeaf)
    let y = try (x * x).sum()
    #expect(!y.isLeaf)
    try y.backward(retainGraph: true)
    #expect(try x.grad!.scalars(as: Double.self) == [2, 4, 6])
    try y.backward()
    #expect(try x.grad!.scalars(as: Double.self) == [4, 8, 12])  // accumulates
    try x.setGrad(nil)
    #expect(x.grad == nil)
    let z = try x * 3.0
    try z.backward(gradient: Tensor([1, 0, 2] as [Double]))
    #expect(try x.grad!.scalars(as: Double.self) == [3, 0, 6])
    #expect(throws: TorchError.self) { try y.backward() }  // graph freed
  }

  @Test func noGradAndDetach() throws {
    let x = try Tensor([1, 2] as [Double]).requiringGrad()
    let y = try withNoGrad { try x * 2.0 }
    #expect(!y.requiresGrad)
    #expect(GradMode.isEnabled)
    let d = try (x * 2.0).detached()
    #expect(!d.requiresGrad)
    let inner = try withNoGrad { try withGrad { try x * 2.0 } }
    #expect(inner.requiresGrad)
  }

  @Test func autogradGradFunction() throws {
    let x = try Tensor([1, 2] as [Double]).requiringGrad()
    let w = try Tensor([3, 4] as [Double]).requiringGrad()
    let unused = try Tensor([0] as [Double]).requiringGrad()
    let y = try (x * w).sum()
    let g = try gradients(of: [y], withRespectTo: [x, w, unused])
    #expect(try g[0]!.scalars(as: Double.self) == [3, 4])
    #expect(try g[1]!.scalars(as: Double.self) == [1, 2])
    #expect(g[2] == nil)
    #expect(x.grad == nil)  // autograd.grad does not accumulate
  }

  /// A two-layer block with trainable weights, used by the checkpoint tests.
  struct Block {
    let w1: Tensor
    let w2: Tensor
    init(seed: UInt64) throws {
      let g = try Generator(seed: seed)
      w1 = try Tensor.randn([8, 4], dtype: .float64, generator: g).requiringGrad()
      w2 = try Tensor.randn([4, 8], dtype: .float64, generator: g).requiringGrad()
    }
    func callAsFunction(_ x: Tensor, dropout: Double = 0) throws -> Tensor {
      let h = try Functional.dropout(x.linear(weight: w1).silu(), probability: dropout, training: dropout > 0)
      return try h.linear(weight: w2) + x
    }
  }

  func runBlocks(checkpointed: Bool, dropout: Double, inputRequiresGrad: Bool) throws -> [[Double]] {
    let blocks = try [Block(seed: 1), Block(seed: 2)]
    let x0 = try Tensor.randn([3, 4], dtype: .float64, generator: Generator(seed: 3))
    if inputRequiresGrad { try x0.requiringGrad() }
    Torch.manualSeed(123)
    var h = x0
    for block in blocks {
      if checkpointed {
        h = try checkpoint([h]) { [try block($0[0], dropout: dropout)] }[0]
      } else {
        h = try block(h, dropout: dropout)
      }
    }
    try h.square().sum().backward()
    var grads = try blocks.flatMap { [try values($0.w1.grad!), try values($0.w2.grad!)] }
    if inputRequiresGrad { grads.append(try values(x0.grad!)) }
    return grads
  }

  @Test func checkpointGivesTheSameGradients() throws {
    let plain = try runBlocks(checkpointed: false, dropout: 0, inputRequiresGrad: true)
    let ckpt = try runBlocks(checkpointed: true, dropout: 0, inputRequiresGrad: true)
    #expect(plain.count == 5)
    for (p, c) in zip(plain, ckpt) { #expect(approxEqual(p, c, tolerance: 1e-12)) }
  }

  @Test func checkpointWithFrozenInputsStillTrainsParameters() throws {
    // The first layer's input comes from a frozen embedding: parameters must still get gradients.
    let plain = try runBlocks(checkpointed: false, dropout: 0, inputRequiresGrad: false)
    let ckpt = try runBlocks(checkpointed: true, dropout: 0, inputRequiresGrad: false)
    #expect(ckpt.count == 4)
    for (p, c) in zip(plain, ckpt) { #expect(approxEqual(p, c, tolerance: 1e-12)) }
  }

  @Test func checkpointReplaysDropoutRandomness() throws {
    let plain = try runBlocks(checkpointed: false, dropout: 0.3, inputRequiresGrad: true)
    let ckpt = try runBlocks(checkpointed: true, dropout: 0.3, inputRequiresGrad: true)
    for (p, c) in zip(plain, ckpt) { #expect(approxEqual(p, c, tolerance: 1e-12)) }
  }

  @Test func checkpointErrorsPropagate() throws {
    let x = try Tensor.ones([2, 2]).requiringGrad()
    #expect(throws: TorchError.self) {
      _ = try checkpoint([x]) { _ in [try Tensor.ones([2, 3]).matmul(Tensor.ones([2, 3]))] }
    }
    // And in backward, when recomputation fails the second time.
    var calls = 0
    let y = try checkpoint([x]) { inputs in
      calls += 1
      if calls > 1 { throw TorchError(operation: "block", message: "second run fails") }
      return [try inputs[0] * 2.0]
    }[0]
    let e = #expect(throws: TorchError.self) { try y.sum().backward() }
    #expect(e?.message.contains("second run fails") == true)
  }

  @Test func rngStateRoundTrip() throws {
    Torch.manualSeed(9)
    let state = try Torch.rngState()
    let a = try Tensor.randn([4]).scalars(as: Float.self)
    try Torch.setRNGState(state)
    #expect(try Tensor.randn([4]).scalars(as: Float.self) == a)
  }
}

// ErrorTests.swift — bad shapes, dtypes and indices throw TorchError (naming the op and shapes), never crash.
import Testing
@testable import Torch

@Suite struct ErrorTests {
  func error(_ body: () throws -> Any) -> TorchError? {
    do {
      _ = try body()
      return nil
    } catch let e as TorchError {
      return e
    } catch {
      return nil
    }
  }

  @Test func shapeMismatchNamesOpAndShapes() throws {
    let a = try Tensor.ones([2, 3])
    let b = try Tensor.ones([4, 5])
    let e = try #require(error { try a.matmul(b) })
    #expect(e.operation == "matmul")
    #expect(e.operands.count == 2)
    #expect(e.operands[0].hasPrefix("[2, 3]"))
    #expect(e.operands[1].hasPrefix("[4, 5]"))
    #expect(e.message.contains("cannot be multiplied"))
    #expect(error { try a + b } != nil)
    #expect(error { try a.reshape([7]) } != nil)
    #expect(error { try a.view([5, 5]) } != nil)
    #expect(error { try Tensor.cat([a, b], dim: 0) }?.operands.count == 2)
    #expect(error { try a.linear(weight: b) } != nil)
    #expect(error { try Functional.scaledDotProductAttention(query: a, key: b, value: b) } != nil)
  }

  @Test func outOfRangeIndices() throws {
    let a = try Tensor.ones([2, 3])
    #expect(error { try a.select(0, 5) } != nil)
    #expect(error { try a.narrow(1, start: 2, length: 5) } != nil)
    #expect(error { try a.transposed(0, 4) } != nil)
    #expect(error { try a.indexSelect(1, Tensor([0, 7] as [Int64])) } != nil)
    #expect(error { try a.gather(1, Tensor([9, 0, 0, 0] as [Int64], shape: [2, 2])) } != nil)
    #expect(error { try Functional.embedding(Tensor([10] as [Int64]), weight: a) } != nil)
    #expect(error { try Functional.crossEntropy(logits: a, targets: Tensor([0, 3] as [Int64])) } != nil)
    #expect(error { try a.sum(dim: 3) } != nil)
  }

  @Test func badDtypes() throws {
    let f = try Tensor.ones([2])
    let e = try #require(error { try f.scalars(as: Int64.self) })
    #expect(e.message.contains("f32"))
    #expect(error { try f.indexSelect(0, Tensor([0.5] as [Float])) } != nil)
    #expect(error { try Functional.embedding(f, weight: Tensor.ones([3, 2])) } != nil)
    #expect(error { try f.matmul(Tensor.ones([2], dtype: .int64)) } != nil)
    #expect(error { try Tensor.ones([2]).item() } != nil)
    #expect(error { try Tensor.ones([2]).backward() } != nil)  // not a scalar, and no grad
  }

  @Test func cudaOnACPUMachineIsAnErrorNotACrash() throws {
    if CUDA.isAvailable { return }
    #expect(error { try Tensor.ones([2], device: .cuda(0)) } != nil)
    #expect(error { try Tensor.ones([2]).to(.cuda(0)) } != nil)
  }
}

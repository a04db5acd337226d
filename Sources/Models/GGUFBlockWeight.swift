// GGUFBlockWeight.swift — a linear layer's weight kept as the GGUF file's own quantized blocks (Q4_0, Q4_1, Q4_K,
// Q5_K, Q6_K, Q8_0, …) and dequantized on use through GGUF's dequantizers (pinned to gguf-py), so LoRA trains on a
// quantized GGUF without dequantizing the whole model.
import GGUF
import NN
import Torch

public final class GGUFBlockWeight: QuantizedWeight {
  /// The tensor's block format.
  public let type: GGMLType
  /// [out, in] in Hugging Face's layout.
  public let shape: [Int]
  /// The blocks as the file stores them (uint8, CPU, owned: the file's mapping can close).
  let blocks: Tensor
  /// llama.cpp permutes the q/k rows of llama models; undone after dequantizing (nil: not permuted).
  let permutedHeads: Int?
  public let device: Device

  /// Copies tensor `info`'s blocks out of `file`; `permutedHeads` as `Checkpoint.permutedHeads` says.
  public init(file: GGUFFile, info: GGUFTensorInfo, permutedHeads: Int?, device: Device) throws {
    guard info.type.canDequantize else {
      throw ModelError("\(file.url.lastPathComponent): tensor \(info.name) is \(info.type), which has no dequantizer here")
    }
    guard info.rowMajorShape.count == 2 else {
      throw ModelError("\(file.url.lastPathComponent): tensor \(info.name) has shape \(info.rowMajorShape), expected [out, in]")
    }
    type = info.type
    shape = info.rowMajorShape
    blocks = try file.withBytes(of: info) { try Tensor(bytes: $0, shape: [$0.count], dtype: .uint8) }
    self.permutedHeads = permutedHeads
    self.device = device
  }

  public var byteCount: Int { blocks.elementCount }
  public var format: String { type.description }

  /// The blocks dequantized to float32 on the CPU (threads as libtorch's), q/k rows put back in Hugging Face's
  /// order, then `dtype` on the layer's device.
  public func dequantized(dtype: DType) throws -> Tensor {
    let t = try Tensor.empty(shape, dtype: .float32)
    let count = shape.reduce(1, *)
    let pointer = try t.dataPointer().bindMemory(to: Float.self, capacity: count)
    let source = UnsafeRawBufferPointer(start: try blocks.dataPointer(), count: blocks.elementCount)
    try withExtendedLifetime(blocks) {
      try GGMLDequantizer.dequantize(source, type: type, into: UnsafeMutableBufferPointer(start: pointer, count: count),
                                     threads: Torch.threadCount)
    }
    var w = t
    if let permutedHeads { w = try Checkpoint.unpermuteRows(w, heads: permutedHeads) }
    if dtype != .float32 { w = try w.to(dtype: dtype) }
    return device == .cpu ? w : try w.to(device: device)
  }
}

// QuantizedLinear.swift — a linear layer over a frozen quantized weight (NF4/FP4 blocks, a GGUF file's own blocks):
// the weight is dequantized inside the forward, one layer at a time, and again in backward; no dense copy is kept.
import Torch

/// A frozen weight held in a compact form that can rebuild the dense [out, in] matrix on demand.
public protocol QuantizedWeight: AnyObject {
  /// [out, in]
  var shape: [Int] { get }
  /// Where the dense weight is built (and the layer computes).
  var device: Device { get }
  /// What the compact form holds in memory, in bytes.
  var byteCount: Int { get }
  /// The format, for reports: "nf4 (double quantization)", "Q4_1".
  var format: String { get }
  /// The dense weight [out, in] in `dtype` on `device`.
  func dequantized(dtype: DType) throws -> Tensor
}

/// `y = x · Wᵀ + b` where W is a `QuantizedWeight`, computed in `computeDType` (bitsandbytes' `Linear4bit`: the input
/// is cast to the compute dtype and the output back to the input's dtype). The dense W exists only inside the
/// forward and inside the backward (see `Functional.linear(_:rebuildingWeight:)`); W never trains. LoRA wraps it
/// like any linear layer.
public final class QuantizedLinear: LinearLayer {
  public let path: String
  public let weight: any QuantizedWeight
  public var bias: Tensor?  // [out], kept dense
  public let computeDType: DType

  public init(path: String, weight: any QuantizedWeight, bias: Tensor? = nil, computeDType: DType) {
    self.path = path
    self.weight = weight
    self.bias = bias
    self.computeDType = computeDType
  }

  /// The bias only: the quantized weight is not a checkpoint tensor of this model (`denseWeight()` rebuilds it).
  public var localParameters: [(name: String, tensor: Tensor)] { bias.map { [("bias", $0)] } ?? [] }

  public var inFeatures: Int { weight.shape[1] }
  public var outFeatures: Int { weight.shape[0] }
  public var dtype: DType { computeDType }
  public var device: Device { weight.device }

  /// The dequantized weight in the compute dtype.
  public func denseWeight() throws -> Tensor { try weight.dequantized(dtype: computeDType) }

  // [*, in] -> [*, out]
  public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
    let input = x.dtype == computeDType ? x : try x.to(dtype: computeDType)
    let (weight, dtype) = (self.weight, computeDType)
    var y = try Functional.linear(input) { try weight.dequantized(dtype: dtype) }
    if let bias { y = try y + (bias.dtype == y.dtype ? bias : bias.to(dtype: y.dtype)) }
    return y.dtype == x.dtype ? y : try y.to(dtype: x.dtype)
  }
}

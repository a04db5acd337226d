// Layers.swift — the building blocks of a decoder: the linear-layer protocol and its dense implementation, Embedding,
// RMSNorm.
import Torch

/// What stands where a `y = x·Wᵀ + b` layer stands: dense `Linear` today, a quantized layer (NF4, GGUF blocks) next,
/// and `LoRALinear` around either.
public protocol LinearLayer: Module {
  var inFeatures: Int { get }
  var outFeatures: Int { get }
  var bias: Tensor? { get }
  var dtype: DType { get }
  var device: Device { get }
  /// `training` switches dropout (LoRA's) on.
  // [*, in] -> [*, out]
  func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor
  /// The effective weight as a dense [out, in] tensor (dequantized, adapters folded in), for merging and export.
  func denseWeight() throws -> Tensor
}

extension LinearLayer {
  // [*, in] -> [*, out]
  public func callAsFunction(_ x: Tensor) throws -> Tensor { try self(x, training: false) }
}

/// `y = x · Wᵀ + b` with a dense weight.
public final class Linear: LinearLayer {
  public let path: String
  public var weight: Tensor  // [out, in]
  public var bias: Tensor?   // [out]

  /// Reads `weight` (and `bias`) under the source's path; `shape` [out, in] is checked when given.
  public init(_ source: ParameterSource, shape: [Int]? = nil, bias hasBias: Bool = false) throws {
    path = source.path
    weight = try source.tensor("weight", shape: shape)
    bias = hasBias ? try source.tensor("bias", shape: shape.map { [$0[0]] }) : nil
  }

  /// A layer over given tensors (a tied lm_head shares the embedding's weight).
  public init(path: String = "", weight: Tensor, bias: Tensor? = nil) {
    self.path = path
    self.weight = weight
    self.bias = bias
  }

  public var localParameters: [(name: String, tensor: Tensor)] {
    if let bias { return [("weight", weight), ("bias", bias)] }
    return [("weight", weight)]
  }

  public var inFeatures: Int { weight.size(1) }
  public var outFeatures: Int { weight.size(0) }
  public var dtype: DType { weight.dtype }
  public var device: Device { weight.device }
  public func denseWeight() throws -> Tensor { weight }

  // [*, in] -> [*, out]
  public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
    try x.linear(weight: weight, bias: bias)
  }
}

public final class Embedding: Module {
  public let path: String
  public var weight: Tensor  // [vocab, hidden]

  public init(_ source: ParameterSource, shape: [Int]? = nil) throws {
    path = source.path
    weight = try source.tensor("weight", shape: shape)
  }

  public init(path: String = "", weight: Tensor) {
    self.path = path
    self.weight = weight
  }

  public var localParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

  // [B, T] int64 -> [B, T, hidden]
  public func callAsFunction(_ ids: Tensor) throws -> Tensor { try Functional.embedding(ids, weight: weight) }
}

public final class RMSNorm: Module {
  public let path: String
  public var weight: Tensor  // [hidden]
  public let epsilon: Double

  public init(_ source: ParameterSource, epsilon: Double) throws {
    path = source.path
    weight = try source.tensor("weight")
    self.epsilon = epsilon
  }

  public init(path: String = "", weight: Tensor, epsilon: Double) {
    self.path = path
    self.weight = weight
    self.epsilon = epsilon
  }

  public var localParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

  /// Hugging Face's LlamaRMSNorm: normalise in float32, cast back, then scale by the weight.
  // [*, hidden] -> [*, hidden]
  public func callAsFunction(_ x: Tensor) throws -> Tensor {
    let inputType = x.dtype
    if inputType == .float32 {
      return try Functional.rmsNorm(x, weight: weight, epsilon: epsilon)
    }
    let normed = try Functional.rmsNorm(x.to(dtype: .float32), weight: nil, epsilon: epsilon).to(dtype: inputType)
    return try weight * normed
  }
}

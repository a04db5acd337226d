// Layers.swift — the building blocks of a Llama-family decoder: Linear (with an optional LoRA adapter),
// Embedding, RMSNorm, and the parameter store they share.
import Torch

/// Named parameters, keyed by Hugging Face checkpoint paths (`model.layers.3.self_attn.q_proj.weight`).
public typealias ParameterStore = [String: Tensor]

/// `y = x · Wᵀ + b`, plus `scaling · B(A(dropout(x)))` when a LoRA adapter is attached.
public final class Linear {
  public var weight: Tensor                // [out, in]
  public var bias: Tensor?                 // [out]
  public var lora: LoRAAdapter?

  public init(weight: Tensor, bias: Tensor? = nil) {
    self.weight = weight
    self.bias = bias
  }

  public var inFeatures: Int { weight.size(1) }
  public var outFeatures: Int { weight.size(0) }

  // [*, in] -> [*, out]
  public func callAsFunction(_ x: Tensor, training: Bool = false) throws -> Tensor {
    let base = try x.linear(weight: weight, bias: bias)
    guard let lora else { return base }
    return try base + lora(x, training: training).to(dtype: base.dtype)
  }
}

public final class Embedding {
  public var weight: Tensor  // [vocab, hidden]
  public init(weight: Tensor) { self.weight = weight }

  // [B, T] int64 -> [B, T, hidden]
  public func callAsFunction(_ ids: Tensor) throws -> Tensor { try Functional.embedding(ids, weight: weight) }
}

public final class RMSNorm {
  public var weight: Tensor  // [hidden]
  public let epsilon: Double
  public init(weight: Tensor, epsilon: Double) {
    self.weight = weight
    self.epsilon = epsilon
  }

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

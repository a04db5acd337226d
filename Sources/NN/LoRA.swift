// LoRA.swift — low-rank adapters (Hu et al. 2021) with PEFT's initialisation, naming and merge rule.
import Foundation
import Torch

/// ΔW = scaling · B·A with A [r, in] and B [out, r]; `scaling = alpha / r` (or alpha/√r with rsLoRA).
public final class LoRAAdapter {
  public let a: Tensor  // lora_A.weight [r, in]
  public let b: Tensor  // lora_B.weight [out, r]
  public let scaling: Double
  public let dropout: Double

  public init(a: Tensor, b: Tensor, scaling: Double, dropout: Double) {
    self.a = a
    self.b = b
    self.scaling = scaling
    self.dropout = dropout
  }

  /// PEFT's default init: A ~ kaiming_uniform(a=√5) = U(−1/√in, 1/√in), B = 0 (so the adapter starts as a no-op).
  public convenience init(inFeatures: Int, outFeatures: Int, rank: Int, alpha: Double, dropout: Double,
                          useRSLoRA: Bool = false, dtype: DType = .float32, device: Device = .cpu,
                          generator: Generator? = nil) throws
  {
    let bound = 1.0 / Double(inFeatures).squareRoot()
    let a = try Tensor.uniform([rank, inFeatures], low: -bound, high: bound, dtype: dtype, device: device,
                               generator: generator)
    let b = try Tensor.zeros([outFeatures, rank], dtype: dtype, device: device)
    try a.requiringGrad()
    try b.requiringGrad()
    self.init(a: a, b: b, scaling: Self.scaling(alpha: alpha, rank: rank, useRSLoRA: useRSLoRA), dropout: dropout)
  }

  /// PEFT's scaling: alpha / r, or alpha / √r with rsLoRA.
  public static func scaling(alpha: Double, rank: Int, useRSLoRA: Bool) -> Double {
    useRSLoRA ? alpha / Double(rank).squareRoot() : alpha / Double(rank)
  }

  public var rank: Int { a.size(0) }

  // [*, in] -> [*, out]
  public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
    let input = x.dtype == a.dtype ? x : try x.to(dtype: a.dtype)
    let dropped = try Functional.dropout(input, probability: dropout, training: training)
    return try dropped.linear(weight: a).linear(weight: b) * scaling
  }

  /// The dense update scaling · B·A, [out, in].
  public func delta() throws -> Tensor { try b.matmul(a) * scaling }
}

/// Which Linear layers get adapters: exact module names (`q_proj`), or one regular expression matched against
/// the full module path (`model.layers.0.self_attn.q_proj`), as PEFT's `target_modules` accepts.
public enum LoRATargets: Equatable, Sendable {
  case names([String])
  case pattern(String)
  case allLinear

  public func matches(path: String) throws -> Bool {
    switch self {
    case .names(let names):
      let last = path.split(separator: ".").last.map(String.init) ?? path
      return names.contains(last) || names.contains(path)
    case .pattern(let p):
      let re = try NSRegularExpression(pattern: "^(?:\(p))$")
      return re.firstMatch(in: path, range: NSRange(path.startIndex..., in: path)) != nil
    case .allLinear:
      return !path.hasSuffix("lm_head")
    }
  }
}

public struct LoRAConfiguration: Codable, Equatable, Sendable {
  public var rank: Int = 16
  public var alpha: Double = 32
  public var dropout: Double = 0.05
  public var targetModules: [String] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
  /// A regular expression over module paths; overrides `targetModules` when set.
  public var targetPattern: String? = nil
  public var useRSLoRA: Bool = false

  public init() {}

  public var targets: LoRATargets {
    if let targetPattern { return .pattern(targetPattern) }
    if targetModules == ["all-linear"] { return .allLinear }
    return .names(targetModules)
  }
}

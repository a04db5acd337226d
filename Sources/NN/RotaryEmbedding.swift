// RotaryEmbedding.swift — RoPE as Hugging Face computes it (rotate-half layout), with llama3 frequency scaling.
import Foundation
import Torch

public struct RopeScaling: Codable, Equatable, Sendable {
  public var ropeType: String?
  public var type: String?
  public var factor: Double?
  public var lowFreqFactor: Double?
  public var highFreqFactor: Double?
  public var originalMaxPositionEmbeddings: Int?
  /// transformers 5 keeps theta inside `rope_parameters`.
  public var ropeTheta: Double?
  /// The share of each head that rotates (Phi-3's `rope_parameters` carry it; 1 = all of it).
  public var partialRotaryFactor: Double?

  enum CodingKeys: String, CodingKey {
    case ropeType = "rope_type", type, factor
    case lowFreqFactor = "low_freq_factor", highFreqFactor = "high_freq_factor"
    case originalMaxPositionEmbeddings = "original_max_position_embeddings"
    case ropeTheta = "rope_theta", partialRotaryFactor = "partial_rotary_factor"
  }

  public init(ropeType: String? = nil, factor: Double? = nil, lowFreqFactor: Double? = nil,
              highFreqFactor: Double? = nil, originalMaxPositionEmbeddings: Int? = nil)
  {
    self.ropeType = ropeType
    self.factor = factor
    self.lowFreqFactor = lowFreqFactor
    self.highFreqFactor = highFreqFactor
    self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
  }

  public var kind: String { ropeType ?? type ?? "default" }
}

public final class RotaryEmbedding {
  public let inverseFrequencies: Tensor  // [headDim/2] float32

  public init(headDim: Int, theta: Double, scaling: RopeScaling?) throws {
    // inv_freq = 1 / theta^(arange(0, d, 2) / d), in float32 torch ops like transformers.
    let exponents = try Tensor.arange(0, Double(headDim), step: 2, dtype: .int64).to(dtype: .float32) / Double(headDim)
    var inv = try 1.0 / Tensor.pow(base: theta, exponents)
    switch scaling?.kind ?? "default" {
    case "default":
      break
    case "linear":
      inv = try inv / (scaling?.factor ?? 1)
    case "llama3":
      guard let s = scaling, let factor = s.factor, let low = s.lowFreqFactor, let high = s.highFreqFactor,
            let original = s.originalMaxPositionEmbeddings
      else { throw NNError("rope_scaling of type llama3 needs factor, low_freq_factor, high_freq_factor and original_max_position_embeddings") }
      // transformers' _compute_llama3_parameters
      let lowWavelen = Double(original) / low
      let highWavelen = Double(original) / high
      let wavelen = try (2 * Double.pi) / inv
      var scaled = try Tensor.where(wavelen.gt(lowWavelen), inv / factor, inv)
      let smooth = try ((Double(original) / wavelen) - low) / (high - low)
      let smoothed = try (1.0 - smooth) * scaled / factor + smooth * scaled
      let medium = try wavelen.ge(highWavelen).logicalAnd(wavelen.le(lowWavelen))
      scaled = try Tensor.where(medium, smoothed, scaled)
      inv = scaled
    default:
      throw NNError("unsupported rope_scaling type '\(scaling?.kind ?? "")' (supported: default, linear, llama3)")
    }
    inverseFrequencies = inv
  }

  /// cos and sin for the given positions [B, T] (int64) -> ([B, T, headDim], [B, T, headDim]) in `dtype`.
  public func cosSin(positions: Tensor, dtype: DType) throws -> (Tensor, Tensor) {
    let inv = try inverseFrequencies.to(device: positions.device)
    // [B, T, 1] * [d/2] -> [B, T, d/2]
    let freqs = try positions.to(dtype: .float32).unsqueezed(-1) * inv
    let emb = try Tensor.cat([freqs, freqs], dim: -1)
    return (try emb.cos().to(dtype: dtype), try emb.sin().to(dtype: dtype))
  }

  /// x [B, H, T, d] rotated by cos/sin [B, T, d].
  public static func apply(_ x: Tensor, cos: Tensor, sin: Tensor) throws -> Tensor {
    // One autograd node for the ops below when cos and sin need no gradient (Functional.rotary).
    if !cos.requiresGrad, !sin.requiresGrad { return try Functional.rotary(x, cos: cos, sin: sin) }
    let c = try cos.unsqueezed(1)
    let s = try sin.unsqueezed(1)
    let half = x.size(-1) / 2
    let x1 = try x.narrow(-1, start: 0, length: half)
    let x2 = try x.narrow(-1, start: half, length: half)
    let rotated = try Tensor.cat([x2.neg(), x1], dim: -1)
    return try x * c + rotated * s
  }
}

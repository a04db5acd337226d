// Optimizer.swift — AdamW with PyTorch's semantics (torch.optim.AdamW, decoupled weight decay) and
// gradient-norm clipping as torch.nn.utils.clip_grad_norm_ does it.
import Foundation
import Torch

public final class AdamW {
  public var learningRate: Double
  public let beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double
  public let parameters: [Tensor]
  public private(set) var step = 0
  var firstMoments: [Tensor]
  var secondMoments: [Tensor]

  public init(parameters: [Tensor], learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999,
              epsilon: Double = 1e-8, weightDecay: Double = 0) throws
  {
    self.parameters = parameters
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    firstMoments = try parameters.map { try Tensor.zeros($0.shape, dtype: $0.dtype, device: $0.device) }
    secondMoments = try parameters.map { try Tensor.zeros($0.shape, dtype: $0.dtype, device: $0.device) }
  }

  /// One update from the parameters' `.grad` (parameters without a gradient are skipped, as in PyTorch).
  public func update() throws {
    step += 1
    let bias1 = 1 - Foundation.pow(beta1, Double(step))
    let bias2Sqrt = (1 - Foundation.pow(beta2, Double(step))).squareRoot()
    let stepSize = learningRate / bias1
    try withNoGrad {
      for (k, p) in parameters.enumerated() {
        guard let g = p.grad else { continue }
        if weightDecay != 0 { try p.mul_(1 - learningRate * weightDecay) }
        let m = firstMoments[k], v = secondMoments[k]
        try m.lerp_(g, weight: 1 - beta1)
        try v.mul_(beta2)
        try v.addcmul_(g, g, value: 1 - beta2)
        let denom = try v.sqrt() / bias2Sqrt + epsilon
        try p.addcdiv_(m, denom, value: -stepSize)
      }
    }
  }

  public func zeroGradients() throws {
    for p in parameters { try p.setGrad(nil) }
  }

  /// Optimizer state for checkpoints: step and both moments, by parameter index.
  public var state: (step: Int, first: [Tensor], second: [Tensor]) { (step, firstMoments, secondMoments) }

  public func restore(step: Int, first: [Tensor], second: [Tensor]) throws {
    guard first.count == parameters.count, second.count == parameters.count else {
      throw TorchError(operation: "AdamW.restore", message: "optimizer state holds \(first.count) tensors, the model has \(parameters.count) trainable parameters")
    }
    for (k, p) in parameters.enumerated() where first[k].shape != p.shape || second[k].shape != p.shape {
      throw TorchError(operation: "AdamW.restore", message: "optimizer state for parameter \(k) has shape \(first[k].shape), expected \(p.shape)")
    }
    self.step = step
    try withNoGrad {
      for k in parameters.indices {
        try firstMoments[k].copy_(first[k])
        try secondMoments[k].copy_(second[k])
      }
    }
  }
}

/// Scales gradients so that their global L2 norm is at most `maxNorm`; returns the norm before clipping
/// (what the Hugging Face Trainer logs as grad_norm). Same arithmetic as clip_grad_norm_: coef = max/(norm+1e-6),
/// clamped to 1, multiplied in unconditionally.
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Double) throws -> Double {
  try withNoGrad {
    let grads = parameters.compactMap(\.grad)
    guard !grads.isEmpty else { return 0 }
    let norms = try Tensor.stack(grads.map { try $0.norm() })
    let total = try norms.norm()
    if maxNorm > 0, maxNorm.isFinite {
      let coef = try (1.0 / (total + 1e-6) * maxNorm).clamped(max: 1.0)
      for g in grads { try g.mul_(coef) }
    }
    return try total.item()
  }
}

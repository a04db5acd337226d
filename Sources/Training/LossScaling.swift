// LossScaling.swift — dynamic loss scaling for fp16 training, as PyTorch's torch.amp.GradScaler does it with its
// defaults: the loss is multiplied by `scale` before backward, the gradients divided by it before clipping; a step
// whose gradients overflowed is skipped and the scale halved; 2000 clean steps in a row double it.
import Torch

public struct LossScaler: Codable, Equatable, Sendable {
  public var scale: Double = 65536
  public var growthFactor: Double = 2
  public var backoffFactor: Double = 0.5
  public var growthInterval = 2000
  /// Clean steps since the scale last changed (GradScaler's `_growth_tracker`).
  public var cleanSteps = 0

  enum CodingKeys: String, CodingKey {
    case scale, growthFactor = "growth_factor", backoffFactor = "backoff_factor", growthInterval = "growth_interval"
    case cleanSteps = "clean_steps"
  }

  /// Divides every gradient by the scale, in place (GradScaler.unscale_).
  public func unscale(_ parameters: [Tensor]) throws {
    try withNoGrad { for g in parameters.compactMap(\.grad) { try g.mul_(1 / scale) } }
  }

  /// After a step: an overflow (non-finite gradients: the step was skipped) backs the scale off; enough clean steps
  /// grow it (GradScaler.update).
  public mutating func update(overflowed: Bool) {
    if overflowed {
      scale *= backoffFactor
      cleanSteps = 0
    } else {
      cleanSteps += 1
      if cleanSteps == growthInterval {
        scale *= growthFactor
        cleanSteps = 0
      }
    }
  }
}

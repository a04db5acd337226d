// Schedules.swift — learning-rate schedules as transformers defines them (get_scheduler), and the λ (beta)
// schedule: constant or annealed from a start to an end value.
import Foundation

public enum LRSchedulerType: String, Codable, CaseIterable, Sendable {
  case linear, cosine, constant
  case constantWithWarmup = "constant_with_warmup"
  case inverseSqrt = "inverse_sqrt"
}

public struct LearningRateSchedule: Sendable {
  public var type: LRSchedulerType
  public var baseRate: Double
  public var warmupSteps: Int
  public var totalSteps: Int

  public init(type: LRSchedulerType, baseRate: Double, warmupSteps: Int, totalSteps: Int) {
    self.type = type
    self.baseRate = baseRate
    self.warmupSteps = warmupSteps
    self.totalSteps = totalSteps
  }

  /// warmup_steps wins over warmup_ratio; the ratio rounds up, as TrainingArguments.get_warmup_steps does.
  public static func warmupSteps(steps: Int?, ratio: Double?, totalSteps: Int) -> Int {
    if let steps, steps > 0 { return steps }
    if let ratio, ratio > 0 { return Int((Double(totalSteps) * ratio).rounded(.up)) }
    return 0
  }

  /// The multiplier for optimizer step `step` (0-based: the first update uses step 0).
  public func factor(at step: Int) -> Double {
    let s = Double(step), w = Double(warmupSteps), n = Double(totalSteps)
    switch type {
    case .constant:
      return 1
    case .constantWithWarmup:
      return step < warmupSteps ? s / Swift.max(1, w) : 1
    case .linear:
      if step < warmupSteps { return s / Swift.max(1, w) }
      return Swift.max(0, (n - s) / Swift.max(1, n - w))
    case .cosine:
      if step < warmupSteps { return s / Swift.max(1, w) }
      let progress = (s - w) / Swift.max(1, n - w)
      return Swift.max(0, 0.5 * (1 + cos(Double.pi * 0.5 * 2 * progress)))
    case .inverseSqrt:
      if step < warmupSteps { return s / Swift.max(1, w) }
      let timescale = warmupSteps > 0 ? w : 10_000
      let shift = timescale - w
      return 1 / ((s + shift) / timescale).squareRoot()
    }
  }

  public func rate(at step: Int) -> Double { baseRate * factor(at: step) }
}

/// λ over training: constant, or annealed from `start` to `end` (linear or cosine in the training progress).
public struct BetaSchedule: Codable, Equatable, Sendable {
  public enum Shape: String, Codable, CaseIterable, Sendable { case constant, linear, cosine }
  public var shape: Shape
  public var start: Double
  public var end: Double

  public init(constant value: Double) {
    shape = .constant
    start = value
    end = value
  }

  public init(shape: Shape, start: Double, end: Double) {
    self.shape = shape
    self.start = start
    self.end = end
  }

  /// λ for optimizer step `step` of `totalSteps` (0-based).
  public func value(at step: Int, of totalSteps: Int) -> Double {
    let progress = totalSteps > 1 ? Double(step) / Double(totalSteps - 1) : 0
    switch shape {
    case .constant: return start
    case .linear: return start + (end - start) * progress
    case .cosine: return end + (start - end) * 0.5 * (1 + cos(Double.pi * progress))
    }
  }
}

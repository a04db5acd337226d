// Objective.swift — what a training objective is: arithmetic on a batch's PairScores giving a loss and metrics under
// TRL's names (in the spirit of torchtune's PreferenceLoss). The trainer and the evaluation loop know objectives only
// through this protocol; ORPO is one file (ORPOLoss.swift), and SFT, DPO, SimPO or CPO are one file each.
import Torch

public protocol PreferenceObjective {
  /// Metric names in TRL's logging order and spelling, without the `eval_` prefix.
  static var metricNames: [String] { get }
  /// The same, reachable from `any PreferenceObjective`. Default `Self.metricNames`.
  var metricNames: [String] { get }
  /// Whether `loss` needs the reference model's scores too (DPO does; ORPO, SimPO, CPO and SFT are reference-free).
  /// The caller then scores the batch a second time with every adapter disabled and without a graph
  /// (`PairScorer.referenceScores`). Default false.
  var needsReference: Bool { get }
  /// Hyperparameters logged with each training window, under their TRL names (ORPO: `beta`). Default none.
  var loggedHyperparameters: [(name: String, value: Double)] { get }
  /// The batch's loss (with the graph) and its metrics, in `metricNames` order. `reference` is non-nil exactly
  /// when `needsReference`.
  func loss(policy: PairScores, reference: PairScores?) throws -> ObjectiveOutput
  /// Whether training scores the rejected answers at all (SFT does not: false). Default true. Evaluation always
  /// scores both, for the held-out preference accuracy.
  var scoresRejected: Bool { get }
  /// Whether the scores must carry `CompletionStatistics` (TRL 1.16's DPO, KTO and SFT metrics). Default false.
  var needsStatistics: Bool { get }
  /// Metrics whose logged value is the running total since training began; the objective reports each batch's
  /// amount. Default: `num_tokens` when the objective logs it (TRL always logs it as a running total).
  var cumulativeMetricNames: Set<String> { get }
  /// Numbers worked out from a logging window's averaged values (`loss` and this objective's metrics), logged after
  /// them (ORPO: `odds_ratio_share`). Default none.
  func derivedMetrics(window: [String: Double]) -> [(name: String, value: Double)]
}

extension PreferenceObjective {
  public var metricNames: [String] { Self.metricNames }
  public var needsReference: Bool { false }
  public var loggedHyperparameters: [(name: String, value: Double)] { [] }
  public var scoresRejected: Bool { true }
  public var needsStatistics: Bool { false }
  public var cumulativeMetricNames: Set<String> { Set(metricNames).intersection(["num_tokens"]) }
  public func derivedMetrics(window _: [String: Double]) -> [(name: String, value: Double)] { [] }
}

public struct ObjectiveOutput {
  /// Scalar, with the graph: what `backward()` runs on.
  public var loss: Tensor
  /// Scalars without a graph, in the objective's `metricNames` order.
  public var metrics: [(name: String, value: Tensor)]

  public init(loss: Tensor, metrics: [(name: String, value: Tensor)]) {
    self.loss = loss
    self.metrics = metrics
  }

  /// The loss and every metric as numbers, read from the device in one copy.
  public func values() throws -> (loss: Double, metrics: [(name: String, value: Double)]) {
    let numbers = try withNoGrad {
      try Tensor.stack([loss.detached()] + metrics.map(\.value)).to(dtype: .float64).scalars(as: Double.self)
    }
    return (numbers[0], zip(metrics, numbers.dropFirst()).map { ($0.name, $1) })
  }
}

/// The objective in force at each optimizer step: its hyperparameters may change over training (ORPO's λ annealed
/// by `beta_schedule`).
public struct ObjectiveSchedule {
  private let make: (_ step: Int, _ totalSteps: Int) -> any PreferenceObjective

  public init(_ make: @escaping (_ step: Int, _ totalSteps: Int) -> any PreferenceObjective) {
    self.make = make
  }

  /// The same objective at every step.
  public static func constant(_ objective: any PreferenceObjective) -> ObjectiveSchedule {
    ObjectiveSchedule { _, _ in objective }
  }

  /// The objective for optimizer step `step` (0-based) of `totalSteps`.
  public func objective(at step: Int, of totalSteps: Int) -> any PreferenceObjective { make(step, totalSteps) }
}

extension TrainingConfiguration {
  /// The objective `method:` names, with its keys: ORPO with λ = `beta` (annealed to `beta_end` when set), SFT,
  /// DPO / IPO (`loss_type`, `label_smoothing`), CPO / SimPO (`simpo_gamma`, `cpo_alpha`), KTO.
  public var objectiveSchedule: ObjectiveSchedule {
    switch method {
    case .orpo:
      let lambda = betaScheduleValue
      return ObjectiveSchedule { step, totalSteps in ORPOLoss(beta: lambda.value(at: step, of: totalSteps)) }
    case .sft:
      return .constant(SFTLoss())
    case .dpo, .ipo:
      return .constant(DPOLoss(beta: beta, lossType: dpoLossType, labelSmoothing: labelSmoothing))
    case .cpo, .simpo:
      return .constant(CPOLoss(beta: beta, lossType: cpoLossType, labelSmoothing: labelSmoothing,
                               simpoGamma: simpoGamma, cpoAlpha: cpoAlphaValue))
    case .kto:
      return .constant(KTOLoss(beta: beta, desirableWeight: desirableWeight, undesirableWeight: undesirableWeight))
    }
  }
}

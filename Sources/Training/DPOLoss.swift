// DPOLoss.swift — Direct Preference Optimization (Rafailov et al. 2023, arXiv 2305.18290) and its IPO (Azar et al.
// 2023, arXiv 2310.12036), hinge (SLiC) and robust (Chowdhury et al. 2024, cDPO-style label smoothing) variants,
// exactly as TRL 1.16 computes them: trl/trainer/dpo_trainer.py `_compute_loss` (reverse-KL scores, one loss type,
// weight 1) and its metrics. Needs the reference model's log-probs: the policy with its adapters disabled, scored
// without a graph, or precomputed once per data set (`precompute_ref_log_probs`).
import Torch

/// The DPO family's per-pair loss on δ = (log π(y_c) − log π_ref(y_c)) − (log π(y_r) − log π_ref(y_r)), sums over
/// the completion tokens.
public enum DPOLossType: String, ConfigurationChoice, Sendable {
  /// −log σ(β δ)
  case sigmoid
  /// max(0, 1 − β δ)
  case hinge
  /// (δ̄ − 1/(2β))², δ̄ with each log-ratio divided by its completion's token count (TRL's normalisation)
  case ipo
  /// ((1 − ε)(−log σ(β δ)) − ε(−log σ(−β δ))) / (1 − 2ε), ε = label_smoothing
  case robust
}

public struct DPOLoss: PreferenceObjective {
  public var beta: Double
  public var lossType: DPOLossType
  /// ε: the assumed probability that a pair's preference label is flipped (robust only; TRL 1.16's sigmoid loss
  /// has none).
  public var labelSmoothing: Double

  public init(beta: Double = 0.1, lossType: DPOLossType = .sigmoid, labelSmoothing: Double = 0) {
    self.beta = beta
    self.lossType = lossType
    self.labelSmoothing = labelSmoothing
  }

  /// TRL's names, in the order its `_compute_loss` records them.
  public static let metricNames = [
    "entropy", "num_tokens", "logits/chosen", "logits/rejected", "mean_token_accuracy", "rewards/chosen",
    "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected",
  ]
  public var needsReference: Bool { true }
  public var needsStatistics: Bool { true }

  public func loss(policy: PairScores, reference: PairScores?) throws -> ObjectiveOutput {
    guard let reference else { throw TrainingError("DPO needs the reference model's scores") }
    let chosenRatios = try policy.chosenLogpSums - reference.chosenLogpSums.detached()       // [B]
    let rejectedRatios = try policy.rejectedLogpSums - reference.rejectedLogpSums.detached() // [B]
    let delta = try chosenRatios - rejectedRatios                                              // [B]
    let losses: Tensor                                                                         // [B]
    switch lossType {
    case .sigmoid:
      losses = try -((delta * beta).logSigmoid())
    case .hinge:
      losses = try (1.0 - delta * beta).relu()
    case .ipo:
      let normalised = try chosenRatios / policy.chosenTokenCounts.clamped(min: 1)
        - rejectedRatios / policy.rejectedTokenCounts.clamped(min: 1)
      losses = try (normalised - 1 / (2 * beta)).pow(2)
    case .robust:
      let clean = try (delta * beta).logSigmoid() * -(1 - labelSmoothing)
      let flipped = try (delta * -beta).logSigmoid() * -labelSmoothing
      losses = try (clean - flipped) / (1 - 2 * labelSmoothing)
    }
    let loss = try losses.mean()
    let metrics = try withNoGrad { try Self.metrics(policy: policy, chosenRatios: chosenRatios, rejectedRatios: rejectedRatios, beta: beta) }
    return ObjectiveOutput(loss: loss, metrics: Array(zip(Self.metricNames, metrics)))
  }

  /// TRL's DPO metrics: entropy over every completion token, logits/* as the mean over completion tokens of each
  /// position's mean logit, mean_token_accuracy over the chosen completions, rewards β · log-ratio.
  static func metrics(policy: PairScores, chosenRatios: Tensor, rejectedRatios: Tensor, beta: Double) throws -> [Tensor] {
    guard let s = policy.statistics else { throw TrainingError("DPO's metrics need the completion statistics") }
    let chosenTokens = try policy.chosenTokenCounts.sum(), rejectedTokens = try policy.rejectedTokenCounts.sum()
    let rewardChosen = try chosenRatios.detached() * beta, rewardRejected = try rejectedRatios.detached() * beta
    return [
      try (s.chosenEntropySums.sum() + s.rejectedEntropySums.sum()) / (chosenTokens + rejectedTokens),
      try Tensor(scalar: Float(policy.chosenSequenceTokens + policy.rejectedSequenceTokens)).to(chosenTokens.device),
      try s.chosenMeanLogitSums.sum() / chosenTokens, try s.rejectedMeanLogitSums.sum() / rejectedTokens,
      try s.chosenTop1Counts.sum() / chosenTokens,
      try rewardChosen.mean(), try rewardRejected.mean(),
      try rewardChosen.gt(rewardRejected).to(dtype: .float32).mean(),  // strict: a tie counts as wrong
      try (rewardChosen - rewardRejected).mean(),
      try policy.chosenLogpSums.detached().mean(), try policy.rejectedLogpSums.detached().mean(),
    ]
  }
}

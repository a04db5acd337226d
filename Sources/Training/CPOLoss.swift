// CPOLoss.swift — Contrastive Preference Optimization (Xu et al. 2024, arXiv 2401.08417) and SimPO (Meng, Xia & Chen
// 2024, arXiv 2405.14734) as TRL 1.16's CPOTrainer computes them: trl/experimental/cpo/cpo_trainer.py `cpo_loss`,
// `concatenated_forward` and `get_batch_loss_metrics` (AlphaPO's alpha = 0). Reference-free. SimPO is
// `loss_type: simpo` with `cpo_alpha: 0`; CPO adds `cpo_alpha` × the chosen answers' NLL to a DPO-like loss.
import Torch

public enum CPOLossType: String, ConfigurationChoice, Sendable {
  /// −(1 − ε) log σ(β Δ) − ε log σ(−β Δ), Δ = log π(y_c) − log π(y_r) (sums over the completion)
  case sigmoid
  /// max(0, 1 − β Δ)
  case hinge
  /// (Δ − 1/(2β))², Δ of average log-probs
  case ipo
  /// the sigmoid loss on Δ − γ/β, Δ of average log-probs (SimPO's length-normalised reward with margin γ)
  case simpo
}

/// Built from a recipe by `Objective` (the memberwise init, TRL's defaults).
public struct CPOLoss: PreferenceObjective {
  public var beta = 0.1
  public var lossType = CPOLossType.sigmoid
  public var labelSmoothing = 0.0
  /// SimPO's target reward margin γ (`simpo_gamma`).
  public var simpoGamma = 0.5
  /// The weight of the chosen answers' NLL (`cpo_alpha`; 0 for SimPO).
  public var cpoAlpha = 1.0

  /// TRL's names, in `get_batch_loss_metrics`'s order.
  public static let metricNames = [
    "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/rejected", "logps/chosen",
    "logits/rejected", "logits/chosen", "nll_loss",
  ]

  public func loss(policy: PairScores, reference _: PairScores?) throws -> ObjectiveOutput {
    // SimPO and IPO compare average log-probs per completion token; sigmoid and hinge compare sums.
    let average = lossType == .simpo || lossType == .ipo
    let chosen = try average ? policy.chosenAverageLogps() : policy.chosenLogpSums          // [B]
    let rejected = try average ? policy.rejectedAverageLogps() : policy.rejectedLogpSums    // [B]
    var margin = try chosen - rejected                                                      // [B]
    let losses: Tensor
    switch lossType {
    case .sigmoid, .simpo:
      if lossType == .simpo { margin = try margin - simpoGamma / beta }
      losses = try (margin * beta).logSigmoid() * -(1 - labelSmoothing) - (margin * -beta).logSigmoid() * labelSmoothing
    case .hinge:
      losses = try (1.0 - margin * beta).relu()
    case .ipo:
      losses = try (margin - 1 / (2 * beta)).pow(2)
    }
    // The chosen answers' NLL over their completion tokens (CPO's labels mask the prompt), token mean.
    let nll = try cpoAlpha == 0 ? Tensor.zeros([], device: chosen.device)
      : -(policy.chosenLogpSums.sum() / policy.chosenTokenCounts.sum())
    let loss = try losses.mean() + nll * cpoAlpha
    let metrics: [Tensor] = try withNoGrad {
      let rewardChosen = try chosen.detached() * beta, rewardRejected = try rejected.detached() * beta
      return [try rewardChosen.mean(), try rewardRejected.mean(),
              try rewardChosen.gt(rewardRejected).to(dtype: .float32).mean(), try (rewardChosen - rewardRejected).mean(),
              try rejected.detached().mean(), try chosen.detached().mean(),
              try policy.allPositionLogitMeans?.rejected ?? policy.rejectedMeanLogit(),
              try policy.allPositionLogitMeans?.chosen ?? policy.chosenMeanLogit(), try nll.detached()]
    }
    return ObjectiveOutput(loss: loss, metrics: Array(zip(Self.metricNames, metrics)))
  }
}

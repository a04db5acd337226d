// ORPOLoss.swift — Odds Ratio Preference Optimization (Hong, Lee & Thorne 2024, arXiv 2403.07691, eqs. 4–7), exactly as
// TRL 1.16 computes it: trl/experimental/orpo/orpo_trainer.py, `odds_ratio_loss` and `get_batch_loss_metrics`
// (walk-through in shared/reference/TRL-ORPO-SEMANTICS.md). Reference-free: one forward per batch.
import Torch

public struct ORPOLoss: PreferenceObjective {
  /// λ in the paper, `beta` in TRL: the weight of the odds-ratio term against the NLL.
  public var beta: Double

  public init(beta: Double = 0.1) {
    self.beta = beta
  }

  /// TRL's names and order. Two are named the other way round from what they hold: `log_odds_ratio` is the mean of
  /// log σ(log odds), `log_odds_chosen` the mean log odds ratio. Kept for users' dashboards.
  public static let metricNames = [
    "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/rejected", "logps/chosen",
    "logits/rejected", "logits/chosen", "nll_loss", "log_odds_ratio", "log_odds_chosen",
  ]
  public var loggedHyperparameters: [(name: String, value: Double)] { [("beta", beta)] }

  /// `odds_ratio_share`: the odds-ratio term's part of the loss, λ·mean(−log σ(log odds)) ÷ loss, from the window's
  /// means (`log_odds_ratio` is mean log σ(log odds)). Near 0 the preference term does nothing and ORPO is SFT.
  public func derivedMetrics(window: [String: Double]) -> [(name: String, value: Double)] {
    guard let loss = window["loss"], let logSigmoid = window["log_odds_ratio"] else { return [] }
    return [("odds_ratio_share", beta * -logSigmoid / loss)]
  }

  /// log(1 − exp(x)) for x < 0, branching at −ln 2 so that neither branch loses precision (TRL's `log1mexp`).
  static func log1mexp(_ x: Tensor) throws -> Tensor {
    try Tensor.where(x.lt(-0.6931471805599453), (try x.exp().neg()).log1p(), (try x.expm1().neg()).log())
  }

  /// With p = exp(average completion log-prob) for each answer:
  ///   log_odds = log(p_c / (1 − p_c)) − log(p_r / (1 − p_r))      (per pair)
  ///   loss     = NLL(chosen) − mean(β · log σ(log_odds))
  public func loss(policy scores: PairScores, reference _: PairScores?) throws -> ObjectiveOutput {
    let chosen = try scores.chosenAverageLogps()                                          // [B]
    let rejected = try scores.rejectedAverageLogps()                                      // [B]
    let nll = try scores.chosenNLL()                                                      // []
    let logOdds = try (chosen - rejected) - (Self.log1mexp(chosen) - Self.log1mexp(rejected))  // [B]
    let ratio = try logOdds.logSigmoid()                                                  // [B]
    let loss = try nll - (ratio * beta).mean()

    let metrics: [Tensor] = try withNoGrad {
      let rewardChosen = try chosen.detached() * beta, rewardRejected = try rejected.detached() * beta
      return [try rewardChosen.mean(), try rewardRejected.mean(),
              try rewardChosen.gt(rewardRejected).to(dtype: .float32).mean(),  // strict: a tie counts as wrong
              try (rewardChosen - rewardRejected).mean(), try rejected.mean(), try chosen.mean(),
              try scores.rejectedMeanLogit(), try scores.chosenMeanLogit(), try nll.detached(), try ratio.mean(),
              try logOdds.mean()]
    }
    return ObjectiveOutput(loss: loss, metrics: Array(zip(Self.metricNames, metrics)))
  }
}

// SFTLoss.swift — supervised fine-tuning on the chosen answers, the first stage of the classic SFT → DPO pipeline,
// exactly as TRL 1.16's SFTTrainer computes it for prompt–completion data (trl/trainer/sft_trainer.py
// `compute_loss`: completion-only loss, TRL's default for such data; entropy, mean_token_accuracy, num_tokens).
// Scores the chosen answers only: the rejected ones are never computed in training.
import Torch

public struct SFTLoss: PreferenceObjective {
  public init() {}

  /// TRL's names, in the order its `compute_loss` records them.
  public static let metricNames = ["entropy", "mean_token_accuracy", "num_tokens"]
  public var scoresRejected: Bool { false }
  public var needsStatistics: Bool { true }

  /// loss = −Σ log p(completion token) / number of completion tokens, over the whole batch (token mean).
  public func loss(policy: PairScores, reference _: PairScores?) throws -> ObjectiveOutput {
    let tokens = try policy.chosenTokenCounts.sum()                                  // []
    let loss = try -(policy.chosenLogpSums.sum() / tokens)
    guard let s = policy.statistics else { throw TrainingError("SFT's metrics need the completion statistics") }
    let metrics: [Tensor] = try withNoGrad {
      [try s.chosenEntropySums.sum() / tokens, try s.chosenTop1Counts.sum() / tokens,
       try Tensor(scalar: Float(policy.chosenSequenceTokens)).to(tokens.device)]
    }
    return ObjectiveOutput(loss: loss, metrics: Array(zip(Self.metricNames, metrics)))
  }
}

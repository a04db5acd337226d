// ORPOLossTests.swift — the ORPO objective worked by hand on two pairs: the reader's way in. The fixture comparisons
// against TRL are in ORPOParityTests and TrainerParityTests.
import Foundation
import Testing
import Torch
@testable import Training

@Suite(.serialized) struct ORPOLossTests {
  /// Two pairs, β = 0.1, scores given directly (sums of completion log-probs and token counts):
  ///
  ///   pair 1: chosen −1.5 over 3 tokens → l_c = −0.5,  rejected −4.0 over 4 → l_r = −1.0
  ///   pair 2: chosen −2.4 over 2 tokens → l_c = −1.2,  rejected −2.7 over 3 → l_r = −0.9
  ///
  /// The log odds of an answer are log(p / (1 − p)) with p = exp(l) = l − log(1 − exp(l)); log(1 − exp(l)) has two
  /// branches split at −ln 2 ≈ −0.693 (p = ½), and the inputs sit on both sides of it:
  ///
  ///   l = −0.5: p = 0.606531, log(1−p) = −0.932752, log odds = +0.432752   (p > ½: positive)
  ///   l = −1.0: p = 0.367879, log(1−p) = −0.458675, log odds = −0.541325
  ///   l = −1.2: p = 0.301194, log(1−p) = −0.358382, log odds = −0.841618
  ///   l = −0.9: p = 0.406570, log(1−p) = −0.521835, log odds = −0.378165
  ///
  /// Log odds ratio, chosen minus rejected, and log σ of it:
  ///   pair 1: 0.432752 − (−0.541325) = +0.974077,  log σ = −log(1 + e^−0.974077) = −0.320300
  ///   pair 2: −0.841618 − (−0.378165) = −0.463453, log σ = −log(1 + e^+0.463453) = −0.951485
  /// Pair 2's chosen answer is less likely than its rejected one, so its log odds ratio is negative and it costs
  /// three times as much.
  ///
  /// NLL: the chosen sequences' NLL tokens sum to −6.0 over 8 tokens → 0.75.
  /// loss = NLL − β · mean(log σ) = 0.75 − 0.1 · (−0.320300 − 0.951485) / 2 = 0.75 + 0.063589 = 0.8135893 (to 7 places).
  ///
  /// Metrics (TRL's): rewards are β·l: chosen mean(−0.05, −0.12) = −0.085, rejected mean(−0.1, −0.09) = −0.095,
  /// accuracies mean(−0.05 > −0.1, −0.12 > −0.09) = 0.5, margins mean(0.05, −0.03) = 0.01; logps/chosen −0.85,
  /// logps/rejected −0.95; logits 12 over 24 values → 0.5 and −3 over 30 → −0.1; nll_loss 0.75;
  /// log_odds_ratio = mean(log σ) = −0.6358926; log_odds_chosen = mean(log odds ratio) = 0.2553120.
  @Test func lossAndMetricsWorkedByHand() throws {
    let scores = PairScores(
      chosenLogpSums: try Tensor([Float(-1.5), -2.4]), rejectedLogpSums: try Tensor([Float(-4.0), -2.7]),
      chosenTokenCounts: try Tensor([Float(3), 2]), rejectedTokenCounts: try Tensor([Float(4), 3]),
      chosenNLLLogpSum: try Tensor(scalar: Float(-6.0)), chosenNLLTokenCount: try Tensor(scalar: Float(8)),
      chosenLogitSum: try Tensor(scalar: Float(12)), rejectedLogitSum: try Tensor(scalar: Float(-3)),
      chosenLogitCount: 24, rejectedLogitCount: 30, pairs: 2)
    let output = try ORPOLoss(beta: 0.1).loss(policy: scores, reference: nil)
    let (loss, metrics) = try output.values()
    #expect(Swift.abs(loss - 0.8135893) < 1e-6, "loss \(loss)")
    let expected: [(String, Double)] = [
      ("rewards/chosen", -0.085), ("rewards/rejected", -0.095), ("rewards/accuracies", 0.5),
      ("rewards/margins", 0.01), ("logps/rejected", -0.95), ("logps/chosen", -0.85), ("logits/rejected", -0.1),
      ("logits/chosen", 0.5), ("nll_loss", 0.75), ("log_odds_ratio", -0.6358926), ("log_odds_chosen", 0.2553120),
    ]
    #expect(metrics.map(\.name) == expected.map(\.0), "TRL's names in TRL's order")
    for ((name, value), (_, want)) in zip(metrics, expected) {
      #expect(Swift.abs(value - want) < 1e-6, "\(name): \(value), worked by hand \(want)")
    }
  }

  /// The sign of the odds-ratio term: swapping chosen and rejected turns a cheap pair into an expensive one.
  @Test func preferringTheRejectedAnswerCostsMore() throws {
    func loss(chosen: Float, rejected: Float) throws -> Double {
      let scores = PairScores(
        chosenLogpSums: try Tensor([chosen]), rejectedLogpSums: try Tensor([rejected]),
        chosenTokenCounts: try Tensor([Float(1)]), rejectedTokenCounts: try Tensor([Float(1)]),
        chosenNLLLogpSum: try Tensor(scalar: Float(0)), chosenNLLTokenCount: try Tensor(scalar: Float(1)),
        chosenLogitSum: try Tensor(scalar: Float(0)), rejectedLogitSum: try Tensor(scalar: Float(0)),
        chosenLogitCount: 1, rejectedLogitCount: 1, pairs: 1)
      return try ORPOLoss(beta: 1).loss(policy: scores, reference: nil).values().loss
    }
    // log odds ratio +0.974077 → −log σ = 0.320300; −0.974077 → 1.294377 (= 0.320300 + 0.974077); to 7 places 0.3202998 and 1.2943768.
    #expect(Swift.abs(try loss(chosen: -0.5, rejected: -1.0) - 0.3202998) < 1e-6)
    #expect(Swift.abs(try loss(chosen: -1.0, rejected: -0.5) - 1.2943768) < 1e-6)
  }
}

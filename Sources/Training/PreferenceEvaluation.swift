// PreferenceEvaluation.swift — TRL's `evaluate()` for any objective: batches scored without a graph, eval_loss the
// pair-weighted mean of batch losses, every other metric the mean of batch means (TRL stores one value per batch),
// plus eval_accuracy (held-out preference accuracy, tallied per family by Evaluation's PreferenceAccuracy).
// Used by the trainer and by `orpo evaluate`.
import Data
import Evaluation
import Models
import Torch

public enum PreferenceEvaluation {
  /// The metrics of `run`, with the preference accuracy they end in broken down per family.
  public struct Result {
    public var values: [(String, Double)]
    public var accuracy: PreferenceAccuracy
  }

  /// `eval_loss`, `eval_<metric>` for each of the objective's metrics, and `eval_accuracy`: the fraction of pairs
  /// whose chosen answer has the higher average completion log-prob. Call with `model.training` off.
  public static func run(model: any CausalLanguageModel, pairs: [EncodedPair], scorer: PairScorer,
                         objective: any PreferenceObjective, batchSize: Int) throws -> [(String, Double)]
  {
    try evaluate(model: model, pairs: pairs, scorer: scorer, objective: objective, batchSize: batchSize).values
  }

  /// `run`, keeping the accuracy tally overall and per `EncodedPair.family` (Evaluation's `PreferenceAccuracy`).
  public static func evaluate(model: any CausalLanguageModel, pairs: [EncodedPair], scorer: PairScorer,
                              objective: any PreferenceObjective, batchSize: Int) throws -> Result
  {
    guard !pairs.isEmpty else { return Result(values: [], accuracy: PreferenceAccuracy()) }
    return try withNoGrad {
      var lossSum = 0.0, batches = 0
      var accuracy = PreferenceAccuracy()
      var sums = [Double](repeating: 0, count: objective.metricNames.count)
      for start in stride(from: 0, to: pairs.count, by: batchSize) {
        let chunk = Array(pairs[start..<Swift.min(start + batchSize, pairs.count)])
        let policy = try scorer.scores(of: chunk, model: model)
        let reference = objective.needsReference ? try scorer.referenceScores(of: chunk, model: model) : nil
        let values = try objective.loss(policy: policy, reference: reference).values()
        lossSum += values.loss * Double(chunk.count)
        for (k, metric) in values.metrics.enumerated() { sums[k] += metric.value }
        // [B] average completion log-probs; float32 -> float64 is exact, so the comparison is the tensor's.
        let chosen = try policy.chosenAverageLogps().to(dtype: .float64, device: .cpu).scalars(as: Double.self)
        let rejected = try policy.rejectedAverageLogps().to(dtype: .float64, device: .cpu).scalars(as: Double.self)
        for (index, pair) in chunk.enumerated() {
          accuracy.add(chosen: chosen[index], rejected: rejected[index], family: pair.family)
        }
        batches += 1
      }
      var values: [(String, Double)] = [("eval_loss", lossSum / Double(pairs.count))]
      for (name, sum) in zip(objective.metricNames, sums) { values.append(("eval_\(name)", sum / Double(batches))) }
      values.append(("eval_accuracy", accuracy.accuracy))
      return Result(values: values, accuracy: accuracy)
    }
  }
}

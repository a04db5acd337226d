// PreferenceEvaluation.swift — TRL's `evaluate()` for any objective: batches scored without a graph, eval_loss the
// pair-weighted mean of batch losses, every other metric the mean of batch means (TRL stores one value per batch),
// plus eval_accuracy (held-out preference accuracy). Used by the trainer and by `orpo evaluate`.
import Data
import Models
import Torch

public enum PreferenceEvaluation {
  /// `eval_loss`, `eval_<metric>` for each of the objective's metrics, and `eval_accuracy`: the fraction of pairs
  /// whose chosen answer has the higher average completion log-prob. Call with `model.training` off.
  public static func run(model: any CausalLanguageModel, pairs: [EncodedPair], scorer: PairScorer,
                         objective: any PreferenceObjective, batchSize: Int) throws -> [(String, Double)]
  {
    guard !pairs.isEmpty else { return [] }
    return try withNoGrad {
      var lossSum = 0.0, wins = 0, batches = 0
      var sums = [Double](repeating: 0, count: objective.metricNames.count)
      for start in stride(from: 0, to: pairs.count, by: batchSize) {
        let chunk = Array(pairs[start..<Swift.min(start + batchSize, pairs.count)])
        let policy = try scorer.scores(of: chunk, model: model)
        let reference = objective.needsReference ? try scorer.referenceScores(of: chunk, model: model) : nil
        let values = try objective.loss(policy: policy, reference: reference).values()
        lossSum += values.loss * Double(chunk.count)
        for (k, metric) in values.metrics.enumerated() { sums[k] += metric.value }
        wins += try policy.chosenAverageLogps().gt(policy.rejectedAverageLogps()).sum().itemInt()
        batches += 1
      }
      var values: [(String, Double)] = [("eval_loss", lossSum / Double(pairs.count))]
      for (name, sum) in zip(objective.metricNames, sums) { values.append(("eval_\(name)", sum / Double(batches))) }
      values.append(("eval_accuracy", Double(wins) / Double(pairs.count)))
      return values
    }
  }
}

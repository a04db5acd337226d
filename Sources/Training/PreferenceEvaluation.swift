// PreferenceEvaluation.swift — TRL's `evaluate()` for any objective: batches scored without a graph, eval_loss the
// pair-weighted mean of batch losses, every other metric the mean of batch means (TRL stores one value per batch),
// plus eval_accuracy (held-out preference accuracy). Used by the trainer and by `orpo evaluate`.
import Data
import Models
import Torch

public enum PreferenceEvaluation {
  /// `eval_loss`, `eval_<metric>` for each of the objective's metrics, and `eval_accuracy`: the fraction of pairs
  /// whose chosen answer has the higher average completion log-prob (left out for unpaired rows, KTO's). Call with
  /// `model.training` off. `referenceModel`: the frozen reference of a fully fine-tuned model, if any.
  public static func run(model: any CausalLanguageModel, pairs: [EncodedPair], scorer: PairScorer,
                         objective: any PreferenceObjective, batchSize: Int,
                         referenceModel: (any CausalLanguageModel)? = nil) throws -> [(String, Double)]
  {
    guard !pairs.isEmpty else { return [] }
    return try withNoGrad {
      var lossSum = 0.0, wins = 0, totals: [String: Double] = [:]
      var sums: [String: (sum: Double, batches: Int)] = [:]
      for start in stride(from: 0, to: pairs.count, by: batchSize) {
        let chunk = Array(pairs[start..<Swift.min(start + batchSize, pairs.count)])
        let policy = try scorer.scores(of: chunk, model: model, withStatistics: objective.needsStatistics)
        var reference: PairScores? = nil
        if objective.needsReference {
          reference = try referenceModel.map { try scorer.scores(of: chunk, model: $0) }
            ?? scorer.referenceScores(of: chunk, model: model)
        }
        let values = try objective.loss(policy: policy, reference: reference).values()
        lossSum += values.loss * Double(chunk.count)
        for metric in values.metrics {
          if objective.cumulativeMetricNames.contains(metric.name) {
            totals[metric.name, default: 0] += metric.value
          } else {
            sums[metric.name, default: (0, 0)].sum += metric.value
            sums[metric.name, default: (0, 0)].batches += 1
          }
        }
        wins += try policy.chosenAverageLogps().gt(policy.rejectedAverageLogps()).sum().itemInt()
      }
      var values: [(String, Double)] = [("eval_loss", lossSum / Double(pairs.count))]
      for name in objective.metricNames {
        if let total = totals[name] { values.append(("eval_\(name)", total)) }
        if let (sum, batches) = sums[name] { values.append(("eval_\(name)", sum / Double(batches))) }
      }
      if pairs.first?.desirable == nil { values.append(("eval_accuracy", Double(wins) / Double(pairs.count))) }
      return values
    }
  }
}

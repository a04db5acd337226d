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
  /// whose chosen answer has the higher average completion log-prob (left out for unpaired rows, KTO's). Call with
  /// `model.training` off. `referenceModel`: the frozen reference of a fully fine-tuned model, if any.
  public static func run(model: any CausalLanguageModel, pairs: [EncodedPair], scorer: PairScorer,
                         objective: any PreferenceObjective, batchSize: Int,
                         referenceModel: (any CausalLanguageModel)? = nil) throws -> [(String, Double)]
  {
    try evaluate(model: model, pairs: pairs, scorer: scorer, objective: objective, batchSize: batchSize,
                 referenceModel: referenceModel).values
  }

  /// `run`, keeping the accuracy tally overall and per `EncodedPair.family` (Evaluation's `PreferenceAccuracy`).
  /// A metric the objective leaves out of some batches (KTO's) is averaged over the batches that have it; a
  /// cumulative one (`num_tokens`) is the total.
  /// Data parallel: `shard` (index, count) scores batch k only in the process with index k mod count, and
  /// `sumAcrossShards` (an all-reduce) adds the processes' sums up, so every process returns the whole set's result.
  public static func evaluate(model: any CausalLanguageModel, pairs: [EncodedPair], scorer: PairScorer,
                              objective: any PreferenceObjective, batchSize: Int,
                              referenceModel: (any CausalLanguageModel)? = nil,
                              shard: (index: Int, count: Int) = (0, 1),
                              sumAcrossShards: (([Double]) throws -> [Double])? = nil) throws -> Result
  {
    guard !pairs.isEmpty else { return Result(values: [], accuracy: PreferenceAccuracy()) }
    return try withNoGrad {
      var lossSum = 0.0, totals: [String: Double] = [:]
      var sums: [String: (sum: Double, batches: Int)] = [:]
      var accuracy = PreferenceAccuracy()
      var wins = [Double](repeating: 0, count: sumAcrossShards == nil ? 0 : pairs.count)
      for (batch, start) in stride(from: 0, to: pairs.count, by: batchSize).enumerated()
      where batch % shard.count == shard.index {
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
        // [B] average completion log-probs; float32 -> float64 is exact, so the comparison is the tensor's.
        let chosen = try policy.chosenAverageLogps().to(dtype: .float64, device: .cpu).scalars(as: Double.self)
        let rejected = try policy.rejectedAverageLogps().to(dtype: .float64, device: .cpu).scalars(as: Double.self)
        for (index, pair) in chunk.enumerated() {
          accuracy.add(chosen: chosen[index], rejected: rejected[index], family: pair.family)
          if !wins.isEmpty {
            wins[start + index] = PreferenceAccuracy.prefersChosen(chosen: chosen[index], rejected: rejected[index]) ? 1 : 0
          }
        }
      }
      if let sumAcrossShards {
        // [loss sum, then per metric: sum, batches, total, batches with a total, then one win flag per pair]
        var local = [lossSum]
        for name in objective.metricNames {
          local += [sums[name]?.sum ?? 0, Double(sums[name]?.batches ?? 0), totals[name] ?? 0, totals[name] == nil ? 0 : 1]
        }
        let all = try sumAcrossShards(local + wins)
        lossSum = all[0]
        (sums, totals) = ([:], [:])
        for (k, name) in objective.metricNames.enumerated() {
          let v = all[(1 + 4 * k)..<(5 + 4 * k)].map { $0 }
          if v[1] > 0 { sums[name] = (v[0], Int(v[1])) }
          if v[3] > 0 { totals[name] = v[2] }
        }
        accuracy = PreferenceAccuracy()
        let flags = all.suffix(pairs.count)
        for (index, pair) in pairs.enumerated() { accuracy.add(won: flags[flags.startIndex + index] > 0, family: pair.family) }
      }
      var values: [(String, Double)] = [("eval_loss", lossSum / Double(pairs.count))]
      for name in objective.metricNames {
        if let total = totals[name] { values.append(("eval_\(name)", total)) }
        if let (sum, batches) = sums[name] { values.append(("eval_\(name)", sum / Double(batches))) }
      }
      // Unpaired rows (KTO) compare an answer with another prompt's: no preference accuracy.
      if pairs.first?.desirable == nil { values.append(("eval_accuracy", accuracy.accuracy)) }
      return Result(values: values, accuracy: accuracy)
    }
  }
}

// KTOLoss.swift — Kahneman-Tversky Optimization (Ethayarajh et al. 2024, arXiv 2402.01306) exactly as TRL 1.16's
// KTOTrainer computes it (trl/trainer/kto_trainer.py `_compute_loss`, loss_type kto), with its data preparation:
// preference pairs unpaired into desirable and undesirable rows (trl/data_utils.py `unpair_preference_dataset`),
// and the KL estimate's mismatched rows built by rotating the answers within each batch.
import Data
import Torch

/// A batch of unpaired rows scored as pairs: the chosen side holds each row's own answer, the rejected side the
/// answer of the previous row in its batch after that row's prompt (the mismatched pair that estimates the KL
/// term); `PairScores.desirable` says which rows are desirable.
/// Built from a recipe by `Objective` (the memberwise init, TRL's defaults).
public struct KTOLoss: PreferenceObjective {
  public var beta = 0.1
  public var desirableWeight = 1.0
  public var undesirableWeight = 1.0

  /// TRL's names in `_compute_loss`'s order. A batch without desirable (undesirable) rows has no `logits/chosen`,
  /// `rewards/chosen`, `logps/chosen` (…/rejected) and no `rewards/margins`; each is averaged over the batches
  /// that have it, as TRL does.
  public static let metricNames = [
    "kl", "entropy", "num_tokens", "logits/chosen", "logits/rejected", "rewards/chosen", "logps/chosen",
    "rewards/rejected", "logps/rejected", "rewards/margins",
  ]
  public var needsReference: Bool { true }
  public var needsStatistics: Bool { true }

  /// With r = log π(y|x) − log π_ref(y|x) (sums over the answer) and z = max(0, mean over the batch of the same
  /// log-ratio for mismatched (x, y')) — no gradient —:
  ///   desirable   w_d · (1 − σ(β (r − z)))
  ///   undesirable w_u · (1 − σ(β (z − r)))
  /// and the loss is their mean over the batch's rows.
  public func loss(policy: PairScores, reference: PairScores?) throws -> ObjectiveOutput {
    guard let reference else { throw TrainingError("KTO needs the reference model's scores") }
    guard let desirable = policy.desirable, let s = policy.statistics else {
      throw TrainingError("KTO needs unpaired rows (desirable flags) and the completion statistics")
    }
    let device = policy.chosenLogpSums.device
    let kl = try withNoGrad {
      try (policy.rejectedLogpSums.detached() - reference.rejectedLogpSums.detached()).mean().clamped(min: 0)
    }
    let ratios = try policy.chosenLogpSums - reference.chosenLogpSums.detached()               // [B]
    func rows(_ wanted: Bool) throws -> Tensor? {
      let picked = desirable.indices.filter { desirable[$0] == wanted }.map(Int64.init)
      return picked.isEmpty ? nil : try Tensor(picked).to(device)
    }
    let chosenRows = try rows(true), rejectedRows = try rows(false)
    var parts: [Tensor] = []
    if let chosenRows {
      parts.append(try (1.0 - ((ratios.indexSelect(0, chosenRows) - kl) * beta).sigmoid()) * desirableWeight)
    }
    if let rejectedRows {
      parts.append(try (1.0 - ((kl - ratios.indexSelect(0, rejectedRows)) * beta).sigmoid()) * undesirableWeight)
    }
    let loss = try Tensor.cat(parts, dim: 0).mean()

    var metrics: [(name: String, value: Tensor)] = []
    try withNoGrad {
      let tokens = try policy.chosenTokenCounts.sum()
      metrics.append(("kl", kl))
      metrics.append(("entropy", try s.chosenEntropySums.sum() / tokens))
      metrics.append(("num_tokens", try Tensor(scalar: Float(policy.chosenSequenceTokens)).to(device)))
      for (rowsOfKind, name) in [(chosenRows, "logits/chosen"), (rejectedRows, "logits/rejected")] {
        if let r = rowsOfKind {
          metrics.append((name, try s.chosenMeanLogitSums.indexSelect(0, r).sum() / policy.chosenTokenCounts.indexSelect(0, r).sum()))
        }
      }
      let rewards = try ratios.detached() * beta
      var rewardMeans: [Tensor] = []
      for (rowsOfKind, kind) in [(chosenRows, "chosen"), (rejectedRows, "rejected")] {
        guard let r = rowsOfKind else { continue }
        let reward = try rewards.indexSelect(0, r).mean()
        rewardMeans.append(reward)
        metrics.append(("rewards/\(kind)", reward))
        metrics.append(("logps/\(kind)", try policy.chosenLogpSums.detached().indexSelect(0, r).mean()))
      }
      if rewardMeans.count == 2 { metrics.append(("rewards/margins", try rewardMeans[0] - rewardMeans[1])) }
    }
    return ObjectiveOutput(loss: loss, metrics: metrics)
  }

  /// TRL's unpaired rows from preference pairs encoded with `.sft` tokenization and no truncation
  /// (`maxLength: Int.max`): per block of 1,000 pairs (the `datasets.map` batch), the desirable rows (prompt, chosen)
  /// then the undesirable ones (prompt, rejected); rows whose prompt fills `maxLength` dropped; then, per batch of
  /// `batchSize` consecutive rows, each row's mismatched answer is the previous row's (the first takes the last's);
  /// sequences cut to `maxLength`. The rows must be read in this order (TRL requires sequential sampling for KTO).
  public static func unpair(_ pairs: [EncodedPair], maxLength: Int, batchSize: Int) -> (rows: [EncodedPair], dropped: Int) {
    var examples: [(prompt: ArraySlice<Int>, answer: ArraySlice<Int>, desirable: Bool, family: String?)] = []
    var dropped = 0
    for start in stride(from: 0, to: pairs.count, by: 1000) {
      let block = pairs[start..<Swift.min(start + 1000, pairs.count)]
      for desirable in [true, false] {
        for pair in block {
          let ids = desirable ? pair.chosenIDs : pair.rejectedIDs
          let promptLength = desirable ? pair.chosenPromptLength : pair.rejectedPromptLength
          if promptLength >= maxLength { dropped += 1; continue }
          examples.append((ids[..<promptLength], ids[promptLength...], desirable, pair.family))
        }
      }
    }
    var rows: [EncodedPair] = []
    rows.reserveCapacity(examples.count)
    for start in stride(from: 0, to: examples.count, by: batchSize) {
      let batch = Array(examples[start..<Swift.min(start + batchSize, examples.count)])
      for (i, example) in batch.enumerated() {
        let mismatched = batch[(i + batch.count - 1) % batch.count].answer
        func sequence(_ answer: ArraySlice<Int>) -> (ids: [Int], labels: [Int]) {
          let ids = Array((example.prompt + answer).prefix(maxLength))
          return (ids, ids.indices.map { $0 < example.prompt.count ? -100 : ids[$0] })
        }
        let own = sequence(example.answer), other = sequence(mismatched)
        rows.append(EncodedPair(chosenIDs: own.ids, chosenLabels: own.labels, rejectedIDs: other.ids,
                                rejectedLabels: other.labels, chosenPromptLength: example.prompt.count,
                                rejectedPromptLength: example.prompt.count, desirable: example.desirable,
                                family: example.family))
      }
    }
    return (rows, dropped)
  }
}

// ORPOEvaluation.swift — one forward of ORPO over a batch of pairs (padded like TRL, or packed with prompt
// sharing), and TRL's evaluation loop over a data set; used by the trainer and by `orpo evaluate`.
import Data
import Models
import Torch

public enum ORPOEvaluation {
  public enum Collation {
    case padded(PairCollator)
    case packed(PackedPairCollator)
  }

  public static func forward(model: any CausalLanguageModel, pairs: [EncodedPair], loss: ORPOLoss, collate: Collation) throws
    -> (loss: Tensor, metrics: ORPOMetrics, chosenLogps: Tensor, rejectedLogps: Tensor)
  {
    switch collate {
    case .packed(let collator):
      let batch = try collator(pairs)
      let hidden = try model.hiddenStates(inputIDs: batch.inputIDs, positions: batch.positions, blockMask: batch.mask)
      let logits = try model.lmHead(hidden.squeezed(0), training: model.training)  // [N, V]
      return try loss.evaluate(packedLogits: logits, batch: batch)
    case .padded(let collator):
      let batch = try collator(pairs)
      let logits = try model(batch.inputIDs, attentionMask: batch.attentionMask)  // [2B, T, V]
      return try loss.evaluate(logits: logits, batch: batch)
    }
  }

  /// TRL's `evaluate()`: eval_loss is the pair-weighted mean of batch losses, the other metrics the mean of batch
  /// means (TRL stores one value per batch). Adds `eval_accuracy`: the fraction of pairs whose chosen average
  /// log-prob beats the rejected one (held-out preference accuracy). Runs without a graph.
  public static func run(model: any CausalLanguageModel, pairs: [EncodedPair], loss: ORPOLoss, batchSize: Int,
                         paddingFree: Bool, padTokenID: Int) throws -> [(String, Double)]
  {
    guard !pairs.isEmpty else { return [] }
    let collate: Collation = paddingFree
      ? .packed(PackedPairCollator(vocabularySize: model.config.vocabSize, device: model.device, promptLoss: loss.promptLoss))
      : .padded(PairCollator(padTokenID: padTokenID, device: model.device))
    return try withNoGrad {
      var lossSum = 0.0, wins = 0, batches = 0
      var sums: [String: Double] = [:]
      for start in stride(from: 0, to: pairs.count, by: batchSize) {
        let chunk = Array(pairs[start..<Swift.min(start + batchSize, pairs.count)])
        let r = try forward(model: model, pairs: chunk, loss: loss, collate: collate)
        lossSum += r.metrics.loss * Double(chunk.count)
        wins += try r.chosenLogps.gt(r.rejectedLogps).sum().itemInt()
        for (name, value) in r.metrics.named { sums[name, default: 0] += value }
        batches += 1
      }
      var values: [(String, Double)] = [("eval_loss", lossSum / Double(pairs.count))]
      for (name, _) in ORPOMetrics().named { values.append(("eval_\(name)", sums[name]! / Double(batches))) }
      values.append(("eval_accuracy", Double(wins) / Double(pairs.count)))
      return values
    }
  }
}

// PaddedPairs.swift — TRL's padded batch and its scores: DPODataCollatorWithPadding followed by
// ORPOTrainer.concatenated_inputs (right padding: ids -> pad id, mask -> 0, labels -> -100; chosen rows first),
// then get_batch_logps and the chosen NLL of concatenated_forward (trl/experimental/orpo/orpo_trainer.py).
import Data
import Torch

/// One batch of preference pairs, chosen rows first: rows 0..<pairs are chosen, pairs..<2·pairs rejected
/// (TRL's `concatenated_inputs`), right-padded to a common length.
public struct PairBatch {
  public var inputIDs: Tensor       // [2B, T] int64
  public var attentionMask: Tensor  // [2B, T] int64, 1 = real token
  public var labels: Tensor         // [2B, T] int64, -100 over prompt and padding
  public var pairs: Int
  /// Real (non-pad) tokens in the batch, for throughput figures.
  public var realTokens: Int

  public init(inputIDs: Tensor, attentionMask: Tensor, labels: Tensor, pairs: Int, realTokens: Int) {
    self.inputIDs = inputIDs
    self.attentionMask = attentionMask
    self.labels = labels
    self.pairs = pairs
    self.realTokens = realTokens
  }
}

public struct PairCollator {
  public let padTokenID: Int
  public let device: Device

  public init(padTokenID: Int, device: Device = .cpu) {
    self.padTokenID = padTokenID
    self.device = device
  }

  public func callAsFunction(_ pairs: [EncodedPair]) throws -> PairBatch {
    let rows = pairs.map(\.chosenIDs) + pairs.map(\.rejectedIDs)
    let labels = pairs.map(\.chosenLabels) + pairs.map(\.rejectedLabels)
    let length = rows.map(\.count).max() ?? 0
    var ids = [Int64](), mask = [Int64](), lab = [Int64]()
    ids.reserveCapacity(rows.count * length)
    for (row, label) in zip(rows, labels) {
      let pad = length - row.count
      ids += row.map(Int64.init) + Array(repeating: Int64(padTokenID), count: pad)
      mask += Array(repeating: 1, count: row.count) + Array(repeating: 0, count: pad)
      lab += label.map(Int64.init) + Array(repeating: -100, count: pad)
    }
    let shape = [rows.count, length]
    return PairBatch(inputIDs: try Tensor(ids, shape: shape).to(device),
                     attentionMask: try Tensor(mask, shape: shape).to(device),
                     labels: try Tensor(lab, shape: shape).to(device),
                     pairs: pairs.count, realTokens: rows.reduce(0) { $0 + $1.count })
  }
}

extension PairScores {
  /// Scores from the model's logits [2B, T, V] over `batch`. The chosen NLL covers every non-pad predicted token
  /// when `promptLoss` (TRL: labels = input ids wherever attention_mask is 1), else the completion tokens only.
  public init(paddedLogits logits: Tensor, batch: PairBatch, promptLoss: Bool) throws {
    let b = batch.pairs
    let t = logits.size(1)
    // Shift: position i predicts token i+1.  [2B, T-1, V]
    let shifted = try logits.narrow(1, start: 0, length: t - 1)
    let next = try batch.inputIDs.narrow(1, start: 1, length: t - 1)                    // [2B, T-1]
    let completionMask = try batch.labels.narrow(1, start: 1, length: t - 1).ne(-100)  // [2B, T-1]
    // log p(next token) = logit[next] − logsumexp(logits): one pass serves the NLL and the completion sums.
    let tokenLogps = try shifted.gather(2, next.unsqueezed(-1)).squeezed(-1)
      - shifted.to(dtype: .float32).logSumExp(dim: -1).to(dtype: shifted.dtype)         // [2B, T-1]
    let logps32 = try tokenLogps.to(dtype: .float32)
    let completion = try completionMask.to(dtype: .float32)
    let sums = try (logps32 * completion).sum(dim: 1)                                    // [2B]
    let counts = try completion.sum(dim: 1)                                              // [2B]
    let nllMask = try promptLoss
      ? batch.attentionMask.narrow(1, start: 1, length: t - 1).narrow(0, start: 0, length: b).to(dtype: .float32)
      : completion.narrow(0, start: 0, length: b)                                        // [B, T-1]
    let (chosenLogitSum, rejectedLogitSum) = try withNoGrad {
      (try shifted.narrow(0, start: 0, length: b).to(dtype: .float32).sum(),
       try shifted.narrow(0, start: b, length: b).to(dtype: .float32).sum())
    }
    let allPositions = try withNoGrad {
      (try logits.narrow(0, start: 0, length: b).to(dtype: .float32).mean(),
       try logits.narrow(0, start: b, length: b).to(dtype: .float32).mean())
    }
    let logitsPerRow = (t - 1) * logits.size(2)
    self.init(chosenLogpSums: try sums.narrow(0, start: 0, length: b),
              rejectedLogpSums: try sums.narrow(0, start: b, length: b),
              chosenTokenCounts: try counts.narrow(0, start: 0, length: b),
              rejectedTokenCounts: try counts.narrow(0, start: b, length: b),
              chosenNLLLogpSum: try (logps32.narrow(0, start: 0, length: b) * nllMask).sum(),
              chosenNLLTokenCount: try nllMask.sum(),
              chosenLogitSum: chosenLogitSum, rejectedLogitSum: rejectedLogitSum,
              chosenLogitCount: b * logitsPerRow, rejectedLogitCount: b * logitsPerRow, pairs: b)
    allPositionLogitMeans = allPositions
  }
}

extension CompletionStatistics {
  /// From the padded batch's logits [2B, T, V]: each statistic summed over each row's completion tokens.
  init(paddedLogits logits: Tensor, batch: PairBatch) throws {
    let b = batch.pairs, t = logits.size(1)
    let (entropy, meanLogit, argmax) = try Self.positions(logits.narrow(1, start: 0, length: t - 1))  // [2B, T-1]
    let sums: (Tensor, Tensor, Tensor) = try withNoGrad {
      let completion = try batch.labels.narrow(1, start: 1, length: t - 1).ne(-100).to(dtype: .float32)
      let top1 = try argmax.eq(batch.inputIDs.narrow(1, start: 1, length: t - 1)).to(dtype: .float32)
      return (try (entropy * completion).sum(dim: 1), try (meanLogit * completion).sum(dim: 1),
              try (top1 * completion).sum(dim: 1))                                                       // [2B]
    }
    self.init(chosenEntropySums: try sums.0.narrow(0, start: 0, length: b),
              rejectedEntropySums: try sums.0.narrow(0, start: b, length: b),
              chosenMeanLogitSums: try sums.1.narrow(0, start: 0, length: b),
              rejectedMeanLogitSums: try sums.1.narrow(0, start: b, length: b),
              chosenTop1Counts: try sums.2.narrow(0, start: 0, length: b),
              rejectedTop1Counts: try sums.2.narrow(0, start: b, length: b))
  }
}

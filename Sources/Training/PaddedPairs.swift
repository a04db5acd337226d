// PaddedPairs.swift — TRL's padded batch and its scores: DPODataCollatorWithPadding followed by
// ORPOTrainer.concatenated_inputs (right padding: ids -> pad id, mask -> 0, labels -> -100; chosen rows first),
// then get_batch_logps and the chosen NLL of concatenated_forward (trl/experimental/orpo/orpo_trainer.py).
import Data
import Models
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
  /// `inputIDs` as the host built them (the fused loss's targets), so that scoring reads nothing back from the device.
  var hostInputIDs: [Int64]? = nil
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
    // Ids, mask and labels go to the device in one transfer, queued without waiting for the device.
    let all = try Tensor(ids + mask + lab, on: device), shape = [rows.count, length]
    func part(_ k: Int) throws -> Tensor { try all.narrow(0, start: k * ids.count, length: ids.count).view(shape) }
    return PairBatch(inputIDs: try part(0), attentionMask: try part(1), labels: try part(2), pairs: pairs.count,
                     realTokens: rows.reduce(0) { $0 + $1.count }, hostInputIDs: ids)
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
    // log p(next token) = logit[next] − logsumexp(logits): one pass serves the NLL and the completion sums.
    let tokenLogps = try shifted.gather(2, next.unsqueezed(-1)).squeezed(-1)
      - shifted.to(dtype: .float32).logSumExp(dim: -1).to(dtype: shifted.dtype)         // [2B, T-1]
    let (chosenLogitSum, rejectedLogitSum) = try withNoGrad {
      (try shifted.narrow(0, start: 0, length: b).to(dtype: .float32).sum(),
       try shifted.narrow(0, start: b, length: b).to(dtype: .float32).sum())
    }
    let allPositions = try withNoGrad {
      (try logits.narrow(0, start: 0, length: b).to(dtype: .float32).mean(),
       try logits.narrow(0, start: b, length: b).to(dtype: .float32).mean())
    }
    try self.init(padded: batch, tokenLogps: try tokenLogps.to(dtype: .float32), promptLoss: promptLoss,
                  logitSums: (chosenLogitSum, rejectedLogitSum), logitsPerRow: (t - 1) * logits.size(2),
                  allPositionLogitMeans: allPositions)
  }

  /// Scores from the final hidden states [2B, T, C], the logits computed `chunkSize` positions at a time
  /// (FusedLogProbabilities.swift); with `statistics`, the completion statistics from the same pass.
  init(paddedHidden hidden: Tensor, model: any CausalLanguageModel, batch: PairBatch, promptLoss: Bool,
       chunkSize: Int, statistics: Bool) throws
  {
    let b = batch.pairs, t = hidden.size(1), vocabulary = model.config.vocabSize
    let ids = try batch.hostInputIDs ?? batch.inputIDs.to(dtype: .int64).scalars(as: Int64.self)  // [2B·T]
    func predictions(rows: Range<Int>) -> TokenPredictions {
      var p = TokenPredictions(sources: [], targets: [])
      for r in rows {
        for i in 0..<(t - 1) {
          p.sources.append(r * t + i)
          p.targets.append(Int(ids[r * t + i + 1]))
        }
      }
      return p
    }
    let fused = try FusedLogProbabilities(hidden: hidden.reshape([2 * b * t, hidden.size(2)]), model: model,
                                          predictions: [predictions(rows: 0..<b), predictions(rows: b..<(2 * b))],
                                          chunkSize: chunkSize, statistics: statistics, roundToLogitsDType: true)
    let tokenLogps = try Tensor.cat(fused.logps).view([2 * b, t - 1])                    // [2B, T-1]
    let means = try fused.meanLogits.view([2 * b, t])                                    // [2B, T]
    let (logitSums, allPositions) = try withNoGrad {
      let shifted = try means.narrow(1, start: 0, length: t - 1)
      return ((try shifted.narrow(0, start: 0, length: b).sum() * Double(vocabulary),
               try shifted.narrow(0, start: b, length: b).sum() * Double(vocabulary)),
              (try means.narrow(0, start: 0, length: b).mean(), try means.narrow(0, start: b, length: b).mean()))
    }
    try self.init(padded: batch, tokenLogps: tokenLogps, promptLoss: promptLoss, logitSums: logitSums,
                  logitsPerRow: (t - 1) * vocabulary, allPositionLogitMeans: allPositions)
    if let entropy = fused.entropy, let argmax = fused.argmax {
      func shifted(_ x: Tensor) throws -> Tensor { try x.view([2 * b, t]).narrow(1, start: 0, length: t - 1) }
      self.statistics = try CompletionStatistics(padded: batch, entropy: shifted(entropy), meanLogit: shifted(means),
                                            argmax: shifted(argmax))
    }
  }

  /// From each position's log-prob of the next token [2B, T-1] (float32, with the graph), the Σ of the chosen
  /// (rejected) rows' predicting logits, and the mean logit over all their positions (detached).
  init(padded batch: PairBatch, tokenLogps logps32: Tensor, promptLoss: Bool, logitSums: (Tensor, Tensor),
       logitsPerRow: Int, allPositionLogitMeans allPositions: (Tensor, Tensor)) throws
  {
    let b = batch.pairs
    let t = batch.inputIDs.size(1)
    let completionMask = try batch.labels.narrow(1, start: 1, length: t - 1).ne(-100)  // [2B, T-1]
    let completion = try completionMask.to(dtype: .float32)
    let sums = try (logps32 * completion).sum(dim: 1)                                    // [2B]
    let counts = try completion.sum(dim: 1)                                              // [2B]
    let nllMask = try promptLoss
      ? batch.attentionMask.narrow(1, start: 1, length: t - 1).narrow(0, start: 0, length: b).to(dtype: .float32)
      : completion.narrow(0, start: 0, length: b)                                        // [B, T-1]
    self.init(chosenLogpSums: try sums.narrow(0, start: 0, length: b),
              rejectedLogpSums: try sums.narrow(0, start: b, length: b),
              chosenTokenCounts: try counts.narrow(0, start: 0, length: b),
              rejectedTokenCounts: try counts.narrow(0, start: b, length: b),
              chosenNLLLogpSum: try (logps32.narrow(0, start: 0, length: b) * nllMask).sum(),
              chosenNLLTokenCount: try nllMask.sum(),
              chosenLogitSum: logitSums.0, rejectedLogitSum: logitSums.1,
              chosenLogitCount: b * logitsPerRow, rejectedLogitCount: b * logitsPerRow, pairs: b)
    allPositionLogitMeans = allPositions
  }
}

extension CompletionStatistics {
  /// From the padded batch's logits [2B, T, V]: each statistic summed over each row's completion tokens.
  init(paddedLogits logits: Tensor, batch: PairBatch) throws {
    let t = logits.size(1)
    let (entropy, meanLogit, argmax) = try Self.positions(logits.narrow(1, start: 0, length: t - 1))  // [2B, T-1]
    try self.init(padded: batch, entropy: entropy, meanLogit: meanLogit, argmax: argmax)
  }

  /// From each predicting position's entropy, mean logit and arg-max ([2B, T-1] each, detached).
  init(padded batch: PairBatch, entropy: Tensor, meanLogit: Tensor, argmax: Tensor) throws {
    let b = batch.pairs, t = batch.inputIDs.size(1)
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

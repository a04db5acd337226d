// PackedPairs.swift — prompt-prefix sharing without padding. Each pair becomes one segment
// [shared prefix | chosen tail | rejected tail] of a single packed row; RoPE positions restart per branch and a
// block mask lets each branch see only the shared prefix and itself. The prompt is computed once per pair, no pad
// position is computed at all, and neither is a tail's last token (it predicts nothing and nothing attends to it).
// Log-probs are gathered by (source position, target token), so the scores (and every loss, NLL and gradient built
// on them) are those of TRL's padded batch; logits/* average over real tokens only.
import Data
import Foundation
import Models
import Torch

public struct PackedPairBatch {
  public var inputIDs: Tensor     // [1, N]
  public var positions: Tensor    // [1, N]
  /// One diagonal block per pair: its queries see the shared prefix and their own branch, never after themselves.
  public var blocks: BlockDiagonalMask
  /// One entry per predicted token of the chosen (rejected) sequences: packed source position, target id, pair,
  /// whether it is a completion label, whether it counts in the NLL.
  public var chosen: Predictions
  public var rejected: Predictions
  public var pairs: Int
  public var realTokens: Int
  public var packedTokens: Int

  public struct Predictions {
    public var source: Tensor   // [M] int64
    public var flatIndex: Tensor  // [M] int64: source * V + target
    public var target: Tensor   // [M] int64
    public var pair: Tensor     // [M] int64
    public var label: Tensor    // [M] f32, 1 = completion token
    public var nll: Tensor      // [M] f32, 1 = counts in the NLL
    public var labelCounts: Tensor  // [B] f32
    /// Predicted tokens (M).
    public var count: Int
    /// `source` and `target` on the host, for the fused loss's chunking (sources never decrease).
    var predictions: TokenPredictions
  }
}

public struct PackedPairCollator {
  public let vocabularySize: Int
  public let device: Device
  /// Which chosen tokens count in the NLL: every predicted one (TRL) or the completion only.
  public let promptLoss: Bool

  public init(vocabularySize: Int, device: Device = .cpu, promptLoss: Bool = true) {
    self.vocabularySize = vocabularySize
    self.device = device
    self.promptLoss = promptLoss
  }

  public func callAsFunction(_ pairs: [EncodedPair]) throws -> PackedPairBatch {
    var ids: [Int64] = [], positions: [Int64] = [], part: [Int64] = [], lengths: [Int] = []
    var c = PredictionBuilder(), r = PredictionBuilder()
    for (p, pair) in pairs.enumerated() {
      let chosen = pair.chosenIDs, rejected = pair.rejectedIDs
      let shared = pair.sharedPrefixLength
      let base = ids.count
      func append(_ tokens: ArraySlice<Int>, from start: Int, part kind: Int64) {
        for (k, t) in tokens.enumerated() {
          ids.append(Int64(t))
          positions.append(Int64(start + k))
          part.append(kind)
        }
      }
      // A tail's last token predicts nothing and no other position sees it (the other branch never does): it is
      // left out. A prefix token stays, whichever sequence it ends: the other branch sees it.
      let chosenTail = chosen[shared..<max(shared, chosen.count - 1)]
      let rejectedTail = rejected[shared..<max(shared, rejected.count - 1)]
      append(chosen[..<shared], from: 0, part: 0)
      append(chosenTail, from: shared, part: 1)
      append(rejectedTail, from: shared, part: 2)
      lengths.append(ids.count - base)
      let chosenTailStart = base + shared
      let rejectedTailStart = chosenTailStart + chosenTail.count
      for i in 0..<(chosen.count - 1) {
        let isLabel = pair.chosenLabels[i + 1] != -100
        c.add(source: i < shared ? base + i : chosenTailStart + (i - shared), target: chosen[i + 1], pair: p,
              label: isLabel, nll: promptLoss || isLabel, vocabulary: vocabularySize)
      }
      // A pair without a rejected answer (SFT scores the chosen ones only) adds nothing here.
      for i in stride(from: 0, to: rejected.count - 1, by: 1) {
        let isLabel = pair.rejectedLabels[i + 1] != -100
        r.add(source: i < shared ? base + i : rejectedTailStart + (i - shared), target: rejected[i + 1], pair: p,
              label: isLabel, nll: false, vocabulary: vocabularySize)
      }
    }
    let n = ids.count
    // Ids, positions, branch tags and both prediction tables go to the device in one transfer, queued without waiting
    // for the device (`Tensor(_:on:)`); each pair's block mask is built there.
    let all = try Tensor(ids + positions + part + c.packed(pairs: pairs.count) + r.packed(pairs: pairs.count), on: device)
    let row = try all.narrow(0, start: 0, length: 3 * n).view([3, n])
    let posT = try row.select(0, 1), partT = try row.select(0, 2)
    var start = 0
    let blocks = try lengths.map { length -> BlockDiagonalMask.Block in
      defer { start += length }
      return try Self.block(positions: posT.narrow(0, start: start, length: length),
                            branches: partT.narrow(0, start: start, length: length))
    }
    return PackedPairBatch(
      inputIDs: try row.select(0, 0).view([1, n]), positions: try posT.view([1, n]),
      blocks: BlockDiagonalMask(blocks: blocks), chosen: try c.build(from: all, at: 3 * n, pairs: pairs.count),
      rejected: try r.build(from: all, at: 3 * n + c.packedCount(pairs: pairs.count), pairs: pairs.count),
      pairs: pairs.count,
      realTokens: pairs.reduce(0) { $0 + $1.tokenCount }, packedTokens: n)
  }

  /// One pair's block from its positions and branch tags ([L] each, on the device; 0 the shared prefix, 1 chosen,
  /// 2 rejected): query q may see key k where k is not after q and lies in the shared prefix or in q's own branch.
  static func block(positions pos: Tensor, branches tag: Tensor) throws -> BlockDiagonalMask.Block {
    let length = pos.size(0)
    let notAfter = try pos.unsqueezed(0).le(pos.unsqueezed(1))
    let branch = try tag.unsqueezed(0).eq(0).logicalOr(tag.unsqueezed(0).eq(tag.unsqueezed(1)))
    return .init(length: length, mask: try notAfter.logicalAnd(branch).view([1, 1, length, length]), positions: pos)
  }
}

private struct PredictionBuilder {
  var source: [Int64] = [], flat: [Int64] = [], target: [Int64] = [], pair: [Int64] = [], label: [Int64] = []
  var nll: [Int64] = []

  mutating func add(source s: Int, target: Int, pair p: Int, label l: Bool, nll n: Bool, vocabulary: Int) {
    source.append(Int64(s))
    flat.append(Int64(s) * Int64(vocabulary) + Int64(target))
    self.target.append(Int64(target))
    pair.append(Int64(p))
    label.append(l ? 1 : 0)
    nll.append(n ? 1 : 0)
  }

  /// The table as one int64 run: source, flat index, target, pair, label and NLL flags (M each), then each pair's
  /// label count.
  func packed(pairs: Int) -> [Int64] {
    var counts = [Int64](repeating: 0, count: pairs)
    for (p, l) in zip(pair, label) { counts[Int(p)] += l }
    return source + flat + target + pair + label + nll + counts
  }

  func packedCount(pairs: Int) -> Int { 6 * source.count + pairs }

  /// The table from `packed`'s run, found at `offset` in `all` (on the device): views, the flags made float there.
  func build(from all: Tensor, at offset: Int, pairs: Int) throws -> PackedPairBatch.Predictions {
    let m = source.count
    func column(_ k: Int, length: Int? = nil) throws -> Tensor { try all.narrow(0, start: offset + k * m, length: length ?? m) }
    return .init(source: try column(0), flatIndex: try column(1), target: try column(2), pair: try column(3),
                 label: try column(4).to(dtype: .float32), nll: try column(5).to(dtype: .float32),
                 labelCounts: try column(6, length: pairs).to(dtype: .float32), count: m,
                 predictions: TokenPredictions(sources: source.map { Int($0) }, targets: target.map { Int($0) }))
  }
}

extension PairScores {
  /// Scores from the packed row's logits [N, V]. The NLL tokens were chosen by the collator (`promptLoss`).
  public init(packedLogits logits: Tensor, batch: PackedPairBatch) throws {
    let lse = try logits.to(dtype: .float32).logSumExp(dim: -1)                       // [N]
    let flat = try logits.to(dtype: .float32).view([-1])
    func tokenLogps(_ p: PackedPairBatch.Predictions) throws -> Tensor {
      try flat.indexSelect(0, p.flatIndex) - lse.indexSelect(0, p.source)              // [M]
    }
    // logits/*: the mean over predicting positions of each position's mean logit (real positions only).
    let meanLogits = try withNoGrad { try logits.detached().to(dtype: .float32).mean(dim: -1) }  // [N]
    try self.init(packed: batch, chosenTokenLogps: try tokenLogps(batch.chosen),
                  rejectedTokenLogps: try tokenLogps(batch.rejected), meanLogits: meanLogits)
  }

  /// Scores from the packed row's final hidden states [N, C], the logits computed `chunkSize` positions at a time
  /// (FusedLogProbabilities.swift); with `statistics`, the completion statistics from the same pass.
  init(packedHidden hidden: Tensor, model: any CausalLanguageModel, batch: PackedPairBatch, chunkSize: Int,
       statistics: Bool) throws
  {
    let fused = try FusedLogProbabilities(hidden: hidden, model: model,
                                          predictions: [batch.chosen.predictions, batch.rejected.predictions],
                                          chunkSize: chunkSize, statistics: statistics, roundToLogitsDType: false)
    try self.init(packed: batch, chosenTokenLogps: fused.logps[0], rejectedTokenLogps: fused.logps[1],
                  meanLogits: fused.meanLogits)
    if let entropy = fused.entropy, let argmax = fused.argmax {
      self.statistics = try CompletionStatistics(packed: batch, entropy: entropy, meanLogit: fused.meanLogits,
                                                 argmax: argmax)
    }
  }

  /// From each prediction's log-prob ([M] per side) and each position's mean logit ([N], detached).
  init(packed batch: PackedPairBatch, chosenTokenLogps chosenTokens: Tensor, rejectedTokenLogps rejectedTokens: Tensor,
       meanLogits: Tensor) throws
  {
    func completionSums(_ p: PackedPairBatch.Predictions, _ logps: Tensor) throws -> Tensor {
      try Tensor.zeros([batch.pairs], device: logps.device).scatterAdd(0, p.pair, logps * p.label)  // [B]
    }
    let (chosenLogitSum, rejectedLogitSum) = try withNoGrad {
      (try meanLogits.indexSelect(0, batch.chosen.source).sum(), try meanLogits.indexSelect(0, batch.rejected.source).sum())
    }
    self.init(chosenLogpSums: try completionSums(batch.chosen, chosenTokens),
              rejectedLogpSums: try completionSums(batch.rejected, rejectedTokens),
              chosenTokenCounts: batch.chosen.labelCounts, rejectedTokenCounts: batch.rejected.labelCounts,
              chosenNLLLogpSum: try (chosenTokens * batch.chosen.nll).sum(),
              chosenNLLTokenCount: try batch.chosen.nll.sum(),
              chosenLogitSum: chosenLogitSum, rejectedLogitSum: rejectedLogitSum,
              chosenLogitCount: batch.chosen.count, rejectedLogitCount: batch.rejected.count, pairs: batch.pairs)
  }
}

extension CompletionStatistics {
  /// From the packed row's logits [N, V]: each statistic of a predicting position, summed per pair over the
  /// completion tokens.
  init(packedLogits logits: Tensor, batch: PackedPairBatch) throws {
    let (entropy, meanLogit, argmax) = try Self.positions(logits)                                        // [N]
    try self.init(packed: batch, entropy: entropy, meanLogit: meanLogit, argmax: argmax)
  }

  /// From each position's entropy, mean logit and arg-max ([N] each, detached).
  init(packed batch: PackedPairBatch, entropy: Tensor, meanLogit: Tensor, argmax: Tensor) throws {
    func sums(_ p: PackedPairBatch.Predictions) throws -> (Tensor, Tensor, Tensor) {
      try withNoGrad {
        func perPair(_ values: Tensor) throws -> Tensor {
          try Tensor.zeros([batch.pairs], device: values.device).scatterAdd(0, p.pair, values * p.label)  // [B]
        }
        let top1 = try argmax.indexSelect(0, p.source).eq(p.target).to(dtype: .float32)
        return (try perPair(entropy.indexSelect(0, p.source)), try perPair(meanLogit.indexSelect(0, p.source)),
                try perPair(top1))
      }
    }
    let c = try sums(batch.chosen), r = try sums(batch.rejected)
    self.init(chosenEntropySums: c.0, rejectedEntropySums: r.0, chosenMeanLogitSums: c.1, rejectedMeanLogitSums: r.1,
              chosenTop1Counts: c.2, rejectedTop1Counts: r.2)
  }
}

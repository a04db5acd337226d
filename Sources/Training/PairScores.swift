// PairScores.swift — what one forward over a batch of preference pairs yields, whatever the layout (TRL's padded
// batch in PaddedPairs.swift, prompt sharing in PackedPairs.swift), and the scorer that runs that forward.
// Objectives (Objective.swift) are arithmetic on these numbers; nothing downstream sees logits or masks.
import Data
import Models
import Torch

/// Per-pair completion log-likelihoods and the chosen sequences' NLL terms of one batch, in float32.
/// Sums and counts are kept apart so that each objective picks its own normalisation (ORPO and SimPO average per
/// token, DPO sums); TRL's `get_batch_logps(average_log_prob=True)` is `logpSums / tokenCounts`.
public struct PairScores {
  /// Σ log p(token) over each pair's completion tokens (labels != -100; template suffix and appended EOS included).
  /// [B] float32, with the graph.
  public var chosenLogpSums: Tensor
  public var rejectedLogpSums: Tensor
  /// How many completion tokens each pair has. [B] float32.
  public var chosenTokenCounts: Tensor
  public var rejectedTokenCounts: Tensor
  /// Σ log p over the chosen sequences' NLL tokens — prompt + completion (TRL), or the completion only (the
  /// paper's `disable_prompt_loss`): the scorer decides which. Scalar float32, with the graph.
  public var chosenNLLLogpSum: Tensor
  /// How many tokens that sum covers. Scalar float32.
  public var chosenNLLTokenCount: Tensor
  /// Σ of the raw logits over the chosen (rejected) rows' predicting positions and the whole vocabulary, and how
  /// many values that is: TRL's `logits/chosen` and `logits/rejected` are `sum / count`. Scalar float32, detached.
  public var chosenLogitSum: Tensor
  public var rejectedLogitSum: Tensor
  public var chosenLogitCount: Int
  public var rejectedLogitCount: Int
  /// Pairs in the batch (B).
  public var pairs: Int
  /// Real tokens of the chosen (rejected) sequences, prompt included: what TRL's `num_tokens` counts.
  public var chosenSequenceTokens = 0
  public var rejectedSequenceTokens = 0
  /// TRL 1.16's per-token completion statistics, when the scorer was asked for them (`withStatistics`).
  public var statistics: CompletionStatistics?
  /// For unpaired data (KTO): whether each row's chosen-side completion is desirable. nil for preference pairs.
  public var desirable: [Bool]?
  /// The mean raw logit over *every* position of the padded chosen (rejected) rows, the last included: TRL's CPO
  /// logs that as logits/* (ORPO leaves the last position out). Scalars, detached; nil for the packed layout,
  /// where CPO's logits/* fall back to `chosenMeanLogit()` over real predicting positions.
  public var allPositionLogitMeans: (chosen: Tensor, rejected: Tensor)?

  public init(chosenLogpSums: Tensor, rejectedLogpSums: Tensor, chosenTokenCounts: Tensor, rejectedTokenCounts: Tensor,
              chosenNLLLogpSum: Tensor, chosenNLLTokenCount: Tensor, chosenLogitSum: Tensor, rejectedLogitSum: Tensor,
              chosenLogitCount: Int, rejectedLogitCount: Int, pairs: Int)
  {
    self.chosenLogpSums = chosenLogpSums
    self.rejectedLogpSums = rejectedLogpSums
    self.chosenTokenCounts = chosenTokenCounts
    self.rejectedTokenCounts = rejectedTokenCounts
    self.chosenNLLLogpSum = chosenNLLLogpSum
    self.chosenNLLTokenCount = chosenNLLTokenCount
    self.chosenLogitSum = chosenLogitSum
    self.rejectedLogitSum = rejectedLogitSum
    self.chosenLogitCount = chosenLogitCount
    self.rejectedLogitCount = rejectedLogitCount
    self.pairs = pairs
  }

  /// Reference scores known ahead (`precompute_ref_log_probs`): the completion sums only, everything else zero.
  public init(reference chosen: [Float], rejected: [Float], device: Device) throws {
    let zero = try Tensor.zeros([], device: device)
    self.init(chosenLogpSums: try Tensor(chosen).to(device), rejectedLogpSums: try Tensor(rejected).to(device),
              chosenTokenCounts: try Tensor.zeros([chosen.count], device: device),
              rejectedTokenCounts: try Tensor.zeros([rejected.count], device: device), chosenNLLLogpSum: zero,
              chosenNLLTokenCount: zero, chosenLogitSum: zero, rejectedLogitSum: zero, chosenLogitCount: 0,
              rejectedLogitCount: 0, pairs: chosen.count)
  }

  /// Mean log-prob per completion token of each chosen answer (TRL's `chosen_logps`). [B]
  public func chosenAverageLogps() throws -> Tensor { try chosenLogpSums / chosenTokenCounts }
  /// The same for the rejected answers. [B]
  public func rejectedAverageLogps() throws -> Tensor { try rejectedLogpSums / rejectedTokenCounts }
  /// Token-mean cross-entropy of the chosen sequences (TRL's `chosen_nll_loss`). Scalar, with the graph.
  public func chosenNLL() throws -> Tensor { try -(chosenNLLLogpSum / chosenNLLTokenCount) }
  /// Mean raw logit over the chosen rows (TRL's `logits/chosen`). Scalar, detached.
  public func chosenMeanLogit() throws -> Tensor { try chosenLogitSum / Double(chosenLogitCount) }
  /// Mean raw logit over the rejected rows (TRL's `logits/rejected`). Scalar, detached.
  public func rejectedMeanLogit() throws -> Tensor { try rejectedLogitSum / Double(rejectedLogitCount) }
}

extension PairScores {
  /// The scores of consecutive parts of one batch as the batch's: per-pair tensors end to end, sums and counts added.
  public init(joining parts: [PairScores]) throws {
    precondition(!parts.isEmpty, "nothing to join")
    guard parts.count > 1 else {
      self = parts[0]
      return
    }
    func cat(_ key: KeyPath<PairScores, Tensor>) throws -> Tensor { try Tensor.cat(parts.map { $0[keyPath: key] }) }
    func sum(_ key: KeyPath<PairScores, Tensor>) throws -> Tensor {
      try parts.dropFirst().reduce(parts[0][keyPath: key]) { try $0 + $1[keyPath: key] }
    }
    func total(_ key: KeyPath<PairScores, Int>) -> Int { parts.reduce(0) { $0 + $1[keyPath: key] } }
    self.init(chosenLogpSums: try cat(\.chosenLogpSums), rejectedLogpSums: try cat(\.rejectedLogpSums),
              chosenTokenCounts: try cat(\.chosenTokenCounts), rejectedTokenCounts: try cat(\.rejectedTokenCounts),
              chosenNLLLogpSum: try sum(\.chosenNLLLogpSum), chosenNLLTokenCount: try sum(\.chosenNLLTokenCount),
              chosenLogitSum: try sum(\.chosenLogitSum), rejectedLogitSum: try sum(\.rejectedLogitSum),
              chosenLogitCount: total(\.chosenLogitCount), rejectedLogitCount: total(\.rejectedLogitCount),
              pairs: total(\.pairs))
    chosenSequenceTokens = total(\.chosenSequenceTokens)
    rejectedSequenceTokens = total(\.rejectedSequenceTokens)
    let statistics = parts.compactMap(\.statistics)
    if statistics.count == parts.count {
      func cat(_ key: KeyPath<CompletionStatistics, Tensor>) throws -> Tensor { try Tensor.cat(statistics.map { $0[keyPath: key] }) }
      self.statistics = CompletionStatistics(
        chosenEntropySums: try cat(\.chosenEntropySums), rejectedEntropySums: try cat(\.rejectedEntropySums),
        chosenMeanLogitSums: try cat(\.chosenMeanLogitSums), rejectedMeanLogitSums: try cat(\.rejectedMeanLogitSums),
        chosenTop1Counts: try cat(\.chosenTop1Counts), rejectedTop1Counts: try cat(\.rejectedTop1Counts))
    }
    if parts.contains(where: { $0.desirable != nil }) {
      desirable = parts.flatMap { $0.desirable ?? [Bool](repeating: true, count: $0.pairs) }
    }
    precondition(parts.allSatisfy { $0.allPositionLogitMeans == nil }, "padded batches are scored whole")
  }
}

/// What TRL 1.16's DPO, KTO and SFT trainers log about the completion tokens (their fused LM head's `entropy`,
/// `mean_logits` and `is_top1`), summed per pair over the completion tokens. Detached float32, [B] each.
public struct CompletionStatistics {
  /// Σ entropy (nats) of the predicted distribution.
  public var chosenEntropySums: Tensor
  public var rejectedEntropySums: Tensor
  /// Σ of each position's mean logit over the vocabulary.
  public var chosenMeanLogitSums: Tensor
  public var rejectedMeanLogitSums: Tensor
  /// How many completion tokens are the model's top-1 prediction (first maximum, as `argmax`).
  public var chosenTop1Counts: Tensor
  public var rejectedTop1Counts: Tensor

  /// Per-position entropy, mean logit and arg-max of `logits` [..., V] (no graph). 
  static func positions(_ logits: Tensor) throws -> (entropy: Tensor, meanLogit: Tensor, argmax: Tensor) {
    try withNoGrad {
      let z = try logits.detached().to(dtype: .float32)
      let logp = try z.logSoftmax(dim: -1)
      return (try -((logp.exp() * logp).sum(dim: -1)), try z.mean(dim: -1), try z.argmax(dim: -1))
    }
  }
}

/// How a batch of pairs is laid out for the forward pass.
public enum PairLayout: Sendable {
  /// TRL's batch: chosen and rejected rows right-padded to one length and stacked (PaddedPairs.swift).
  case padded(padTokenID: Int)
  /// One row without padding, each prompt computed once for both answers (PackedPairs.swift). Same log-probs and
  /// gradients as `.padded`; the logits sums then cover real tokens only.
  case packed
}

/// Runs the model over a batch of pairs and scores it. The one owner of the prompt-loss switch and of the fused loss.
public struct PairScorer: Sendable {
  public var layout: PairLayout
  /// The chosen NLL covers prompt + completion (TRL) when true, the completion only (`disable_prompt_loss`) when
  /// false.
  public var promptLoss: Bool
  /// Positions whose logits are computed at a time (FusedLogProbabilities.swift: from the final hidden states,
  /// recomputed in backward, so [tokens, vocabulary] never exists whole); nil computes all the logits at once.
  /// Same scores, metrics and gradients either way (within float32 rounding). Through a frozen float32 output layer
  /// the chunk is about `FusedLogProbabilities.blockedChunkRows` positions and the vocabulary is taken a block at
  /// a time, so no [chunk, vocabulary] buffer exists there.
  public var lossChunkSize: Int?
  /// With prompt sharing, a batch larger than this many packed tokens is scored in consecutive parts of at most
  /// this many (a pair longer than that alone), the parts' scores joined into the batch's (`PairScores(joining:)`):
  /// the same numbers within float32 rounding, a bounded forward. nil: one forward. (TRL's padded batch averages
  /// logits over its padding, which parts would change: `.padded` always runs whole.)
  public var maxTokensPerForward: Int?

  /// The recipe's default `loss_chunk_size`: 64 positions, a [64, vocabulary] float32 chunk (12 MiB for SmolLM2's
  /// 49,152 ids), of which backward holds about five copies at its peak. Measured on the default workload (f32 LoRA,
  /// `orpo bench train`): peak RSS 1510 MiB at 256, 1320 at 64, 1278 at 32; the price is a less efficient
  /// [chunk, hidden] x [hidden, vocabulary] matmul the smaller the chunk (the output layer is about a quarter of a
  /// LoRA step's work), hence not smaller.
  public static let defaultLossChunkSize = 64

  public init(layout: PairLayout, promptLoss: Bool = true, lossChunkSize: Int? = PairScorer.defaultLossChunkSize,
              maxTokensPerForward: Int? = nil)
  {
    precondition(lossChunkSize.map { $0 >= 1 } ?? true, "lossChunkSize must be at least 1")
    precondition(maxTokensPerForward.map { $0 >= 1 } ?? true, "maxTokensPerForward must be at least 1")
    self.layout = layout
    self.promptLoss = promptLoss
    self.lossChunkSize = lossChunkSize
    self.maxTokensPerForward = maxTokensPerForward
  }

  /// One forward of `model` over `pairs` (with the graph unless called under `withNoGrad`); `withStatistics` adds
  /// the completion tokens' entropy, mean logit and top-1 counts (TRL's DPO, KTO and SFT metrics).
  public func scores(of pairs: [EncodedPair], model: any CausalLanguageModel, withStatistics: Bool = false) throws
    -> PairScores
  {
    if case .packed = layout, let cap = maxTokensPerForward, pairs.count > 1 {
      let parts = Self.parts(of: pairs, maxTokens: cap)
      if parts.count > 1 {
        var whole = self
        whole.maxTokensPerForward = nil
        return try PairScores(joining: try parts.map { try whole.scores(of: Array(pairs[$0]), model: model,
                                                                           withStatistics: withStatistics) })
      }
    }
    var scores: PairScores
    switch layout {
    case .packed:
      let batch = try PackedPairCollator(vocabularySize: model.config.vocabSize, device: model.device,
                                         promptLoss: promptLoss)(pairs)
      // [1, N] -> [1, N, C] -> [N, C]
      let hidden = try model.hiddenStates(inputIDs: batch.inputIDs, positions: batch.positions, blockMask: batch.blocks)
        .squeezed(0)
      if let chunk = lossChunkSize {
        scores = try PairScores(packedHidden: hidden, model: model, batch: batch, chunkSize: chunk,
                                statistics: withStatistics)
      } else {
        let logits = try model.logits(hidden)  // [N, V]
        scores = try PairScores(packedLogits: logits, batch: batch)
        if withStatistics { scores.statistics = try CompletionStatistics(packedLogits: logits, batch: batch) }
      }
    case .padded(let padTokenID):
      let batch = try PairCollator(padTokenID: padTokenID, device: model.device)(pairs)
      // [2B, T] -> [2B, T, C]
      let hidden = try model.hiddenStates(inputIDs: batch.inputIDs, attentionMask: batch.attentionMask)
      if let chunk = lossChunkSize {
        scores = try PairScores(paddedHidden: hidden, model: model, batch: batch, promptLoss: promptLoss,
                                chunkSize: chunk, statistics: withStatistics)
      } else {
        let logits = try model.logits(hidden)  // [2B, T, V]
        scores = try PairScores(paddedLogits: logits, batch: batch, promptLoss: promptLoss)
        if withStatistics { scores.statistics = try CompletionStatistics(paddedLogits: logits, batch: batch) }
      }
    }
    scores.chosenSequenceTokens = pairs.reduce(0) { $0 + $1.chosenIDs.count }
    scores.rejectedSequenceTokens = pairs.reduce(0) { $0 + $1.rejectedIDs.count }
    if pairs.contains(where: { $0.desirable != nil }) { scores.desirable = pairs.map { $0.desirable ?? true } }
    return scores
  }

  /// Consecutive runs of `pairs` of at most `maxTokens` packed tokens each (a longer pair alone).
  static func parts(of pairs: [EncodedPair], maxTokens: Int) -> [Range<Int>] {
    var parts: [Range<Int>] = [], start = 0, tokens = 0
    for (k, pair) in pairs.enumerated() {
      let n = pair.packedTokenCount
      if k > start, tokens + n > maxTokens {
        parts.append(start..<k)
        (start, tokens) = (k, 0)
      }
      tokens += n
    }
    parts.append(start..<pairs.count)
    return parts
  }

  /// The reference model's scores for an objective that needs them (DPO, KTO): the same forward with every LoRA
  /// adapter switched off, without a graph — the policy's base weights, never a second copy of the model
  /// (torchtune's `disable_adapter` + `no_grad`). With full fine-tuning there are no adapters to switch off; the
  /// caller then passes a frozen copy of the starting weights as `model` (`Trainer.referenceModel`).
  public func referenceScores(of pairs: [EncodedPair], model: any CausalLanguageModel) throws -> PairScores {
    try withNoGrad { try model.withAdaptersDisabled { try scores(of: pairs, model: model) } }
  }
}

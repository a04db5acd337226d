// FusedLogProbabilities.swift — log p(token) straight from the final hidden states through the output layer, a chunk
// of positions at a time, each chunk recomputed in backward (a gradient checkpoint per chunk): the [tokens,
// vocabulary] logits never exist whole, only [chunk, vocabulary] (Liger Kernel's fused linear loss, for every layout
// and objective). The per-position logit statistics the metrics need are taken from each chunk on the way.
import Models
import NN
import Torch

/// Which tokens to score: prediction k is `targets[k]` predicted at position `sources[k]`. Sources never decrease,
/// so each chunk of positions owns one contiguous run of predictions.
struct TokenPredictions {
  var sources: [Int]
  var targets: [Int]
}

/// What one pass over the positions yields.
struct FusedLogProbabilities {
  /// log p(target) of each prediction list, float32, with the graph. [M] each
  var logps: [Tensor]
  /// Mean logit over the vocabulary at each position (logits/*). [N] float32, detached
  var meanLogits: Tensor
  /// Entropy of the predicted distribution and the arg-max token at each position, when asked for (the completion
  /// statistics of TRL's DPO, KTO and SFT trainers). [N] each, detached
  var entropy: Tensor?
  var argmax: Tensor?

  /// Scores `predictions` from `hidden` [N, C] through `model.logits`, `chunkSize` positions at a time. `logits[k] −
  /// logsumexp` is computed as the unfused layouts do: the log-sum-exp in float32, then rounded to the logits' dtype
  /// when `roundToLogitsDType` (TRL's padded batch), else the picked logit converted to float32 (the packed row).
  init(hidden: Tensor, model: any CausalLanguageModel, predictions: [TokenPredictions], chunkSize: Int,
       statistics: Bool, roundToLogitsDType: Bool) throws
  {
    precondition(chunkSize >= 1, "chunk size must be at least 1")
    let n = hidden.size(0), vocabulary = model.config.vocabSize, device = hidden.device
    var parts = [[Tensor]](repeating: [], count: predictions.count)
    var means: [Tensor] = [], entropies: [Tensor] = [], argmaxes: [Tensor] = []
    var cursors = [Int](repeating: 0, count: predictions.count)
    // A frozen dense output layer: backward needs only p · W per chunk (Functional.headTokenLogProbabilities), so
    // the logits are computed once, without a graph, and never recomputed.
    let graph = GradMode.isEnabled && hidden.requiresGrad
    // A frozen float32 output layer: the vocabulary a block at a time, with more rows a chunk (W is read once per
    // chunk, and no [chunk, V] logits buffer is written and read back), the completion statistics from the same
    // blocks; in a graph, its backward from p·W accumulated over the blocks.
    let frozen = Self.frozenOutputWeight(of: model)
    let blockedHead = Self.blocking.enabled && hidden.dtype == .float32 && frozen?.dtype == .float32 ? frozen : nil
    let frozenHead = graph && blockedHead == nil ? frozen : nil
    let rows = blockedHead == nil ? chunkSize
      : Self.blocking.rows ?? Self.blockedRows(positions: n, atLeast: chunkSize, graph: graph)
    // Each chunk's predictions (those whose source lies in [start, start + length)) as chunk-local indices, all lists
    // in one run: chunk-local sources, then targets, then (unblocked only) flat indices into [length, V] logits.
    // Every chunk's run goes to the device in one transfer, queued without waiting (`Tensor(_:on:)`).
    let withFlat = blockedHead == nil
    var run: [Int64] = [], chunks: [(start: Int, length: Int, offset: Int, counts: [Int])] = []
    for start in stride(from: 0, to: n, by: rows) {
      let length = Swift.min(rows, n - start), offset = run.count
      var sources: [Int64] = [], targets: [Int64] = [], counts: [Int] = []
      for (j, list) in predictions.enumerated() {
        var end = cursors[j]
        while end < list.sources.count, list.sources[end] < start + length { end += 1 }
        for k in cursors[j]..<end {
          sources.append(Int64(list.sources[k] - start))
          targets.append(Int64(list.targets[k]))
        }
        counts.append(end - cursors[j])
        cursors[j] = end
      }
      run += sources + targets
      if withFlat { run += zip(sources, targets).map { $0 * Int64(vocabulary) + $1 } }
      chunks.append((start, length, offset, counts))
    }
    let indices = try Tensor(run, on: device)
    for (start, length, offset, counts) in chunks {
      let m = counts.reduce(0, +)
      let sourceIndices = try indices.narrow(0, start: offset, length: m)
      let targetIndices = try indices.narrow(0, start: offset + m, length: m)
      let flatIndices = withFlat ? try indices.narrow(0, start: offset + 2 * m, length: m) : sourceIndices
      let taken = ChunkStatistics()
      let outputs: [Tensor]
      if let weight = blockedHead {
        let head = try Functional.headTokenLogProbabilitiesBlocked(
          hidden: try hidden.narrow(0, start: start, length: length), weight: weight, source: sourceIndices,
          target: targetIndices, block: Self.vocabularyBlock(on: device), statistics: statistics)
        outputs = try Self.split(head.logps, counts)
        for (j, output) in outputs.enumerated() { parts[j].append(output) }
        means.append(head.meanLogits)
        if statistics, let entropy = head.entropy, let argmax = head.argmax {
          entropies.append(entropy)
          argmaxes.append(argmax)
        }
        continue
      }
      if let weight = frozenHead {
        let part = try hidden.narrow(0, start: start, length: length)
        let logits = try withNoGrad { try part.detached().linear(weight: weight) }           // [n, V]
        try taken.take(logits, statistics: statistics)
        outputs = m == 0 ? try counts.map { _ in try Tensor.zeros([0], device: device) }
          : try Self.split(try Functional.headTokenLogProbabilities(
              hidden: part, weight: weight, logits: logits, flat: flatIndices, source: sourceIndices,
              target: targetIndices, roundToLogitsDType: roundToLogitsDType), counts)
      } else {
        // [n, C] -> [n, V] -> one [m_j] per list. Runs once now without a graph, and again in backward, where the
        // logits buffer becomes its own gradient (Functional.tokenLogProbabilities): one [n, V] copy at a time.
        outputs = try checkpoint([hidden.narrow(0, start: start, length: length)], outputs: counts.count) { inputs in
          let logits = try model.logits(inputs[0])                                         // [n, V]
          if !taken.done { try taken.take(logits, statistics: statistics) }
          guard m > 0 else { return try counts.map { _ in try Tensor.zeros([0], device: device) } }
          return try Self.split(try Functional.tokenLogProbabilities(logits, flat: flatIndices, source: sourceIndices,
                                                                    roundToLogitsDType: roundToLogitsDType), counts)
        }
      }
      for (j, output) in outputs.enumerated() { parts[j].append(output) }
      means.append(taken.meanLogits!)
      if statistics {
        entropies.append(taken.entropy!)
        argmaxes.append(taken.argmax!)
      }
    }
    logps = try parts.map { try $0.isEmpty ? Tensor.zeros([0], device: device) : Tensor.cat($0) }
    meanLogits = try means.isEmpty ? Tensor.zeros([0], device: device) : Tensor.cat(means)
    entropy = statistics ? try Tensor.cat(entropies) : nil
    argmax = statistics ? try Tensor.cat(argmaxes) : nil
  }
}

extension FusedLogProbabilities {
  /// Positions a chunk when the output layer is computed a vocabulary block at a time in training: 256 rows read the
  /// 49,152 × 576 weight a quarter as often as 64 (measured fastest on the CPU).
  static let blockedChunkRows = 256
  /// The same without a graph (evaluation, whose forwards hold ~1,100 positions on the default workload): chunks of
  /// about 1,024 rows. There, `bench train --eval-pairs 100 --profile-shapes` (AMD EPYC Zen 4, 2 cores) spent
  /// 2.08–2.15 s in the output layer's products against 2.64–2.83 s with 256 rows (eval 11.9–12.8 s against
  /// 12.8–14.1 s); a [1024, 2048] float32 block of logits is 8 MiB.
  static let blockedChunkRowsWithoutGraph = 1024
  /// Tests only: `enabled` false sends a frozen float32 output layer down the path other dtypes take (the whole
  /// vocabulary a chunk), `rows` sets the blocked path's chunk rows; both so that the tiny fixture crosses chunks.
  @TaskLocal static var blocking: (enabled: Bool, rows: Int?) = (true, nil)
  /// Vocabulary ids per product there; nil: `vocabularyBlock(on:)`'s. Tests set a small one (`withValue`) to cross
  /// blocks on a small vocabulary.
  @TaskLocal static var vocabularyBlockOverride: Int?

  /// 2048 ids on the CPU (2 MiB of logits at 256 rows, which stay in cache for the exp and sums over them), 8192
  /// elsewhere. On an AMD EPYC Zen 4 (2 cores, torch's CPU matmul) a [256, 576] · [576, block] product over SmolLM2's
  /// 49,152 ids ran at 145 GFLOP/s with 8192 ids a block and 181 with 2048; the whole blocked forward (products, exp,
  /// sums, p·W) within a few percent either way.
  static func vocabularyBlock(on device: Device) -> Int {
    vocabularyBlockOverride ?? (device.isCUDA ? 8192 : 2048)
  }

  /// Rows a chunk of the blocked output layer for `n` positions: about `blockedChunkRows` in a graph, else
  /// `blockedChunkRowsWithoutGraph` (at least `chunkSize`), the chunks as even as can be — 264 positions are one chunk,
  /// not 256 and a remainder of 8 that reads the whole weight again for 8 rows (that remainder's products ran at
  /// 30–45 GFLOP/s; one chunk of 264 takes ~10% less time than 256 + 8, measured on the blocked forward alone).
  static func blockedRows(positions n: Int, atLeast chunkSize: Int, graph: Bool = true) -> Int {
    let target = Swift.max(chunkSize, graph ? blockedChunkRows : blockedChunkRowsWithoutGraph)
    let chunks = Swift.max(1, (n + target / 2) / target)
    return Swift.max(1, (n + chunks - 1) / chunks)
  }

  /// `all` [Σ counts] cut into one [count] per list, in order.
  static func split(_ all: Tensor, _ counts: [Int]) throws -> [Tensor] {
    var offset = 0
    return try counts.map { count in
      defer { offset += count }
      return try all.narrow(0, start: offset, length: count)
    }
  }

  /// The output layer's weight when the logits are exactly `hidden · Wᵀ` with W frozen: a dense `Linear` without
  /// bias, no soft cap. nil otherwise (a trained or adapted output layer, a quantized one, Gemma's soft cap).
  static func frozenOutputWeight(of model: any CausalLanguageModel) -> Tensor? {
    guard model.finalLogitSoftcapping == nil, let head = model.lmHead as? Linear, head.bias == nil,
          !head.weight.requiresGrad else { return nil }
    return head.weight
  }
}

/// The detached per-position numbers of one chunk, taken the first time its logits are computed (not again when
/// backward recomputes them).
private final class ChunkStatistics {
  var done = false
  var meanLogits: Tensor?
  var entropy: Tensor?
  var argmax: Tensor?

  func take(_ logits: Tensor, statistics: Bool) throws {
    try withNoGrad {
      if statistics {
        let positions = try CompletionStatistics.positions(logits)
        (entropy, meanLogits, argmax) = (positions.entropy, positions.meanLogit, positions.argmax)
      } else {
        meanLogits = try logits.detached().to(dtype: .float32).mean(dim: -1)
      }
    }
    done = true
  }
}

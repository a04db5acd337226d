// Trainer.swift — the training loop for any objective, read top to bottom: set-up (trainable parameters,
// optimizer, schedules), then steps of gradient accumulation → after-backward hook → clipping → optimizer update,
// with TRL's logging, evaluation and checkpoints (Checkpoints.swift).
// Hugging Face Trainer semantics: a per-epoch data order from the sampler, accumulation groups that never cross an
// epoch, the LR of a step read before the scheduler advances, grad_norm before clipping.
import Data
import Foundation
import Models
import NN
import Tokenization
import Torch

/// One logged line: TRL's names (eval ones prefixed `eval_`), plus step and epoch.
public struct TrainerLog: Sendable {
  public var step: Int
  public var epoch: Double
  public var values: [(String, Double)]
  public var isEvaluation: Bool

  public init(step: Int, epoch: Double, values: [(String, Double)], isEvaluation: Bool) {
    self.step = step
    self.epoch = epoch
    self.values = values
    self.isEvaluation = isEvaluation
  }
}

public struct TrainingSummary: Sendable {
  public var steps: Int
  public var seconds: Double
  public var pairsPerSecond: Double
  public var tokensPerSecond: Double
  public var secondsPerStep: Double
  public var finalLoss: Double?
  /// Whether `shouldStop` ended the run early (a checkpoint of the last step was written, if this call made a step).
  public var stoppedEarly = false
  /// Optimizer steps skipped for a NaN or infinite loss or gradient, in this call of `train`.
  public var nonfiniteSteps = 0
}

/// Where the loop stands: enough to resume bit-identically (with the optimizer and RNG state saved beside it).
public struct TrainerState: Codable, Equatable, Sendable {
  public var globalStep = 0
  public var epoch = 0
  public var batchInEpoch = 0
  public var logHistory: [[String: Double]] = []
  // The partial logging window (steps since the last log).
  public var windowLossSum = 0.0
  public var windowSteps = 0
  public var windowMetricSums: [String: Double] = [:]
  public var windowMetricCount = 0
  public var windowTokens = 0
  /// How many micro-batches reported each metric in the window (KTO leaves some out of some batches); nil in
  /// checkpoints written before it existed, where every metric was in every batch (`windowMetricCount`).
  public var windowMetricCounts: [String: Int]? = [:]
  /// Running totals of the objective's cumulative metrics (TRL's `num_tokens`).
  public var metricTotals: [String: Double]? = [:]
  /// fp16's dynamic loss scale (nil without fp16).
  public var lossScaler: LossScaler?
  /// Optimizer steps skipped for a non-finite loss or gradient, in all and in a row up to now (nil: none yet, or a
  /// checkpoint written before they were counted).
  public var nonfiniteSteps: Int? = nil
  public var consecutiveNonfiniteSteps: Int? = nil
  /// The probe pairs' average completion log-probs at the last training log (chosen, rejected); nil before the first.
  public var probeChosen: [Double]?
  public var probeRejected: [Double]?

  enum CodingKeys: String, CodingKey {
    case globalStep = "global_step", epoch, batchInEpoch = "batch_in_epoch", logHistory = "log_history"
    case windowLossSum = "window_loss_sum", windowSteps = "window_steps", windowMetricSums = "window_metric_sums"
    case windowMetricCount = "window_metric_count", windowTokens = "window_tokens"
    case windowMetricCounts = "window_metric_counts", metricTotals = "metric_totals", lossScaler = "loss_scaler"
    case nonfiniteSteps = "nonfinite_steps", consecutiveNonfiniteSteps = "consecutive_nonfinite_steps"
    case probeChosen = "probe_chosen", probeRejected = "probe_rejected"
  }
}

public final class Trainer {
  public let config: TrainingConfiguration
  public let model: any CausalLanguageModel
  public let trainPairs: [EncodedPair]
  public let evalPairs: [EncodedPair]
  /// The forward pass: padded like TRL or packed with prompt sharing (`padding_free`), NLL over the prompt or not.
  public let scorer: PairScorer
  /// What is optimised, step by step.
  public let objectives: ObjectiveSchedule
  /// Each epoch's data order.
  public let sampler: any EpochSampler
  public let trainable: [(key: String, tensor: Tensor)]
  public let optimizer: any Optimizer
  public let lrSchedule: LearningRateSchedule
  public let stepsPerEpoch: Int
  public let totalSteps: Int
  /// Training pairs scored without a graph at every training log (the first `probe_pairs`; none for unpaired KTO
  /// rows): how their chosen and rejected log-probs moved since the last log (`logps_trend/*`, `rejected_gained`).
  public let probePairs: [EncodedPair]
  public internal(set) var state = TrainerState()
  /// The metrics of the finite steps since they were last read, still on the device (each micro-batch's as one
  /// float64 vector): `state`'s window sums take them in at a log or a checkpoint, with one read for them all.
  private var pendingMetrics: [(names: [String], cumulative: Set<String>, values: Tensor)] = []
  /// The reference for objectives that need one when there are no adapters to disable (full fine-tuning): a frozen
  /// copy of the starting weights, which costs a second model in memory (`precompute_ref_log_probs` avoids it).
  /// nil with LoRA: the reference is the policy with its adapters disabled.
  public var referenceModel: (any CausalLanguageModel)?
  /// The base model's embedding rows and the tokenizer with the added tokens, when clone_chat_template or
  /// setup_chat_format resized the vocabulary: checkpoint adapters then carry the embeddings and the tokenizer.
  public var resizedVocabulary: (baseSize: Int, tokenizer: Tokenizer)?
  /// The reference's completion log-prob sums of every training pair (chosen, rejected), computed once before
  /// training (`precompute_ref_log_probs`).
  public private(set) var precomputedReference: (chosen: [Float], rejected: [Float])?

  /// Runs once per optimizer step, after the last backward and before clipping, with the trainable parameters
  /// (their `.grad` filled): data-parallel training averages the gradients across processes here.
  public var afterBackward: (([Tensor]) throws -> Void)?
  /// Runs before the backward of each step's last micro-batch: data-parallel training arms its gradient buckets here,
  /// so that backward sends them as they fill (the earlier backwards of an accumulation window only accumulate,
  /// DDP's `no_sync`).
  public var beforeLastBackward: (() throws -> Void)?
  /// Whether this process reports (callbacks below) and writes checkpoints; false on all but one data-parallel
  /// process. Callers gate their own exports on it too.
  public var isMainProcess = true
  /// Element-wise sums over every data-parallel process (an all-reduce), or nil alone: logged training metrics,
  /// evaluation and throughput are combined through it, so every process logs the whole world's numbers.
  public var sumAcrossProcesses: (([Double]) throws -> [Double])?
  /// This process's rank among `count` data-parallel processes: evaluation batch k is scored by process k mod count
  /// (the shares summed through `sumAcrossProcesses`), and with `average_tokens_across_devices` token means are
  /// taken over every process's tokens.
  public var processRank: (rank: Int, count: Int) = (0, 1)
  /// Called after every optimizer step (for progress display): (step, loss of the step, tokens so far, seconds).
  public var onStep: ((Int, Double, Int, Double) -> Void)?
  /// Called for every log line (train and eval).
  public var onLog: ((TrainerLog) throws -> Void)?
  /// Called when a checkpoint folder was written.
  public var onCheckpoint: ((URL) -> Void)?
  /// Called with each training micro-batch's pairs before its forward (benchmarks count the work from them).
  public var onMicroBatch: (([EncodedPair]) -> Void)?
  /// Called when an optimizer step is skipped for a non-finite loss or gradient: (step, loss, grad_norm).
  public var onNonfiniteStep: ((Int, Double, Double) -> Void)?
  /// Asked before the first optimizer step and after every one; true ends the run there — before the first step
  /// with nothing trained and nothing written, after a step with a checkpoint of it (Ctrl-C, SIGTERM). In a
  /// data-parallel run every process asks at the same points (it may be a collective that makes them agree).
  public var shouldStop: (() throws -> Bool)?
  /// What this run's checkpoints record as their run (fingerprint.json), so a resume can tell its own from another run's.
  public var fingerprint: RunFingerprint?

  /// `sampler` defaults to the configuration's: seeded per-epoch shuffling, or the data's order with `shuffle: false`.
  public init(config: TrainingConfiguration, model: any CausalLanguageModel, padTokenID: Int, trainPairs: [EncodedPair],
              evalPairs: [EncodedPair], objectives: ObjectiveSchedule, sampler: (any EpochSampler)? = nil) throws
  {
    guard !trainPairs.isEmpty else { throw TrainingError("no training pairs left after encoding the data") }
    self.config = config
    self.model = model
    self.trainPairs = trainPairs
    self.evalPairs = evalPairs
    self.objectives = objectives
    self.sampler = sampler ?? (config.shuffle ? SeededRandomSampler(seed: config.seed) : SequentialSampler())
    scorer = PairScorer(layout: config.paddingFree ? .packed : .padded(padTokenID: padTokenID),
                        promptLoss: !config.disablePromptLoss, lossChunkSize: config.scoringChunkSize)
    model.gradientCheckpointing = config.gradientCheckpointing
    if config.finetuningType == .full {
      trainable = try model.parameters.sorted { $0.key < $1.key }.map { key, t in
        if t.dtype != .float32 {
          throw config.error("torch_dtype", "full fine-tuning needs float32 weights; \(key) is \(t.dtype) (set torch_dtype: float32)")
        }
        return (key, try t.requiringGrad())
      }
    } else {
      trainable = model.loraParameters
      guard !trainable.isEmpty else { throw TrainingError("finetuning_type is lora but the model has no LoRA adapters") }
    }
    optimizer = try config.makeOptimizer(for: trainable, linearLayers: model.linearLayers.map(\.path))
    probePairs = trainPairs.first?.desirable == nil ? Array(trainPairs.prefix(config.probePairs)) : []
    (stepsPerEpoch, totalSteps) = config.stepPlan(trainPairs: self.sampler.epochLength(count: trainPairs.count))
    let warmup = LearningRateSchedule.warmupSteps(steps: config.warmupSteps, ratio: config.warmupRatio, totalSteps: totalSteps)
    lrSchedule = LearningRateSchedule(type: config.lrSchedulerType, baseRate: config.learningRate, warmupSteps: warmup,
                                      totalSteps: totalSteps)
    if config.fp16 { state.lossScaler = LossScaler() }
  }

  public var trainableParameterCount: Int { trainable.reduce(0) { $0 + $1.tensor.elementCount } }

  /// The objective in force at optimizer step `step`.
  public func objective(at step: Int) -> any PreferenceObjective { objectives.objective(at: step, of: totalSteps) }

  // MARK: Data order

  /// Batches (lists of pair indices) of one epoch: the sampler's order cut into per-device batches.
  public func batches(epoch: Int) throws -> [[Int]] {
    let order = try sampler.order(epoch: epoch, count: trainPairs.count)
    let size = config.perDeviceTrainBatchSize
    return stride(from: 0, to: order.count, by: size).map { Array(order[$0..<Swift.min($0 + size, order.count)]) }
  }

  // MARK: Training

  public func train(resumingFrom checkpoint: URL? = nil) throws -> TrainingSummary {
    if let checkpoint { try restore(from: checkpoint) }
    if config.precomputeRefLogProbs, precomputedReference == nil, objective(at: 0).needsReference {
      try precomputeReference()
    }
    model.training = true
    defer { model.training = false }
    let start = Date()
    var tokens = 0
    var pairsSeen = 0
    let startStep = state.globalStep
    var lastLoss: Double?
    var stoppedEarly = false
    var skipped = 0
    var epochBatches = try batches(epoch: state.epoch)
    if state.probeChosen == nil { _ = try probeTrend() }  // the probe's starting point
    // A stop asked while the model loaded, the processes met or the first evaluation ran: no step, no checkpoint.
    if state.globalStep < totalSteps, try shouldStop?() == true { stoppedEarly = true }
    while state.globalStep < totalSteps && !stoppedEarly {
      if state.batchInEpoch >= epochBatches.count {
        state.epoch += 1
        state.batchInEpoch = 0
        epochBatches = try batches(epoch: state.epoch)
        if config.evalStrategy == .epoch { try evaluateAndLog() }
      }
      // One optimizer step: up to `gradient_accumulation_steps` batches, never across an epoch boundary.
      let group = Array(epochBatches[state.batchInEpoch..<Swift.min(state.batchInEpoch + config.gradientAccumulationSteps, epochBatches.count)])
      let step = state.globalStep
      let rate = lrSchedule.rate(at: step)
      optimizer.learningRate = rate
      let objective = objective(at: step)
      var losses: [Tensor] = []
      var groupMetrics: [(names: [String], cumulative: Set<String>, values: Tensor)] = []
      for (position, indices) in group.enumerated() {
        let pairs = indices.map { trainPairs[$0] }
        onMicroBatch?(pairs)
        let output = try forward(pairs, objective: objective, reference: precomputedReference(of: indices))
        if position == group.count - 1 { try beforeLastBackward?() }
        if let scaler = state.lossScaler {
          try (output.loss * (scaler.scale / Double(group.count))).backward()
        } else {
          try (output.loss / Double(group.count)).backward()
        }
        // Nothing is read back here: the losses come with the gradient norm, the metrics at the next log.
        losses.append(try output.loss.detached())
        if !output.metrics.isEmpty {
          let values = try withNoGrad { try Tensor.stack(output.metrics.map(\.value)).to(dtype: .float64) }
          groupMetrics.append((output.metrics.map(\.name), objective.cumulativeMetricNames, values))
        }
        let real = objective.scoresRejected ? pairs.reduce(0) { $0 + $1.tokenCount } : pairs.reduce(0) { $0 + $1.chosenIDs.count }
        tokens += real
        state.windowTokens += real
        pairsSeen += pairs.count
      }
      try afterBackward?(trainable.map(\.tensor))
      try state.lossScaler?.unscale(trainable.map(\.tensor))
      // The step's one read from the device: the gradient norm clipping needs, and the micro-batches' losses.
      let (gradNorm, lossValues) = try clipGradientNorm(trainable.map(\.tensor), maxNorm: config.maxGradNorm,
                                                        reading: losses)
      let stepLoss = lossValues.reduce(0.0) { $0 + $1 / Double(group.count) }
      // A NaN or infinite loss or gradient: the step is skipped (no update, no metrics), counted and logged; too
      // many in a row stop the run, so the weights (and every checkpoint) stay those of the last finite step.
      let finite = stepLoss.isFinite && gradNorm.isFinite
      if finite {
        try optimizer.update()
        pendingMetrics += groupMetrics
        state.consecutiveNonfiniteSteps = state.consecutiveNonfiniteSteps.map { _ in 0 }
      } else {
        skipped += 1
        state.nonfiniteSteps = (state.nonfiniteSteps ?? 0) + 1
        state.consecutiveNonfiniteSteps = (state.consecutiveNonfiniteSteps ?? 0) + 1
      }
      state.lossScaler?.update(overflowed: !gradNorm.isFinite)  // fp16: an overflow backs the scale off
      try optimizer.zeroGradients()
      state.globalStep += 1
      state.batchInEpoch += group.count
      if finite {
        state.windowLossSum += stepLoss
        state.windowSteps += 1
        lastLoss = stepLoss
      } else {
        if isMainProcess {
          onNonfiniteStep?(state.globalStep, stepLoss, gradNorm)
          try onLog?(TrainerLog(step: state.globalStep, epoch: fractionalEpoch,
                                values: [("nonfinite_steps", Double(state.nonfiniteSteps ?? 0)), ("nonfinite_loss", stepLoss),
                                         ("nonfinite_grad_norm", gradNorm)], isEvaluation: false))
        }
        let inARow = state.consecutiveNonfiniteSteps ?? 0
        if inARow >= config.maxNonfiniteSteps {
          throw TrainingError("stopped at step \(state.globalStep): \(inARow) optimizer steps in a row had a NaN or infinite "
                                + "loss or gradient (the last: loss \(TrainingError.text(of: stepLoss)), grad_norm \(TrainingError.text(of: gradNorm))); each was skipped, so the "
                                + "weights are those of step \(state.globalStep - inARow). Lower learning_rate or check the data; "
                                + "max_nonfinite_steps (\(config.maxNonfiniteSteps)) sets how many in a row are tolerated")
        }
      }
      let elapsed = Date().timeIntervalSince(start)
      if isMainProcess { onStep?(state.globalStep, stepLoss, tokens, elapsed) }

      if state.globalStep % config.loggingSteps == 0 || state.globalStep == totalSteps {
        try logTrainingWindow(objective: objective, gradNorm: gradNorm, learningRate: rate, elapsed: elapsed,
                              tokens: tokens)
      }
      if config.evalStrategy == .steps, let every = config.evalSteps ?? Optional(config.loggingSteps),
         state.globalStep % every == 0
      {
        try evaluateAndLog()
      }
      let saveDue = config.saveSteps.map { state.globalStep % $0 == 0 } ?? false
      if saveDue && state.globalStep < totalSteps {
        try saveCheckpoint()
      }
      if state.globalStep < totalSteps, try shouldStop?() == true {
        if !saveDue { try saveCheckpoint() }
        stoppedEarly = true
        break
      }
    }
    if config.evalStrategy == .epoch && !stoppedEarly { try evaluateAndLog() }
    try readPendingMetrics()
    if let sumAcrossProcesses {  // the whole world's throughput
      let totals = try sumAcrossProcesses([Double(pairsSeen), Double(tokens)])
      (pairsSeen, tokens) = (Int(totals[0]), Int(totals[1]))
    }
    let seconds = Date().timeIntervalSince(start)
    let steps = state.globalStep - startStep
    return TrainingSummary(steps: steps, seconds: seconds, pairsPerSecond: Double(pairsSeen) / Swift.max(seconds, 1e-9),
                           tokensPerSecond: Double(tokens) / Swift.max(seconds, 1e-9),
                           secondsPerStep: seconds / Double(Swift.max(steps, 1)), finalLoss: lastLoss,
                           stoppedEarly: stoppedEarly, nonfiniteSteps: skipped)
  }

  /// Loss and metrics of `objective` on a batch of pairs, with the graph (plus, when the objective needs one, the
  /// reference: `reference` when given (precomputed), else a no-grad pass with the adapters off or through the
  /// frozen `referenceModel`). Only the chosen answers are scored when the objective reads no others (SFT).
  public func forward(_ pairs: [EncodedPair], objective: any PreferenceObjective, reference given: PairScores? = nil) throws
    -> ObjectiveOutput
  {
    let batch = objective.scoresRejected ? pairs : pairs.map(\.chosenOnly)
    var policy = try scorer.scores(of: batch, model: model, withStatistics: objective.needsStatistics)
    if processRank.count > 1, config.averageTokensAcrossDevices, let sumAcrossProcesses {
      try averageTokenCountsAcrossProcesses(&policy, sum: sumAcrossProcesses)
    }
    var reference: PairScores? = nil
    if objective.needsReference {
      reference = try given ?? referenceScores(of: batch)
    }
    return try objective.loss(policy: policy, reference: reference)
  }

  /// `average_tokens_across_devices`: the token counts that token means divide by (the NLL's, the logit means') become
  /// the world's total over the process count, so that after the gradient average the NLL is the token mean over
  /// every process's batch — the single-device number — instead of the mean of per-process token means.
  func averageTokenCountsAcrossProcesses(_ scores: inout PairScores, sum: ([Double]) throws -> [Double]) throws {
    let local = [try scores.chosenNLLTokenCount.to(dtype: .float64, device: .cpu).item(),
                 Double(scores.chosenLogitCount), Double(scores.rejectedLogitCount)]
    let world = try sum(local).map { $0 / Double(processRank.count) }  // per-process share of the world's tokens
    scores.chosenNLLTokenCount = try Tensor.full([], world[0], dtype: scores.chosenNLLTokenCount.dtype,
                                                 device: scores.chosenNLLTokenCount.device)
    // The logit means divide by an integer count: scale their sums instead (sum / share = sum · count / share / count).
    if world[1] > 0 { scores.chosenLogitSum = try scores.chosenLogitSum * (local[1] / world[1]) }
    if world[2] > 0 { scores.rejectedLogitSum = try scores.rejectedLogitSum * (local[2] / world[2]) }
  }

  /// The reference's scores of `pairs` without a graph: the frozen copy when there is one, else the policy with
  /// its adapters disabled.
  func referenceScores(of pairs: [EncodedPair]) throws -> PairScores {
    if let referenceModel { return try withNoGrad { try scorer.scores(of: pairs, model: referenceModel) } }
    return try scorer.referenceScores(of: pairs, model: model)
  }

  /// `precompute_ref_log_probs`: every training pair's reference sums, once, in evaluation batches (TRL's
  /// `_precompute_ref_logps`).
  public func precomputeReference() throws {
    let wasTraining = model.training
    model.training = false
    defer { model.training = wasTraining }
    var chosen: [Float] = [], rejected: [Float] = []
    for start in stride(from: 0, to: trainPairs.count, by: config.perDeviceEvalBatchSize) {
      let scores = try referenceScores(of: Array(trainPairs[start..<Swift.min(start + config.perDeviceEvalBatchSize, trainPairs.count)]))
      chosen += try scores.chosenLogpSums.to(device: .cpu).scalars(as: Float.self)
      rejected += try scores.rejectedLogpSums.to(device: .cpu).scalars(as: Float.self)
    }
    precomputedReference = (chosen, rejected)
  }

  /// The precomputed reference scores of the training pairs at `indices`, if any.
  func precomputedReference(of indices: [Int]) throws -> PairScores? {
    guard let precomputedReference else { return nil }
    return try PairScores(reference: indices.map { precomputedReference.chosen[$0] },
                          rejected: indices.map { precomputedReference.rejected[$0] }, device: model.device)
  }

  /// The current epoch as a fraction, as the Hugging Face Trainer logs it.
  var fractionalEpoch: Double { Double(state.globalStep) / Double(stepsPerEpoch) }

  // MARK: Logging

  /// Adds the metrics still on the device into `state`'s window: one read for all of them (before a log, a checkpoint
  /// and the end of training).
  func readPendingMetrics() throws {
    guard !pendingMetrics.isEmpty else { return }
    let numbers = try withNoGrad { try Tensor.cat(pendingMetrics.map(\.values)).scalars(as: Double.self) }
    var offset = 0
    for (names, cumulative, _) in pendingMetrics {
      accumulate(Array(zip(names, numbers[offset..<offset + names.count])), cumulative: cumulative)
      offset += names.count
    }
    pendingMetrics = []
  }

  /// TRL logs the mean of each metric over the micro-batches since the last log.
  private func accumulate(_ metrics: [(name: String, value: Double)], cumulative: Set<String>) {
    for (name, value) in metrics {
      if cumulative.contains(name) {
        state.metricTotals = state.metricTotals ?? [:]
        state.metricTotals![name, default: 0] += value
      } else {
        state.windowMetricSums[name, default: 0] += value
        state.windowMetricCounts = state.windowMetricCounts ?? [:]
        state.windowMetricCounts![name, default: 0] += 1
      }
    }
    state.windowMetricCount += 1
  }

  private func logTrainingWindow(objective: any PreferenceObjective, gradNorm: Double, learningRate: Double,
                                 elapsed: Double, tokens: Int) throws
  {
    try readPendingMetrics()
    // Sums and counts of this window (per metric: its sum, how many micro-batches reported it, its running total),
    // added up over every data-parallel process: TRL gathers each metric across processes before averaging.
    var window = [state.windowLossSum, Double(state.windowSteps), Double(tokens)]
    for name in objective.metricNames {
      let count = state.windowMetricCounts?[name] ?? (state.windowMetricSums[name] == nil ? 0 : state.windowMetricCount)
      window += [state.windowMetricSums[name] ?? 0, Double(count), state.metricTotals?[name] ?? 0]
    }
    if let sumAcrossProcesses { window = try sumAcrossProcesses(window) }
    // A window whose every step was skipped (non-finite) has no loss.
    var values: [(String, Double)] = [("loss", window[1] > 0 ? window[0] / window[1] : .nan),
                                      ("grad_norm", gradNorm), ("learning_rate", learningRate)]
    for (k, name) in objective.metricNames.enumerated() {
      let (sum, count, total) = (window[3 + 3 * k], window[4 + 3 * k], window[5 + 3 * k])
      if objective.cumulativeMetricNames.contains(name) {
        values.append((name, total))
        continue
      }
      // Averaged over the micro-batches that reported it; a metric no batch of the window had is left out (TRL).
      guard count > 0 else { continue }
      values.append((name, sum / count))
    }
    values += objective.loggedHyperparameters.map { ($0.name, $0.value) }
    if let skipped = state.nonfiniteSteps, skipped > 0 { values.append(("nonfinite_steps", Double(skipped))) }
    values += objective.derivedMetrics(window: Dictionary(values, uniquingKeysWith: { a, _ in a })).map { ($0.name, $0.value) }
    values += try probeTrend()
    values.append(("epoch", fractionalEpoch))
    values.append(("tokens_per_second", window[2] / Swift.max(elapsed, 1e-9)))
    var record = Dictionary(values, uniquingKeysWith: { a, _ in a })
    record["step"] = Double(state.globalStep)
    state.logHistory.append(record)
    state.windowLossSum = 0
    state.windowSteps = 0
    state.windowMetricSums = [:]
    state.windowMetricCount = 0
    state.windowMetricCounts = [:]
    state.windowTokens = 0
    if isMainProcess {
      try onLog?(TrainerLog(step: state.globalStep, epoch: fractionalEpoch, values: values, isEvaluation: false))
    }
  }

  /// Scores the probe pairs (no graph, dropout off, so the RNG is untouched) and compares with the last log:
  /// `logps_trend/chosen` and `logps_trend/rejected`, the change of their mean average log-prob, and
  /// `rejected_gained`, the fraction of pairs whose rejected answer became more likely (the first log compares with
  /// the start of training).
  private func probeTrend() throws -> [(String, Double)] {
    guard !probePairs.isEmpty, isMainProcess else { return [] }
    let wasTraining = model.training
    model.training = false
    defer { model.training = wasTraining }
    var chosen: [Double] = [], rejected: [Double] = []
    try withNoGrad {
      for start in stride(from: 0, to: probePairs.count, by: config.perDeviceEvalBatchSize) {
        let batch = Array(probePairs[start..<Swift.min(start + config.perDeviceEvalBatchSize, probePairs.count)])
        let scores = try scorer.scores(of: batch, model: model)
        let both = try Tensor.cat([scores.chosenAverageLogps(), scores.rejectedAverageLogps()])
          .to(dtype: .float64).scalars(as: Double.self)
        chosen += both[..<batch.count]
        rejected += both[batch.count...]
      }
    }
    defer { (state.probeChosen, state.probeRejected) = (chosen, rejected) }
    guard let lastChosen = state.probeChosen, let lastRejected = state.probeRejected, lastChosen.count == chosen.count,
          lastRejected.count == rejected.count
    else { return [] }
    return ProbeTrend.values(chosen: chosen, rejected: rejected, lastChosen: lastChosen, lastRejected: lastRejected)
  }

  // MARK: Evaluation

  /// TRL's evaluation over `pairs` (default: the eval pairs) with the objective of the current step; see
  /// `PreferenceEvaluation`.
  public func evaluate(_ pairs: [EncodedPair]? = nil) throws -> [(String, Double)] {
    try evaluation(pairs).values
  }

  /// `evaluate`, keeping the preference accuracy per family.
  public func evaluation(_ pairs: [EncodedPair]? = nil) throws -> PreferenceEvaluation.Result {
    let wasTraining = model.training
    model.training = false
    defer { model.training = wasTraining }
    var scorer = scorer
    scorer.maxTokensPerForward = config.evalMaxTokensPerForward
    return try PreferenceEvaluation.evaluate(model: model, pairs: pairs ?? evalPairs, scorer: scorer,
                                             objective: objective(at: state.globalStep),
                                             batchSize: config.perDeviceEvalBatchSize, referenceModel: referenceModel,
                                             shard: (processRank.rank, processRank.count),
                                             sumAcrossShards: sumAcrossProcesses)
  }

  private func evaluateAndLog() throws {
    guard !evalPairs.isEmpty else { return }
    let values = try evaluate()
    var record = Dictionary(values, uniquingKeysWith: { a, _ in a })
    record["step"] = Double(state.globalStep)
    record["epoch"] = fractionalEpoch
    state.logHistory.append(record)
    if isMainProcess {
      try onLog?(TrainerLog(step: state.globalStep, epoch: fractionalEpoch, values: values, isEvaluation: true))
    }
  }
}

/// The probe pairs' movement between two training logs, from their average completion log-probs then and now.
public enum ProbeTrend {
  public static let metricNames = ["logps_trend/chosen", "logps_trend/rejected", "rejected_gained"]

  /// `logps_trend/chosen` / `logps_trend/rejected`: mean(now) − mean(then); `rejected_gained`: the fraction of
  /// pairs whose rejected log-prob rose.
  public static func values(chosen: [Double], rejected: [Double], lastChosen: [Double], lastRejected: [Double])
    -> [(String, Double)]
  {
    let n = Double(Swift.max(chosen.count, 1))
    func meanChange(_ now: [Double], _ then: [Double]) -> Double { zip(now, then).reduce(0) { $0 + ($1.0 - $1.1) } / n }
    let gained = zip(rejected, lastRejected).filter { $0 > $1 }.count
    return [(metricNames[0], meanChange(chosen, lastChosen)), (metricNames[1], meanChange(rejected, lastRejected)),
            (metricNames[2], Double(gained) / n)]
  }
}

// Trainer.swift — the training loop for any objective, read top to bottom: set-up (trainable parameters,
// optimizer, schedules), then steps of gradient accumulation → after-backward hook → clipping → optimizer update,
// with TRL's logging, evaluation and checkpoints (Checkpoints.swift).
// Hugging Face Trainer semantics: a per-epoch data order from the sampler, accumulation groups that never cross an
// epoch, the LR of a step read before the scheduler advances, grad_norm before clipping.
import Data
import Foundation
import Models
import NN
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

  enum CodingKeys: String, CodingKey {
    case globalStep = "global_step", epoch, batchInEpoch = "batch_in_epoch", logHistory = "log_history"
    case windowLossSum = "window_loss_sum", windowSteps = "window_steps", windowMetricSums = "window_metric_sums"
    case windowMetricCount = "window_metric_count", windowTokens = "window_tokens"
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
  public internal(set) var state = TrainerState()

  /// Runs once per optimizer step, after the last backward and before clipping, with the trainable parameters
  /// (their `.grad` filled): data-parallel training averages the gradients across processes here.
  public var afterBackward: (([Tensor]) throws -> Void)?
  /// Whether this process reports (callbacks below) and writes checkpoints; false on all but one data-parallel
  /// process. Callers gate their own exports on it too.
  public var isMainProcess = true
  /// Called after every optimizer step (for progress display): (step, loss of the step, tokens so far, seconds).
  public var onStep: ((Int, Double, Int, Double) -> Void)?
  /// Called for every log line (train and eval).
  public var onLog: ((TrainerLog) throws -> Void)?
  /// Called when a checkpoint folder was written.
  public var onCheckpoint: ((URL) -> Void)?

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
                        promptLoss: !config.disablePromptLoss)
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
    optimizer = try AdamW(parameters: trainable.map(\.tensor), learningRate: config.learningRate,
                          beta1: config.adamBeta1, beta2: config.adamBeta2, epsilon: config.adamEpsilon,
                          weightDecay: config.weightDecay)
    (stepsPerEpoch, totalSteps) = config.stepPlan(trainPairs: self.sampler.epochLength(count: trainPairs.count))
    let warmup = LearningRateSchedule.warmupSteps(steps: config.warmupSteps, ratio: config.warmupRatio, totalSteps: totalSteps)
    lrSchedule = LearningRateSchedule(type: config.lrSchedulerType, baseRate: config.learningRate, warmupSteps: warmup,
                                      totalSteps: totalSteps)
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
    model.training = true
    defer { model.training = false }
    let start = Date()
    var tokens = 0
    var pairsSeen = 0
    let startStep = state.globalStep
    var lastLoss: Double?
    var epochBatches = try batches(epoch: state.epoch)
    while state.globalStep < totalSteps {
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
      var stepLoss = 0.0
      for indices in group {
        let pairs = indices.map { trainPairs[$0] }
        let output = try forward(pairs, objective: objective)
        try (output.loss / Double(group.count)).backward()
        let values = try output.values()
        stepLoss += values.loss / Double(group.count)
        accumulate(values.metrics)
        let real = pairs.reduce(0) { $0 + $1.tokenCount }
        tokens += real
        state.windowTokens += real
        pairsSeen += pairs.count
      }
      try afterBackward?(trainable.map(\.tensor))
      let gradNorm = try clipGradientNorm(trainable.map(\.tensor), maxNorm: config.maxGradNorm)
      try optimizer.update()
      try optimizer.zeroGradients()
      state.globalStep += 1
      state.batchInEpoch += group.count
      state.windowLossSum += stepLoss
      state.windowSteps += 1
      lastLoss = stepLoss
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
      if let every = config.saveSteps, state.globalStep % every == 0, state.globalStep < totalSteps {
        try saveCheckpoint()
      }
    }
    if config.evalStrategy == .epoch { try evaluateAndLog() }
    let seconds = Date().timeIntervalSince(start)
    let steps = state.globalStep - startStep
    return TrainingSummary(steps: steps, seconds: seconds, pairsPerSecond: Double(pairsSeen) / Swift.max(seconds, 1e-9),
                           tokensPerSecond: Double(tokens) / Swift.max(seconds, 1e-9),
                           secondsPerStep: seconds / Double(Swift.max(steps, 1)), finalLoss: lastLoss)
  }

  /// Loss and metrics of `objective` on a batch of pairs, with the graph (plus a no-grad reference pass with the
  /// adapters off when the objective needs one).
  public func forward(_ pairs: [EncodedPair], objective: any PreferenceObjective) throws -> ObjectiveOutput {
    let policy = try scorer.scores(of: pairs, model: model)
    let reference = objective.needsReference ? try scorer.referenceScores(of: pairs, model: model) : nil
    return try objective.loss(policy: policy, reference: reference)
  }

  /// The current epoch as a fraction, as the Hugging Face Trainer logs it.
  var fractionalEpoch: Double { Double(state.globalStep) / Double(stepsPerEpoch) }

  // MARK: Logging

  /// TRL logs the mean of each metric over the micro-batches since the last log.
  private func accumulate(_ metrics: [(name: String, value: Double)]) {
    for (name, value) in metrics { state.windowMetricSums[name, default: 0] += value }
    state.windowMetricCount += 1
  }

  private func logTrainingWindow(objective: any PreferenceObjective, gradNorm: Double, learningRate: Double,
                                 elapsed: Double, tokens: Int) throws
  {
    var values: [(String, Double)] = [("loss", state.windowLossSum / Double(Swift.max(state.windowSteps, 1))),
                                      ("grad_norm", gradNorm), ("learning_rate", learningRate)]
    for name in objective.metricNames {
      values.append((name, (state.windowMetricSums[name] ?? 0) / Double(Swift.max(state.windowMetricCount, 1))))
    }
    values += objective.loggedHyperparameters.map { ($0.name, $0.value) }
    values.append(("epoch", fractionalEpoch))
    values.append(("tokens_per_second", Double(tokens) / Swift.max(elapsed, 1e-9)))
    var record = Dictionary(values, uniquingKeysWith: { a, _ in a })
    record["step"] = Double(state.globalStep)
    state.logHistory.append(record)
    state.windowLossSum = 0
    state.windowSteps = 0
    state.windowMetricSums = [:]
    state.windowMetricCount = 0
    state.windowTokens = 0
    if isMainProcess {
      try onLog?(TrainerLog(step: state.globalStep, epoch: fractionalEpoch, values: values, isEvaluation: false))
    }
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
    return try PreferenceEvaluation.evaluate(model: model, pairs: pairs ?? evalPairs, scorer: scorer,
                                             objective: objective(at: state.globalStep),
                                             batchSize: config.perDeviceEvalBatchSize)
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

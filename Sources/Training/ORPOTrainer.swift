// ORPOTrainer.swift — the training loop, read top to bottom: set-up (trainable parameters, optimizer, schedules),
// then steps of gradient accumulation → clipping → AdamW, with TRL's logging, evaluation and checkpoints.
// Hugging Face Trainer semantics: per-epoch seeded shuffling (randperm with seed + epoch), accumulation groups
// that never cross an epoch, the LR of a step read before the scheduler advances, grad_norm before clipping.
import Data
import Foundation
import Models
import NN
import Support
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

public final class ORPOTrainer {
  public let config: TrainingConfiguration
  public let model: any CausalLanguageModel
  public let trainPairs: [EncodedPair]
  public let evalPairs: [EncodedPair]
  public let collator: PairCollator
  public let packedCollator: PackedPairCollator
  public let trainable: [(key: String, tensor: Tensor)]
  public let optimizer: AdamW
  public let lrSchedule: LearningRateSchedule
  public let betaSchedule: BetaSchedule
  public let stepsPerEpoch: Int
  public let totalSteps: Int
  public private(set) var state = TrainerState()
  /// Called after every optimizer step (for progress display): (step, loss of the step, tokens so far, seconds).
  public var onStep: ((Int, Double, Int, Double) -> Void)?
  /// Called for every log line (train and eval).
  public var onLog: ((TrainerLog) throws -> Void)?
  /// Called when a checkpoint folder was written.
  public var onCheckpoint: ((URL) -> Void)?

  public init(config: TrainingConfiguration, model: any CausalLanguageModel, padTokenID: Int, trainPairs: [EncodedPair],
              evalPairs: [EncodedPair]) throws
  {
    guard !trainPairs.isEmpty else { throw ConfigurationError("no training pairs left after encoding the data") }
    self.config = config
    self.model = model
    self.trainPairs = trainPairs
    self.evalPairs = evalPairs
    collator = PairCollator(padTokenID: padTokenID, device: model.device)
    packedCollator = PackedPairCollator(vocabularySize: model.config.vocabSize, device: model.device,
                                        promptLoss: !config.disablePromptLoss)
    model.gradientCheckpointing = config.gradientCheckpointing
    if config.finetuningType == .full {
      trainable = try model.parameters.sorted { $0.key < $1.key }.map { key, t in
        if t.dtype != .float32 {
          throw ConfigurationError("full fine-tuning needs float32 weights; \(key) is \(t.dtype) (set torch_dtype: float32)")
        }
        return (key, try t.requiringGrad())
      }
    } else {
      trainable = model.loraParameters
      guard !trainable.isEmpty else { throw ConfigurationError("finetuning_type is lora but the model has no LoRA adapters") }
    }
    optimizer = try AdamW(parameters: trainable.map(\.tensor), learningRate: config.learningRate,
                          beta1: config.adamBeta1, beta2: config.adamBeta2, epsilon: config.adamEpsilon,
                          weightDecay: config.weightDecay)
    (stepsPerEpoch, totalSteps) = config.stepPlan(trainPairs: trainPairs.count)
    let warmup = LearningRateSchedule.warmupSteps(steps: config.warmupSteps, ratio: config.warmupRatio, totalSteps: totalSteps)
    lrSchedule = LearningRateSchedule(type: config.lrSchedulerType, baseRate: config.learningRate, warmupSteps: warmup,
                                      totalSteps: totalSteps)
    betaSchedule = config.betaScheduleValue
  }

  public var trainableParameterCount: Int { trainable.reduce(0) { $0 + $1.tensor.elementCount } }

  // MARK: Data order

  /// Batches (lists of pair indices) of one epoch: Hugging Face's SeedableRandomSampler draws
  /// randperm(n, generator seeded with seed + epoch); without shuffling, the file order.
  public func batches(epoch: Int) throws -> [[Int]] {
    let n = trainPairs.count
    let order: [Int]
    if config.shuffle {
      order = try Tensor.randperm(n, generator: Generator(seed: UInt64(config.seed + epoch))).scalars(as: Int64.self).map(Int.init)
    } else {
      order = Array(0..<n)
    }
    let size = config.perDeviceTrainBatchSize
    return stride(from: 0, to: n, by: size).map { Array(order[$0..<Swift.min($0 + size, n)]) }
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
      let loss = ORPOLoss(beta: betaSchedule.value(at: step, of: totalSteps), promptLoss: !config.disablePromptLoss)
      var stepLoss = 0.0
      for indices in group {
        let pairs = indices.map { trainPairs[$0] }
        let r = try forward(pairs, loss: loss)
        try (r.loss / Double(group.count)).backward()
        stepLoss += r.metrics.loss / Double(group.count)
        accumulate(r.metrics)
        let real = pairs.reduce(0) { $0 + $1.tokenCount }
        tokens += real
        state.windowTokens += real
        pairsSeen += pairs.count
      }
      let gradNorm = try clipGradientNorm(trainable.map(\.tensor), maxNorm: config.maxGradNorm)
      try optimizer.update()
      try optimizer.zeroGradients()
      state.globalStep += 1
      state.batchInEpoch += group.count
      state.windowLossSum += stepLoss
      state.windowSteps += 1
      lastLoss = stepLoss
      let elapsed = Date().timeIntervalSince(start)
      onStep?(state.globalStep, stepLoss, tokens, elapsed)

      if state.globalStep % config.loggingSteps == 0 || state.globalStep == totalSteps {
        try logTrainingWindow(gradNorm: gradNorm, learningRate: rate, beta: loss.beta, elapsed: elapsed, tokens: tokens)
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

  /// Loss, metrics and per-pair log-probs for a batch of pairs: packed with prompt sharing (padding_free), or
  /// TRL's padded batch.
  public func forward(_ pairs: [EncodedPair], loss: ORPOLoss) throws
    -> (loss: Tensor, metrics: ORPOMetrics, chosenLogps: Tensor, rejectedLogps: Tensor)
  {
    try ORPOEvaluation.forward(model: model, pairs: pairs, loss: loss,
                               collate: config.paddingFree ? .packed(packedCollator) : .padded(collator))
  }

  /// The current epoch as a fraction, as the Hugging Face Trainer logs it.
  var fractionalEpoch: Double { Double(state.globalStep) / Double(stepsPerEpoch) }

  private func accumulate(_ m: ORPOMetrics) {
    for (name, value) in m.named { state.windowMetricSums[name, default: 0] += value }
    state.windowMetricCount += 1
  }

  private func logTrainingWindow(gradNorm: Double, learningRate: Double, beta: Double, elapsed: Double, tokens: Int) throws {
    var values: [(String, Double)] = [("loss", state.windowLossSum / Double(Swift.max(state.windowSteps, 1))),
                                      ("grad_norm", gradNorm), ("learning_rate", learningRate)]
    for (name, _) in ORPOMetrics().named {
      values.append((name, (state.windowMetricSums[name] ?? 0) / Double(Swift.max(state.windowMetricCount, 1))))
    }
    values.append(("beta", beta))
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
    try onLog?(TrainerLog(step: state.globalStep, epoch: fractionalEpoch, values: values, isEvaluation: false))
  }

  // MARK: Evaluation

  /// TRL's evaluation over `pairs` (default: the eval pairs) with the current λ; see `ORPOEvaluation`.
  public func evaluate(_ pairs: [EncodedPair]? = nil) throws -> [(String, Double)] {
    let wasTraining = model.training
    model.training = false
    defer { model.training = wasTraining }
    return try ORPOEvaluation.run(model: model, pairs: pairs ?? evalPairs,
                                  loss: ORPOLoss(beta: betaSchedule.value(at: state.globalStep, of: totalSteps),
                                                 promptLoss: !config.disablePromptLoss),
                                  batchSize: config.perDeviceEvalBatchSize, paddingFree: config.paddingFree,
                                  padTokenID: collator.padTokenID)
  }

  private func evaluateAndLog() throws {
    guard !evalPairs.isEmpty else { return }
    let values = try evaluate()
    var record = Dictionary(values, uniquingKeysWith: { a, _ in a })
    record["step"] = Double(state.globalStep)
    record["epoch"] = fractionalEpoch
    state.logHistory.append(record)
    try onLog?(TrainerLog(step: state.globalStep, epoch: fractionalEpoch, values: values, isEvaluation: true))
  }

  // MARK: Checkpoints

  public var outputDirectory: URL { URL(fileURLWithPath: config.outputDir) }

  /// output_dir/checkpoint-<step>/: trainable weights, optimizer moments, RNG state and trainer_state.json,
  /// written atomically; older checkpoints beyond save_total_limit are removed.
  @discardableResult
  public func saveCheckpoint() throws -> URL {
    let folder = outputDirectory.appendingPathComponent("checkpoint-\(state.globalStep)")
    try AtomicFolder.write(to: folder) { tmp in
      let weights = try trainable.map { ($0.key, try $0.tensor.detached().to(device: .cpu).contiguous()) }
      try SafeTensors.write(weights, metadata: ["format": "pt", "finetuning_type": config.finetuningType.rawValue],
                            to: tmp.appendingPathComponent("trainable.safetensors"))
      let opt = optimizer.state
      var moments: [(String, Tensor)] = []
      for k in opt.first.indices {
        moments.append(("exp_avg.\(k)", try opt.first[k].to(device: .cpu)))
        moments.append(("exp_avg_sq.\(k)", try opt.second[k].to(device: .cpu)))
      }
      try SafeTensors.write(moments, metadata: ["step": String(opt.step)], to: tmp.appendingPathComponent("optimizer.safetensors"))
      try SafeTensors.write([("cpu", try Torch.rngState())], metadata: nil, to: tmp.appendingPathComponent("rng_state.safetensors"))
      let enc = JSONEncoder()
      enc.outputFormatting = [.prettyPrinted, .sortedKeys]
      try enc.encode(state).write(to: tmp.appendingPathComponent("trainer_state.json"))
      if config.finetuningType == .lora, let lora = try? loraConfiguration() {
        try PEFTAdapter.save(model, configuration: lora, baseModel: config.model, to: tmp.appendingPathComponent("adapter"))
      }
    }
    try pruneCheckpoints()
    onCheckpoint?(folder)
    return folder
  }

  func loraConfiguration() throws -> LoRAConfiguration { config.lora }

  private func pruneCheckpoints() throws {
    guard let limit = config.saveTotalLimit else { return }
    let fm = FileManager.default
    let names = (try? fm.contentsOfDirectory(atPath: outputDirectory.path)) ?? []
    let steps = names.compactMap { n -> Int? in n.hasPrefix("checkpoint-") ? Int(n.dropFirst("checkpoint-".count)) : nil }.sorted()
    for step in steps.dropLast(limit) {
      try? fm.removeItem(at: outputDirectory.appendingPathComponent("checkpoint-\(step)"))
    }
  }

  /// The newest checkpoint-<step> folder in output_dir, if any.
  public static func latestCheckpoint(in outputDir: URL) -> URL? {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: outputDir.path)) ?? []
    let best = names.compactMap { n -> (Int, String)? in
      n.hasPrefix("checkpoint-") ? Int(n.dropFirst("checkpoint-".count)).map { ($0, n) } : nil
    }.max { $0.0 < $1.0 }
    return best.map { outputDir.appendingPathComponent($0.1) }
  }

  /// Restores weights, optimizer, RNG and loop position from a checkpoint folder.
  public func restore(from folder: URL) throws {
    func file(_ name: String) throws -> URL {
      let f = folder.appendingPathComponent(name)
      guard FileManager.default.fileExists(atPath: f.path) else {
        throw ConfigurationError("\(folder.path): not a checkpoint (no \(name))")
      }
      return f
    }
    let weights = try SafeTensorsFile(url: try file("trainable.safetensors"))
    try withNoGrad {
      for (key, tensor) in trainable {
        guard weights.names.contains(key) else { throw ConfigurationError("\(folder.path): checkpoint has no weight \"\(key)\" (was it written with another finetuning_type or LoRA config?)") }
        let saved = try weights.tensor(key, copy: true)
        guard saved.shape == tensor.shape else {
          throw ConfigurationError("\(folder.path): \"\(key)\" has shape \(saved.shape), the model needs \(tensor.shape)")
        }
        try tensor.copy_(saved)
      }
    }
    let opt = try SafeTensorsFile(url: try file("optimizer.safetensors"))
    let n = trainable.count
    let first = try (0..<n).map { try opt.tensor("exp_avg.\($0)", copy: true).to(device: model.device) }
    let second = try (0..<n).map { try opt.tensor("exp_avg_sq.\($0)", copy: true).to(device: model.device) }
    try optimizer.restore(step: Int(opt.metadata["step"] ?? "0") ?? 0, first: first, second: second)
    try Torch.setRNGState(try SafeTensorsFile(url: try file("rng_state.safetensors")).tensor("cpu", copy: true))
    state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: try file("trainer_state.json")))
  }
}

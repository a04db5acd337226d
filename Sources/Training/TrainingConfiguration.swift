// TrainingConfiguration.swift — a training run's settings under TRL / Hugging Face TrainingArguments key names,
// read from YAML recipes with command-line overrides; an unknown key or a bad value is an error naming the key.
import Foundation
import NN
import Yams

public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
  public let description: String
  public init(_ description: String) { self.description = description }
}

public struct TrainingConfiguration: Codable, Equatable, Sendable {
  // Model and data
  public var model: String? = nil                 // HF folder or .gguf; nil = the default SmolLM2 GGUF
  public var dataset: String? = nil               // train file (.jsonl/.json); nil or "synthetic" = built-in data
  public var evalDataset: String? = nil
  public var testSize: Double? = nil              // fraction (< 1) or count (>= 1) split off the train data
  public var syntheticTrainSize: Int = 2000
  public var syntheticTestSize: Int = 200
  public var skipInvalid: Bool = false
  public var chatTemplate: String? = nil          // a file holding a Jinja chat template
  public var setupChatFormat: Bool = false        // TRL's setup_chat_format (ChatML tokens) for base models
  public var outputDir: String = "runs/orpo"
  public var torchDtype: String = "float32"
  public var device: String = "cpu"
  // ORPO
  public var beta: Double = 0.1
  public var betaEnd: Double? = nil               // anneal λ from `beta` to `beta_end`
  public var betaSchedule: BetaSchedule.Shape = .constant
  public var maxLength: Int = 1024
  public var disablePromptLoss: Bool = false
  /// Prompt-prefix sharing without padding (PackedPairs.swift). Same loss and gradients as TRL's padded batch;
  /// logits/* metrics then average over real tokens only. false = TRL's padded batch exactly.
  public var paddingFree: Bool = true
  // Optimisation
  public var finetuningType: String = "lora"      // lora | full
  public var lora = LoRAConfiguration()  // NN's, with PEFT's key names
  public var learningRate: Double = 1e-6
  public var perDeviceTrainBatchSize: Int = 8
  public var perDeviceEvalBatchSize: Int = 8
  public var gradientAccumulationSteps: Int = 1
  public var numTrainEpochs: Double = 3
  public var maxSteps: Int = -1
  public var lrSchedulerType: LRSchedulerType = .linear
  public var warmupRatio: Double = 0
  public var warmupSteps: Int = 0
  public var weightDecay: Double = 0
  public var adamBeta1: Double = 0.9
  public var adamBeta2: Double = 0.999
  public var adamEpsilon: Double = 1e-8
  public var maxGradNorm: Double = 1.0
  public var gradientCheckpointing: Bool = false
  public var seed: Int = 42
  public var shuffle: Bool = true
  // Output
  public var loggingSteps: Int = 10
  public var evalStrategy: String = "no"          // no | steps | epoch
  public var evalSteps: Int? = nil
  public var saveSteps: Int? = nil
  public var saveTotalLimit: Int? = nil
  public var reportTo: [String] = ["jsonl"]
  public var resumeFromCheckpoint: String? = nil
  public var threads: Int? = nil
  // Quantised base weights (QLoRA) come in a later release.
  public var loadIn4bit: Bool = false

  enum CodingKeys: String, CodingKey, CaseIterable {
    case model, dataset, evalDataset = "eval_dataset", testSize = "test_size"
    case syntheticTrainSize = "synthetic_train_size", syntheticTestSize = "synthetic_test_size"
    case skipInvalid = "skip_invalid", chatTemplate = "chat_template", setupChatFormat = "setup_chat_format"
    case outputDir = "output_dir"
    case torchDtype = "torch_dtype", device, beta, betaEnd = "beta_end", betaSchedule = "beta_schedule"
    case maxLength = "max_length", disablePromptLoss = "disable_prompt_loss", paddingFree = "padding_free"
    case finetuningType = "finetuning_type"
    case lora, learningRate = "learning_rate", perDeviceTrainBatchSize = "per_device_train_batch_size"
    case perDeviceEvalBatchSize = "per_device_eval_batch_size"
    case gradientAccumulationSteps = "gradient_accumulation_steps", numTrainEpochs = "num_train_epochs"
    case maxSteps = "max_steps", lrSchedulerType = "lr_scheduler_type", warmupRatio = "warmup_ratio"
    case warmupSteps = "warmup_steps", weightDecay = "weight_decay", adamBeta1 = "adam_beta1"
    case adamBeta2 = "adam_beta2", adamEpsilon = "adam_epsilon", maxGradNorm = "max_grad_norm"
    case gradientCheckpointing = "gradient_checkpointing", seed, shuffle, loggingSteps = "logging_steps"
    case evalStrategy = "eval_strategy", evalSteps = "eval_steps", saveSteps = "save_steps"
    case saveTotalLimit = "save_total_limit", reportTo = "report_to"
    case resumeFromCheckpoint = "resume_from_checkpoint", threads, loadIn4bit = "load_in_4bit"
  }

  public init() {}

  public init(from decoder: Decoder) throws {
    self.init()
    let c = try decoder.container(keyedBy: CodingKeys.self)
    func read<T: Decodable>(_ key: CodingKeys, _ into: inout T) throws {
      if let v = try c.decodeIfPresent(T.self, forKey: key) { into = v }
    }
    func readOptional<T: Decodable>(_ key: CodingKeys, _ into: inout T?) throws {
      if let v = try c.decodeIfPresent(T.self, forKey: key) { into = v }
    }
    try readOptional(.model, &model); try readOptional(.dataset, &dataset); try readOptional(.evalDataset, &evalDataset)
    try readOptional(.testSize, &testSize); try read(.syntheticTrainSize, &syntheticTrainSize)
    try read(.syntheticTestSize, &syntheticTestSize); try read(.skipInvalid, &skipInvalid)
    try readOptional(.chatTemplate, &chatTemplate); try read(.setupChatFormat, &setupChatFormat)
    try read(.outputDir, &outputDir); try read(.torchDtype, &torchDtype)
    try read(.device, &device); try read(.beta, &beta); try readOptional(.betaEnd, &betaEnd)
    try read(.betaSchedule, &betaSchedule); try read(.maxLength, &maxLength); try read(.disablePromptLoss, &disablePromptLoss)
    try read(.paddingFree, &paddingFree)
    try read(.finetuningType, &finetuningType); try read(.lora, &lora); try read(.learningRate, &learningRate)
    try read(.perDeviceTrainBatchSize, &perDeviceTrainBatchSize); try read(.perDeviceEvalBatchSize, &perDeviceEvalBatchSize)
    try read(.gradientAccumulationSteps, &gradientAccumulationSteps); try read(.numTrainEpochs, &numTrainEpochs)
    try read(.maxSteps, &maxSteps); try read(.lrSchedulerType, &lrSchedulerType); try read(.warmupRatio, &warmupRatio)
    try read(.warmupSteps, &warmupSteps); try read(.weightDecay, &weightDecay); try read(.adamBeta1, &adamBeta1)
    try read(.adamBeta2, &adamBeta2); try read(.adamEpsilon, &adamEpsilon); try read(.maxGradNorm, &maxGradNorm)
    try read(.gradientCheckpointing, &gradientCheckpointing); try read(.seed, &seed); try read(.shuffle, &shuffle)
    try read(.loggingSteps, &loggingSteps); try read(.evalStrategy, &evalStrategy); try readOptional(.evalSteps, &evalSteps)
    try readOptional(.saveSteps, &saveSteps); try readOptional(.saveTotalLimit, &saveTotalLimit)
    if let one = try? c.decodeIfPresent(String.self, forKey: .reportTo) { reportTo = [one] } else { try read(.reportTo, &reportTo) }
    try readOptional(.resumeFromCheckpoint, &resumeFromCheckpoint); try readOptional(.threads, &threads)
    try read(.loadIn4bit, &loadIn4bit)
  }

  // MARK: Reading

  /// Reads a YAML recipe (or none), applies `overrides` (key → YAML scalar text, e.g. "learning_rate" → "5e-4";
  /// dotted keys reach into `lora`), and validates. Errors name the file and the key.
  public static func load(yaml url: URL?, overrides: [(String, String)] = []) throws -> TrainingConfiguration {
    guard let url else { return try load(yamlText: nil, source: "command line", overrides: overrides) }
    let text: String
    do { text = try String(contentsOf: url, encoding: .utf8) } catch {
      throw ConfigurationError("\(url.path): cannot read the recipe (\(error.localizedDescription))")
    }
    return try load(yamlText: text, source: url.path, overrides: overrides)
  }

  /// The same from YAML text; `source` names it in errors.
  public static func load(yamlText text: String?, source: String, overrides: [(String, String)] = []) throws
    -> TrainingConfiguration
  {
    var dict: [String: Any] = [:]
    if let text {
      let parsed: Any?
      do { parsed = try Yams.load(yaml: text) } catch {
        throw ConfigurationError("\(source): not valid YAML (\(error))")
      }
      if let parsed {
        guard let d = parsed as? [String: Any] else {
          throw ConfigurationError("\(source): expected a mapping of TrainingArguments keys at the top level")
        }
        dict = d
      }
    }
    let known = Set(CodingKeys.allCases.map(\.rawValue))
    let loraKeys = Set(LoRAConfiguration.CodingKeys.allCases.map(\.rawValue))
    for (key, _) in overrides {
      let parts = key.split(separator: ".").map(String.init)
      let ok = parts.count == 1 ? known.contains(key) : parts.count == 2 && parts[0] == "lora" && loraKeys.contains(parts[1])
      if !ok {
        let hint = known.min(by: { editDistance($0, key) < editDistance($1, key) }).map { " (did you mean \"\($0)\"?)" } ?? ""
        throw ConfigurationError("command line: unknown key \"\(key)\"\(hint)")
      }
    }
    for (key, value) in overrides {
      let parsedValue: Any = (try? Yams.load(yaml: value)).flatMap { $0 } ?? value
      let parts = key.split(separator: ".").map(String.init)
      if parts.count == 2 {
        var section = dict[parts[0]] as? [String: Any] ?? [:]
        section[parts[1]] = parsedValue
        dict[parts[0]] = section
      } else {
        dict[key] = parsedValue
      }
    }
    return try decode(dict, source: source)
  }

  static func decode(_ dict: [String: Any], source: String) throws -> TrainingConfiguration {
    let known = Set(CodingKeys.allCases.map(\.rawValue))
    for key in dict.keys.sorted() where !known.contains(key) {
      let hint = known.min(by: { editDistance($0, key) < editDistance($1, key) }).map { " (did you mean \"\($0)\"?)" } ?? ""
      throw ConfigurationError("\(source): unknown key \"\(key)\"\(hint)")
    }
    if let lora = dict["lora"] {
      guard let section = lora as? [String: Any] else { throw ConfigurationError("\(source): \"lora\" must be a mapping") }
      let loraKeys = Set(LoRAConfiguration.CodingKeys.allCases.map(\.rawValue))
      for key in section.keys.sorted() where !loraKeys.contains(key) {
        throw ConfigurationError("\(source): unknown key \"lora.\(key)\" (lora takes \(loraKeys.sorted().joined(separator: ", ")))")
      }
    }
    let json = try JSONSerialization.data(withJSONObject: coerceNumbers(dict), options: [.fragmentsAllowed])
    let config: TrainingConfiguration
    do { config = try JSONDecoder().decode(TrainingConfiguration.self, from: json) } catch let DecodingError.typeMismatch(type, ctx) {
      throw ConfigurationError("\(source): key \"\(path(ctx))\": expected \(describe(type)), found \(value(at: ctx.codingPath, in: dict))")
    } catch let DecodingError.dataCorrupted(ctx) {
      // Foundation reports some bad numbers (2.5 for an integer) without a key: find it by decoding key by key.
      if ctx.codingPath.isEmpty {
        for key in dict.keys.sorted() {
          let single = try JSONSerialization.data(withJSONObject: coerceNumbers([key: dict[key]!]), options: [.fragmentsAllowed])
          if (try? JSONDecoder().decode(TrainingConfiguration.self, from: single)) == nil {
            throw ConfigurationError("\(source): key \"\(key)\": bad value \(value(at: [AnyKey(key)], in: dict)) (expected a whole number, a number, true/false or a string as the key needs)")
          }
        }
      }
      throw ConfigurationError("\(source): key \"\(path(ctx))\": \(ctx.debugDescription) (found \(value(at: ctx.codingPath, in: dict)))")
    } catch let DecodingError.valueNotFound(type, ctx) {
      throw ConfigurationError("\(source): key \"\(path(ctx))\": expected \(describe(type)), found null")
    } catch {
      throw ConfigurationError("\(source): \(error)")
    }
    try config.validate(source: source)
    return config
  }

  public func validate(source: String = "configuration") throws {
    func fail(_ key: String, _ what: String) throws -> Never { throw ConfigurationError("\(source): key \"\(key)\": \(what)") }
    if learningRate <= 0 || !learningRate.isFinite { try fail("learning_rate", "must be a positive number, got \(learningRate)") }
    if beta < 0 || !beta.isFinite { try fail("beta", "must be >= 0, got \(beta)") }
    if maxLength < 2 { try fail("max_length", "must be at least 2, got \(maxLength)") }
    if perDeviceTrainBatchSize < 1 { try fail("per_device_train_batch_size", "must be at least 1, got \(perDeviceTrainBatchSize)") }
    if perDeviceEvalBatchSize < 1 { try fail("per_device_eval_batch_size", "must be at least 1, got \(perDeviceEvalBatchSize)") }
    if gradientAccumulationSteps < 1 { try fail("gradient_accumulation_steps", "must be at least 1, got \(gradientAccumulationSteps)") }
    if maxSteps == 0 || maxSteps < -1 { try fail("max_steps", "must be positive (or -1 to use num_train_epochs), got \(maxSteps)") }
    if maxSteps < 0 && numTrainEpochs <= 0 { try fail("num_train_epochs", "must be positive when max_steps is not set") }
    if warmupRatio < 0 || warmupRatio >= 1 { try fail("warmup_ratio", "must be in [0, 1), got \(warmupRatio)") }
    if warmupSteps < 0 { try fail("warmup_steps", "must be >= 0, got \(warmupSteps)") }
    if loggingSteps < 1 { try fail("logging_steps", "must be at least 1, got \(loggingSteps)") }
    if !["no", "steps", "epoch"].contains(evalStrategy) { try fail("eval_strategy", "must be no, steps or epoch, got \"\(evalStrategy)\"") }
    if evalStrategy == "steps", let e = evalSteps, e < 1 { try fail("eval_steps", "must be at least 1, got \(e)") }
    if let s = saveSteps, s < 1 { try fail("save_steps", "must be at least 1, got \(s)") }
    if let s = saveTotalLimit, s < 1 { try fail("save_total_limit", "must be at least 1, got \(s)") }
    if !["lora", "full"].contains(finetuningType) { try fail("finetuning_type", "must be lora or full, got \"\(finetuningType)\"") }
    if lora.rank < 1 { try fail("lora.r", "must be at least 1, got \(lora.rank)") }
    if lora.dropout < 0 || lora.dropout >= 1 { try fail("lora.lora_dropout", "must be in [0, 1), got \(lora.dropout)") }
    if !["float32", "fp32", "bfloat16", "bf16", "float16", "fp16"].contains(torchDtype) {
      try fail("torch_dtype", "must be float32, bfloat16 or float16, got \"\(torchDtype)\"")
    }
    for r in reportTo where !["jsonl", "tensorboard", "all", "none"].contains(r) {
      try fail("report_to", "unknown sink \"\(r)\" (jsonl, tensorboard, all, none)")
    }
    if let t = testSize, t <= 0 { try fail("test_size", "must be positive, got \(t)") }
    if loadIn4bit {
      try fail("load_in_4bit", "QLoRA (4-bit base weights) is not available yet in this version; train LoRA on a bf16 or float32 base instead (remove load_in_4bit)")
    }
  }

  /// Steps per epoch and total optimizer steps (Hugging Face: batches per epoch / accumulation, rounded up).
  public func stepPlan(trainPairs: Int) -> (stepsPerEpoch: Int, totalSteps: Int) {
    let batches = Swift.max(1, (trainPairs + perDeviceTrainBatchSize - 1) / perDeviceTrainBatchSize)
    let perEpoch = Swift.max(1, (batches + gradientAccumulationSteps - 1) / gradientAccumulationSteps)
    let total = maxSteps > 0 ? maxSteps : Int((Double(perEpoch) * numTrainEpochs).rounded(.up))
    return (perEpoch, total)
  }

  public var betaScheduleValue: BetaSchedule {
    guard let end = betaEnd, betaSchedule != .constant else { return BetaSchedule(constant: beta) }
    return BetaSchedule(shape: betaSchedule, start: beta, end: end)
  }
}

// MARK: - helpers

private struct AnyKey: CodingKey {
  let stringValue: String
  init(_ s: String) { stringValue = s }
  init?(stringValue: String) { self.stringValue = stringValue }
  var intValue: Int? { nil }
  init?(intValue: Int) { return nil }
}

private func path(_ ctx: DecodingError.Context) -> String {
  ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
}

private func describe(_ type: Any.Type) -> String {
  switch type {
  case is Int.Type: return "an integer"
  case is Double.Type: return "a number"
  case is Bool.Type: return "true or false"
  case is String.Type: return "a string"
  default: return "\(type)"
  }
}

private func value(at path: [CodingKey], in dict: [String: Any]) -> String {
  var current: Any? = dict
  for key in path {
    if let d = current as? [String: Any] { current = d[key.stringValue] } else if let a = current as? [Any], let i = key.intValue, i < a.count { current = a[i] } else { current = nil }
  }
  guard let v = current else { return "nothing" }
  if let s = v as? String { return "\"\(s)\"" }
  return "\(v)"
}

/// YAML 1.1 reads `5e-4` as a string (no dot); Hugging Face users write it anyway, so numeric strings become numbers.
private func coerceNumbers(_ value: Any) -> Any {
  if let d = value as? [String: Any] { return d.mapValues(coerceNumbers) }
  if let a = value as? [Any] { return a.map(coerceNumbers) }
  if let s = value as? String, let n = Double(s), s.contains(where: { $0 == "e" || $0 == "E" }) { return n }
  return value
}

func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a), b = Array(b)
  var row = Array(0...b.count)
  for i in 1...Swift.max(1, a.count) where !a.isEmpty {
    var previous = row[0]
    row[0] = i
    for j in 1...Swift.max(1, b.count) where !b.isEmpty {
      let saved = row[j]
      row[j] = Swift.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
      previous = saved
    }
  }
  return row[b.count]
}

// CompareReport.swift — what `orpo compare` measures for each pipeline (base, SFT, ORPO, SFT → DPO) and its
// report.json: held-out preference accuracy and margin (overall and per family), NLL of the chosen answers, ROUGE of
// greedy generations, training cost (wall and CPU time, peak memory, steps, per stage), curves and sample generations.
import Foundation

/// One training stage of a pipeline: SFT → DPO has two, ORPO one, the base model none.
public struct StageCost: Codable, Equatable, Sendable {
  public var method: String
  public var trainSteps: Int
  public var wallSeconds: Double
  /// CPU seconds (user + system, all threads) of the stage: its cost on a machine whose cores others share.
  public var cpuSeconds: Double
  public var peakRSSMiB: Double

  public init(method: String, trainSteps: Int, wallSeconds: Double, cpuSeconds: Double, peakRSSMiB: Double) {
    self.method = method
    self.trainSteps = trainSteps
    self.wallSeconds = wallSeconds
    self.cpuSeconds = cpuSeconds
    self.peakRSSMiB = peakRSSMiB
  }

  enum CodingKeys: String, CodingKey {
    case method, trainSteps = "train_steps", wallSeconds = "wall_seconds", cpuSeconds = "cpu_seconds"
    case peakRSSMiB = "peak_rss_mib"
  }
}

/// Preference accuracy and margin of one task family.
public struct FamilyResult: Codable, Equatable, Sendable {
  public var preferenceAccuracy: Double
  public var rewardMargin: Double
  public var pairs: Int

  enum CodingKeys: String, CodingKey {
    case preferenceAccuracy = "preference_accuracy", rewardMargin = "reward_margin", pairs
  }
}

// In an extension, so the memberwise init stays synthesized.
extension FamilyResult {
  /// A family's accuracy and pair count from its tally, with its mean reward margin.
  public init(_ tally: AccuracyTally, rewardMargin: Double) {
    self.init(preferenceAccuracy: tally.accuracy, rewardMargin: rewardMargin, pairs: tally.pairs)
  }
}

/// The held-out measurements of one model (`orpo evaluate` prints them too).
public struct ModelScores: Codable, Equatable, Sendable {
  /// Pairs whose chosen answer has the higher average completion log-prob (the same rule for every method).
  public var preferenceAccuracy: Double
  /// Mean over pairs of (average log-prob of the chosen answer − that of the rejected one), nats per token.
  public var rewardMargin: Double
  /// Mean negative log-likelihood per completion token of the chosen answers.
  public var nll: Double
  public var perplexity: Double
  /// Mean ROUGE F-measures of greedy generations against the chosen answers (rouge-score's tokenizer, stemmed).
  public var rouge1: Double
  public var rouge2: Double
  public var rougeL: Double
  public var pairs: Int
  public var generations: Int
  public var families: [String: FamilyResult]

  public init(preferenceAccuracy: Double, rewardMargin: Double, nll: Double, perplexity: Double, rouge1: Double,
              rouge2: Double, rougeL: Double, pairs: Int, generations: Int, families: [String: FamilyResult])
  {
    self.preferenceAccuracy = preferenceAccuracy
    self.rewardMargin = rewardMargin
    self.nll = nll
    self.perplexity = perplexity
    self.rouge1 = rouge1
    self.rouge2 = rouge2
    self.rougeL = rougeL
    self.pairs = pairs
    self.generations = generations
    self.families = families
  }

  enum CodingKeys: String, CodingKey {
    case preferenceAccuracy = "preference_accuracy", rewardMargin = "reward_margin", nll, perplexity, rouge1, rouge2
    case rougeL, pairs, generations, families
  }
}

/// One pipeline's row of the report.
public struct MethodResult: Codable, Equatable, Sendable {
  public var scores: ModelScores
  /// Training cost of the whole pipeline: the sum over its stages (wall time, CPU time, steps) and the largest peak
  /// memory.
  public var wallSeconds: Double
  public var cpuSeconds: Double
  public var peakRSSMiB: Double
  public var trainSteps: Int
  public var evalSeconds: Double
  public var stages: [StageCost]

  public init(scores: ModelScores, stages: [StageCost], evalSeconds: Double, baselinePeakRSSMiB: Double = 0) {
    self.scores = scores
    self.stages = stages
    self.evalSeconds = evalSeconds
    wallSeconds = stages.reduce(0) { $0 + $1.wallSeconds }
    cpuSeconds = stages.reduce(0) { $0 + $1.cpuSeconds }
    trainSteps = stages.reduce(0) { $0 + $1.trainSteps }
    peakRSSMiB = stages.map(\.peakRSSMiB).max() ?? baselinePeakRSSMiB
  }

  enum CodingKeys: String, CodingKey {
    case wallSeconds = "wall_seconds", cpuSeconds = "cpu_seconds", peakRSSMiB = "peak_rss_mib", trainSteps = "train_steps"
    case evalSeconds = "eval_seconds", stages
  }

  // The scores sit at the same level as the cost keys: {"preference_accuracy": …, "wall_seconds": …}.
  public init(from decoder: Decoder) throws {
    scores = try ModelScores(from: decoder)
    let c = try decoder.container(keyedBy: CodingKeys.self)
    wallSeconds = try c.decode(Double.self, forKey: .wallSeconds)
    cpuSeconds = try c.decode(Double.self, forKey: .cpuSeconds)
    peakRSSMiB = try c.decode(Double.self, forKey: .peakRSSMiB)
    trainSteps = try c.decode(Int.self, forKey: .trainSteps)
    evalSeconds = try c.decode(Double.self, forKey: .evalSeconds)
    stages = try c.decode([StageCost].self, forKey: .stages)
  }

  public func encode(to encoder: Encoder) throws {
    try scores.encode(to: encoder)
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(wallSeconds, forKey: .wallSeconds)
    try c.encode(cpuSeconds, forKey: .cpuSeconds)
    try c.encode(peakRSSMiB, forKey: .peakRSSMiB)
    try c.encode(trainSteps, forKey: .trainSteps)
    try c.encode(evalSeconds, forKey: .evalSeconds)
    try c.encode(stages, forKey: .stages)
  }
}

/// One held-out prompt with its reference answer and each pipeline's greedy generation.
public struct SampleGeneration: Codable, Equatable, Sendable {
  public var prompt: String
  public var reference: String
  public var generations: [String: String]

  public init(prompt: String, reference: String, generations: [String: String]) {
    self.prompt = prompt
    self.reference = reference
    self.generations = generations
  }
}

/// report.json: `{"methods": {"base": {...}, "sft": {...}, "orpo": {...}, "sft_dpo": {...}}, ...}`.
public struct CompareReport: Codable, Equatable, Sendable {
  public var methods: [String: MethodResult]
  /// The pipelines in the order the report shows them.
  public var order: [String]
  /// What was compared: model, data, step budget per stage, evaluation sizes.
  public var settings: [String: String]
  /// Training curves: pipeline → metric → [[step, value]] (SFT → DPO's DPO stage continues the step count).
  public var curves: [String: [String: [[Double]]]]
  public var samples: [SampleGeneration]

  public init(methods: [String: MethodResult], order: [String], settings: [String: String],
              curves: [String: [String: [[Double]]]], samples: [SampleGeneration])
  {
    self.methods = methods
    self.order = order
    self.settings = settings
    self.curves = curves
    self.samples = samples
  }

  /// The pipeline names `orpo compare` runs, in report order, with their labels.
  public static let pipelines = ["base", "sft", "orpo", "sft_dpo"]
  public static let labels = ["base": "base model", "sft": "SFT", "orpo": "ORPO", "sft_dpo": "SFT → DPO"]

  public static func label(_ method: String) -> String { labels[method] ?? method }

  /// Pretty, key-sorted JSON; non-finite numbers as the strings "NaN", "Infinity", "-Infinity".
  public func json() throws -> Foundation.Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity",
                                                                  nan: "NaN")
    return try encoder.encode(self)
  }

  public init(json: Foundation.Data) throws {
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity",
                                                                     nan: "NaN")
    self = try decoder.decode(CompareReport.self, from: json)
  }
}

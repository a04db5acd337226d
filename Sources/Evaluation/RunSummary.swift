// RunSummary.swift — a run's `summary.json`: what `orpo train` writes at the end (speed, held-out accuracy before
// and after, per family, the final evaluation) and what reports read back. One type owns the file's keys.
import Foundation
import Support

/// The closing numbers of a training run, as `summary.json` holds them (keys sorted, pretty-printed). Non-finite
/// numbers are written as the strings "NaN", "Infinity", "-Infinity", as in `metrics.jsonl`.
public struct RunSummary: Equatable, Sendable {
  public var steps: Int
  public var seconds: Double
  public var secondsPerStep: Double
  public var pairsPerSecond: Double
  public var tokensPerSecond: Double
  /// The last logged training loss (NaN when no step logged one).
  public var finalLoss: Double
  /// The saved adapter (or model) folder.
  public var output: String
  public var wallSeconds: Double
  /// Held-out preference accuracy before training (nil when the run resumed or had no eval data) and after.
  public var accuracyBefore: Double?
  public var accuracyAfter: Double?
  /// Per-family tallies of the same evaluations; empty when the eval data carries no `family` labels.
  public var familiesBefore: [String: AccuracyTally]
  public var familiesAfter: [String: AccuracyTally]
  /// The final evaluation's metrics under TRL's names (`eval_loss`, `eval_rewards/accuracies`, … `eval_accuracy`).
  public var evaluation: [String: Double]

  public init(steps: Int, seconds: Double, secondsPerStep: Double, pairsPerSecond: Double, tokensPerSecond: Double,
              finalLoss: Double, output: String, wallSeconds: Double, accuracyBefore: Double? = nil,
              accuracyAfter: Double? = nil, familiesBefore: [String: AccuracyTally] = [:],
              familiesAfter: [String: AccuracyTally] = [:], evaluation: [String: Double] = [:])
  {
    self.steps = steps
    self.seconds = seconds
    self.secondsPerStep = secondsPerStep
    self.pairsPerSecond = pairsPerSecond
    self.tokensPerSecond = tokensPerSecond
    self.finalLoss = finalLoss
    self.output = output
    self.wallSeconds = wallSeconds
    self.accuracyBefore = accuracyBefore
    self.accuracyAfter = accuracyAfter
    self.familiesBefore = familiesBefore
    self.familiesAfter = familiesAfter
    self.evaluation = evaluation
  }

  /// The file's text: one JSON object, keys sorted, pretty-printed.
  public func jsonData() throws -> Foundation.Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = RunSummary.nonFinite.encoding
    return try encoder.encode(self)
  }

  /// Writes `summary.json` atomically (a reader never sees half a file).
  public func write(to url: URL) throws {
    try AtomicFile.write(try jsonData(), to: url)
  }

  /// Reads a `summary.json`; a missing key or a value of the wrong kind is an error naming the file and the key.
  public init(contentsOf url: URL) throws {
    let bytes: Foundation.Data
    do { bytes = try Foundation.Data(contentsOf: url) } catch {
      throw RunReadError(path: url.path, message: "cannot read the file (\(error.localizedDescription))")
    }
    try self.init(jsonData: bytes, source: url.path)
  }

  public init(jsonData: Foundation.Data, source: String = "summary.json") throws {
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = RunSummary.nonFinite.decoding
    do { self = try decoder.decode(RunSummary.self, from: jsonData) } catch let error as DecodingError {
      throw RunReadError(path: source, decodingError: error)
    } catch {
      throw RunReadError(path: source, message: "\(error)")
    }
  }

  static let nonFinite = (
    encoding: JSONEncoder.NonConformingFloatEncodingStrategy.convertToString(
      positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN"),
    decoding: JSONDecoder.NonConformingFloatDecodingStrategy.convertFromString(
      positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
  )
}

extension RunSummary: Codable {
  /// Fixed keys, plus the final evaluation's `eval_*` metrics at the top level, as TRL names them.
  struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }

    static let steps = Key("steps"), seconds = Key("seconds"), secondsPerStep = Key("seconds_per_step")
    static let pairsPerSecond = Key("pairs_per_second"), tokensPerSecond = Key("tokens_per_second")
    static let finalLoss = Key("final_loss"), output = Key("output"), wallSeconds = Key("wall_seconds")
    static let accuracyBefore = Key("eval_accuracy_before"), accuracyAfter = Key("eval_accuracy_after")
    static let familiesBefore = Key("eval_accuracy_by_family_before")
    static let familiesAfter = Key("eval_accuracy_by_family_after")
    static let fixed: Set<String> = Set([steps, seconds, secondsPerStep, pairsPerSecond, tokensPerSecond, finalLoss,
                                         output, wallSeconds, accuracyBefore, accuracyAfter, familiesBefore,
                                         familiesAfter].map(\.stringValue))
  }

  public init(from decoder: Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    steps = try container.decode(Int.self, forKey: .steps)
    seconds = try container.decode(Double.self, forKey: .seconds)
    secondsPerStep = try container.decode(Double.self, forKey: .secondsPerStep)
    pairsPerSecond = try container.decode(Double.self, forKey: .pairsPerSecond)
    tokensPerSecond = try container.decode(Double.self, forKey: .tokensPerSecond)
    finalLoss = try container.decode(Double.self, forKey: .finalLoss)
    output = try container.decode(String.self, forKey: .output)
    wallSeconds = try container.decode(Double.self, forKey: .wallSeconds)
    accuracyBefore = try container.decodeIfPresent(Double.self, forKey: .accuracyBefore)
    accuracyAfter = try container.decodeIfPresent(Double.self, forKey: .accuracyAfter)
    familiesBefore = try container.decodeIfPresent([String: AccuracyTally].self, forKey: .familiesBefore) ?? [:]
    familiesAfter = try container.decodeIfPresent([String: AccuracyTally].self, forKey: .familiesAfter) ?? [:]
    evaluation = [:]
    for key in container.allKeys where key.stringValue.hasPrefix("eval_") && !Key.fixed.contains(key.stringValue) {
      evaluation[key.stringValue] = try container.decode(Double.self, forKey: key)
    }
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(steps, forKey: .steps)
    try container.encode(seconds, forKey: .seconds)
    try container.encode(secondsPerStep, forKey: .secondsPerStep)
    try container.encode(pairsPerSecond, forKey: .pairsPerSecond)
    try container.encode(tokensPerSecond, forKey: .tokensPerSecond)
    try container.encode(finalLoss, forKey: .finalLoss)
    try container.encode(output, forKey: .output)
    try container.encode(wallSeconds, forKey: .wallSeconds)
    try container.encodeIfPresent(accuracyBefore, forKey: .accuracyBefore)
    try container.encodeIfPresent(accuracyAfter, forKey: .accuracyAfter)
    if !familiesBefore.isEmpty { try container.encode(familiesBefore, forKey: .familiesBefore) }
    if !familiesAfter.isEmpty { try container.encode(familiesAfter, forKey: .familiesAfter) }
    for (name, value) in evaluation where !Key.fixed.contains(name) { try container.encode(value, forKey: Key(name)) }
  }
}

extension AccuracyTally: Codable {
  enum CodingKeys: String, CodingKey { case wins, pairs, accuracy }

  /// `{"accuracy": 0.92, "pairs": 25, "wins": 23}`; `accuracy` is written for readers and recomputed on reading.
  public init(from decoder: Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    wins = try container.decode(Int.self, forKey: .wins)
    pairs = try container.decode(Int.self, forKey: .pairs)
    guard wins >= 0, pairs >= wins else {
      throw DecodingError.dataCorruptedError(forKey: .wins, in: container,
                                             debugDescription: "expected 0 <= wins <= pairs, got \(wins) of \(pairs)")
    }
  }

  public func encode(to encoder: Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(accuracy, forKey: .accuracy)
    try container.encode(pairs, forKey: .pairs)
    try container.encode(wins, forKey: .wins)
  }
}

/// A run file that could not be read: which file, where in it, and what was expected.
public struct RunReadError: Error, Equatable, CustomStringConvertible {
  public let path: String
  public let message: String

  public init(path: String, message: String) {
    self.path = path
    self.message = message
  }

  init(path: String, decodingError: DecodingError) {
    func keyPath(_ path: [CodingKey]) -> String {
      path.isEmpty ? "top level" : "key \"" + path.map { $0.intValue.map(String.init) ?? $0.stringValue }
        .joined(separator: ".") + "\""
    }
    switch decodingError {
    case .keyNotFound(let key, let context):
      self.init(path: path, message: "\(keyPath(context.codingPath + [key])): missing")
    case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
      self.init(path: path, message: "\(keyPath(context.codingPath)): expected \(type)")
    case .dataCorrupted(let context):
      self.init(path: path, message: "\(keyPath(context.codingPath)): \(context.debugDescription)")
    @unknown default:
      self.init(path: path, message: "\(decodingError)")
    }
  }

  public var description: String { "\(path): \(message)" }
}

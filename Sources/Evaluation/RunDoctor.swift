// RunDoctor.swift — `orpo doctor`: reads a finished or running run folder (metrics.jsonl, summary.json, run.json)
// and says, with the steps and values that show it, what is going wrong with ORPO and which setting to try next.
import Foundation
import RunMetrics
import Support

/// One diagnosis: what was seen (a metric's steps and values), how bad it is, and the next setting to try.
public struct DoctorFinding: Equatable, Sendable {
  public enum Severity: String, Sendable { case info, warning, error }

  public var id: String
  public var severity: Severity
  /// What the run shows, in words with the steps and values.
  public var evidence: String
  /// The metric the evidence is about, and its (step, value) points.
  public var metric: String
  public var steps: [Int]
  public var values: [Double]
  public var advice: String
  /// The next run's change as `--set key=value` takes it (`beta=0.25`), when one setting is the advice.
  public var setting: String?

  public var json: JSONValue {
    var members: [JSONMember] = [("id", .string(id)), ("severity", .string(severity.rawValue)),
                                 ("evidence", .string(evidence)), ("metric", .string(metric)),
                                 ("steps", .array(steps.map { .int($0) })),
                                 ("values", .array(values.map { $0.isFinite ? .double($0) : .string("\($0)") })),
                                 ("advice", .string(advice))]
    members.append(("setting", setting.map { .string($0) } ?? .null))
    return .object(members)
  }
}

/// What `orpo train` records about a run before its first step (`run.json`): the settings the doctor weighs and the
/// data's truncation, which metrics.jsonl does not carry.
public struct RunInfo: Codable, Equatable, Sendable {
  public var method: String
  public var learningRate: Double
  public var beta: Double
  public var betaEnd: Double?
  public var maxLength: Int
  public var maxSteps: Int
  public var trainPairs: Int
  /// Training pairs whose chosen or rejected completion was cut at max_length.
  public var truncatedPairs: Int

  public init(method: String, learningRate: Double, beta: Double, betaEnd: Double?, maxLength: Int, maxSteps: Int,
              trainPairs: Int, truncatedPairs: Int)
  {
    self.method = method
    self.learningRate = learningRate
    self.beta = beta
    self.betaEnd = betaEnd
    self.maxLength = maxLength
    self.maxSteps = maxSteps
    self.trainPairs = trainPairs
    self.truncatedPairs = truncatedPairs
  }

  enum CodingKeys: String, CodingKey {
    case method, learningRate = "learning_rate", beta, betaEnd = "beta_end", maxLength = "max_length"
    case maxSteps = "max_steps", trainPairs = "train_pairs", truncatedPairs = "truncated_pairs"
  }

  public func write(to url: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(try encoder.encode(self), to: url)
  }

  public init(contentsOf url: URL) throws {
    let bytes: Foundation.Data
    do { bytes = try Foundation.Data(contentsOf: url) } catch {
      throw RunReadError(path: url.path, message: "cannot read the file (\(error.localizedDescription))")
    }
    do { self = try JSONDecoder().decode(RunInfo.self, from: bytes) } catch let error as DecodingError {
      throw RunReadError(path: url.path, decodingError: error)
    }
  }
}

extension RunFolder {
  public var runInfoURL: URL { url.appendingPathComponent("run.json") }
}

/// The rules. Each reads the train rows (and eval rows, summary, run info where it needs them) and returns a finding
/// or nil; thresholds are named constants so that tests and the advice quote the same numbers.
public struct RunDoctor {
  /// "A few percent": below this the odds-ratio term hardly moves the gradient.
  public static let weakShare = 0.03
  /// The share a raised λ aims at.
  public static let targetShare = 0.1
  /// "Most of the run".
  public static let mostOfTheRun = 0.6
  /// Accuracy moving less than this is flat.
  public static let flatAccuracy = 0.03
  /// Log-probs (nats per token, on average) falling by more than this are falling.
  public static let fallingLogps = 0.05
  /// Eval loss this far (relative) above its minimum is rising.
  public static let risingEvalLoss = 0.02
  /// A larger share of truncated training pairs is worth a finding.
  public static let truncatedShare = 0.05

  public var rows: [MetricsRow]
  public var summary: RunSummary?
  public var info: RunInfo?

  public init(rows: [MetricsRow], summary: RunSummary? = nil, info: RunInfo? = nil) {
    self.rows = rows
    self.summary = summary
    self.info = info
  }

  /// Reads what the folder has: metrics.jsonl is required, summary.json (finished runs) and run.json are optional.
  public init(folder: RunFolder) throws {
    guard FileManager.default.fileExists(atPath: folder.metricsURL.path) else {
      throw RunReadError(path: folder.url.path, message: "no metrics.jsonl: not a run folder (or report_to has no jsonl)")
    }
    let fm = FileManager.default
    self.init(rows: try folder.metrics(),
              summary: fm.fileExists(atPath: folder.summaryURL.path) ? try folder.summary() : nil,
              info: fm.fileExists(atPath: folder.runInfoURL.path) ? try RunInfo(contentsOf: folder.runInfoURL) : nil)
  }

  var train: [MetricsRow] { rows.filter { $0.split == .train } }
  var eval: [MetricsRow] { rows.filter { $0.split == .eval } }

  /// Every finding, in a fixed order: errors first.
  public func findings() -> [DoctorFinding] {
    [nonFinite(), weakPreferenceTerm(), flatAccuracy(), bothLogpsFalling(), risingEvalLoss(), truncation(),
     lambdaSchedule()].compactMap { $0 }
  }

  /// `{"findings": [...]}`, as `orpo doctor --json` prints it.
  public static func json(_ findings: [DoctorFinding]) -> JSONValue {
    .object([("findings", .array(findings.map(\.json)))])
  }

  /// One block of text per finding, for people.
  public static func text(_ findings: [DoctorFinding]) -> String {
    if findings.isEmpty { return "no findings: nothing in the metrics looks wrong" }
    return findings.map { f in
      "[\(f.severity.rawValue)] \(f.id): \(f.evidence)\n  advice: \(f.advice)" + (f.setting.map { "\n  next: --set \($0)" } ?? "")
    }.joined(separator: "\n")
  }

  // MARK: Rules

  /// `non_finite`: a NaN or infinite loss, gradient norm or metric at some step.
  func nonFinite() -> DoctorFinding? {
    let bad = rows.compactMap { row -> (Int, String, Double)? in
      for name in ["loss", "grad_norm", "eval_loss"] + row.values.keys.sorted() {
        if let v = row.values[name], !v.isFinite { return (row.step, name, v) }
      }
      return nil
    }
    guard let first = bad.first else { return nil }
    let rate = learningRate.map { "learning_rate=\(Self.rounded($0 / 2))" }
    return DoctorFinding(
      id: "non_finite", severity: .error,
      evidence: "\(bad.count) logged row\(bad.count == 1 ? "" : "s") with non-finite values, first \(first.1) = \(first.2) at step \(first.0)",
      metric: first.1, steps: bad.map(\.0), values: bad.map(\.2),
      advice: "the run diverged: halve the learning rate (and keep max_grad_norm at 1.0, torch_dtype float32); check the data for empty completions",
      setting: rate)
  }

  /// The odds-ratio term's share of the loss at each train log (logged `odds_ratio_share`, or worked out from `beta`,
  /// `log_odds_ratio` and `loss` for runs logged before it existed).
  var shares: [(step: Int, share: Double, nll: Double, term: Double, beta: Double)] {
    train.compactMap { row in
      guard let beta = row.values["beta"], let logSigmoid = row.values["log_odds_ratio"], let loss = row.values["loss"],
            loss.isFinite, logSigmoid.isFinite
      else { return nil }
      let share = row.values["odds_ratio_share"] ?? beta * -logSigmoid / loss
      return (row.step, share, loss - beta * -logSigmoid, -logSigmoid, beta)
    }
  }

  /// `weak_preference_term`: the odds-ratio share below `weakShare` in most logs; advice: the λ that would make it
  /// `targetShare` at the run's median NLL and −log σ (share s = λT / (N + λT), so λ = s·N / ((1 − s)·T)).
  func weakPreferenceTerm() -> DoctorFinding? {
    let s = shares
    guard s.count >= 3 else { return nil }
    let weak = s.filter { $0.share < Self.weakShare }
    guard Double(weak.count) >= Self.mostOfTheRun * Double(s.count) else { return nil }
    let nll = Self.median(s.map(\.nll)), term = Self.median(s.map(\.term))
    let beta = Self.rounded(Self.targetShare * nll / ((1 - Self.targetShare) * Swift.max(term, 1e-9)))
    return DoctorFinding(
      id: "weak_preference_term", severity: .warning,
      evidence: "odds_ratio_share below \(Self.weakShare) in \(weak.count) of \(s.count) train logs (median \(Self.format(Self.median(s.map(\.share)))), λ = \(Self.format(s.last!.beta))): the odds-ratio term hardly moves the gradient and this is close to plain SFT",
      metric: "odds_ratio_share", steps: s.map(\.step), values: s.map(\.share),
      advice: "raise beta so the term is about \(Int(Self.targetShare * 100))% of the loss (at this run's median NLL \(Self.format(nll)) and −log σ \(Self.format(term))); validate with orpo sweep",
      setting: "beta=\(beta)")
  }

  /// `flat_accuracy`: held-out accuracy before → after (summary.json) or the train logs' `rewards/accuracies` (first
  /// quarter → last half) moving less than `flatAccuracy`, unless it is already at 0.9 or more.
  func flatAccuracy() -> DoctorFinding? {
    var evidence: String, steps: [Int], values: [Double], metric: String
    if let summary, let before = summary.accuracyBefore, let after = summary.accuracyAfter {
      guard Swift.abs(after - before) < Self.flatAccuracy, after < 0.9 else { return nil }
      metric = "eval_accuracy"
      steps = [0, summary.steps]
      values = [before, after]
      evidence = "held-out preference accuracy \(Self.format(before)) before → \(Self.format(after)) after \(summary.steps) steps"
    } else {
      let points = train.compactMap { row in row.values["rewards/accuracies"].map { (row.step, $0) } }
      guard points.count >= 8 else { return nil }
      let early = Self.mean(points.prefix(points.count / 4).map(\.1))
      let late = Self.mean(points.suffix(points.count / 2).map(\.1))
      guard Swift.abs(late - early) < Self.flatAccuracy, late < 0.9 else { return nil }
      metric = "rewards/accuracies"
      steps = points.map(\.0)
      values = points.map(\.1)
      evidence = "train rewards/accuracies \(Self.format(early)) over the first quarter of the logs → \(Self.format(late)) over the last half (steps \(points[points.count - points.count / 2].0)–\(points.last!.0))"
    }
    let rate = learningRate.map { "learning_rate=\(Self.rounded($0 * 2))" }
    if let beta = shares.last?.beta, weakPreferenceTerm() != nil {
      return DoctorFinding(id: "flat_accuracy", severity: .warning, evidence: evidence, metric: metric, steps: steps,
                           values: values, advice: "the preference term is weak (weak_preference_term): raise beta first",
                           setting: "beta=\(Self.rounded(beta * 5))")
    }
    return DoctorFinding(id: "flat_accuracy", severity: .warning, evidence: evidence, metric: metric, steps: steps,
                         values: values,
                         advice: "the preference is not being learned: double the learning rate (or train longer); if it already follows SFT on the same data, raise beta",
                         setting: rate)
  }

  /// `both_logps_falling`: the chosen and the rejected answers both becoming less likely — from the probe pairs'
  /// summed `logps_trend/*` when logged, else the train logs' `logps/*` (first quarter → last quarter).
  func bothLogpsFalling() -> DoctorFinding? {
    let probe = train.filter { $0.values["logps_trend/chosen"] != nil && $0.values["logps_trend/rejected"] != nil }
    var chosenChange: Double, rejectedChange: Double, evidence: String, steps: [Int], values: [Double], metric: String
    if probe.count >= 3 {
      chosenChange = probe.reduce(0) { $0 + $1.values["logps_trend/chosen"]! }
      rejectedChange = probe.reduce(0) { $0 + $1.values["logps_trend/rejected"]! }
      var sum = 0.0
      (metric, steps, values) = ("logps_trend/chosen (cumulative)", probe.map(\.step),
                                 probe.map { sum += $0.values["logps_trend/chosen"]!; return sum })
      evidence = "on the probe pairs, mean chosen log-prob changed by \(Self.format(chosenChange)) and rejected by \(Self.format(rejectedChange)) nats/token between steps \(probe.first!.step) and \(probe.last!.step)"
    } else {
      let points = train.compactMap { row -> (Int, Double, Double)? in
        guard let c = row.values["logps/chosen"], let r = row.values["logps/rejected"] else { return nil }
        return (row.step, c, r)
      }
      guard points.count >= 8 else { return nil }
      let quarter = points.count / 4
      chosenChange = Self.mean(points.suffix(quarter).map(\.1)) - Self.mean(points.prefix(quarter).map(\.1))
      rejectedChange = Self.mean(points.suffix(quarter).map(\.2)) - Self.mean(points.prefix(quarter).map(\.2))
      (metric, steps, values) = ("logps/chosen", points.map(\.0), points.map(\.1))
      evidence = "train logps/chosen changed by \(Self.format(chosenChange)) and logps/rejected by \(Self.format(rejectedChange)) nats/token from the first quarter of the logs to the last"
    }
    guard chosenChange < -Self.fallingLogps, rejectedChange < -Self.fallingLogps else { return nil }
    return DoctorFinding(
      id: "both_logps_falling", severity: .warning, evidence: evidence, metric: metric, steps: steps, values: values,
      advice: "both answers are pushed down (over-optimisation, or too high a learning rate): halve the learning rate or stop earlier",
      setting: learningRate.map { "learning_rate=\(Self.rounded($0 / 2))" })
  }

  /// `rising_eval_loss`: the last eval loss more than `risingEvalLoss` above the run's lowest, reached at an earlier
  /// evaluation, while the train loss kept falling.
  func risingEvalLoss() -> DoctorFinding? {
    let points = eval.compactMap { row in row.values["eval_loss"].map { (row.step, $0) } }.filter { $0.1.isFinite }
    guard points.count >= 3, let best = points.min(by: { $0.1 < $1.1 }), let last = points.last,
          best.0 < last.0, last.1 > best.1 * (1 + Self.risingEvalLoss)
    else { return nil }
    let trainLoss = train.compactMap { row in row.values["loss"].map { (row.step, $0) } }
    let atBest = trainLoss.filter { $0.0 <= best.0 }.suffix(3).map(\.1)
    let atEnd = trainLoss.suffix(3).map(\.1)
    guard !atBest.isEmpty, !atEnd.isEmpty, Self.mean(atEnd) < Self.mean(atBest) else { return nil }
    return DoctorFinding(
      id: "rising_eval_loss", severity: .warning,
      evidence: "eval_loss lowest \(Self.format(best.1)) at step \(best.0), \(Self.format(last.1)) at step \(last.0), while train loss fell from \(Self.format(Self.mean(atBest))) to \(Self.format(Self.mean(atEnd)))",
      metric: "eval_loss", steps: points.map(\.0), values: points.map(\.1),
      advice: "the model is overfitting the training pairs: stop at the best evaluation (or lower the learning rate, add data)",
      setting: "max_steps=\(best.0)")
  }

  /// `truncation`: more than `truncatedShare` of the training pairs had a completion cut at max_length (run.json).
  func truncation() -> DoctorFinding? {
    guard let info, info.trainPairs > 0 else { return nil }
    let share = Double(info.truncatedPairs) / Double(info.trainPairs)
    guard share > Self.truncatedShare else { return nil }
    return DoctorFinding(
      id: "truncation", severity: .warning,
      evidence: "\(info.truncatedPairs) of \(info.trainPairs) training pairs (\(Self.format(share * 100))%) had the chosen or rejected completion cut at max_length \(info.maxLength): ORPO then compares answers without their endings",
      metric: "truncated_pairs", steps: [0], values: [Double(info.truncatedPairs)],
      advice: "raise max_length (memory grows with it; orpo train --dry-run shows how much) or drop the long rows",
      setting: "max_length=\(info.maxLength * 2)")
  }

  /// `lambda_schedule`: λ (`beta`) changed over the run: where it went and what the odds-ratio share did.
  func lambdaSchedule() -> DoctorFinding? {
    let s = shares
    guard let first = s.first, let last = s.last, Set(s.map(\.beta)).count > 1 else { return nil }
    let faded = last.share < Self.weakShare
    var evidence = "λ annealed from \(Self.format(first.beta)) (step \(first.step)) to \(Self.format(last.beta)) (step \(last.step)); odds_ratio_share \(Self.format(first.share)) → \(Self.format(last.share))"
    if let a = train.first?.values["rewards/accuracies"], let b = train.last?.values["rewards/accuracies"] {
      evidence += "; train rewards/accuracies \(Self.format(a)) → \(Self.format(b))"
    }
    let target = Self.rounded(Self.targetShare * last.nll / ((1 - Self.targetShare) * Swift.max(last.term, 1e-9)))
    return DoctorFinding(
      id: "lambda_schedule", severity: faded ? .warning : .info, evidence: evidence, metric: "beta",
      steps: s.map(\.step), values: s.map(\.beta),
      advice: faded
        ? "the preference term faded as λ fell: end the schedule higher"
        : "the term stayed active; check it beats a constant λ on held-out accuracy (orpo sweep)",
      setting: faded ? "beta_end=\(target)" : "beta_schedule=constant")
  }

  // MARK: Helpers

  /// The run's base learning rate: run.json's, else the largest logged.
  var learningRate: Double? { info?.learningRate ?? train.compactMap { $0.values["learning_rate"] }.max() }

  static func mean(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count) }

  static func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
  }

  /// Two significant digits, as a setting is written (0.24, 0.0005, 2).
  static func rounded(_ x: Double) -> String {
    guard x.isFinite, x != 0 else { return "\(x)" }
    let digits = 1 - Int(Foundation.floor(Foundation.log10(Swift.abs(x))))
    let scale = Foundation.pow(10.0, Double(digits))
    let r = (x * scale).rounded() / scale
    return r == r.rounded() && Swift.abs(r) < 1e15 ? String(Int(r)) : "\(r)"
  }

  static func format(_ x: Double) -> String { String(format: "%.3g", x) }
}

// RunDoctorTests.swift — `orpo doctor`'s findings on synthetic run folders (metrics.jsonl written as the trainer
// writes it, summary.json, run.json): each finding fires on a run that shows it and stays silent on a healthy one.
import Foundation
import RunMetrics
import Support
import Testing
@testable import Evaluation

/// A healthy ORPO run's train log at `step` of 20: λ 0.1, NLL falling 1.5 → 0.55, −log σ 0.69 → 0.4, so the odds-ratio
/// share stays at 4–7%; chosen log-probs rise, rejected ones fall, accuracy climbs 0.55 → 0.93.
func healthyRow(_ step: Int, beta: Double = 0.1) -> [String: Double] {
  let t = Double(step) / 20
  let nll = 1.5 - 0.95 * t, term = 0.69 - 0.29 * t
  return ["loss": nll + beta * term, "grad_norm": 1.0, "learning_rate": 5e-4 * (1 - t), "nll_loss": nll,
          "log_odds_ratio": -term, "rewards/accuracies": 0.55 + 0.38 * t, "logps/chosen": -1.2 + 0.6 * t,
          "logps/rejected": -1.5 - 0.5 * t, "beta": beta, "logps_trend/chosen": 0.03, "logps_trend/rejected": -0.025,
          "rejected_gained": 0.25]
}

/// Writes a run folder: train rows for steps 1...20 (edited by `edit`), `eval` rows, and optional summary and run.json.
func runFolder(edit: (Int, inout [String: Double]) -> Void = { _, _ in }, eval: [(Int, Double)] = [],
               summary: (before: Double, after: Double)? = nil, info: RunInfo? = nil) throws -> RunFolder
{
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-doctor-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  var lines: [String] = []
  for step in 1...20 {
    var values = healthyRow(step)
    edit(step, &values)
    lines.append(JSONLMetricsWriter.line(step: step, epoch: Double(step) / 20, values: values.sorted { $0.key < $1.key },
                                         split: .train))
    for (evalStep, loss) in eval where evalStep == step {
      lines.append(JSONLMetricsWriter.line(step: step, epoch: nil, values: [("eval_loss", loss)], split: .eval))
    }
  }
  try (lines.joined(separator: "\n") + "\n").write(to: url.appendingPathComponent("metrics.jsonl"), atomically: true,
                                                     encoding: .utf8)
  if let summary {
    try RunSummary(steps: 20, seconds: 1, secondsPerStep: 0.05, pairsPerSecond: 1, tokensPerSecond: 1, finalLoss: 0.6,
                   output: "adapter", wallSeconds: 2, accuracyBefore: summary.before, accuracyAfter: summary.after,
                   familiesBefore: [:], familiesAfter: [:], evaluation: [:])
      .write(to: url.appendingPathComponent("summary.json"))
  }
  try info?.write(to: url.appendingPathComponent("run.json"))
  return RunFolder(url)
}

func findingIDs(_ folder: RunFolder) throws -> [String] {
  defer { try? FileManager.default.removeItem(at: folder.url) }
  return try RunDoctor(folder: folder).findings().map(\.id)
}

let healthyInfo = RunInfo(method: "orpo", learningRate: 5e-4, beta: 0.1, betaEnd: nil, maxLength: 256, maxSteps: 20,
                          trainPairs: 100, truncatedPairs: 2)

@Suite struct RunDoctorTests {
  @Test func aHealthyRunHasNoFindings() throws {
    #expect(try findingIDs(try runFolder(eval: [(5, 1.4), (10, 1.2), (15, 1.1), (20, 1.05)], summary: (0.6, 0.85),
                                         info: healthyInfo)) == [])
  }

  /// λ 0.001: share = 0.001·0.6755 / (1.4525 + 0.0007) ≈ 0.00046 at step 1, far below 3% at every log. The advice is
  /// the λ giving a 10% share at the median NLL (1.00125) and −log σ (0.53775): 0.1·1.00125 / (0.9·0.53775) = 0.207
  /// → 0.21.
  @Test func weakPreferenceTerm() throws {
    let folder = try runFolder(edit: { step, v in v = healthyRow(step, beta: 0.001) })
    let doctor = try RunDoctor(folder: folder)
    let finding = try #require(doctor.findings().first { $0.id == "weak_preference_term" })
    #expect(finding.setting == "beta=0.21")
    #expect(finding.steps == Array(1...20))
    #expect(abs(finding.values[0] - 0.001 * 0.6755 / (1.4525 + 0.001 * 0.6755)) < 1e-12)
    #expect(finding.evidence.contains("20 of 20"))
    // The logged share wins over the one worked out from beta, log_odds_ratio and loss.
    #expect(try findingIDs(try runFolder(edit: { _, v in v["odds_ratio_share"] = 0.2; v["beta"] = 0.001 })) == [])
  }

  @Test func flatAccuracyFromTheSummaryOrTheTrainLogs() throws {
    #expect(try findingIDs(try runFolder(summary: (0.62, 0.63))) == ["flat_accuracy"])
    #expect(try findingIDs(try runFolder(summary: (0.95, 0.95))) == [], "already at 0.9 or more: nothing to learn")
    let flat = try runFolder(edit: { _, v in v["rewards/accuracies"] = 0.6 })
    let finding = try #require(try RunDoctor(folder: flat).findings().first)
    // No run.json: the largest logged learning rate (4.75e-4 at step 1, linear decay) doubled.
    #expect(finding.id == "flat_accuracy" && finding.setting == "learning_rate=0.00095")
    #expect(try findingIDs(try runFolder()) == [])
  }

  @Test func bothLogpsFallingFromTheProbeOrTheWindowMeans() throws {
    // The probe: 20 logs of −0.01 chosen and −0.02 rejected sum to −0.2 and −0.4.
    let probe = try runFolder(edit: { _, v in v["logps_trend/chosen"] = -0.01; v["logps_trend/rejected"] = -0.02 })
    let finding = try #require(try RunDoctor(folder: probe).findings().first { $0.id == "both_logps_falling" })
    #expect(finding.setting == "learning_rate=0.00024")  // 4.75e-4 / 2
    #expect(abs(finding.values.last! - -0.2) < 1e-12)
    // Without the probe, the window means: chosen −1.2 → −1.8 over the run.
    let windows = try runFolder(edit: { step, v in
      v["logps_trend/chosen"] = nil
      v["logps_trend/rejected"] = nil
      v["logps/chosen"] = -1.2 - 0.03 * Double(step)
    })
    #expect(try findingIDs(windows) == ["both_logps_falling"])
    // Rejected falling, chosen rising: what ORPO should do.
    #expect(try findingIDs(try runFolder(edit: { _, v in v["logps_trend/chosen"] = nil; v["logps_trend/rejected"] = nil })) == [])
  }

  @Test func risingEvalLoss() throws {
    let rising = try runFolder(eval: [(5, 1.3), (10, 1.1), (15, 1.2), (20, 1.3)])
    let finding = try #require(try RunDoctor(folder: rising).findings().first)
    #expect(finding.id == "rising_eval_loss" && finding.setting == "max_steps=10")
    #expect(finding.steps == [5, 10, 15, 20] && finding.values == [1.3, 1.1, 1.2, 1.3])
    #expect(try findingIDs(try runFolder(eval: [(5, 1.3), (10, 1.1), (15, 1.11), (20, 1.12)])) == [], "within 2%")
    // Eval and train loss rising together is not overfitting.
    #expect(try findingIDs(try runFolder(edit: { step, v in v["loss"] = 1 + Double(step) / 10 },
                                         eval: [(5, 1.3), (10, 1.1), (15, 1.2), (20, 1.3)])).contains("rising_eval_loss") == false)
  }

  @Test func nonFinite() throws {
    let folder = try runFolder(edit: { step, v in if step >= 12 { v["loss"] = .nan; v["grad_norm"] = .infinity } })
    let finding = try #require(try RunDoctor(folder: folder).findings().first)
    #expect(finding.id == "non_finite" && finding.severity == .error)
    #expect(finding.steps == Array(12...20) && finding.metric == "loss")
    #expect(finding.setting == "learning_rate=0.00024")
  }

  @Test func truncation() throws {
    var info = healthyInfo
    info.truncatedPairs = 30
    let folder = try runFolder(info: info)
    let finding = try #require(try RunDoctor(folder: folder).findings().first)
    #expect(finding.id == "truncation" && finding.setting == "max_length=512")
    #expect(finding.evidence.contains("30 of 100"))
    #expect(try findingIDs(try runFolder(info: healthyInfo)) == [], "2% truncated is below 5%")
  }

  @Test func lambdaSchedule() throws {
    // λ annealed 0.1 → 0.005: the share ends below 3%, so the schedule is a warning with a higher beta_end.
    let faded = try runFolder(edit: { step, v in v = healthyRow(step, beta: 0.1 - 0.095 * Double(step - 1) / 19) })
    let finding = try #require(try RunDoctor(folder: faded).findings().first { $0.id == "lambda_schedule" })
    #expect(finding.severity == .warning && finding.setting?.hasPrefix("beta_end=") == true)
    #expect(finding.values.first == 0.1 && abs(finding.values.last! - 0.005) < 1e-12)
    // 0.1 → 0.2: the term stays active (info).
    let kept = try runFolder(edit: { step, v in v = healthyRow(step, beta: 0.1 + 0.1 * Double(step - 1) / 19) })
    let info = try #require(try RunDoctor(folder: kept).findings().first { $0.id == "lambda_schedule" })
    #expect(info.severity == .info && info.setting == "beta_schedule=constant")
    #expect(try findingIDs(try runFolder()).contains("lambda_schedule") == false)
  }

  @Test func jsonLayoutAndErrors() throws {
    let folder = try runFolder(info: { var i = healthyInfo; i.truncatedPairs = 30; return i }())
    defer { try? FileManager.default.removeItem(at: folder.url) }
    let json = RunDoctor.json(try RunDoctor(folder: folder).findings()).formatted(.python(ensureASCII: false))
    #expect(json.hasPrefix("{\"findings\": [{\"id\": \"truncation\", \"severity\": \"warning\", \"evidence\": \"30 of 100"))
    #expect(json.contains("\"advice\": \"raise max_length") && json.contains("\"setting\": \"max_length=512\"}]}"))
    #expect(RunDoctor.text([]).hasPrefix("no findings"))
    let empty = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-doctor-empty-\(UUID().uuidString)")
    #expect(throws: RunReadError.self) { try RunDoctor(folder: RunFolder(empty)) }
  }

  @Test func settingsAreWrittenWithTwoSignificantDigits() {
    #expect(RunDoctor.rounded(0.2093) == "0.21")
    #expect(RunDoctor.rounded(0.00025) == "0.00025")
    #expect(RunDoctor.rounded(2.0) == "2")
    #expect(RunDoctor.rounded(0.001) == "0.001")
  }
}

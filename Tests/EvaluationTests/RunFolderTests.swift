// RunFolderTests.swift — reading a committed run folder (Fixtures/run, written by `orpo train`): metrics rows,
// summary with per-family accuracy, curves for a plot; round trips and errors that name the file and key.
import Foundation
import RunMetrics
import Testing
@testable import Evaluation

let runFixture = RunFolder(Bundle.module.url(forResource: "Fixtures/run", withExtension: nil)!)

@Suite struct RunFolderTests {
  @Test func metricsRowsReadBack() throws {
    let rows = try runFixture.metrics()
    #expect(rows.map(\.step) == [1, 2, 2, 3, 4, 4, 4])
    #expect(rows.map(\.split) == [.train, .train, .eval, .train, .train, .eval, .eval])
    #expect(rows[0].epoch == 0.125)
    #expect(rows[0].values["loss"] == 3.537329912185669)
    #expect(rows[0].values["rewards/chosen"] == -0.10203409940004349)
    #expect(rows[0].values.count == 16)  // 19 keys less step, epoch, split
    #expect(rows[2].values["eval_accuracy"] == 0.75)
    #expect(rows.series("loss", split: .train).map(\.0) == [1, 2, 3, 4])
    #expect(rows.series("loss", split: .eval).map(\.1) == [2.8582729498545327, 2.5296916166941323, 2.5296916166941323])
  }

  @Test func summaryReadsPerFamilyAccuracy() throws {
    let summary = try runFixture.summary()
    #expect(summary.steps == 4)
    #expect(summary.accuracyBefore == 0.75 && summary.accuracyAfter == 0.75)
    #expect(summary.familiesAfter.keys.sorted() == ["antonyms", "arith", "capitals", "concise", "format", "sorting", "units"])
    #expect(summary.familiesAfter["sorting"] == AccuracyTally(wins: 2, pairs: 4))
    #expect(summary.familiesAfter.values.map(\.pairs).reduce(0, +) == 24)
    #expect(summary.familiesAfter.values.map(\.wins).reduce(0, +) == 18)  // 0.75 of 24
    #expect(summary.evaluation["eval_loss"] == 2.5296916166941323)
    #expect(summary.evaluation["eval_accuracy"] == 0.75)
    #expect(summary.evaluation.count == 13)  // eval_loss, 11 TRL metrics, eval_accuracy
  }

  @Test func summaryRoundTripsWithNonFiniteNumbers() throws {
    var summary = try runFixture.summary()
    summary.finalLoss = .nan
    summary.evaluation["eval_loss"] = .infinity
    let text = String(decoding: try summary.jsonData(), as: UTF8.self)
    #expect(text.contains("\"final_loss\" : \"NaN\"") || text.contains("\"final_loss\":\"NaN\""))
    var back = try RunSummary(jsonData: Foundation.Data(text.utf8))
    #expect(back.finalLoss.isNaN && back.evaluation["eval_loss"] == .infinity)
    back.finalLoss = 0
    summary.finalLoss = 0
    #expect(back == summary)
  }

  @Test func badFilesNameTheFileAndKey() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-runfolder-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let run = RunFolder(folder)
    try Foundation.Data("{\"step\": 1, \"split\": \"train\", \"loss\": 1.5}\n\n{\"step\": 2, \"split\": \"train\", \"loss\": \"low\"}\n".utf8)
      .write(to: run.metricsURL)
    #expect(throws: RunReadError(path: "\(run.metricsURL.path):3", message: "key \"loss\": expected Double")) {
      try run.metrics()
    }
    try Foundation.Data("{\"step\": 1, \"split\": \"test\"}\n".utf8).write(to: run.metricsURL)
    let splitError = #expect(throws: RunReadError.self) { try run.metrics() }
    #expect(splitError?.description.hasPrefix("\(run.metricsURL.path):1: key \"split\": expected one of") == true)

    var summary = String(decoding: try Foundation.Data(contentsOf: runFixture.summaryURL), as: UTF8.self)
    summary = summary.replacingOccurrences(of: "\"steps\"", with: "\"stepz\"")
    try Foundation.Data(summary.utf8).write(to: run.summaryURL)
    #expect(throws: RunReadError(path: run.summaryURL.path, message: "key \"steps\": missing")) { try run.summary() }
    #expect(throws: RunReadError.self) { try RunFolder(folder.appendingPathComponent("absent")).summary() }
  }

  @Test func curvesOfARunPlotAsSVG() throws {
    let curves = try runFixture.metrics().curves(["loss", "accuracy"])
    #expect(curves.keys.sorted() == ["eval/accuracy", "eval/loss", "train/loss"])
    let svg = MetricsPlot.svg(series: curves, title: "tiny run")
    #expect(svg.components(separatedBy: "<polyline").count - 1 == 3)
    // train/loss has four points, drawn as four coordinate pairs.
    let trainLine = svg.components(separatedBy: "\n").first { $0.contains("<title>train/loss</title>") }!
    let points = trainLine.components(separatedBy: "points=\"")[1].components(separatedBy: "\"")[0]
    #expect(points.split(separator: " ").count == 4)
  }
}

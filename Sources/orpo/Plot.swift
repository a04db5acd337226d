// Plot.swift — `orpo plot RUN…`: the training curves of one or more run folders (their metrics.jsonl), one SVG
// chart per metric with a line per run.
import ArgumentParser
import Foundation
import ORPOKit

struct Plot: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Plot the training curves of run folders (metrics.jsonl) as SVG charts, one per metric.")

  @Argument(help: "Run folders (each holding metrics.jsonl), e.g. runs/default or a compare stage folder.")
  var runs: [String]
  @Option(name: .customLong("metric"), help: "A metric to plot (repeatable; default: loss, nll_loss, log_odds_ratio, rewards/margins, rewards/accuracies, eval_accuracy).")
  var metrics: [String] = []
  @Option(name: .customLong("output-dir"), help: "Where the SVG files go.") var outputDir = "plots"

  func validate() throws {
    guard !runs.isEmpty else { throw ValidationError("give at least one run folder") }
  }

  func run() throws {
    let folders = runs.map { RunFolder(URL(fileURLWithPath: $0)) }
    // Label each run by its folder name, with its parent's when two share a name.
    let names = folders.map { $0.url.lastPathComponent }
    let labels = folders.map { folder -> String in
      names.filter { $0 == folder.url.lastPathComponent }.count > 1
        ? folder.url.deletingLastPathComponent().lastPathComponent + "/" + folder.url.lastPathComponent
        : folder.url.lastPathComponent
    }
    let rows = try folders.map { try $0.metrics() }
    let wanted = metrics.isEmpty ? ReportPage.curveMetrics + ["eval_accuracy"] : metrics
    let out = URL(fileURLWithPath: outputDir)
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    var written = 0
    for metric in wanted {
      var series: [String: [(Double, Double)]] = [:]
      for (label, runRows) in zip(labels, rows) {
        let train = runRows.series(metric, split: .train)
        let points = train.isEmpty ? runRows.series(metric.hasPrefix("eval_") ? String(metric.dropFirst(5)) : metric, split: .eval) : train
        if !points.isEmpty { series[label] = points }
      }
      guard !series.isEmpty else { continue }
      let file = out.appendingPathComponent(metric.replacingOccurrences(of: "/", with: "_") + ".svg")
      try AtomicFile.write(MetricsPlot.svg(series: series, title: metric), to: file)
      print(file.path)
      written += 1
    }
    if written == 0 { throw CLIError("none of \(wanted.joined(separator: ", ")) is in the runs' metrics.jsonl") }
  }
}

// ReportPage.swift — report.md and report.html from a CompareReport: the table, what it says about ORPO against
// the base model and SFT → DPO, the cost of one stage against two, bar and curve charts (inline SVG), per-family
// accuracy and sample generations side by side. Every figure comes from report.json through `ReportNumber`.
import Foundation

/// How each report key is printed: the same text in the table, the charts, the prose and report.md.
public enum ReportNumber {
  /// Decimal places per key.
  public static func decimals(_ key: String) -> Int {
    switch key {
    case "preference_accuracy": return 3
    case "reward_margin", "nll", "rouge1", "rouge2", "rougeL": return 4
    case "perplexity": return 2
    case "wall_seconds", "cpu_seconds", "eval_seconds": return 1
    case "peak_rss_mib", "train_steps", "pairs", "generations": return 0
    default: return 4
    }
  }

  public static func text(_ key: String, _ value: Double) -> String {
    guard value.isFinite else { return "n/a" }
    return String(format: "%.\(decimals(key))f", value)
  }
}

public enum ReportPage {
  /// The table's columns: (report key, heading).
  public static let columns: [(key: String, label: String)] = [
    ("preference_accuracy", "preference accuracy"), ("reward_margin", "margin (nats/token)"), ("nll", "NLL chosen"),
    ("perplexity", "perplexity"), ("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"), ("rougeL", "ROUGE-L"),
    ("train_steps", "steps"), ("wall_seconds", "training s"), ("cpu_seconds", "training CPU s"),
    ("peak_rss_mib", "peak RSS MiB"),
  ]
  /// The training curves drawn, when some pipeline logged them.
  public static let curveMetrics = ["loss", "nll_loss", "log_odds_ratio", "rewards/margins", "rewards/accuracies"]

  /// A method's value under a report key.
  public static func value(_ result: MethodResult, _ key: String) -> Double {
    switch key {
    case "preference_accuracy": return result.scores.preferenceAccuracy
    case "reward_margin": return result.scores.rewardMargin
    case "nll": return result.scores.nll
    case "perplexity": return result.scores.perplexity
    case "rouge1": return result.scores.rouge1
    case "rouge2": return result.scores.rouge2
    case "rougeL": return result.scores.rougeL
    case "train_steps": return Double(result.trainSteps)
    case "wall_seconds": return result.wallSeconds
    case "cpu_seconds": return result.cpuSeconds
    case "peak_rss_mib": return result.peakRSSMiB
    case "eval_seconds": return result.evalSeconds
    default: return .nan
    }
  }

  /// A quoted figure's value and how it is printed: a method's value under `key`, or for "a/b" the ratio of a's to b's.
  static func figure(_ report: CompareReport, _ method: String, _ key: String) -> (value: Double, text: String)? {
    let parts = method.split(separator: "/").map(String.init)
    if parts.count == 2 {
      guard let a = report.methods[parts[0]], let b = report.methods[parts[1]] else { return nil }
      let ratio = value(b, key) > 0 ? value(a, key) / value(b, key) : .nan
      return (ratio, ratio.isFinite ? String(format: "%.2f", ratio) : "n/a")
    }
    return report.methods[method].map { (value($0, key), ReportNumber.text(key, value($0, key))) }
  }

  // MARK: Findings

  /// Sentences on ORPO against the base model and SFT → DPO: (text, [(method, key)] of the figures it quotes, in
  /// order). Each figure is written `{}` in the text; a method "a/b" quotes the ratio of a's value to b's.
  static func findings(_ report: CompareReport) -> [(String, [(String, String)])] {
    var lines: [(String, [(String, String)])] = []
    let m = report.methods
    guard let orpo = m["orpo"] else { return lines }
    if let base = m["base"] {
      let verb = orpo.scores.preferenceAccuracy > base.scores.preferenceAccuracy ? "above"
        : orpo.scores.preferenceAccuracy < base.scores.preferenceAccuracy ? "below" : "level with"
      lines.append(("ORPO's held-out preference accuracy is {}, \(verb) the base model's {}.",
                    [("orpo", "preference_accuracy"), ("base", "preference_accuracy")]))
    }
    if let classic = m["sft_dpo"] {
      func compared(_ ours: Double, _ theirs: Double) -> String { ours > theirs ? "above" : ours < theirs ? "below" : "level with" }
      lines.append(("Against SFT → DPO: ORPO's accuracy {} is \(compared(orpo.scores.preferenceAccuracy, classic.scores.preferenceAccuracy)) "
                      + "its {}; ORPO's ROUGE-L {} is \(compared(orpo.scores.rougeL, classic.scores.rougeL)) its {}.",
                    [("orpo", "preference_accuracy"), ("sft_dpo", "preference_accuracy"), ("orpo", "rougeL"), ("sft_dpo", "rougeL")]))
      lines.append(("Cost: ORPO is one stage of {} steps ({} s of training, {} CPU s); SFT → DPO is two stages, {} steps "
                      + "({} s, {} CPU s), {}× ORPO's training time and {}× its CPU time; peak memory {} MiB against ORPO's {} MiB.",
                    [("orpo", "train_steps"), ("orpo", "wall_seconds"), ("orpo", "cpu_seconds"), ("sft_dpo", "train_steps"),
                     ("sft_dpo", "wall_seconds"), ("sft_dpo", "cpu_seconds"), ("sft_dpo/orpo", "wall_seconds"),
                     ("sft_dpo/orpo", "cpu_seconds"), ("sft_dpo", "peak_rss_mib"), ("orpo", "peak_rss_mib")]))
    }
    return lines
  }

  // MARK: Markdown

  public static func markdown(_ report: CompareReport) -> String {
    var md = "# orpo compare\n\n"
    md += report.settings.keys.sorted().map { "- \($0): \(report.settings[$0]!)" }.joined(separator: "\n") + "\n\n"
    for (text, figures) in findings(report) {
      var line = text
      for (method, key) in figures {
        let number = figure(report, method, key)?.text ?? "n/a"
        if let range = line.range(of: "{}") { line.replaceSubrange(range, with: number) }
      }
      md += line + "\n\n"
    }
    md += "| pipeline | " + columns.map(\.label).joined(separator: " | ") + " |\n"
    md += "| --- |" + String(repeating: " ---: |", count: columns.count) + "\n"
    for method in report.order {
      guard let result = report.methods[method] else { continue }
      md += "| \(CompareReport.label(method)) | " + columns.map { ReportNumber.text($0.key, value(result, $0.key)) }
        .joined(separator: " | ") + " |\n"
    }
    md += "\n## Cost per stage\n\n| pipeline | stage | steps | training s | training CPU s | peak RSS MiB |\n"
      + "| --- | --- | ---: | ---: | ---: | ---: |\n"
    for method in report.order {
      guard let result = report.methods[method] else { continue }
      for stage in result.stages {
        md += "| \(CompareReport.label(method)) | \(stage.method) | \(stage.trainSteps) | "
          + "\(ReportNumber.text("wall_seconds", stage.wallSeconds)) | \(ReportNumber.text("cpu_seconds", stage.cpuSeconds)) | "
          + "\(ReportNumber.text("peak_rss_mib", stage.peakRSSMiB)) |\n"
      }
    }
    let families = Set(report.methods.values.flatMap { $0.scores.families.keys }).sorted()
    if !families.isEmpty {
      md += "\n## Preference accuracy (margin) per family\n\n| family | " + report.order.map(CompareReport.label).joined(separator: " | ")
        + " |\n| --- |" + String(repeating: " ---: |", count: report.order.count) + "\n"
      for family in families {
        md += "| \(family) | " + report.order.map { method in
          report.methods[method]?.scores.families[family].map {
            "\(ReportNumber.text("preference_accuracy", $0.preferenceAccuracy)) (\(ReportNumber.text("reward_margin", $0.rewardMargin)))"
          } ?? "n/a"
        }.joined(separator: " | ") + " |\n"
      }
    }
    if !report.samples.isEmpty {
      md += "\n## Sample generations\n"
      for (index, sample) in report.samples.enumerated() {
        md += "\n### \(index + 1). \(oneLine(sample.prompt))\n\n- reference: \(oneLine(sample.reference))\n"
        for method in report.order { md += "- \(CompareReport.label(method)): \(oneLine(sample.generations[method] ?? ""))\n" }
      }
    }
    return md
  }

  static func oneLine(_ text: String) -> String {
    text.replacingOccurrences(of: "\n", with: " ⏎ ").replacingOccurrences(of: "|", with: "\\|")
  }

  // MARK: HTML

  static func escape(_ text: String) -> String { MetricsPlot.xmlEscape(text) }

  /// A figure in the prose, tagged with what it shows: `data-method` (or `data-ratio` "a/b") and `data-key`.
  static func number(_ method: String, _ key: String, _ text: String) -> String {
    "<span class=\"num\" \(method.contains("/") ? "data-ratio" : "data-method")=\"\(method)\" data-key=\"\(key)\">\(text)</span>"
  }

  /// A self-contained page (inline CSS and SVG, no scripts).
  public static func html(_ report: CompareReport) -> String {
    var body = "<h1>orpo compare</h1>\n<p class=\"settings\">"
      + report.settings.keys.sorted().map { "\(escape($0)): <b data-setting=\"\(escape($0))\">\(escape(report.settings[$0]!))</b>" }
      .joined(separator: " · ")
      + "</p>\n"
    body += "<section id=\"findings\">\n"
    for (text, figures) in findings(report) {
      var line = escape(text)
      for (method, key) in figures {
        let html = figure(report, method, key).map { number(method, key, $0.text) } ?? "n/a"
        if let range = line.range(of: "{}") { line.replaceSubrange(range, with: html) }
      }
      body += "<p>\(line)</p>\n"
    }
    body += "</section>\n<h2>Results</h2>\n<table id=\"results\">\n<thead><tr><th>pipeline</th>"
      + columns.map { "<th>\(escape($0.label))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
    for method in report.order {
      guard let result = report.methods[method] else { continue }
      body += "<tr><th scope=\"row\">\(escape(CompareReport.label(method)))</th>" + columns.map {
        "<td class=\"num\" data-method=\"\(method)\" data-key=\"\($0.key)\">\(ReportNumber.text($0.key, value(result, $0.key)))</td>"
      }.joined() + "</tr>\n"
    }
    body += "</tbody></table>\n"
    body += "<p class=\"note\">Preference accuracy: share of held-out pairs whose chosen answer has the higher average "
      + "log-prob per completion token under the model; margin: the mean difference of those averages; NLL: per "
      + "completion token of the chosen answers; ROUGE: greedy generations against the chosen answers "
      + "(rouge-score's tokenizer, Porter-stemmed); cost: training only (model loading included), summed over stages; "
      + "CPU s: user + system time of all threads, which does not grow when other processes share the cores.</p>\n"

    let present = report.order.filter { report.methods[$0] != nil }
    var values: [String: [String: Double]] = [:]
    for key in ["preference_accuracy", "rouge1", "rouge2", "rougeL"] {
      values[key] = Dictionary(uniqueKeysWithValues: present.map { ($0, value(report.methods[$0]!, key)) })
    }
    body += "<h2>Scores</h2>\n<figure id=\"bars\">" + ReportCharts.groupedBars(
      metrics: [("preference_accuracy", "preference accuracy"), ("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"), ("rougeL", "ROUGE-L")],
      series: present.map { ($0, CompareReport.label($0)) }, values: values, title: "Held-out scores",
      format: { _, value in ReportNumber.text("preference_accuracy", value) }) + "</figure>\n"  // 3 decimals fit a bar

    body += "<h2>Cost: one stage against two</h2>\n<figure id=\"cost\">" + ReportCharts.stackedBars(
      rows: present.compactMap { method in
        let stages = report.methods[method]!.stages
        return stages.isEmpty ? nil : (method, CompareReport.label(method), stages.map { ($0.method, $0.wallSeconds) })
      }, key: "wall_seconds", unit: "s", title: "Training time per pipeline, by stage",
      format: { ReportNumber.text("wall_seconds", $0) }) + "</figure>\n"
    body += "<table id=\"stages\"><thead><tr><th>pipeline</th><th>stage</th><th>steps</th><th>training s</th>"
      + "<th>training CPU s</th><th>peak RSS MiB</th></tr></thead><tbody>\n"
    for method in present {
      for (stageIndex, stage) in report.methods[method]!.stages.enumerated() {
        let index = "data-method=\"\(method)\" data-stage=\"\(stageIndex)\""
        body += "<tr><td>\(escape(CompareReport.label(method)))</td><td>\(escape(stage.method))</td>"
          + "<td class=\"num\" \(index) data-key=\"train_steps\">\(stage.trainSteps)</td>"
          + "<td class=\"num\" \(index) data-key=\"wall_seconds\">\(ReportNumber.text("wall_seconds", stage.wallSeconds))</td>"
          + "<td class=\"num\" \(index) data-key=\"cpu_seconds\">\(ReportNumber.text("cpu_seconds", stage.cpuSeconds))</td>"
          + "<td class=\"num\" \(index) data-key=\"peak_rss_mib\">\(ReportNumber.text("peak_rss_mib", stage.peakRSSMiB))</td></tr>\n"
      }
    }
    body += "</tbody></table>\n"

    var charts = ""
    for metric in curveMetrics {
      var series: [String: [(Double, Double)]] = [:]
      for method in present {
        if let points = report.curves[method]?[metric], !points.isEmpty {
          series[CompareReport.label(method)] = points.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
        }
      }
      guard !series.isEmpty else { continue }
      charts += "<figure class=\"curve\" data-metric=\"\(escape(metric))\">"
        + inlineSVG(MetricsPlot.svg(series: series, title: metric, width: 560, height: 340)) + "</figure>\n"
    }
    if !charts.isEmpty { body += "<h2>Training curves</h2>\n<div class=\"curves\">\n\(charts)</div>\n" }

    let families = Set(report.methods.values.flatMap { $0.scores.families.keys }).sorted()
    if !families.isEmpty {
      body += "<h2>Preference accuracy and margin per family</h2>\n<table id=\"families\"><thead><tr><th rowspan=\"2\">family</th>"
        + present.map { "<th colspan=\"2\">\(escape(CompareReport.label($0)))</th>" }.joined() + "</tr><tr>"
        + String(repeating: "<th>accuracy</th><th>margin</th>", count: present.count) + "</tr></thead><tbody>\n"
      for family in families {
        body += "<tr><th scope=\"row\">\(escape(family))</th>" + present.map { method in
          guard let result = report.methods[method]!.scores.families[family] else { return "<td>n/a</td><td>n/a</td>" }
          return "<td class=\"num\" data-method=\"\(method)\" data-family=\"\(escape(family))\" data-key=\"preference_accuracy\">"
            + "\(ReportNumber.text("preference_accuracy", result.preferenceAccuracy))</td>"
            + "<td class=\"num\" data-method=\"\(method)\" data-family=\"\(escape(family))\" data-key=\"reward_margin\">"
            + "\(ReportNumber.text("reward_margin", result.rewardMargin))</td>"
        }.joined() + "</tr>\n"
      }
      body += "</tbody></table>\n"
    }
    if !report.samples.isEmpty {
      body += "<h2>Sample generations</h2>\n<table id=\"samples\"><thead><tr><th>prompt</th><th>reference</th>"
        + present.map { "<th>\(escape(CompareReport.label($0)))</th>" }.joined() + "</tr></thead><tbody>\n"
      for sample in report.samples {
        body += "<tr><td>\(escape(sample.prompt))</td><td>\(escape(sample.reference))</td>"
          + present.map { "<td>\(escape(sample.generations[$0] ?? ""))</td>" }.joined() + "</tr>\n"
      }
      body += "</tbody></table>\n"
    }
    return """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8"><title>orpo compare</title>
      <style>
      body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1200px; }
      table { border-collapse: collapse; margin: 8px 0 16px; }
      th, td { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }
      thead th { background: #f0f0f0; }
      td.num { text-align: right; font-variant-numeric: tabular-nums; }
      #samples td { max-width: 220px; white-space: pre-wrap; font-size: 13px; }
      .curves { display: flex; flex-wrap: wrap; gap: 8px; }
      figure { margin: 8px 0; }
      .note, .settings { color: #555; font-size: 13px; }
      </style></head>
      <body>
      \(body)</body></html>

      """
  }

  /// An SVG document without its XML declaration, for inlining in HTML.
  static func inlineSVG(_ svg: String) -> String {
    guard svg.hasPrefix("<?xml"), let end = svg.firstIndex(of: "\n") else { return svg }
    return String(svg[svg.index(after: end)...])
  }
}

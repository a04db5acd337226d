// CompareReportTests.swift — `orpo compare`'s pipeline on the ORPO fixture's tiny Llama (two steps per stage):
// report.json has every pipeline and key, costs add up over stages, every number the HTML shows equals report.json,
// and the page, rendered by headless Chromium (Debian's `chromium`, installed by scripts/test-deps.sh), is not blank
// and shows the table, the bar chart and the training curves at their sizes.
import Foundation
import Testing
@testable import Comparison
@testable import Evaluation
@testable import Training

let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()
let tinyModel = repository.appendingPathComponent("Tests/TrainingTests/Fixtures/orpo")

func temporaryFolder(_ name: String) throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UInt32.random(in: 0...UInt32.max))")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

func chromiumPath() -> String? {
  let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
  return (path.split(separator: ":").map(String.init) + ["/usr/bin"]).map { "\($0)/chromium" }
    .first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Runs headless Chromium on `page` with extra flags; returns its standard output. Killed after `timeout` s.
func chromium(_ executable: String, _ extra: [String], page: URL, profile: URL, timeout: TimeInterval = 90) throws -> String {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executable)
  process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                       "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                       "--disable-sync", "--disable-component-update", "--hide-scrollbars",
                       "--force-device-scale-factor=1", "--user-data-dir=\(profile.path)"] + extra + [page.absoluteString]
  let output = Pipe()
  process.standardOutput = output
  process.standardError = FileHandle.nullDevice
  try process.run()
  final class Collected: @unchecked Sendable { var data = Foundation.Data() }
  let collected = Collected()
  let reader = Thread { collected.data = output.fileHandleForReading.readDataToEndOfFile() }
  reader.start()
  let deadline = Date().addingTimeInterval(timeout)
  while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
  if process.isRunning { process.terminate() }
  process.waitUntilExit()
  while reader.isExecuting { Thread.sleep(forTimeInterval: 0.01) }
  return String(decoding: collected.data, as: UTF8.self)
}

/// Checks that every figure `html` shows comes from report.json (`json`, read by JSONSerialization) at the precision
/// shown: each `class="num"` element names what it shows — `data-method` and `data-key` (a pipeline's value), with
/// `data-stage` (one of its stages) or `data-family` (one task family), or `data-ratio` "a/b" (a's value over b's) —
/// and `data-setting` elements equal report.json's settings. No untagged table cell (the generations aside) holds a
/// number. Returns how many figures it checked.
func expectEveryFigureFromJSON(html: String, json: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
  let methods = try #require(json["methods"] as? [String: [String: Any]])
  func number(_ any: Any?) -> Double? {
    if let string = any as? String { return ["NaN": .nan, "Infinity": .infinity, "-Infinity": -.infinity][string] }
    return (any as? NSNumber)?.doubleValue
  }
  let element = try NSRegularExpression(pattern: #"class="num" ((?:data-[a-z]+="[^"]*" ?)+)[^>]*>([^<]*)<"#)
  let attribute = try NSRegularExpression(pattern: #"data-([a-z]+)="([^"]*)""#)
  func groups(_ match: NSTextCheckingResult, in text: String) -> [String] {
    (1..<match.numberOfRanges).map { String(text[Range(match.range(at: $0), in: text)!]) }
  }
  var checked = 0
  for match in element.matches(in: html, range: NSRange(html.startIndex..., in: html)) {
    let g = groups(match, in: html), shownText = g[1]
    var tags: [String: String] = [:]
    for a in attribute.matches(in: g[0], range: NSRange(g[0].startIndex..., in: g[0])) {
      let pair = groups(a, in: g[0])
      tags[pair[0]] = pair[1]
    }
    let key = try #require(tags["key"], "a figure without data-key: \(g[0])", sourceLocation: sourceLocation)
    let want: Double?
    if let ratio = tags["ratio"] {
      let parts = ratio.split(separator: "/").map(String.init)
      if let a = number(methods[parts[0]]?[key]), let b = number(methods[parts[1]]?[key]) { want = a / b } else { want = nil }
    } else {
      let row = try #require(methods[tags["method"] ?? ""], "data-method \(tags["method"] ?? "none")", sourceLocation: sourceLocation)
      if let stage = tags["stage"].flatMap(Int.init) {
        want = number(((row["stages"] as? [[String: Any]]) ?? [])[safe: stage]?[key])
      } else if let family = tags["family"] {
        want = number((row["families"] as? [String: [String: Any]])?[family]?[key])
      } else {
        want = number(row[key])
      }
    }
    let value = try #require(want, "\(tags) in report.json", sourceLocation: sourceLocation)
    if shownText == "n/a" {
      #expect(!value.isFinite, "\(tags) shows n/a for \(value)", sourceLocation: sourceLocation)
    } else {
      let decimals = shownText.split(separator: ".").dropFirst().first?.count ?? 0
      let shown = try #require(Double(shownText), "\(tags) shows \(shownText)", sourceLocation: sourceLocation)
      #expect(abs(shown - value) <= 0.5 * pow(10, -Double(decimals)) + 1e-9, "\(tags): page \(shownText), json \(value)",
              sourceLocation: sourceLocation)
    }
    checked += 1
  }
  // Table cells that are not tagged hold no number (the sample generations are text from the model).
  let body = html.range(of: "<table id=\"samples\">").map { String(html[..<$0.lowerBound]) } ?? html
  let cell = try NSRegularExpression(pattern: #"<td(?![^>]*class="num")[^>]*>([^<]*)</td>"#)
  for match in cell.matches(in: body, range: NSRange(body.startIndex..., in: body)) {
    let text = groups(match, in: body)[0]
    #expect(Double(text) == nil, "an untagged number in a table: \(text)", sourceLocation: sourceLocation)
  }
  let settings = try #require(json["settings"] as? [String: String])
  let setting = try NSRegularExpression(pattern: #"<b data-setting="([^"]+)">([^<]*)</b>"#)
  let shownSettings = setting.matches(in: html, range: NSRange(html.startIndex..., in: html)).map { groups($0, in: html) }
  #expect(shownSettings.count == settings.count, sourceLocation: sourceLocation)
  for pair in shownSettings {
    #expect(settings[pair[0]] == pair[1].replacingOccurrences(of: "&amp;", with: "&"), "setting \(pair[0])", sourceLocation: sourceLocation)
  }
  return checked + shownSettings.count
}

extension Array {
  subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

@Suite(.serialized) struct CompareReportTests {
  @Test func pipelineReportIsCompleteConsistentAndSeen() throws {
    let folder = try temporaryFolder("orpo-compare")
    defer { try? FileManager.default.removeItem(at: folder) }
    var recipe = TrainingConfiguration()
    recipe.model = tinyModel.path
    recipe.dataset = tinyModel.appendingPathComponent("data.jsonl").path
    recipe.evalDataset = tinyModel.appendingPathComponent("data.jsonl").path
    recipe.maxSteps = 2
    recipe.perDeviceTrainBatchSize = 2
    recipe.perDeviceEvalBatchSize = 8
    recipe.maxLength = 64
    recipe.learningRate = 2e-3
    recipe.loggingSteps = 1
    recipe.lora.rank = 4
    recipe.lora.alpha = 8
    recipe.lora.dropout = 0
    var options = CompareOptions(recipe: recipe, outputDirectory: folder)
    options.evaluation.generations = 4
    options.evaluation.maxNewTokens = 8
    options.samples = 3
    let report = try ComparePipeline.run(options, log: { _ in })
    try ComparePipeline.write(report, to: folder)

    // report.json, read without our decoder.
    let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("report.json")))
      as? [String: Any])
    let methods = try #require(json["methods"] as? [String: [String: Any]])
    #expect(Set(methods.keys) == ["base", "sft", "orpo", "sft_dpo"])
    for (name, row) in methods {
      for key in ["preference_accuracy", "reward_margin", "nll", "rouge1", "rouge2", "rougeL", "wall_seconds",
                  "cpu_seconds", "peak_rss_mib", "train_steps"] {
        let value = try #require((row[key] as? NSNumber)?.doubleValue, "\(name) has \(key)")
        #expect(value.isFinite && value >= (key == "reward_margin" ? -.infinity : 0), "\(name) \(key) = \(value)")
      }
      #expect(((row["preference_accuracy"] as? Double) ?? 2) <= 1)
    }
    #expect(methods["base"]?["train_steps"] as? Int == 0 && methods["sft"]?["train_steps"] as? Int == 2)
    #expect(methods["orpo"]?["train_steps"] as? Int == 2 && methods["sft_dpo"]?["train_steps"] as? Int == 4)
    // One stage against two: SFT → DPO's cost is its SFT stage (the sft pipeline's) plus its DPO stage.
    let classic = try #require(report.methods["sft_dpo"]), sft = try #require(report.methods["sft"])
    #expect(classic.stages.map(\.method) == ["sft", "dpo"] && classic.stages.first == sft.stages.first)
    #expect(abs(classic.wallSeconds - classic.stages.reduce(0) { $0 + $1.wallSeconds }) < 1e-9)
    #expect(abs(classic.cpuSeconds - classic.stages.reduce(0) { $0 + $1.cpuSeconds }) < 1e-9)
    // Training takes CPU time, at most one core's worth per thread of wall time.
    let threads = Double(ProcessInfo.processInfo.activeProcessorCount + 1)
    #expect(classic.stages.allSatisfy { $0.cpuSeconds > 0 && $0.cpuSeconds <= threads * $0.wallSeconds + 0.5 })
    #expect(classic.peakRSSMiB == classic.stages.map(\.peakRSSMiB).max() && classic.peakRSSMiB > 0)
    #expect(report.methods["orpo"]?.stages.count == 1 && report.methods["base"]?.stages.isEmpty == true)
    // Curves: ORPO's own metrics; DPO's stage continues SFT's step count.
    #expect(report.curves["orpo"]?["log_odds_ratio"]?.count == 2)
    #expect(report.curves["sft_dpo"]?["rewards/margins"]?.map { $0[0] } == [3, 4])
    for stage in ["sft", "orpo", "sft_dpo"] {
      #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("\(stage)/metrics.jsonl").path))
    }
    #expect(report.samples.count == 3 && report.samples.allSatisfy { $0.generations.count == 4 })
    // Each pipeline's greedy answers, for orpo judge.
    for pipeline in CompareReport.pipelines {
      let answers = try GenerationRecord.read(folder.appendingPathComponent(pipeline).path)
      #expect(answers.count == 4 && answers.map(\.prompt) == report.samples.map(\.prompt) + [answers[3].prompt])
      #expect(answers.prefix(3).map(\.generation) == report.samples.map { $0.generations[pipeline]! })
    }

    // Every figure the page shows (table, bars, cost, stages, prose, settings) equals report.json.
    let html = try String(contentsOf: folder.appendingPathComponent("report.html"), encoding: .utf8)
    let checked = try expectEveryFigureFromJSON(html: html, json: json)
    // Table 4 × 11, bars 4 × 4, cost totals 3, stage rows 4 × 4, prose 2 + 4 + 10, and the settings.
    #expect(checked == 44 + 16 + 3 + 16 + 16 + (json["settings"] as? [String: String] ?? [:]).count, "figures tagged: \(checked)")
    let table = try #require(html.range(of: "<table id=\"results\">").map { html[$0.lowerBound...] })
    let body = table[..<table.range(of: "</table>")!.lowerBound]
    #expect(body.components(separatedBy: "<td").count - 1 == body.components(separatedBy: "<td class=\"num\"").count - 1)
    let markdown = try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8)
    for label in ["base model", "SFT", "ORPO", "SFT → DPO"] { #expect(markdown.contains("\n| \(label) | ")) }

    guard let browser = chromiumPath() else {
      print("CompareReportTests: chromium not found (scripts/test-deps.sh installs it); the page was not rendered")
      return
    }
    try expectSeen(html: html, in: folder, chromium: browser)
  }

  /// A report built by hand with task families, a missing ROUGE (no generations) and a setting that needs escaping:
  /// the families table shows each pipeline's accuracy and margin per family, and every figure is report.json's.
  @Test func everyFigureOfAHandBuiltReportIsReportJSONs() throws {
    func scores(_ accuracy: Double, _ margin: Double, rouge: Double) -> ModelScores {
      ModelScores(preferenceAccuracy: accuracy, rewardMargin: margin, nll: 2.5 - accuracy, perplexity: exp(2.5 - accuracy),
                  rouge1: rouge, rouge2: rouge / 2, rougeL: rouge * 0.9, pairs: 200, generations: rouge.isNaN ? 0 : 64,
                  families: ["arithmetic": FamilyResult(preferenceAccuracy: accuracy + 0.01, rewardMargin: margin * 2, pairs: 120),
                             "spelling": FamilyResult(preferenceAccuracy: accuracy - 0.015, rewardMargin: -margin / 3, pairs: 80)])
    }
    let sft = StageCost(method: "sft", trainSteps: 120, wallSeconds: 301.25, cpuSeconds: 590.5, peakRSSMiB: 1530.4)
    let report = CompareReport(
      methods: [
        "base": MethodResult(scores: scores(0.765, 0.01234, rouge: .nan), stages: [], evalSeconds: 40.5, baselinePeakRSSMiB: 980.2),
        "sft": MethodResult(scores: scores(0.81, 0.0456, rouge: 0.61), stages: [sft], evalSeconds: 41),
        "orpo": MethodResult(scores: scores(0.93, 0.21875, rouge: 0.66), stages: [StageCost(method: "orpo", trainSteps: 120,
                                                                                             wallSeconds: 333.35, cpuSeconds: 650, peakRSSMiB: 1610)],
                             evalSeconds: 42),
        "sft_dpo": MethodResult(scores: scores(0.905, 0.5, rouge: 0.64),
                                stages: [sft, StageCost(method: "dpo", trainSteps: 120, wallSeconds: 420.05, cpuSeconds: 809.5, peakRSSMiB: 1702.7)],
                                evalSeconds: 43),
      ], order: CompareReport.pipelines, settings: ["model": "a&b.gguf", "steps_per_stage": "120", "eval_pairs": "200"],
      curves: ["orpo": ["loss": [[5, 2.5], [10, 2.25]]]], samples: [])
    let html = ReportPage.html(report)
    let json = try #require(try JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
    let checked = try expectEveryFigureFromJSON(html: html, json: json)
    // Table 4 × 11, bars 4 × 4, cost totals 3, stage rows 4 × 4, prose 16, families 2 × 4 × 2, settings 3.
    #expect(checked == 44 + 16 + 3 + 16 + 16 + 16 + 3)
    #expect(html.contains(#"<td class="num" data-method="orpo" data-family="spelling" data-key="preference_accuracy">0.915</td>"#))
    #expect(html.contains(#"<td class="num" data-method="sft_dpo" data-family="arithmetic" data-key="reward_margin">1.0000</td>"#))
    #expect(html.contains(#"<td class="num" data-method="base" data-key="rouge1">n/a</td>"#))
    #expect(html.contains(#"<span class="num" data-ratio="sft_dpo/orpo" data-key="wall_seconds">2.16</span>"#))  // 721.30 / 333.35
    #expect(html.contains(#"<td class="num" data-method="sft_dpo" data-key="cpu_seconds">1400.0</td>"#))
    #expect(html.contains(#"<b data-setting="model">a&amp;b.gguf</b>"#))
    let markdown = ReportPage.markdown(report)
    #expect(markdown.contains("| spelling | 0.750 (-0.0041) | 0.795 (-0.0152) | 0.915 (-0.0729) | 0.890 (-0.1667) |"))
    #expect(markdown.contains("SFT → DPO is two stages, 240 steps (721.3 s, 1400.0 CPU s), 2.16× ORPO's training time and 2.15× its CPU time"))
    #expect(markdown.contains("| SFT → DPO | dpo | 120 | 420.1 | 809.5 | 1703 |"))
    #expect(markdown.contains("ORPO's held-out preference accuracy is 0.930, above the base model's 0.765."))
  }

  /// Lays the page out (a copy with a script that records where the table and charts are) and screenshots it.
  func expectSeen(html: String, in folder: URL, chromium browser: String) throws {
    let probe = """
      <script>
      window.addEventListener("load", () => {
        const box = e => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.width, b.height]; };
        const out = { table: box(document.getElementById("results")), bars: box(document.querySelector("#bars svg")),
                      curves: [...document.querySelectorAll("figure.curve svg")].map(box),
                      height: document.documentElement.scrollHeight };
        const pre = document.createElement("pre"); pre.id = "layout"; pre.textContent = JSON.stringify(out);
        document.body.appendChild(pre);
      });
      </script>
      """
    let layoutPage = folder.appendingPathComponent("layout.html")
    try html.replacingOccurrences(of: "</body>", with: probe + "</body>").write(to: layoutPage, atomically: true, encoding: .utf8)
    let dom = try chromium(browser, ["--window-size=1280,1000", "--virtual-time-budget=3000", "--dump-dom"], page: layoutPage,
                           profile: folder.appendingPathComponent("profile-layout"))
    let start = try #require(dom.range(of: "<pre id=\"layout\">"), "Chromium laid the page out: \(dom.prefix(200))")
    let text = dom[start.upperBound...].prefix { $0 != "<" }.replacingOccurrences(of: "&quot;", with: "\"")
      .replacingOccurrences(of: "&amp;", with: "&")
    let layout = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    let tableBox = try #require(layout["table"] as? [Double]), bars = try #require(layout["bars"] as? [Double])
    let curves = try #require(layout["curves"] as? [[Double]])
    let height = try #require(layout["height"] as? Double)
    #expect(tableBox[2] >= 600 && tableBox[3] >= 5 * 18, "results table \(tableBox)")
    #expect(abs(bars[2] - 760) < 1 && abs(bars[3] - 360) < 1, "bar chart \(bars)")
    #expect(curves.count >= 3 && curves.allSatisfy { abs($0[2] - 560) < 1 && abs($0[3] - 340) < 1 }, "curves \(curves)")

    // The screenshot, the whole page tall.
    let shot = folder.appendingPathComponent("report.png")
    _ = try chromium(browser, ["--window-size=1280,\(Int(min(height, 7000)))", "--virtual-time-budget=3000",
                               "--screenshot=\(shot.path)"], page: folder.appendingPathComponent("report.html"),
                     profile: folder.appendingPathComponent("profile-shot"))
    let image = try PNGImage(Data(contentsOf: shot))
    if let keep = ProcessInfo.processInfo.environment["ORPO_COMPARE_SCREENSHOT"] {
      try? FileManager.default.removeItem(atPath: keep)
      try FileManager.default.copyItem(at: shot, to: URL(fileURLWithPath: keep))
    }
    #expect(image.width == 1280 && Double(image.height) >= min(height, 7000) - 1)
    let whole = image.ink(x: 0, y: 0, width: image.width, height: image.height)
    #expect(whole.share > 0.02 && whole.colours > 20, "the page is not blank: \(whole)")
    func region(_ box: [Double]) -> (share: Double, colours: Int) {
      image.ink(x: Int(box[0]), y: Int(box[1]), width: Int(box[2]), height: Int(box[3]))
    }
    let tableInk = region(tableBox), barInk = region(bars)
    #expect(tableInk.share > 0.04, "the table is drawn: \(tableInk)")
    #expect(barInk.share > 0.03 && barInk.colours >= 6, "the bars are drawn in colour: \(barInk)")
    for box in curves {
      let ink = region(box)
      #expect(ink.share > 0.02 && ink.colours >= 4, "a curve chart is drawn: \(ink) at \(box)")
    }
  }
}

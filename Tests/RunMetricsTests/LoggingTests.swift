// LoggingTests.swift — metrics output: CRC-32C vectors, TFRecord framing, TensorBoard event files byte-identical
// to tensorboard 2.20 / transformers 5.23 (fixtures from reference/make_tensorboard_fixture.py), JSONL rows,
// progress lines and report_to parsing.
import Foundation
import Testing
@testable import RunMetrics

let tensorBoardFixture: URL = Bundle.module.url(forResource: "Fixtures/tensorboard", withExtension: nil)!

/// expected.json written by the reference script; numbers are Python repr strings.
struct TensorBoardExpectation: Decodable {
  struct Row: Decodable {
    let step: Int
    let epoch: String
    let split: String
    let wall_time: String
    let values: [[String]]
  }
  struct Frame: Decodable {
    let payload_hex: String
    let record_hex: String
  }
  struct Readback: Decodable {
    let file: String
    let status: String
    let output: [String]
  }
  let versions: [String: String]
  let source_writer: String
  let hostname: String
  let pid: Int32
  let file_name: String
  let start_wall_time: String
  let rows: [Row]
  let scalars: [[StringOrInt]]
  let reference_file: String
  let frame: Frame
  let readback: Readback

  enum StringOrInt: Decodable {
    case string(String), int(Int)
    init(from decoder: Decoder) throws {
      let container = try decoder.singleValueContainer()
      if let value = try? container.decode(Int.self) { self = .int(value) } else { self = .string(try container.decode(String.self)) }
    }
    var string: String? { if case .string(let s) = self { return s } else { return nil } }
    var int: Int? { if case .int(let i) = self { return i } else { return nil } }
  }
}

/// A row as our trainer would log it.
struct LoggedRow {
  let step: Int
  let epoch: Double?
  let split: MetricsSplit
  let wallTime: Double
  let values: [(String, Double)]
}

func loadTensorBoardExpectation() throws -> TensorBoardExpectation {
  try JSONDecoder().decode(TensorBoardExpectation.self,
                           from: Foundation.Data(contentsOf: tensorBoardFixture.appendingPathComponent("expected.json")))
}

func fixtureRows(_ expectation: TensorBoardExpectation) -> [LoggedRow] {
  expectation.rows.map { row in
    LoggedRow(step: row.step, epoch: Double(row.epoch)!, split: MetricsSplit(rawValue: row.split)!,
              wallTime: Double(row.wall_time)!, values: row.values.map { ($0[0], Double($0[1])!) })
  }
}

/// Returns the given times in order, one per call.
final class ScriptedClock {
  var times: [Double]
  init(_ times: [Double]) { self.times = times }
  func callAsFunction() -> Double { times.isEmpty ? 0 : times.removeFirst() }
}

func temporaryDirectory() throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-logging-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

func bytes(hex: String) -> [UInt8] {
  var result: [UInt8] = []
  var index = hex.startIndex
  while index < hex.endIndex {
    let next = hex.index(index, offsetBy: 2)
    result.append(UInt8(hex[index..<next], radix: 16)!)
    index = next
  }
  return result
}

/// Writes the fixture rows through our TensorBoardWriter and returns the file's bytes and name.
func writeFixtureEvents(_ expectation: TensorBoardExpectation, sourceWriter: String?) throws -> (name: String, bytes: [UInt8]) {
  let rows = fixtureRows(expectation)
  let directory = try temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let clock = ScriptedClock([Double(expectation.start_wall_time)!] + rows.map(\.wallTime))
  let writer = try TensorBoardWriter(directory: directory, clock: { clock() }, hostname: expectation.hostname,
                                     processID: expectation.pid, sourceWriter: sourceWriter)
  for row in rows { try writer.log(step: row.step, epoch: row.epoch, values: row.values, split: row.split) }
  try writer.close()
  return (writer.fileURL.lastPathComponent, [UInt8](try Foundation.Data(contentsOf: writer.fileURL)))
}

@Suite struct LoggingTests {
  // MARK: CRC-32C and TFRecord

  @Test func crc32cMatchesKnownVectors() {
    #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)    // RFC 3720 B.4
    #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
    #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
    #expect(CRC32C.checksum([UInt8]()) == 0)
    #expect(CRC32C.masked(0) == 0xA282_EAD8)
  }

  @Test func tfRecordFramingMatchesTensorBoard() throws {
    let expectation = try loadTensorBoardExpectation()
    let payload = bytes(hex: expectation.frame.payload_hex)
    let record = TFRecord.frame(payload)
    #expect(record == bytes(hex: expectation.frame.record_hex))
    #expect(Array(record[0..<8]) == [UInt8(payload.count), 0, 0, 0, 0, 0, 0, 0])
    #expect(try TFRecord.records(in: record + TFRecord.frame([])) == [payload, []])
    var corrupted = record
    corrupted[14] ^= 1
    #expect(throws: TFRecord.ReadError.badPayloadChecksum(offset: 0)) { try TFRecord.records(in: corrupted) }
    #expect(throws: TFRecord.ReadError.truncated(offset: 0)) { try TFRecord.records(in: Array(record.dropLast())) }
  }

  @Test func protobufEncodingFollowsProto3Rules() {
    // Bytes from event_pb2.Event(...).SerializeToString() (protobuf 7.36, upb): step 0 and wall_time 0 are left
    // out, simple_value 0 is kept (it sits in a oneof), wall_time -0.0 is kept, a negative step is ten bytes.
    #expect(TensorBoardEvent.scalar(tag: "a", value: 0, step: 0, wallTime: 0) == [42, 10, 10, 8, 10, 1, 97, 21, 0, 0, 0, 0])
    #expect(TensorBoardEvent.scalar(tag: "a", value: 1, step: -1, wallTime: -0.0)
      == [9, 0, 0, 0, 0, 0, 0, 0, 128, 16, 255, 255, 255, 255, 255, 255, 255, 255, 255, 1, 42, 10, 10, 8, 10, 1, 97, 21, 0, 0, 128, 63])
  }

  // MARK: TensorBoard files against tensorboard itself

  @Test func tagsFollowTensorBoardCallback() throws {
    let expectation = try loadTensorBoardExpectation()
    let ours = fixtureRows(expectation).flatMap { row in
      TensorBoardWriter.tags(for: row.values, epoch: row.epoch, split: row.split).map { tag, value in
        "\(row.step) \(tag) \(Float(value))"
      }
    }
    let reference = expectation.scalars.map { "\($0[0].int!) \($0[1].string!) \(Float(Double($0[2].string!)!))" }
    #expect(ours == reference)
    #expect(TensorBoardWriter.tags(for: [("eval_loss", 1)], epoch: nil, split: .eval).map(\.0) == ["eval/loss"])
    #expect(TensorBoardWriter.tags(for: [("test_loss", 1)], epoch: 2, split: .train).map(\.0) == ["test/loss", "train/epoch"])
    // The ORPO-aware numbers of each train log (Trainer) land beside TRL's under train/.
    let orpo = [("odds_ratio_share", 0.02), ("logps_trend/chosen", 0.1), ("logps_trend/rejected", -0.2), ("rejected_gained", 0.25)]
    #expect(TensorBoardWriter.tags(for: orpo, epoch: nil, split: .train).map(\.0)
      == ["train/odds_ratio_share", "train/logps_trend/chosen", "train/logps_trend/rejected", "train/rejected_gained"])
  }

  @Test func eventFileIsByteIdenticalToTensorBoardWriter() throws {
    let expectation = try loadTensorBoardExpectation()
    #expect(expectation.versions["tensorboard"] == "2.20.0")
    let reference = [UInt8](try Foundation.Data(contentsOf: tensorBoardFixture.appendingPathComponent(expectation.reference_file)))
    let (name, ours) = try writeFixtureEvents(expectation, sourceWriter: expectation.source_writer)
    #expect(ours.count == reference.count)
    #expect(ours == reference)
    // tensorboard's naming: events.out.tfevents.<%010d seconds>.<host>.<pid>.<per-process counter>
    #expect(name.hasPrefix(String(expectation.file_name.dropLast())))
  }

  /// Our writer's default output, committed and read back by tensorboard's EventAccumulator in the reference
  /// script (its output is recorded in expected.json). `ORPO_UPDATE_FIXTURES=1` rewrites the committed file.
  @Test func defaultEventFileWasReadByEventAccumulator() throws {
    let expectation = try loadTensorBoardExpectation()
    let (_, ours) = try writeFixtureEvents(expectation, sourceWriter: "orpo-swift")
    if ProcessInfo.processInfo.environment["ORPO_UPDATE_FIXTURES"] == "1" {
      let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tensorboard/\(expectation.readback.file)")
      try Foundation.Data(ours).write(to: source)
      return
    }
    let committed = [UInt8](try Foundation.Data(contentsOf: tensorBoardFixture.appendingPathComponent(expectation.readback.file)))
    #expect(ours == committed)
    #expect(expectation.readback.status == "ok")
    #expect(expectation.readback.output.first?.hasSuffix("OK") == true)
    let records = try TFRecord.records(in: committed)
    #expect(records.count == 1 + expectation.scalars.count)
    #expect(records[0] == TensorBoardEvent.fileVersion(wallTime: Double(expectation.start_wall_time)!, sourceWriter: "orpo-swift"))
  }

  @Test func eventFileIsReadableAfterEveryLogCall() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let writer = try TensorBoardWriter(directory: directory, clock: { 1_700_000_000 })
    try writer.log(step: 1, epoch: 0.5, values: [("loss", 2.5)], split: .train)
    // Not closed: everything logged so far is already on disk.
    let records = try TFRecord.records(in: [UInt8](try Foundation.Data(contentsOf: writer.fileURL)))
    #expect(records.count == 3)
    #expect(records[1] == TensorBoardEvent.scalar(tag: "train/loss", value: 2.5, step: 1, wallTime: 1_700_000_000))
    try writer.close()
    #expect(throws: MetricsError.closed(path: writer.fileURL.path)) { try writer.log(step: 2, values: [("loss", 1)]) }
  }

  // MARK: JSONL

  @Test func jsonlRowsReadBackAsLogged() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let url = directory.appendingPathComponent("metrics.jsonl")
    let rows: [(Int, Double?, MetricsSplit, [(String, Double)])] = [
      (1, 0.1, .train, [("loss", 6.873169898986816), ("rewards/chosen", -0.68), ("learning_rate", 5e-05)]),
      (2, nil, .eval, [("loss", 0.1), ("logits/chosen", 7.246284894790733e-06), ("big", 1e300), ("int", 3)]),
      (3, 1.0, .train, [("loss", .nan), ("grad_norm", .infinity), ("margin", -.infinity), ("zero", -0.0)]),
    ]
    var writer = try JSONLMetricsWriter(url: url)
    for row in rows.prefix(2) { try writer.log(step: row.0, epoch: row.1, values: row.3, split: row.2) }
    try writer.close()
    writer = try JSONLMetricsWriter(url: url)  // reopening appends
    try writer.log(step: rows[2].0, epoch: rows[2].1, values: rows[2].3, split: rows[2].2)
    try writer.close()

    let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 4 && lines[3].isEmpty)
    #expect(lines[0] == #"{"step": 1, "epoch": 0.1, "split": "train", "loss": 6.873169898986816, "rewards/chosen": -0.68, "learning_rate": 5e-05}"#)
    #expect(lines[2] == #"{"step": 3, "epoch": 1.0, "split": "train", "loss": "NaN", "grad_norm": "Infinity", "margin": "-Infinity", "zero": -0.0}"#)
    for (line, row) in zip(lines, rows) {
      let object = try #require(try JSONSerialization.jsonObject(with: Foundation.Data(line.utf8)) as? [String: Any])
      #expect((object["step"] as? NSNumber)?.intValue == row.0)
      #expect((object["epoch"] as? NSNumber)?.doubleValue == row.1)
      #expect(object["split"] as? String == row.2.rawValue)
      #expect(object.count == 2 + (row.1 == nil ? 0 : 1) + row.3.count)
      for (name, value) in row.3 {
        if value.isFinite {
          #expect((object[name] as? NSNumber)?.doubleValue == value, "\(name)")
        } else {
          #expect(Double(object[name] as? String ?? "") .map { $0.isNaN == value.isNaN && ($0.isNaN || $0 == value) } == true)
        }
      }
    }
  }

  @Test func jsonlEscapesKeysAndSkipsRepeatedNames() {
    let line = JSONLMetricsWriter.line(step: 0, epoch: nil, values: [("a\"b\\c\n", 1), ("step", 9), ("x", 1), ("x", 2)], split: .eval)
    #expect(line == #"{"step": 0, "split": "eval", "a\"b\\c\n": 1.0, "x": 1.0}"#)
  }

  // MARK: Progress

  @Test func progressLinesForFixedInputs() {
    let snapshot = ProgressSnapshot(step: 12, totalSteps: 200, secondsPerStep: 1.23, eta: 1.23 * 188, tokensPerSecond: 310.2,
                                    loss: 1.234, learningRate: 4.9e-4)
    #expect(snapshot.percent == 6)
    #expect(snapshot.barLine(columns: 100)
      == "step 12/200 ━─────────────────── 6% · 1.23 s/step · ETA 3m51s · 310 tok/s · loss 1.2340")
    #expect(snapshot.plainLine() == "step 12/200 (6%) loss=1.2340 lr=4.9e-04 tok/s=310 eta=3m51s")

    var withExtra = snapshot
    withExtra.extra = [("rewards/accuracies", 0.75), ("logits/chosen", 3.1e-5)]
    #expect(withExtra.plainLine()
      == "step 12/200 (6%) loss=1.2340 lr=4.9e-04 rewards/accuracies=0.7500 logits/chosen=3.100e-05 tok/s=310 eta=3m51s")
    // Narrow terminals: the bar shrinks to 10 cells, then extras, tok/s, s/step, loss, ETA go; the line never reaches the last column.
    let narrow = withExtra.barLine(columns: 60)
    #expect(narrow == "step 12/200 ╸───────── 6% · ETA 3m51s · loss 1.2340")
    #expect(narrow.count <= 59)
    #expect(withExtra.barLine(columns: 30) == "step 12/200 ╸───────── 6%")
    #expect(withExtra.barLine(columns: 12) == "step 12/200")
    #expect(ProgressSnapshot(step: 200, totalSteps: 200).barLine(columns: 100) == "step 200/200 " + String(repeating: "━", count: 20) + " 100%")
    #expect(progressBar(fraction: 0.55, width: 10) == "━━━━━╸────")
    #expect(ProgressSnapshot(step: 0, totalSteps: 10).plainLine() == "step 0/10 (0%)")
  }

  @Test func durationsAndMetricsFormat() {
    #expect(formatDuration(0) == "0s")
    #expect(formatDuration(42.4) == "42s")
    #expect(formatDuration(59.6) == "1m00s")
    #expect(formatDuration(231.24) == "3m51s")
    #expect(formatDuration(3725) == "1h02m")
    #expect(formatDuration(2 * 86400 + 3 * 3600 + 5) == "2d03h")
    #expect(formatDuration(.nan) == "?")
    #expect(formatDuration(-1) == "?")
    #expect(formatMetric(1.234) == "1.2340")
    #expect(formatMetric(0) == "0.0000")
    #expect(formatMetric(-2.68787844106555e-05) == "-2.688e-05")
    #expect(formatMetric(123456) == "1.235e+05")
    #expect(formatMetric(.nan) == "nan")
  }

  @Test func etaExcludesTheFirstStepOnceMoreThanTwoAreDone() {
    let clock = ScriptedClock([0, 10, 11, 12, 13])  // start, then steps 1–4; step 1 carries 10 s of warm-up
    var output = ""
    let reporter = ProgressReporter(style: .plain, clock: { clock() }, write: { output += $0 })
    reporter.start(totalSteps: 10)
    #expect(reporter.secondsPerStep(step: 0, now: 0) == nil)
    for step in 1...4 { reporter.update(step: step, loss: 1) }
    #expect(output == """
      step 1/10 (10%) loss=1.0000 eta=1m30s
      step 2/10 (20%) loss=1.0000 eta=44s
      step 3/10 (30%) loss=1.0000 eta=7s
      step 4/10 (40%) loss=1.0000 eta=6s

      """)
  }

  @Test func plainStyleHonoursLogEveryAndResumes() {
    let clock = ScriptedClock([100, 101, 102, 103, 104])
    var output = ""
    let reporter = ProgressReporter(style: .plain, clock: { clock() }, write: { output += $0 })
    reporter.start(totalSteps: 8, initialStep: 4, logEvery: 2)
    for step in 5...7 { reporter.update(step: step, tokensPerSecond: 1000) }
    reporter.message("saved checkpoint-7")
    reporter.finish()  // step 7 was not printed (logEvery 2): finish prints it
    #expect(output == """
      step 6/8 (75%) tok/s=1000 eta=2s
      saved checkpoint-7
      step 7/8 (87%) tok/s=1000 eta=1s

      """)
  }

  @Test func terminalStyleRedrawsOneLine() {
    let clock = ScriptedClock([0, 1, 2])
    var output = ""
    let reporter = ProgressReporter(style: .bar, columns: 80, clock: { clock() }, write: { output += $0 })
    reporter.start(totalSteps: 4)
    reporter.update(step: 1, loss: 2)
    reporter.message("eval loss 1.9")
    reporter.update(step: 2, loss: 1.5)
    reporter.finish()
    let line1 = "step 1/4 ━━━━━─────────────── 25% · 1.00 s/step · ETA 3s · loss 2.0000"
    let line2 = "step 2/4 ━━━━━━━━━━────────── 50% · 1.00 s/step · ETA 2s · loss 1.5000"
    let clear = "\u{1B}[K"
    #expect(output == "\r\(line1)\(clear)" + "\r\(clear)eval loss 1.9\n" + "\r\(line1)\(clear)" + "\r\(line2)\(clear)" + "\n")
  }

  // MARK: Sinks and report_to

  @Test func reportToResolvesLikeTransformers() throws {
    #expect(try MetricsSinkKind.resolve(["all"]) == [.tensorboard, .jsonl, .mlflow])
    #expect(try MetricsSinkKind.resolve(["MLflow", "jsonl"]) == [.mlflow, .jsonl])
    #expect(try MetricsSinkKind.resolve(["none"]) == [])
    #expect(try MetricsSinkKind.resolve(["jsonl", "TensorBoard", "jsonl"]) == [.jsonl, .tensorboard])
    #expect(throws: MetricsError.wandbNotWritten) { try MetricsSinkKind.resolve(["jsonl", "WandB"]) }
    #expect(MetricsError.wandbNotWritten.description.contains("wandb sync --sync-tensorboard <output_dir>/tensorboard"))
    #expect(throws: MetricsError.unsupportedReportTo("comet_ml")) { try MetricsSinkKind.resolve(["comet_ml"]) }
    #expect(MetricsError.unsupportedReportTo("comet_ml").description
      == "report_to \"comet_ml\" is not supported; use one of tensorboard, jsonl, mlflow, none, all")
    let decoded = try JSONDecoder().decode([MetricsSinkKind].self, from: Foundation.Data(#"["all", "none", "jsonl"]"#.utf8))
    #expect(decoded == [.all, .none, .jsonl])
  }

  @Test func compositeSinkFansOutToEverySink() throws {
    let output = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: output) }
    let date = Date(timeIntervalSince1970: 0)
    let logdir = CompositeSink.defaultLoggingDirectory(outputDirectory: output, date: date, hostname: "host")
    #expect(logdir.deletingLastPathComponent().lastPathComponent == "runs")
    #expect(logdir.lastPathComponent.range(of: #"^[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_host$"#, options: .regularExpression) != nil)

    let mlruns = output.appendingPathComponent("mlruns")
    let sink = try CompositeSink(reportTo: [.all], outputDirectory: output, loggingDirectory: output.appendingPathComponent("tb"),
                                 environment: ["MLFLOW_TRACKING_URI": mlruns.absoluteString])
    #expect(sink.sinks.count == 3)
    let run = try #require(sink.mlflowRun)
    #expect(run.root.path == mlruns.path && run.experimentID == "0" && run.runName == output.relativePath)
    try sink.log(step: 1, epoch: 0.25, values: [("loss", 1.5)], split: .train)
    try sink.log(step: 1, epoch: 0.25, values: [("loss", 1.25)], split: .eval)
    try sink.close()
    let jsonl = try String(contentsOf: output.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
    #expect(jsonl.split(separator: "\n").count == 2)
    let events = try FileManager.default.contentsOfDirectory(atPath: output.appendingPathComponent("tb").path)
    #expect(events.count == 1 && events[0].hasPrefix("events.out.tfevents."))
    let records = try TFRecord.records(in: [UInt8](try Foundation.Data(contentsOf: output.appendingPathComponent("tb/\(events[0])"))))
    #expect(records.count == 5)  // file_version, train/loss, train/epoch, eval/loss, train/epoch
    let history = try String(contentsOf: run.runDirectory.appendingPathComponent("metrics/eval_loss"), encoding: .utf8)
    #expect(history.hasSuffix(" 1.25 1\n"))
    #expect(try CompositeSink(reportTo: [.none], outputDirectory: output).sinks.isEmpty)
  }
}

// MLflowTests.swift — the MLflow file store: a run written here equals, file by file (ids and the store's creation
// times aside), the run mlflow 3.18's own FileStore wrote in reference/make_mlflow_fixtures.py; tracking-URI rules;
// the YAML scalars of meta.yaml.
import Foundation
import Testing
@testable import RunMetrics

/// Fixtures/mlflow/filestore.json: per case, every file of the store (`null` for an empty folder), normalised.
private let mlflowFixture = Bundle.module.url(forResource: "Fixtures/mlflow/filestore", withExtension: "json")!

@Suite struct MLflowTests {
  // The run the reference script writes (same params, tags, metrics, times).
  static let start: Int64 = 1_700_000_000_000
  static let end: Int64 = 1_700_000_060_000

  /// Writes the reference script's run with our writer and returns the store as the script dumps it.
  func fixtureRun(experimentName: String) throws -> (files: [String: String?], run: MLflowRunWriter) {
    let scratch = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: scratch) }
    let root = scratch.appendingPathComponent("mlruns")
    var now = Self.start
    let run = try MLflowRunWriter(
      root: root, experimentName: experimentName, runName: "orpo-fixture", userID: "tester",
      tags: [("mlflow.runName", "orpo-fixture"), ("mlflow.user", "tester"), ("mlflow.source.name", "orpo"),
             ("mlflow.source.type", "LOCAL"), ("orpo.method", "orpo")],
      clock: { now })
    #expect(run.startTime == Self.start)
    #expect(run.runID.range(of: "^[0-9a-f]{32}$", options: .regularExpression) != nil)
    let meta = try String(contentsOf: run.runDirectory.appendingPathComponent("meta.yaml"), encoding: .utf8)
    #expect(meta.contains("deleted_time: null\nend_time: null\n") && meta.contains("status: 1\n"))  // RUNNING
    try run.logParameters([("learning_rate", "5e-06"), ("lora.r", "16"), ("report_to", "[jsonl, mlflow]"),
                           ("output_dir", "runs/my run: 1"), ("chat_template", "")])
    now = Self.start + 1000
    try run.log(step: 1, epoch: 0.5, values: [("loss", 1.25), ("rewards/chosen", -0.5)], split: .train)
    now = Self.start + 2000
    try run.log(step: 2, epoch: nil, values: [("loss", 0.875), ("rewards/chosen", .nan), ("grad_norm", .infinity)],
                split: .train)
    now = Self.start + 2500
    try run.log(step: 2, epoch: nil, values: [("loss", 0.1 + 0.2)], split: .eval)  // eval_ prefix added
    let summary = scratch.appendingPathComponent("summary.json")
    try "{\"steps\": 2}\n".write(to: summary, atomically: true, encoding: .utf8)
    try run.logArtifact(file: summary)
    now = Self.end
    try run.close()

    var replacements = [(run.runID, "<run_id>"), (MLflowRunWriter.fileURI(root), "<root_uri>"), (root.path, "<root>")]
    if run.experimentID != "0" { replacements.append((run.experimentID, "<experiment_id>")) }
    func normalize(_ text: String) -> String {
      var text = text
      for (old, new) in replacements { text = text.replacingOccurrences(of: old, with: new) }
      return text.replacingOccurrences(of: #"(creation_time|last_update_time): \d+"#, with: "$1: <time>",
                                       options: .regularExpression)
    }
    var files: [String: String?] = [:]
    let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isDirectoryKey])!
    for case let url as URL in enumerator {
      let relative = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
      if try url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory == true {
        if try FileManager.default.contentsOfDirectory(atPath: url.path).isEmpty { files[normalize(relative + "/")] = .some(nil) }
      } else {
        files[normalize(relative)] = normalize(try String(contentsOf: url, encoding: .utf8))
      }
    }
    return (files, run)
  }

  func expectedFiles(_ label: String) throws -> [String: String?] {
    let fixture = try JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: mlflowFixture)) as? [String: Any]
    let files = try #require((fixture?[label] as? [String: Any])?["files"] as? [String: Any])
    return files.mapValues { $0 as? String }
  }

  @Test(arguments: [("default", "Default"), ("named", "orpo experiment")])
  func storeEqualsMLflowsFileStore(label: String, experimentName: String) throws {
    let (files, run) = try fixtureRun(experimentName: experimentName)
    let expected = try expectedFiles(label)
    #expect(files.keys.sorted() == expected.keys.sorted())
    for (path, text) in expected.sorted(by: { $0.key < $1.key }) {
      #expect(files[path] == text, "\(path)")
    }
    #expect(experimentName == "Default" ? run.experimentID == "0" : run.experimentID.count == 18)
  }

  @Test func laterRunsJoinTheirExperimentByName() throws {
    let root = try temporaryDirectory().appendingPathComponent("mlruns")
    defer { try? FileManager.default.removeItem(at: root.deletingLastPathComponent()) }
    let first = try MLflowRunWriter(root: root, experimentName: "it's: 1", runName: "a")
    let second = try MLflowRunWriter(root: root, experimentName: "it's: 1", runName: "b")
    let other = try MLflowRunWriter(root: root, runName: "c")
    #expect(first.experimentID == second.experimentID && first.runID != second.runID)
    #expect(other.experimentID == "0")
    let meta = try String(contentsOf: root.appendingPathComponent(first.experimentID + "/meta.yaml"), encoding: .utf8)
    #expect(meta.contains("\nname: 'it''s: 1'\n"))
    try first.finish(.failed)
    let runMeta = try String(contentsOf: first.runDirectory.appendingPathComponent("meta.yaml"), encoding: .utf8)
    #expect(runMeta.contains("status: 4\n") && !runMeta.contains("deleted_time"))
    #expect(throws: MetricsError.self) { try second.log(step: 1, epoch: nil, values: [("a\\b", 1)], split: .train) }
    #expect(throws: MetricsError.self) { try second.log(step: 1, epoch: nil, values: [("../x", 1)], split: .train) }
    #expect(try second.logParameters([("long", String(repeating: "x", count: 6001)), ("short", "1")]) == ["long"])
  }

  @Test func trackingRootFollowsMLflowTrackingURI() throws {
    let cwd = URL(fileURLWithPath: "/work/here")
    #expect(try MLflowRunWriter.trackingRoot(environment: [:], currentDirectory: cwd).path == "/work/here/mlruns")
    #expect(try MLflowRunWriter.trackingRoot(environment: ["MLFLOW_TRACKING_URI": "file:///tmp/ml%20runs"],
                                             currentDirectory: cwd).path == "/tmp/ml runs")
    #expect(try MLflowRunWriter.trackingRoot(environment: ["MLFLOW_TRACKING_URI": "store/mlruns"],
                                             currentDirectory: cwd).path == "/work/here/store/mlruns")
    #expect(throws: MetricsError.self) {
      try MLflowRunWriter.trackingRoot(environment: ["MLFLOW_TRACKING_URI": "http://localhost:5000"], currentDirectory: cwd)
    }
    #expect(MLflowRunWriter.fileURI(URL(fileURLWithPath: "/tmp/a b/%x")) == "file:///tmp/a%20b/%25x")
  }

  /// PyYAML 6's safe_dump of one string, by hand: plain unless it would read back as another type or holds an
  /// indicator; then single-quoted with `'` doubled.
  @Test func yamlScalarsAsPyYAMLWritesThem() {
    let cases: [(String, String)] = [
      ("orpo-fixture", "orpo-fixture"), ("0", "'0'"), ("123456789012345678", "'123456789012345678'"), ("", "''"),
      ("true", "'true'"), ("No", "'No'"), ("null", "'null'"), ("~", "'~'"), ("1.5", "'1.5'"), ("1e5", "1e5"),
      ("2024-01-02", "'2024-01-02'"), ("file:///tmp/x", "file:///tmp/x"), ("a: b", "'a: b'"), ("a #b", "'a #b'"),
      ("a#b", "a#b"), ("-x", "-x"), ("- x", "'- x'"), ("@home", "'@home'"), (" x", "' x'"), ("it's", "it's"),
      ("runs/my run", "runs/my run"), ("Größe", "Größe"), ("---", "'---'"), ("x,y", "x,y"),
      ("x:", "'x:'"), ("?x", "?x"), (":x", ":x"), ("a:b", "a:b"), ("x ", "'x '"),
    ]
    for (text, yaml) in cases { #expect(YAMLScalar.plainOrQuoted(text) == yaml, "\(text)") }
    // PyYAML writes 'a\n\n  b' (a folded single-quoted scalar); the double-quoted form reads back the same.
    #expect(YAMLScalar.plainOrQuoted("a\nb \"c\"\\") == #""a\nb \"c\"\\""#)
  }
}

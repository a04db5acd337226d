// MLflowRunWriter.swift — one run in MLflow's file store (`mlruns/<experiment_id>/<run_id>/` with meta.yaml,
// params/, metrics/, tags/, artifacts/), laid out as mlflow 3.18's FileStore writes it, so `mlflow ui` reads it.
import Foundation
import Support

/// Writes one MLflow run the way `mlflow.store.tracking.file_store.FileStore` does (checked file by file against a
/// run FileStore wrote: `reference/make_mlflow_fixtures.py`):
/// - `mlruns/0/meta.yaml` (the Default experiment) and `mlruns/.trash/` when the store is new; another experiment
///   name gets its own folder named by an 18-digit id, found again by name in later runs;
/// - `<experiment>/<run_id>/meta.yaml` (status RUNNING, then FINISHED or FAILED with `end_time`), `params/<key>`
///   (the value), `tags/<key>`, `metrics/<key>` (one `<ms> <value> <step>` line per logged value; a `/` in a key
///   makes folders, as there), `artifacts/` (copied files).
/// Metric rows follow transformers' MLflowCallback: every value under its own name (`eval_` prefixed for the eval
/// split), plus `epoch`, all at the trainer's global step.
public final class MLflowRunWriter: MetricsSink {
  /// mlflow's `RunStatus` numbers, as meta.yaml stores them.
  public enum RunStatus: Int, Sendable {
    case running = 1, scheduled = 2, finished = 3, failed = 4, killed = 5
  }

  /// The store's root folder (`mlruns`).
  public let root: URL
  public let experimentID: String
  /// 32 lowercase hex digits (`uuid.uuid4().hex`).
  public let runID: String
  public let runName: String
  public let userID: String
  public let startTime: Int64
  private let clock: () -> Int64
  private var finished = false

  public var runDirectory: URL { root.appendingPathComponent(experimentID).appendingPathComponent(runID) }
  public var artifactDirectory: URL { runDirectory.appendingPathComponent("artifacts") }

  /// The tracking folder MLflow would use: `MLFLOW_TRACKING_URI` when it is a `file:` URI or a plain path, else
  /// `mlruns` in the current folder (MLflow's default). Another scheme (http, databricks, sqlite) is refused:
  /// only the file store is written here.
  public static func trackingRoot(environment: [String: String] = ProcessInfo.processInfo.environment,
                                  currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
    throws -> URL
  {
    guard let uri = environment["MLFLOW_TRACKING_URI"], !uri.isEmpty else {
      return currentDirectory.appendingPathComponent("mlruns")
    }
    if uri.hasPrefix("file:") {
      guard let url = URL(string: uri), url.isFileURL else {
        throw MetricsError.cannotWrite(path: uri, reason: "MLFLOW_TRACKING_URI is not a file: URI that names a folder")
      }
      return url.standardizedFileURL
    }
    if let colon = uri.firstIndex(of: ":"), uri[..<colon].allSatisfy({ $0.isLetter || $0 == "+" }), uri[..<colon].count > 1 {
      throw MetricsError.cannotWrite(
        path: uri, reason: "report_to mlflow writes MLflow's file store only; set MLFLOW_TRACKING_URI to a folder "
          + "(file:///path/mlruns) or unset it for ./mlruns, and point the server at it with --backend-store-uri")
    }
    let path = (uri as NSString).expandingTildeInPath
    return (path.hasPrefix("/") ? URL(fileURLWithPath: path) : currentDirectory.appendingPathComponent(path)).standardizedFileURL
  }

  /// Starts a run: creates the store and the experiment if needed, then the run's folder, its meta.yaml (RUNNING)
  /// and its tags (`mlflow.runName` first, as FileStore adds it). `clock` gives milliseconds since 1970.
  public init(root: URL, experimentName: String = "Default", runName: String, userID: String = currentUserName(),
              tags: [(String, String)] = [], clock: @escaping () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) })
    throws
  {
    self.root = root
    self.runName = runName
    self.userID = userID
    self.clock = clock
    let fm = FileManager.default
    do {
      if !fm.fileExists(atPath: root.path) {
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        try MLflowRunWriter.createExperiment(id: "0", name: "Default", root: root, now: clock())
      }
      try fm.createDirectory(at: root.appendingPathComponent(".trash"), withIntermediateDirectories: true)
      if let id = try MLflowRunWriter.experimentID(named: experimentName, root: root) {
        experimentID = id
      } else {
        // A store someone emptied of its Default experiment gets it back under id 0, as a new store has it.
        let zeroTaken = fm.fileExists(atPath: root.appendingPathComponent("0").path)
        experimentID = experimentName == "Default" && !zeroTaken ? "0" : MLflowRunWriter.newExperimentID()
        try MLflowRunWriter.createExperiment(id: experimentID, name: experimentName, root: root, now: clock())
      }
      runID = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
      startTime = clock()
      let run = root.appendingPathComponent(experimentID).appendingPathComponent(runID)
      try fm.createDirectory(at: run, withIntermediateDirectories: true)
      try writeMeta(status: .running, endTime: nil, deletedTime: true)
      for folder in ["metrics", "params", "artifacts"] {
        try fm.createDirectory(at: run.appendingPathComponent(folder), withIntermediateDirectories: true)
      }
    } catch let error as MetricsError {
      throw error
    } catch {
      throw MetricsError.cannotWrite(path: root.path, reason: "\(error)")
    }
    var all = tags
    if !all.contains(where: { $0.0 == "mlflow.runName" }) { all.insert(("mlflow.runName", runName), at: 0) }
    if !all.contains(where: { $0.0 == "mlflow.user" }) { all.append(("mlflow.user", userID)) }
    for (key, value) in all { try setTag(key, value) }
  }

  deinit { if !finished { try? finish(.killed) } }

  // MARK: Params, tags, metrics, artifacts

  /// One file per parameter holding its value. MLflow refuses values over 6,000 characters; like transformers'
  /// MLflowCallback, those are left out (and returned, so the caller can say so).
  @discardableResult
  public func logParameters(_ parameters: [(String, String)]) throws -> [String] {
    var dropped: [String] = []
    for (key, value) in parameters {
      guard value.count <= 6000 else { dropped.append(key); continue }
      try writeEntry(folder: "params", key: key, text: value)
    }
    return dropped
  }

  public func setTag(_ key: String, _ value: String) throws {
    try writeEntry(folder: "tags", key: key, text: value)
  }

  public func log(step: Int, epoch: Double?, values: [(String, Double)], split: MetricsSplit) throws {
    let time = clock()
    var rows = values.map { name, value in (split == .eval && !name.hasPrefix("eval_") ? "eval_" + name : name, value) }
    if let epoch { rows.append(("epoch", epoch)) }
    for (key, value) in rows {
      let url = try entryURL(folder: "metrics", key: key)
      try append("\(time) \(MLflowRunWriter.pythonFloat(value)) \(step)\n", to: url)
    }
  }

  /// Copies a file into the run's artifacts (under `name`, default its own name).
  public func logArtifact(file: URL, name: String? = nil) throws {
    let destination = artifactDirectory.appendingPathComponent(name ?? file.lastPathComponent)
    do {
      let data = try Foundation.Data(contentsOf: file)
      try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
      try AtomicFile.write(data, to: destination)
    } catch {
      throw MetricsError.cannotWrite(path: destination.path, reason: "\(error)")
    }
  }

  /// Ends the run: meta.yaml gets the status and `end_time` (and `mlflow.runName` is written again, as FileStore's
  /// `update_run_info` does).
  public func finish(_ status: RunStatus) throws {
    guard !finished else { return }
    finished = true
    try writeMeta(status: status, endTime: clock(), deletedTime: false)
    try setTag("mlflow.runName", runName)
  }

  /// A run closed without a word is a finished one.
  public func close() throws { try finish(.finished) }

  // MARK: Files

  private func writeMeta(status: RunStatus, endTime: Int64?, deletedTime: Bool) throws {
    let artifactURI = MLflowRunWriter.fileURI(runDirectory) + "/artifacts"
    var fields: [(String, String)] = [("artifact_uri", YAMLScalar.plainOrQuoted(artifactURI))]
    if deletedTime { fields.append(("deleted_time", "null")) }
    fields += [
      ("end_time", endTime.map(String.init) ?? "null"), ("entry_point_name", "''"),
      ("experiment_id", YAMLScalar.plainOrQuoted(experimentID)), ("lifecycle_stage", "active"),
      ("run_id", YAMLScalar.plainOrQuoted(runID)), ("run_name", YAMLScalar.plainOrQuoted(runName)),
      ("source_name", "''"), ("source_type", "4"), ("source_version", "''"), ("start_time", String(startTime)),
      ("status", String(status.rawValue)), ("tags", "[]"), ("user_id", YAMLScalar.plainOrQuoted(userID)),
    ]
    let text = fields.map { "\($0.0): \($0.1)\n" }.joined()
    let url = runDirectory.appendingPathComponent("meta.yaml")
    do { try AtomicFile.write(text, to: url) } catch { throw MetricsError.cannotWrite(path: url.path, reason: "\(error)") }
  }

  static func createExperiment(id: String, name: String, root: URL, now: Int64) throws {
    let folder = root.appendingPathComponent(id)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let text = """
      artifact_location: \(YAMLScalar.plainOrQuoted(fileURI(folder)))
      creation_time: \(now)
      effective_trace_archival_retention: null
      experiment_id: \(YAMLScalar.plainOrQuoted(id))
      last_update_time: \(now)
      lifecycle_stage: active
      name: \(YAMLScalar.plainOrQuoted(name))
      trace_location: null
      workspace: default

      """
    try AtomicFile.write(text, to: folder.appendingPathComponent("meta.yaml"))
  }

  /// The folder of the active experiment called `name`, read from each experiment's meta.yaml.
  static func experimentID(named name: String, root: URL) throws -> String? {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
    for entry in entries.sorted() where !entry.hasPrefix(".") {
      let meta = root.appendingPathComponent(entry).appendingPathComponent("meta.yaml")
      guard let text = try? String(contentsOf: meta, encoding: .utf8) else { continue }
      let fields = YAMLScalar.topLevelFields(text)
      if fields["name"] == name && fields["lifecycle_stage"] != "deleted" { return fields["experiment_id"] ?? entry }
    }
    return nil
  }

  /// `_generate_unique_integer_id`: 18 decimal digits, no leading zero.
  static func newExperimentID() -> String {
    String(UInt64.random(in: 100_000_000_000_000_000...999_999_999_999_999_999))
  }

  /// `path_to_local_file_uri`: `file://` + the absolute path, percent-encoded as pathlib's `as_uri()` does.
  static func fileURI(_ url: URL) -> String {
    let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/")
    return "file://" + (url.standardizedFileURL.path.addingPercentEncoding(withAllowedCharacters: allowed) ?? url.path)
  }

  /// A key's file; MLflow's rule for names (letters, digits, `_ - . : /` and spaces; relative, no `..`).
  private func entryURL(folder: String, key: String) throws -> URL {
    let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "_-.:/ "))
    let parts = key.split(separator: "/", omittingEmptySubsequences: false)
    guard !key.isEmpty, key.count <= 250, key.unicodeScalars.allSatisfy(allowed.contains), !key.hasPrefix("/"),
          !parts.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty })
    else {
      throw MetricsError.cannotWrite(
        path: runDirectory.appendingPathComponent(folder).path,
        reason: "\"\(key)\" is not a name MLflow accepts (letters, digits, _ - . : / and spaces, at most 250)")
    }
    return runDirectory.appendingPathComponent(folder).appendingPathComponent(key)
  }

  private func writeEntry(folder: String, key: String, text: String) throws {
    let url = try entryURL(folder: folder, key: key)
    do {
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try AtomicFile.write(text, to: url)
    } catch {
      throw MetricsError.cannotWrite(path: url.path, reason: "\(error)")
    }
  }

  private func append(_ line: String, to url: URL) throws {
    do {
      let fm = FileManager.default
      try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      if !fm.fileExists(atPath: url.path) { _ = fm.createFile(atPath: url.path, contents: nil) }
      let handle = try FileHandle(forWritingTo: url)
      defer { try? handle.close() }
      try handle.seekToEnd()
      try handle.write(contentsOf: Foundation.Data(line.utf8))
    } catch {
      throw MetricsError.cannotWrite(path: url.path, reason: "\(error)")
    }
  }

  /// Python's `str(float)`: repr digits (`0.30000000000000004`, `5e-06`, `1.0`), `nan`, `inf`, `-inf`.
  static func pythonFloat(_ value: Double) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value > 0 ? "inf" : "-inf" }
    return JSONValue.double(value).formatted(.python(ensureASCII: true))
  }
}

/// The login name, as MLflow's `mlflow.user` default (`getpass.getuser()`: LOGNAME, USER, LNAME, USERNAME, then
/// the password database).
public func currentUserName() -> String {
  let environment = ProcessInfo.processInfo.environment
  for name in ["LOGNAME", "USER", "LNAME", "USERNAME"] {
    if let value = environment[name], !value.isEmpty { return value }
  }
  if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
  return "unknown"
}

/// The little of PyYAML's `safe_dump` that meta.yaml needs: a string scalar written plain when PyYAML would (it
/// reads back as the same string, not a number, bool, null or date), else single-quoted. PyYAML also folds long
/// scalars at spaces past column 80, and spreads line breaks over lines; here those are written on one line, and
/// text with line breaks or control characters double-quoted with escapes (the same string to any YAML reader).
enum YAMLScalar {
  static func plainOrQuoted(_ text: String) -> String {
    if allowsPlain(text) && !resolvesToNonString(text) { return text }
    let needsEscapes = text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || $0 == "\u{85}"
      || $0 == "\u{2028}" || $0 == "\u{2029}" || $0 == "\u{FEFF}" }
    guard needsEscapes else { return "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
    let escaped = text.escapingScalars(["\"": "\\\"", "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"]) { c in
      c.value < 0x20 || c.value == 0x7F || c.value == 0x85 || c.value == 0xFEFF || c == "\u{2028}" || c == "\u{2029}"
        ? String(format: "\\u%04X", c.value) : nil
    }
    return "\"" + escaped + "\""
  }

  /// PyYAML's `analyze_scalar` in block context: allow_block_plain.
  static func allowsPlain(_ text: String) -> Bool {
    let scalars = Array(text.unicodeScalars)
    guard !scalars.isEmpty else { return false }
    if text.hasPrefix("---") || text.hasPrefix("...") { return false }
    let space: Set<Unicode.Scalar> = ["\0", " ", "\t", "\r", "\n", "\u{85}", "\u{2028}", "\u{2029}"]
    func followedBySpace(_ i: Int) -> Bool { i + 1 >= scalars.count || space.contains(scalars[i + 1]) }
    for (i, c) in scalars.enumerated() {
      if i == 0 {
        if "#,[]{}&*!|>'\"%@`".unicodeScalars.contains(c) { return false }
        if (c == "?" || c == ":" || c == "-") && followedBySpace(0) { return false }
      } else {
        if c == ":" && followedBySpace(i) { return false }
        if c == "#" && space.contains(scalars[i - 1]) { return false }
      }
      let printable = c == "\n" || (c.value >= 0x20 && c.value <= 0x7E) || c == "\u{85}"
        || (c.value >= 0xA0 && c.value <= 0xD7FF) || (c.value >= 0xE000 && c.value <= 0xFFFD && c.value != 0xFEFF)
        || (c.value >= 0x10000 && c.value < 0x10FFFF)
      if !printable || c == "\n" || c == "\u{85}" || c == "\u{2028}" || c == "\u{2029}" { return false }
    }
    if scalars.first == " " || scalars.last == " " { return false }
    return true
  }

  /// PyYAML's implicit resolvers (bool, int, float, null, timestamp, merge, value): a plain scalar matching one
  /// would read back as something other than this string.
  static func resolvesToNonString(_ text: String) -> Bool {
    let patterns = [
      "^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
      "^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
      "^(?:[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?|\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        + "|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN))$",
      "^(?:~|null|Null|NULL|)$",
      "^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \\t]+)"
        + "[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\\.[0-9]*)?(?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
      "^(?:<<)$", "^(?:=)$",
    ]
    return patterns.contains { text.range(of: $0, options: .regularExpression) != nil }
  }

  /// `key: value` lines of a flat mapping, scalars unquoted (plain, or single-quoted as written above).
  static func topLevelFields(_ text: String) -> [String: String] {
    var fields: [String: String] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix(" ") {
      guard let colon = line.range(of: ": ") else { continue }
      var value = String(line[colon.upperBound...])
      if value.count >= 2 && value.hasPrefix("'") && value.hasSuffix("'") {
        value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'")
      } else if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") {
        value = String(value.dropFirst().dropLast())
      }
      fields[String(line[..<colon.lowerBound])] = value
    }
    return fields
  }
}

// PromptImport.swift — `orpo curate import`: prompts, prompts with candidates generated elsewhere, or existing
// preference rows (every shape `orpo train` reads) from JSON Lines, JSON, Parquet or plain text, into the database.
import ChatTemplates
import Data
import Foundation
import Parquet

/// What an import added.
public struct ImportReport: Equatable, Sendable, CustomStringConvertible {
  public var rows = 0
  public var newPrompts = 0
  public var knownPrompts = 0
  public var candidates = 0
  public var knownCandidates = 0
  public var pairs = 0

  public var description: String {
    var text = "\(rows) rows: \(newPrompts) new prompts"
    if knownPrompts > 0 { text += ", \(knownPrompts) already stored" }
    text += "; \(candidates) candidates"
    if knownCandidates > 0 { text += " (\(knownCandidates) already stored, skipped)" }
    text += ", \(pairs) pairs"
    return text
  }
}

/// One row to import: the prompt conversation and zero or more candidate responses.
public struct ImportRow: Equatable, Sendable {
  public var prompt: [ChatMessage]
  public var candidates: [String]
  public var model: String?
}

public enum PromptImport {
  /// Reads the rows of `url`:
  /// - `.txt`: one prompt per non-blank line;
  /// - JSON Lines, JSON (a list of rows) or Parquet (columns): `{"prompt": TEXT or MESSAGES, "candidates": [TEXT, …], "model": NAME}`
  ///   (candidates and model optional), or preference rows (`prompt`/`chosen`/`rejected` in any shape `orpo train`
  ///   reads), whose two completions become the candidates.
  public static func rows(contentsOf url: URL) throws -> [ImportRow] {
    let name = url.lastPathComponent
    let bytes: Foundation.Data
    do { bytes = try Foundation.Data(contentsOf: url) } catch {
      throw DataError(source: name, message: "cannot read the file: \(error.localizedDescription)")
    }
    if url.pathExtension.lowercased() == "txt" {
      guard let text = String(data: bytes, encoding: .utf8) else { throw DataError(source: name, message: "not UTF-8 text") }
      return text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).compactMap { line in
        let prompt = line.trimmingCharacters(in: .whitespaces)
        return prompt.isEmpty ? nil : ImportRow(prompt: [ChatMessage(role: "user", content: prompt)], candidates: [], model: nil)
      }
    }
    if url.pathExtension.lowercased() == "parquet" || bytes.starts(with: Array("PAR1".utf8)) {
      return try parquetRows(url)
    }
    let rows = try jsonRows(bytes, name: name)
    // Preference rows go through the training reader, which knows every shape and reports errors the same way.
    if let first = rows.first?.value as? [String: Any], first["chosen"] != nil || first["rejected"] != nil {
      let (dataset, _) = try PreferenceReader().read(bytes: [UInt8](bytes), sourceName: name)
      return dataset.records.map { record in
        ImportRow(prompt: messages(record.prompt), candidates: [completion(record.chosen), completion(record.rejected)], model: nil)
      }
    }
    return try rows.map { try row($0.value, name: name, line: $0.line, element: $0.element) }
  }

  /// The rows of a Parquet file: preference columns go through the training reader, else the columns
  /// `prompt`, `candidates` and `model` (rows named by their 0-based index in errors).
  static func parquetRows(_ url: URL) throws -> [ImportRow] {
    let name = url.lastPathComponent
    let file: ParquetFile
    do { file = try ParquetFile(contentsOf: url) } catch { throw DataError(source: name, message: "\(error)") }
    if file.columnNames.contains("chosen") || file.columnNames.contains("rejected") {
      let (dataset, _) = try PreferenceReader().read(contentsOf: url)
      return dataset.records.map { record in
        ImportRow(prompt: messages(record.prompt), candidates: [completion(record.chosen), completion(record.rejected)], model: nil)
      }
    }
    let rows: [ParquetValue]
    do { rows = try file.rows(columns: file.columnNames.filter { ["prompt", "candidates", "model"].contains($0) }) } catch {
      throw DataError(source: name, message: "\(error)")
    }
    return try rows.enumerated().map { index, row in
      do { return try Self.row(foundationValue(row), name: name, line: nil, element: nil) } catch var error as DataError {
        error.row = index
        throw error
      }
    }
  }

  /// A Parquet value as JSONSerialization would give it (records become dictionaries, lists arrays).
  static func foundationValue(_ value: ParquetValue) -> Any {
    switch value {
    case .null: return NSNull()
    case .bool(let b): return NSNumber(value: b)
    case .int(let i): return NSNumber(value: i)
    case .double(let d): return NSNumber(value: d)
    case .string(let s): return s
    case .bytes(let b): return String(decoding: b, as: UTF8.self)
    case .list(let items): return items.map(foundationValue)
    case .record(let fields): return Dictionary(fields.map { ($0.name, foundationValue($0.value)) }, uniquingKeysWith: { $1 })
    case .map(let entries):
      return Dictionary(entries.map { (String(describing: foundationValue($0.key)), foundationValue($0.value)) }, uniquingKeysWith: { $1 })
    }
  }

  /// Adds `rows` to the store; candidates whose text is already stored for their prompt are skipped.
  public static func add(_ rows: [ImportRow], to store: CurationStore, source: String) throws -> ImportReport {
    var report = ImportReport()
    try store.write { db in
      for row in rows {
        report.rows += 1
        let (id, isNew) = try CurationStore.addPrompt(db, row.prompt, source: source)
        if isNew { report.newPrompts += 1 } else { report.knownPrompts += 1 }
        let stored = Set(try String.fetchAll(db, sql: "SELECT text FROM candidate WHERE prompt_id = ?", arguments: [id]))
        var fresh: [String] = []
        for text in row.candidates {
          if stored.contains(text) || fresh.contains(text) { report.knownCandidates += 1 } else { fresh.append(text) }
        }
        report.candidates += fresh.count
        report.pairs += try CurationStore.addCandidates(db, promptID: id, texts: fresh, model: row.model ?? "import:\(source)",
                                                       settings: "{}")
      }
    }
    return report
  }

  // MARK: Parsing

  /// The JSON values of a JSON Lines file (one per non-blank line) or of a JSON list, with where each came from.
  static func jsonRows(_ bytes: Foundation.Data, name: String) throws -> [(value: Any, line: Int?, element: Int?)] {
    var body = bytes
    if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
    let firstByte = body.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
    if firstByte == UInt8(ascii: "[") {
      let value: Any
      do { value = try JSONSerialization.jsonObject(with: body) } catch {
        throw DataError(source: name, message: "not valid JSON: \(error.localizedDescription)")
      }
      guard let list = value as? [Any] else { throw DataError(source: name, message: "expected a list of rows") }
      return list.enumerated().map { ($1, nil, $0) }
    }
    var rows: [(value: Any, line: Int?, element: Int?)] = []
    var lineNumber = 0
    for line in body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
      lineNumber += 1
      guard line.contains(where: { ![0x20, 0x09, 0x0D].contains($0) }) else { continue }
      do {
        rows.append((try JSONSerialization.jsonObject(with: Foundation.Data(line)), lineNumber, nil))
      } catch {
        throw DataError(source: name, line: lineNumber, message: "not valid JSON (JSON Lines needs one object per line)")
      }
    }
    return rows
  }

  static func row(_ value: Any, name: String, line: Int?, element: Int?) throws -> ImportRow {
    func fail(_ field: String?, _ message: String) -> DataError {
      DataError(source: name, line: line, element: element, field: field, message: message)
    }
    guard let object = value as? [String: Any] else { throw fail(nil, "expected an object, found \(kind(value))") }
    guard let promptValue = object["prompt"] else { throw fail("prompt", "missing (expected text or a list of messages)") }
    let prompt: [ChatMessage]
    if let text = promptValue as? String {
      guard !text.isEmpty else { throw fail("prompt", "empty") }
      prompt = [ChatMessage(role: "user", content: text)]
    } else if let list = promptValue as? [Any], !list.isEmpty {
      prompt = try list.enumerated().map { index, item in
        guard let message = item as? [String: Any], let role = message["role"] as? String,
              let content = message["content"] as? String
        else { throw fail("prompt[\(index)]", "expected {\"role\": text, \"content\": text}") }
        return ChatMessage(role: role, content: content)
      }
    } else {
      throw fail("prompt", "expected text or a non-empty list of messages, found \(kind(promptValue))")
    }
    var candidates: [String] = []
    if let value = object["candidates"], !(value is NSNull) {
      guard let list = value as? [Any] else { throw fail("candidates", "expected a list of texts, found \(kind(value))") }
      candidates = try list.enumerated().map { index, item in
        if let text = item as? String { return text }
        if let message = item as? [String: Any], let content = message["content"] as? String { return content }
        throw fail("candidates[\(index)]", "expected text or {\"role\": \"assistant\", \"content\": text}, found \(kind(item))")
      }
    }
    var model: String?
    if let value = object["model"], !(value is NSNull) {
      guard let text = value as? String else { throw fail("model", "expected text, found \(kind(value))") }
      model = text
    }
    return ImportRow(prompt: prompt, candidates: candidates, model: model)
  }

  static func kind(_ value: Any) -> String {
    switch value {
    case is NSNull: return "null"
    case is String: return "text"
    case is [Any]: return "a list"
    case is [String: Any]: return "an object"
    case is NSNumber: return "a number or boolean"
    default: return "\(type(of: value))"
    }
  }

  static func messages(_ turns: Turns) -> [ChatMessage] {
    switch turns {
    case .text(let text): return [ChatMessage(role: "user", content: text)]
    case .messages(let messages): return messages
    }
  }

  /// A completion's text: the text itself, or its last message's content.
  static func completion(_ turns: Turns) -> String {
    switch turns {
    case .text(let text): return text
    case .messages(let messages): return messages.last?.content ?? ""
    }
  }
}

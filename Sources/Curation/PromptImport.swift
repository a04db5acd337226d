// PromptImport.swift — `orpo curate import`: prompts, prompts with candidates generated elsewhere, or existing
// preference rows (every shape `orpo train` reads) from JSON Lines, JSON, Parquet or plain text, into the database.
import ChatTemplates
import Data
import Foundation
import Parquet
import Support

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
    let rows = try jsonRows([UInt8](bytes), name: name)
    // Preference rows go through the training reader, which knows every shape and reports errors the same way.
    if let first = rows.first?.value, first[last: "chosen"] != nil || first[last: "rejected"] != nil {
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
      do { return try Self.row(jsonValue(row), name: name, line: nil, element: nil) } catch var error as DataError {
        error.row = index
        throw error
      }
    }
  }

  /// A Parquet value as the JSON value of the same row (records become objects, lists arrays).
  static func jsonValue(_ value: ParquetValue) -> JSONValue {
    switch value {
    case .null: return .null
    case .bool(let b): return .bool(b)
    case .int(let i): return .int(i)
    case .double(let d): return .double(d)
    case .string(let s): return .string(s)
    case .bytes(let b): return .string(String(decoding: b, as: UTF8.self))
    case .list(let items): return .array(items.map(jsonValue))
    case .record(let fields): return .object(fields.map { ($0.name, jsonValue($0.value)) })
    case .map(let entries):
      return .object(entries.map { (jsonValue($0.key).stringValue ?? jsonValue($0.key).description, jsonValue($0.value)) })
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
  static func jsonRows(_ bytes: [UInt8], name: String) throws -> [(value: JSONValue, line: Int?, element: Int?)] {
    var body = bytes[...]
    if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
    let firstByte = body.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
    if firstByte == UInt8(ascii: "[") {
      let value: JSONValue
      do { value = try JSONValue.parse(Array(body)) } catch {
        throw DataError(source: name, message: "not valid JSON: \(error)")
      }
      guard let list = value.arrayValue else { throw DataError(source: name, message: "expected a list of rows") }
      return list.enumerated().map { ($1, nil, $0) }
    }
    var rows: [(value: JSONValue, line: Int?, element: Int?)] = []
    var lineNumber = 0
    for line in body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
      lineNumber += 1
      guard line.contains(where: { ![0x20, 0x09, 0x0D].contains($0) }) else { continue }
      do {
        rows.append((try JSONValue.parse(Array(line)), lineNumber, nil))
      } catch {
        throw DataError(source: name, line: lineNumber, message: "not valid JSON (JSON Lines needs one object per line): \(error)")
      }
    }
    return rows
  }

  static func row(_ value: JSONValue, name: String, line: Int?, element: Int?) throws -> ImportRow {
    func fail(_ field: String?, _ message: String) -> DataError {
      DataError(source: name, line: line, element: element, field: field, message: message)
    }
    guard value.objectValue != nil else { throw fail(nil, "expected an object, found \(value.kindName)") }
    guard let promptValue = value[last: "prompt"], !promptValue.isNull else {
      throw fail("prompt", "missing (expected text or a list of messages)")
    }
    let prompt: [ChatMessage]
    if let text = promptValue.stringValue {
      guard !text.isEmpty else { throw fail("prompt", "empty") }
      prompt = [ChatMessage(role: "user", content: text)]
    } else if let list = promptValue.arrayValue, !list.isEmpty {
      prompt = try list.enumerated().map { index, item in
        guard let role = item[last: "role"]?.stringValue, let content = item[last: "content"]?.stringValue
        else { throw fail("prompt[\(index)]", "expected {\"role\": text, \"content\": text}") }
        return ChatMessage(role: role, content: content)
      }
    } else {
      throw fail("prompt", "expected text or a non-empty list of messages, found \(promptValue.kindName)")
    }
    var candidates: [String] = []
    if let value = value[last: "candidates"], !value.isNull {
      guard let list = value.arrayValue else { throw fail("candidates", "expected a list of texts, found \(value.kindName)") }
      candidates = try list.enumerated().map { index, item in
        if let text = item.stringValue { return text }
        if let content = item[last: "content"]?.stringValue { return content }
        throw fail("candidates[\(index)]", "expected text or {\"role\": \"assistant\", \"content\": text}, found \(item.kindName)")
      }
    }
    var model: String?
    if let value = value[last: "model"], !value.isNull {
      guard let text = value.stringValue else { throw fail("model", "expected text, found \(value.kindName)") }
      model = text
    }
    return ImportRow(prompt: prompt, candidates: candidates, model: model)
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

// PreferenceReader.swift — reads preference rows from JSON Lines (streamed in chunks), JSON (a list of rows, or
// an object with a "train" or "data" list) or Parquet, tolerating a UTF-8 BOM, CRLF line ends and blank lines.

import Foundation
import Parquet
import Support

/// Reads preference files. JSON Lines files are streamed one line at a time, so memory holds the records plus one
/// chunk; JSON files are read whole and decoded one list element at a time.
///
/// The format follows the content, not the extension: a file starting with Parquet's magic "PAR1" (or named
/// `.parquet`) is Parquet (ParquetPreferences.swift); a file whose first non-blank character is `[` is a JSON list;
/// one starting with `{` is JSON Lines, unless it is a single object holding a "train" (or else "data") list.
public struct PreferenceReader: Sendable {
  /// Skip malformed rows (and report them) instead of stopping at the first one. Syntax errors inside a JSON
  /// (not JSON Lines) file always stop the read, because the rest of the file cannot be trusted.
  public var skipInvalid: Bool
  /// Bytes read per chunk when streaming JSON Lines.
  public var chunkSize: Int
  /// Column renames applied to every row before it is read (datasets' `rename_columns`).
  public var columnMapping: ColumnMapping

  public init(skipInvalid: Bool = false, chunkSize: Int = 1 << 20, columnMapping: ColumnMapping = ColumnMapping.none) {
    self.skipInvalid = skipInvalid
    self.chunkSize = max(chunkSize, 16)
    self.columnMapping = columnMapping
  }

  /// Reads the file at `url`. Its name (last path component) is the dataset's `sourceName` and appears in errors.
  public func read(contentsOf url: URL) throws -> (dataset: PreferenceDataset, report: ReadReport) {
    if url.pathExtension.lowercased() == "parquet" || ParquetFile.hasMagic(url) { return try readParquet(url) }
    let name = url.lastPathComponent
    let handle: FileHandle
    do {
      handle = try FileHandle(forReadingFrom: url)
    } catch {
      throw DataError(source: name, message: "cannot open the file: \(error.localizedDescription)")
    }
    defer { try? handle.close() }
    var session = ReadSession(sourceName: name, skipInvalid: skipInvalid, columnMapping: columnMapping)
    var chunkReader = ChunkReader(chunkSize: chunkSize) {
      do {
        return try handle.read(upToCount: $0).map { [UInt8]($0) } ?? []
      } catch {
        throw DataError(source: name, message: "cannot read the file: \(error.localizedDescription)")
      }
    }
    try session.run(&chunkReader)
    return (PreferenceDataset(records: session.records, sourceName: name), session.report)
  }

  /// Reads rows held in memory; `sourceName` names them in errors.
  public func read(text: String, sourceName: String) throws -> (dataset: PreferenceDataset, report: ReadReport) {
    try read(bytes: Array(text.utf8), sourceName: sourceName)
  }

  /// Reads rows from UTF-8 bytes held in memory; `sourceName` names them in errors.
  public func read(bytes: [UInt8], sourceName: String) throws -> (dataset: PreferenceDataset, report: ReadReport) {
    var session = ReadSession(sourceName: sourceName, skipInvalid: skipInvalid, columnMapping: columnMapping)
    var offset = 0
    var chunkReader = ChunkReader(chunkSize: chunkSize) { count in
      let end = min(bytes.count, offset + count)
      defer { offset = end }
      return Array(bytes[offset..<end])
    }
    try session.run(&chunkReader)
    return (PreferenceDataset(records: session.records, sourceName: sourceName), session.report)
  }
}

/// Pulls chunks from a source; an empty chunk means the end.
struct ChunkReader {
  let chunkSize: Int
  let pull: (Int) throws -> [UInt8]
  init(chunkSize: Int, pull: @escaping (Int) throws -> [UInt8]) {
    self.chunkSize = chunkSize
    self.pull = pull
  }
  mutating func next() throws -> [UInt8] { try pull(chunkSize) }
  mutating func readAll(after prefix: [UInt8]) throws -> [UInt8] {
    var all = prefix
    while true {
      let chunk = try next()
      if chunk.isEmpty { return all }
      all.append(contentsOf: chunk)
    }
  }
}

/// The state of one read: records so far, the report, and where errors point.
struct ReadSession {
  let sourceName: String
  let skipInvalid: Bool
  let columnMapping: ColumnMapping
  var records: [PreferenceRecord] = []
  var report = ReadReport()
  /// Whether a JSON Lines read may still turn out to be one JSON object holding the rows.
  var mayBeOneDocument = true

  init(sourceName: String, skipInvalid: Bool, columnMapping: ColumnMapping) {
    self.sourceName = sourceName
    self.skipInvalid = skipInvalid
    self.columnMapping = columnMapping
  }

  mutating func run(_ reader: inout ChunkReader) throws {
    var pending = try reader.next()
    if pending.starts(with: [0xEF, 0xBB, 0xBF]) { pending.removeFirst(3) }  // UTF-8 byte order mark
    // Find the first meaningful byte, reading on while the file starts with blank space.
    var start = 0
    while true {
      while start < pending.count, isJSONWhitespace(pending[start]) { start += 1 }
      if start < pending.count { break }
      let chunk = try reader.next()
      if chunk.isEmpty { break }
      pending.append(contentsOf: chunk)
    }
    guard start < pending.count else {
      report.keptCount = 0
      return  // an empty file holds no rows
    }
    if pending[start] == UInt8(ascii: "[") {
      let all = try reader.readAll(after: pending)
      try readJSONDocument(all)
    } else {
      try readJSONLines(first: pending, reader: &reader)
    }
    report.keptCount = records.count
  }

  // MARK: JSON Lines

  /// The longest JSON Lines row read (16 MiB).
  static let maximumLineBytes = 16 << 20

  private mutating func readJSONLines(first: [UInt8], reader: inout ChunkReader) throws {
    var buffer = first
    var scanStart = 0  // bytes before this offset are complete lines already handled
    var lineNumber = 0
    var sawFirstRow = false
    while true {
      var lineEnds: [Int] = []
      buffer.withUnsafeBufferPointer { bytes in
        var position = scanStart
        while let newline = memchrIndex(bytes, from: position) {
          lineEnds.append(newline)
          position = newline + 1
        }
      }
      for lineEnd in lineEnds {
        lineNumber += 1
        if try handleLine(buffer, scanStart, lineEnd, lineNumber: lineNumber, isFirst: &sawFirstRow, reader: &reader) {
          return
        }
        scanStart = lineEnd + 1
      }
      // Keep everything until the first row is seen, in case the file must be re-read as one JSON document.
      if sawFirstRow && scanStart > 0 {
        buffer.removeFirst(scanStart)
        scanStart = 0
      }
      // A line without an end in sight: refused before it fills memory (and before a tokenizer meets it).
      if buffer.count - scanStart > Self.maximumLineBytes {
        throw DataError(source: sourceName, line: lineNumber + 1,
                        message: "the line is longer than \(Self.maximumLineBytes >> 20) MiB; rows this long are refused")
      }
      let chunk = try reader.next()
      if chunk.isEmpty { break }
      buffer.append(contentsOf: chunk)
    }
    if scanStart < buffer.count {
      lineNumber += 1
      _ = try handleLine(buffer, scanStart, buffer.count, lineNumber: lineNumber, isFirst: &sawFirstRow, reader: &reader)
    }
  }

  /// Decodes one line. Returns true when the file turned out to be one JSON object (read whole instead).
  private mutating func handleLine(_ buffer: [UInt8], _ start: Int, _ end: Int, lineNumber: Int, isFirst: inout Bool,
                                   reader: inout ChunkReader) throws -> Bool {
    let parsed: Result<JSONValue, JSONSyntaxError>? = buffer.withUnsafeBufferPointer { bytes in
      var first = start
      while first < end, isJSONWhitespace(bytes[first]) { first += 1 }
      if first == end { return nil }  // blank line
      do {
        return .success(try JSONParser.parseDocument(bytes, start: first, end: end))
      } catch let error as JSONSyntaxError {
        return .failure(error)
      } catch {
        return .failure(JSONSyntaxError(offset: first, message: "\(error)"))
      }
    }
    guard let parsed else { return false }
    let wasFirst = !isFirst
    isFirst = true
    if wasFirst && mayBeOneDocument {
      // A first "row" without "chosen"/"rejected", or cut short at the line end, may be a JSON object holding the
      // rows (compact or pretty-printed). Read the whole file; if it is one JSON value, read it as JSON.
      let suspicious: Bool
      switch parsed {
      case .success(let row):
        let mapped = (try? columnMapping.apply(to: row)) ?? row
        suspicious = mapped[last: "chosen"] == nil && mapped[last: "rejected"] == nil
      case .failure(let syntax): suspicious = syntax.atEndOfInput
      }
      if suspicious {
        let all = try reader.readAll(after: buffer)
        mayBeOneDocument = false
        if (try? all.withUnsafeBufferPointer({ try JSONParser.parseDocument($0) })) != nil {
          try readJSONDocument(all)
        } else {
          var nothingMore = ChunkReader(chunkSize: 1) { _ in [] }
          try readJSONLines(first: all, reader: &nothingMore)
        }
        return true
      }
    }
    switch parsed {
    case .success(let row):
      do {
        records.append(try RowDecoder.record(from: try columnMapping.apply(to: row), sourceLine: lineNumber))
      } catch let problem as RowProblem {
        try fail(DataError(source: sourceName, line: lineNumber, field: columnMapping.sourceField(problem.field),
                           message: problem.message))
      }
    case .failure(let syntax):
      let column = syntax.offset - start + 1
      try fail(DataError(source: sourceName, line: lineNumber,
                         message: "invalid JSON: \(syntax.message) (column \(column))"))
    }
    return false
  }

  private mutating func fail(_ error: DataError) throws {
    guard skipInvalid else { throw error }
    report.recordSkip(error)
  }

  // MARK: JSON documents

  /// The list of rows inside a container object: "train" if present, else "data".
  private func containerList(in value: JSONValue) -> String? {
    for key in ["train", "data"] {
      if case .array? = value[last: key] { return key }
    }
    return nil
  }

  private mutating func readJSONDocument(_ all: [UInt8]) throws {
    try all.withUnsafeBufferPointer { bytes in
      var lines = LineCounter(bytes: bytes)
      var parser = JSONParser(bytes: bytes)
      parser.skipWhitespace()
      do {
        if parser.current == UInt8(ascii: "[") {
          try readRows(&parser, lines: &lines)
        } else {
          try readContainer(&parser, lines: &lines)
        }
        parser.skipWhitespace()
        if !parser.atEnd { throw parser.error("unexpected \(parser.describeCurrent()) after the JSON value") }
      } catch let syntax as JSONSyntaxError {
        throw DataError(source: sourceName, line: lines.line(at: syntax.offset), message: "invalid JSON: \(syntax.message)")
      }
    }
  }

  /// `{ ..., "train": [rows], ... }`: finds the list, then reads its rows.
  private mutating func readContainer(_ parser: inout JSONParser, lines: inout LineCounter) throws {
    let objectStart = parser.position
    let object = try parser.parseValue()
    guard case .object = object, let key = containerList(in: object) else {
      throw DataError(source: sourceName, line: lines.line(at: objectStart),
                      message: "expected JSON Lines rows, a list of rows, or an object with a \"train\" or \"data\" "
                        + "list of rows, found \(object.kindName == "object" ? "an object without them" : object.kindName)")
    }
    // Find where the chosen list starts (the last occurrence of the key, as the value lookup does).
    var scanner = JSONParser(bytes: parser.bytes, start: objectStart, end: parser.position)
    scanner.position += 1
    var listStart: Int?
    while true {
      scanner.skipWhitespace()
      if scanner.current == UInt8(ascii: "}") { break }
      if scanner.current == UInt8(ascii: ",") { scanner.position += 1; continue }
      let name = try scanner.parseString()
      scanner.skipWhitespace()
      scanner.position += 1  // ":"
      scanner.skipWhitespace()
      if name == key { listStart = scanner.position }
      _ = try scanner.parseValue()
    }
    var rowsParser = JSONParser(bytes: parser.bytes, start: listStart!, end: parser.end)
    try readRows(&rowsParser, lines: &lines)
  }

  /// `[row, row, ...]`, decoding each row as soon as it is parsed.
  private mutating func readRows(_ parser: inout JSONParser, lines: inout LineCounter) throws {
    parser.position += 1  // "["
    parser.skipWhitespace()
    if parser.current == UInt8(ascii: "]") { parser.position += 1; return }
    var element = 0
    while true {
      parser.skipWhitespace()
      let rowStart = parser.position
      let row = try parser.parseValue()
      let line = lines.line(at: rowStart)
      do {
        records.append(try RowDecoder.record(from: try columnMapping.apply(to: row), sourceLine: line))
      } catch let problem as RowProblem {
        try fail(DataError(source: sourceName, line: line, element: element, field: columnMapping.sourceField(problem.field),
                           message: problem.message))
      }
      element += 1
      parser.skipWhitespace()
      if parser.current == UInt8(ascii: ",") { parser.position += 1; continue }
      try parser.expect(UInt8(ascii: "]"), "',' or ']' in the list of rows")
      return
    }
  }
}

/// Line numbers of byte offsets, counted forward incrementally (offsets asked for mostly increase).
struct LineCounter {
  let bytes: UnsafeBufferPointer<UInt8>
  private var offset = 0
  private var line = 1

  init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

  mutating func line(at target: Int) -> Int {
    if target < offset { offset = 0; line = 1 }
    let end = min(target, bytes.count)
    while offset < end {
      guard let newline = memchrIndex(bytes, from: offset), newline < end else { offset = end; break }
      line += 1
      offset = newline + 1
    }
    return line
  }
}

@inline(__always) func isJSONWhitespace(_ byte: UInt8) -> Bool {
  byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
}

/// Index of the next "\n" at or after `from`, via memchr.
@inline(__always) func memchrIndex(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
  guard from < bytes.count, let base = bytes.baseAddress else { return nil }
  guard let hit = memchr(base + from, 0x0A, bytes.count - from) else { return nil }
  return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
}

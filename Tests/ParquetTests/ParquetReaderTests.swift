// ParquetReaderTests.swift — pyarrow-written files (reference/make_parquet_fixtures.py, pyarrow 26.0.1) read back
// row for row as pyarrow reads them: every compression, data pages v1 and v2, dictionary and plain, dictionary
// fallback, nulls at every level, nested lists, structs and maps, several row groups; plus the metadata pyarrow
// reports, column selection and errors that name the file, row group, column and page.

import Foundation
import Testing
@testable import Parquet

let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
func fixture(_ name: String) -> URL { fixtures.appendingPathComponent(name) }

/// pyarrow's rows, in the typed JSON form the fixture script writes (see its `tagged`).
func expectedRows(_ name: String) throws -> [Any] {
  let text = try String(contentsOf: fixture(name), encoding: .utf8)
  return try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8), options: [.fragmentsAllowed]) }
}

/// Where `value` differs from pyarrow's typed value `expected`, as a path; nil when they agree.
func difference(_ value: ParquetValue, _ expected: Any, at path: String = "") -> String? {
  func tag(_ key: String) -> Any? { (expected as? [String: Any]).flatMap { $0.count == 1 ? $0[key] : nil } }
  switch value {
  case .null: return expected is NSNull ? nil : "\(path): null, expected \(expected)"
  case .bool(let bool): return (tag("b") as? Bool) == bool ? nil : "\(path): \(bool), expected \(expected)"
  case .int(let int): return (tag("i") as? String) == String(int) ? nil : "\(path): \(int), expected \(expected)"
  case .double(let double):
    guard let hex = tag("f") as? String, let wanted = Double(hex) else { return "\(path): \(double), expected \(expected)" }
    return wanted.bitPattern == double.bitPattern ? nil : "\(path): \(double), expected \(wanted)"
  case .string(let text): return (tag("s") as? String) == text ? nil : "\(path): \(text.debugDescription), expected \(expected)"
  case .bytes(let bytes):
    let hex = bytes.map { String(format: "%02x", $0) }.joined()
    return (tag("x") as? String) == hex ? nil : "\(path): bytes \(hex), expected \(expected)"
  case .list(let elements):
    guard let wanted = expected as? [Any], wanted.count == elements.count else {
      return "\(path): list of \(elements.count), expected \(expected)"
    }
    for (index, element) in elements.enumerated() {
      if let problem = difference(element, wanted[index], at: "\(path)[\(index)]") { return problem }
    }
    return nil
  case .record(let fields):
    guard let wanted = tag("r") as? [[Any]], wanted.count == fields.count else {
      return "\(path): record with \(fields.map(\.name)), expected \(expected)"
    }
    for (field, pair) in zip(fields, wanted) {
      guard pair.count == 2, pair[0] as? String == field.name else { return "\(path): field \(field.name), expected \(pair)" }
      if let problem = difference(field.value, pair[1], at: "\(path).\(field.name)") { return problem }
    }
    return nil
  case .map(let entries):
    guard let wanted = tag("m") as? [[Any]], wanted.count == entries.count else {
      return "\(path): map of \(entries.count), expected \(expected)"
    }
    for (index, (entry, pair)) in zip(entries, wanted).enumerated() {
      if let problem = difference(entry.key, pair[0], at: "\(path){\(index)}.key") { return problem }
      if let problem = difference(entry.value, pair[1], at: "\(path){\(index)}.value") { return problem }
    }
    return nil
  }
}

/// The fixtures' manifest: what pyarrow's metadata says about each file.
struct Manifest: Decodable {
  struct Column: Decodable { var codec: String; var encodings: [String] }
  struct File: Decodable { var rows: Int; var row_groups: [Int]; var columns: [String: Column] }
  var versions: [String: String]
  var files: [String: File]
  static func load() throws -> Manifest {
    try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: fixture("manifest.json")))
  }
}

@Suite struct ParquetReaderTests {
  static let ultrafeedbackFiles = ["ultrafeedback-snappy-v1.parquet", "ultrafeedback-none-v1-plain.parquet",
                                   "ultrafeedback-gzip-v2-plain.parquet", "ultrafeedback-zstd-v2.parquet",
                                   "ultrafeedback-zstd-v1-fallback.parquet"]
  static let typesFiles = ["types.parquet", "types-v2-zstd.parquet", "types-plain-gzip.parquet"]

  @Test(arguments: ultrafeedbackFiles)
  func ultrafeedbackRowsEqualPyarrows(name: String) throws {
    let file = try ParquetFile(contentsOf: fixture(name))
    let rows = try file.rows()
    let expected = try expectedRows("ultrafeedback.expected.jsonl")
    #expect(rows.count == 36 && expected.count == 36)
    for (index, row) in rows.enumerated() {
      let problem = difference(row, expected[index], at: "row \(index)")
      #expect(problem == nil, "\(name): \(problem ?? "")")
      if problem != nil { break }
    }
    #expect(file.columnNames == ["prompt", "prompt_id", "chosen", "rejected", "messages", "score_chosen", "score_rejected"])
  }

  @Test(arguments: typesFiles)
  func everyTypeAndNullRowEqualsPyarrows(name: String) throws {
    let rows = try ParquetFile(contentsOf: fixture(name)).rows()
    let expected = try expectedRows("types.expected.jsonl")
    #expect(rows.count == 30 && expected.count == 30)
    for (index, row) in rows.enumerated() {
      let problem = difference(row, expected[index], at: "row \(index)")
      #expect(problem == nil, "\(name): \(problem ?? "")")
      if problem != nil { break }
    }
  }

  @Test func aMessageListReadsAsRecordsOfContentAndRole() throws {
    let rows = try ParquetFile(contentsOf: fixture("ultrafeedback-snappy-v1.parquet")).rows(inRowGroup: 0)
    // Row 3 of the fixture has a system turn before the user's (the script adds one to every 7th row from 3).
    guard let chosen = rows[3]["chosen"]?.elements else { Issue.record("chosen is not a list"); return }
    #expect(chosen.count == 3)
    #expect(chosen.map { $0["role"] } == [.string("system"), .string("user"), .string("assistant")])
    #expect(chosen[1]["content"] == rows[3]["prompt"])
  }

  @Test func metadataMatchesWhatPyarrowReports() throws {
    let manifest = try Manifest.load()
    #expect(manifest.versions["pyarrow"] == "26.0.1")
    for name in Self.ultrafeedbackFiles + Self.typesFiles {
      let file = try ParquetFile(contentsOf: fixture(name))
      let wanted = try #require(manifest.files[name])
      #expect(file.rowCount == wanted.rows)
      #expect(file.metadata.rowGroups.map { Int($0.rowCount) } == wanted.row_groups, "\(name)")
      for group in file.metadata.rowGroups {
        for chunk in group.columns {
          let meta = try #require(chunk.metadata)
          let column = try #require(wanted.columns[meta.pathInSchema.joined(separator: ".")])
          #expect(meta.codec.description == column.codec, "\(name)")
          #expect(Set(meta.encodings.map(\.description)).isSubset(of: Set(column.encodings)), "\(name)")
        }
      }
    }
    // The fixtures cover what their names claim.
    let fallback = try #require(manifest.files["ultrafeedback-zstd-v1-fallback.parquet"]?.columns["chosen.list.element.content"])
    #expect(fallback.encodings == ["PLAIN", "RLE", "RLE_DICTIONARY"])
    #expect(manifest.files["ultrafeedback-gzip-v2-plain.parquet"]?.columns["prompt"]?.encodings == ["PLAIN", "RLE"])
    #expect(manifest.files["types-v2-zstd.parquet"]?.columns["flag"]?.encodings == ["RLE"])  // RLE booleans
  }

  @Test func selectedColumnsOnly() throws {
    let file = try ParquetFile(contentsOf: fixture("ultrafeedback-zstd-v2.parquet"))
    let rows = try file.rows(inRowGroup: 2, columns: ["score_rejected", "prompt"])
    #expect(rows.count == 4)
    guard case .record(let fields) = rows[0] else { Issue.record("not a record"); return }
    #expect(fields.map(\.name) == ["prompt", "score_rejected"])  // schema order
    #expect(throws: ParquetError(file: "ultrafeedback-zstd-v2.parquet", message: "there is no column \"question\" (the "
      + "file has \"prompt\", \"prompt_id\", \"chosen\", \"rejected\", \"messages\", \"score_chosen\", \"score_rejected\")")) {
      try file.rows(columns: ["question"])
    }
    #expect(throws: ParquetError(file: "ultrafeedback-zstd-v2.parquet", message: "there is no row group 3 (the file has 3)")) {
      try file.rows(inRowGroup: 3)
    }
  }
}

@Suite struct ParquetErrorTests {
  /// Writes `bytes` to a temporary file called `name` and returns its URL.
  func temporaryFile(_ name: String, _ bytes: [UInt8]) throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-tests-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let url = directory.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url
  }

  func error(_ url: URL) -> String? {
    do {
      _ = try ParquetFile(contentsOf: url).rows()
      return nil
    } catch {
      return "\(error)"
    }
  }

  @Test func notParquetAtAll() throws {
    #expect(error(try temporaryFile("a.parquet", Array("{\"prompt\": 1}\n".utf8)))
            == "a.parquet: not a Parquet file: it does not start with \"PAR1\"")
    #expect(error(try temporaryFile("b.parquet", Array("PAR1".utf8))) == "b.parquet: not a Parquet file: 4 bytes is too short")
    let bytes = [UInt8](try Data(contentsOf: fixture("types.parquet")))
    #expect(error(try temporaryFile("cut.parquet", Array(bytes[..<(bytes.count - 100)])))
            == "cut.parquet: not a Parquet file: it does not end with \"PAR1\"")
    #expect(!ParquetFile.hasMagic(try temporaryFile("c.jsonl", Array("{}".utf8))))
    #expect(ParquetFile.hasMagic(fixture("types.parquet")))
  }

  @Test func aCorruptPageNamesFileRowGroupColumnAndPage() throws {
    let name = "ultrafeedback-none-v1-plain.parquet"
    var bytes = [UInt8](try Data(contentsOf: fixture(name)))
    let file = try ParquetFile(contentsOf: fixture(name))
    let column = try #require(file.metadata.rowGroups[1].columns[2].metadata)  // chosen.list.element.content
    #expect(column.pathInSchema == ["chosen", "list", "element", "content"])
    bytes[Int(column.dataPageOffset)] = 0x0E  // a field header with an unknown type code
    let message = try #require(error(try temporaryFile(name, bytes)))
    #expect(message.hasPrefix("\(name): row group 1: column \"chosen.list.element.content\": page 0: page header: "
                              + "unknown field type 14"), "\(message)")
  }

  @Test func unsupportedCodecsAndEncodingsAreNamed() throws {
    #expect(error(fixture("unsupported-lz4.parquet")) == "unsupported-lz4.parquet: row group 0: column \"text\": "
      + "page 0: compression LZ4_RAW is not supported (UNCOMPRESSED, SNAPPY, GZIP and ZSTD are)")
    #expect(error(fixture("unsupported-delta.parquet")) == "unsupported-delta.parquet: row group 0: column \"text\": "
      + "page 0: value encoding DELTA_BYTE_ARRAY is not supported (PLAIN, PLAIN_DICTIONARY, RLE_DICTIONARY and RLE "
      + "booleans are: what pyarrow writes by default)")
  }
}

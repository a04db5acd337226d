// ParquetPreferences.swift — preference rows from a Parquet file: only the columns the row shapes use are read,
// each row becomes the JSON value its JSON Lines twin would parse to, and RowDecoder takes it from there (same
// shapes, same records, same messages, naming the row instead of the line).

import Foundation
import Parquet
import Support

extension PreferenceReader {
  /// The columns RowDecoder looks at.
  static let rowFields = ["prompt", "chosen", "rejected", "id", "family"]

  func readParquet(_ url: URL) throws -> (dataset: PreferenceDataset, report: ReadReport) {
    let name = url.lastPathComponent
    let file = try convertingParquetErrors { try ParquetFile(contentsOf: url) }
    for old in columnMapping.renames.keys.sorted() where !file.columnNames.contains(old) {
      throw DataError(source: name, message: "the column mapping renames \"\(old)\", but the file has no such column "
        + "(it has " + file.columnNames.map { "\"\($0)\"" }.joined(separator: ", ") + ")")
    }
    for (old, new) in columnMapping.renames.sorted(by: { $0.key < $1.key })
    where file.columnNames.contains(new) && columnMapping.renames[new] == nil {
      throw DataError(source: name, message: "the column mapping renames \"\(old)\" to \"\(new)\", but the file already "
        + "has a \"\(new)\" column")
    }
    let wanted = columnMapping.sourceColumns(for: Self.rowFields)
    let columns = file.columnNames.filter { wanted.contains($0) }
    var records: [PreferenceRecord] = []
    records.reserveCapacity(file.rowCount)
    var report = ReadReport()
    var rowIndex = 0
    for group in 0..<file.rowGroupCount {
      let rows = try convertingParquetErrors { try file.rows(inRowGroup: group, columns: columns) }
      for row in rows {
        do {
          records.append(try RowDecoder.record(from: try columnMapping.apply(to: JSONValue(row))))
        } catch let problem as RowProblem {
          let error = DataError(source: name, row: rowIndex, field: columnMapping.sourceField(problem.field),
                                message: problem.message)
          guard skipInvalid else { throw error }
          report.recordSkip(error)
        }
        rowIndex += 1
      }
    }
    report.keptCount = records.count
    return (PreferenceDataset(records: records, sourceName: name), report)
  }

  /// Runs `body`, turning a ParquetError into a DataError about the same file.
  private func convertingParquetErrors<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch var error as ParquetError {
      let file = error.file
      error.file = nil
      throw DataError(source: file, message: error.description)
    }
  }
}

extension JSONValue {
  /// A Parquet value as JSON: integers stay integers, floating-point numbers are spelled as Python spells them,
  /// records become objects, maps objects (when every key is a string, else lists of [key, value]); byte arrays not
  /// marked as text read as text when they are valid UTF-8 (some writers leave STRING off), else as lists of bytes.
  init(_ value: ParquetValue) {
    switch value {
    case .null: self = .null
    case .bool(let bool): self = .bool(bool)
    case .int(let int): self = .int(int)
    case .double(let double): self = .double(double)
    case .string(let text): self = .string(text)
    case .bytes(let bytes):
      if let text = String(validating: bytes, as: UTF8.self) {
        self = .string(text)
      } else {
        self = .array(bytes.map { .int($0) })
      }
    case .list(let elements): self = .array(elements.map(JSONValue.init))
    case .record(let fields): self = .object(fields.map { ($0.name, JSONValue($0.value)) })
    case .map(let entries):
      var members: [(key: String, value: JSONValue)] = []
      for entry in entries {
        guard case .string(let key) = entry.key else {
          self = .array(entries.map { .array([JSONValue($0.key), JSONValue($0.value)]) })
          return
        }
        members.append((key, JSONValue(entry.value)))
      }
      self = .object(members)
    }
  }
}

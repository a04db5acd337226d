// ParquetFile.swift — opens a Parquet file (magic bytes, footer, schema) and reads its rows one row group at a
// time, reading from disk only the column chunks of the fields asked for.

import Foundation

/// A Parquet file: its footer is read when it is opened, its rows when asked for.
///
///     let file = try ParquetFile(contentsOf: url)
///     for group in 0..<file.rowGroupCount {
///       for row in try file.rows(inRowGroup: group, columns: ["prompt", "chosen", "rejected"]) { ... }
///     }
public struct ParquetFile: Sendable {
  public let url: URL
  /// The file name, as errors show it.
  public var name: String { url.lastPathComponent }
  public let metadata: FileMetadata
  public let schema: ParquetSchema
  /// Where the footer starts: column chunks must end before it.
  private let footerStart: Int64

  static let magic: [UInt8] = Array("PAR1".utf8)

  /// True when `url` starts with Parquet's magic bytes "PAR1".
  public static func hasMagic(_ url: URL) -> Bool {
    guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
    defer { try? handle.close() }
    return (try? handle.read(upToCount: 4)).map { [UInt8]($0) } == magic
  }

  /// Opens the file and reads its footer and schema.
  public init(contentsOf url: URL) throws {
    self.url = url
    let name = url.lastPathComponent
    let handle: FileHandle
    do { handle = try FileHandle(forReadingFrom: url) } catch {
      throw ParquetError(file: name, message: "cannot open the file: \(error.localizedDescription)")
    }
    defer { try? handle.close() }
    let (metadata, footerStart) = try withContext(file: name) { try Self.readFooter(handle) }
    let schema = try withContext(file: name) { try ParquetSchema(elements: metadata.schema) }
    try withContext(file: name) { try Self.check(metadata, schema) }
    self.metadata = metadata
    self.footerStart = footerStart
    self.schema = schema
  }

  /// Row counts add up, and every row group has a chunk per leaf column.
  private static func check(_ metadata: FileMetadata, _ schema: ParquetSchema) throws {
    guard metadata.rowCount >= 0 else { throw ParquetError(message: "the footer claims \(metadata.rowCount) rows") }
    var total: Int64 = 0
    for (index, group) in metadata.rowGroups.enumerated() {
      guard group.rowCount >= 0 && group.rowCount <= Int64(Int32.max) else {
        throw ParquetError(rowGroup: index, message: "the row group claims \(group.rowCount) rows")
      }
      total += group.rowCount
      guard group.columns.count == schema.leaves.count else {
        throw ParquetError(rowGroup: index, message: "the row group has \(group.columns.count) column chunks, "
          + "the schema \(schema.leaves.count) columns")
      }
    }
    guard total == metadata.rowCount else {
      throw ParquetError(message: "the row groups hold \(total) rows, the footer says \(metadata.rowCount)")
    }
  }

  public var rowCount: Int { Int(metadata.rowCount) }
  public var rowGroupCount: Int { metadata.rowGroups.count }
  /// The top-level field names, in schema order.
  public var columnNames: [String] { schema.fields.map(\.name) }

  /// The rows of row group `index`, each a `.record` of the fields named in `columns` (all fields when nil), in
  /// schema order.
  public func rows(inRowGroup index: Int, columns: [String]? = nil) throws -> [ParquetValue] {
    guard metadata.rowGroups.indices.contains(index) else {
      throw ParquetError(file: name, message: "there is no row group \(index) (the file has \(rowGroupCount))")
    }
    let fields = try selectedFields(columns)
    return try withContext(file: name, rowGroup: index) {
      let group = metadata.rowGroups[index]
      let handle: FileHandle
      do { handle = try FileHandle(forReadingFrom: url) } catch {
        throw ParquetError(message: "cannot open the file: \(error.localizedDescription)")
      }
      defer { try? handle.close() }
      var data = Array(repeating: ColumnData(), count: schema.leaves.count)
      for field in fields {
        for leaf in field.leafRange {
          data[leaf] = try withContext(column: schema.leaves[leaf].path) {
            try readColumnChunk(handle, group: group, leaf: leaf)
          }
        }
      }
      let rowCount = Int(group.rowCount)
      var assembler = RecordAssembler(columns: data)
      var rows: [ParquetValue] = []
      rows.reserveCapacity(min(rowCount, 1 << 20))
      if fields.isEmpty {
        guard rowCount <= 1 << 24 else { throw ParquetError(message: "too many rows (\(rowCount)) without columns") }
        return Array(repeating: .record([]), count: rowCount)
      }
      for _ in 0..<rowCount { rows.append(try assembler.row(fields)) }
      try assembler.checkFinished(fields, leaves: schema.leaves, rowCount: rowCount)
      return rows
    }
  }

  /// Every row of the file, row group after row group.
  public func rows(columns: [String]? = nil) throws -> [ParquetValue] {
    var all: [ParquetValue] = []
    for index in 0..<rowGroupCount { all.append(contentsOf: try rows(inRowGroup: index, columns: columns)) }
    return all
  }

  private func selectedFields(_ columns: [String]?) throws -> [SchemaNode] {
    guard let columns else { return schema.fields }
    for column in columns where !schema.fields.contains(where: { $0.name == column }) {
      throw ParquetError(file: name, message: "there is no column \"\(column)\" (the file has "
        + columnNames.map { "\"\($0)\"" }.joined(separator: ", ") + ")")
    }
    return schema.fields.filter { columns.contains($0.name) }
  }

  private func readColumnChunk(_ handle: FileHandle, group: RowGroup, leaf: Int) throws -> ColumnData {
    let node = schema.leaves[leaf]
    let chunk = group.columns[leaf]
    if let path = chunk.filePath {
      throw ParquetError(message: "the column chunk lives in another file (\"\(path)\"), which is not supported")
    }
    guard let meta = chunk.metadata else { throw ParquetError(message: "the column chunk has no metadata") }
    guard meta.type == node.physicalType?.rawValue else {
      throw ParquetError(message: "the column chunk's type \(meta.type) differs from the schema's \(node.physicalType!)")
    }
    guard meta.pathInSchema.joined(separator: ".") == node.path else {
      throw ParquetError(message: "the column chunk is for \"\(meta.pathInSchema.joined(separator: "."))\"")
    }
    if node.repetitionLevel == 0 && meta.valueCount != group.rowCount {
      throw ParquetError(message: "the column chunk holds \(meta.valueCount) values for \(group.rowCount) rows")
    }
    var start = meta.dataPageOffset
    if let dictionaryOffset = meta.dictionaryPageOffset, dictionaryOffset > 0, dictionaryOffset < start {
      start = dictionaryOffset
    }
    let length = meta.totalCompressedSize
    guard start >= 4 && length >= 0 && length <= footerStart - start else {
      throw ParquetError(message: "the column chunk's bytes (\(length) at offset \(start)) are not inside the file's "
        + "data (offsets 4 to \(footerStart))")
    }
    let bytes = try Self.read(handle, at: UInt64(start), count: Int(length))
    return try bytes.withUnsafeBytes { try ColumnChunkReader(leaf: node, metadata: meta).read($0) }
  }

  // MARK: File access

  /// Reads the footer: "PAR1" at both ends, the Thrift FileMetaData before the trailing length and magic.
  private static func readFooter(_ handle: FileHandle) throws -> (FileMetadata, Int64) {
    let size: UInt64
    do { size = try handle.seekToEnd() } catch {
      throw ParquetError(message: "cannot read the file: \(error.localizedDescription)")
    }
    guard size >= 12 else { throw ParquetError(message: "not a Parquet file: \(size) bytes is too short") }
    let head = try read(handle, at: 0, count: 4)
    let tail = try read(handle, at: size - 8, count: 8)
    guard head == magic else { throw ParquetError(message: "not a Parquet file: it does not start with \"PAR1\"") }
    if Array(tail[4...]) == Array("PARE".utf8) {
      throw ParquetError(message: "the file's footer is encrypted, which is not supported")
    }
    guard Array(tail[4...]) == magic else { throw ParquetError(message: "not a Parquet file: it does not end with \"PAR1\"") }
    let footerLength = UInt64(tail[0]) | UInt64(tail[1]) << 8 | UInt64(tail[2]) << 16 | UInt64(tail[3]) << 24
    guard footerLength <= size - 12 else {
      throw ParquetError(message: "the footer length \(footerLength) does not fit in the file's \(size) bytes")
    }
    let footerStart = size - 8 - footerLength
    let footer = try read(handle, at: footerStart, count: Int(footerLength))
    let metadata = try footer.withUnsafeBytes { bytes in
      var reader = CompactReader(ByteCursor(bytes, what: "footer"))
      return try FileMetadata(from: &reader)
    }
    return (metadata, Int64(footerStart))
  }

  private static func read(_ handle: FileHandle, at offset: UInt64, count: Int) throws -> [UInt8] {
    do {
      try handle.seek(toOffset: offset)
      let data = try handle.read(upToCount: count) ?? Data()
      guard data.count == count else {
        throw ParquetError(message: "the file ends early: \(count) bytes wanted at offset \(offset), \(data.count) read")
      }
      return [UInt8](data)
    } catch let error as ParquetError {
      throw error
    } catch {
      throw ParquetError(message: "cannot read the file: \(error.localizedDescription)")
    }
  }
}

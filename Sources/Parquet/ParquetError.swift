// ParquetError.swift — the one error type of the Parquet reader: what went wrong, and where (file, row group,
// column, page), filled in as the error travels up from the decoder that found it.

/// A problem reading a Parquet file. Its description names the place first:
/// `train.parquet: row group 2: column "chosen.list.element.content": page 3: snappy data ends inside a literal`.
public struct ParquetError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file name (last path component).
  public var file: String?
  /// The 0-based row group, as pyarrow numbers them.
  public var rowGroup: Int?
  /// The column's path in the schema, dotted as pyarrow's `path_in_schema` (`chosen.list.element.role`).
  public var column: String?
  /// The 0-based page within the column chunk.
  public var page: Int?
  /// What was expected and what was found.
  public var message: String

  public var description: String {
    var parts: [String] = []
    if let file { parts.append(file) }
    if let rowGroup { parts.append("row group \(rowGroup)") }
    if let column { parts.append("column \"\(column)\"") }
    if let page { parts.append("page \(page)") }
    parts.append(message)
    return parts.joined(separator: ": ")
  }
}

/// Runs `body`, filling in the context an error from it does not have yet.
func withContext<T>(file: String? = nil, rowGroup: Int? = nil, column: String? = nil, page: Int? = nil,
                    _ body: () throws -> T) throws -> T {
  do {
    return try body()
  } catch var error as ParquetError {
    error.file = error.file ?? file
    error.rowGroup = error.rowGroup ?? rowGroup
    error.column = error.column ?? column
    error.page = error.page ?? page
    throw error
  }
}

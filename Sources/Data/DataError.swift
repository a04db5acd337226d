// DataError.swift — errors from reading, validating, splitting and writing preference data, each naming the file,
// the line (and list element, or Parquet row), and the field, plus the report of rows skipped with `skipInvalid`.

/// A problem with preference data. Its description reads like a compiler diagnostic:
/// `prefs.jsonl:17: field "chosen": expected a string or a list of messages, found number`.
public struct DataError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The file name (last path component) or other source name; nil for problems not tied to a source.
  public var source: String?
  /// The 1-based line where the row (or the syntax error) starts.
  public var line: Int?
  /// The 0-based index of the row in a JSON list (JSON files only; JSON Lines rows are named by line).
  public var element: Int?
  /// The 0-based index of the row in a Parquet file (as pyarrow and datasets number rows).
  public var row: Int?
  /// The field at fault, as a path: `chosen`, `chosen[1].role`.
  public var field: String?
  /// What was expected and what was found.
  public var message: String

  public init(source: String? = nil, line: Int? = nil, element: Int? = nil, row: Int? = nil, field: String? = nil,
              message: String) {
    self.source = source
    self.line = line
    self.element = element
    self.row = row
    self.field = field
    self.message = message
  }

  public var description: String {
    var parts: [String] = []
    if let source {
      parts.append(line.map { "\(source):\($0)" } ?? source)
    } else if let line {
      parts.append("line \(line)")
    }
    if let element { parts.append("element \(element)") }
    if let row { parts.append("row \(row)") }
    if let field { parts.append("field \"\(field)\"") }
    parts.append(message)
    return parts.joined(separator: ": ")
  }
}

/// What a lenient read (`skipInvalid: true`) left out.
public struct ReadReport: Equatable, Sendable, CustomStringConvertible {
  /// Rows kept.
  public var keptCount: Int
  /// Rows skipped because they were invalid.
  public var skippedCount: Int
  /// The first few skipped rows' errors, in file order (at most `ReadReport.maximumExamples`).
  public var examples: [DataError]
  public static let maximumExamples = 10

  public init(keptCount: Int = 0, skippedCount: Int = 0, examples: [DataError] = []) {
    self.keptCount = keptCount
    self.skippedCount = skippedCount
    self.examples = examples
  }

  mutating func recordSkip(_ error: DataError) {
    skippedCount += 1
    if examples.count < Self.maximumExamples { examples.append(error) }
  }

  public var description: String {
    var text = "kept \(keptCount) rows, skipped \(skippedCount) invalid"
    for example in examples { text += "\n  " + example.description }
    if skippedCount > examples.count { text += "\n  … and \(skippedCount - examples.count) more" }
    return text
  }
}

// TextList.swift — a file of texts for `orpo rouge`: one text per line, or JSONL with a "text" field per row.
import Foundation
import Support

public enum TextListError: Error, Equatable, CustomStringConvertible {
  case unreadable(path: String, reason: String)
  case badRow(path: String, line: Int, reason: String)
  case countMismatch(predictions: String, predictionCount: Int, references: String, referenceCount: Int)

  public var description: String {
    switch self {
    case let .unreadable(path, reason): return "\(path): \(reason)"
    case let .badRow(path, line, reason): return "\(path):\(line): \(reason)"
    case let .countMismatch(p, pc, r, rc):
      return "\(p) holds \(pc) texts but \(r) holds \(rc): expected one prediction per reference"
    }
  }
}

public enum TextList {
  /// The texts of `path`. A `.jsonl` file holds one JSON object per line with a string field "text" (blank lines
  /// are skipped); any other file holds one text per line (a line may be empty; a final newline ends the last
  /// line, it does not start an empty one; "\r\n" counts as one line break).
  public static func read(_ path: String) throws -> [String] {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw TextListError.unreadable(path: path, reason: "cannot read the file (\(error.localizedDescription))")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw TextListError.unreadable(path: path, reason: "not UTF-8 text")
    }
    // "\r\n" is one Character in Swift, so split on both spellings of a line break.
    var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    if lines.last == "" { lines.removeLast() }
    guard path.lowercased().hasSuffix(".jsonl") else { return lines.map(String.init) }
    var texts: [String] = []
    for (index, line) in lines.enumerated() where !line.allSatisfy(\.isWhitespace) {
      let row: JSONValue
      do { row = try JSONValue.parse(String(line)) } catch let error as JSONSyntaxError {
        throw TextListError.badRow(path: path, line: index + 1,
                                   reason: "not valid JSON (\(error.message), column \(error.offset + 1))")
      }
      guard case .object = row else {
        throw TextListError.badRow(path: path, line: index + 1, reason: "expected a JSON object with a \"text\" field")
      }
      // As Python's json.loads reads a row: a repeated key keeps its last value.
      guard let value = row[last: "text"] else {
        throw TextListError.badRow(path: path, line: index + 1, reason: "field \"text\" is missing")
      }
      guard let string = value.stringValue else {
        throw TextListError.badRow(path: path, line: index + 1, reason: "field \"text\": expected a string")
      }
      texts.append(string)
    }
    return texts
  }
}

// ColumnMapping.swift — renames a data set's columns before its rows are read, as Hugging Face datasets'
// `rename_columns({old: new})`, for sets whose columns are not called prompt / chosen / rejected.
import Support

/// Column renames, old name → new name (`{"question": "prompt", "response_j": "chosen"}`). Errors about a renamed
/// field name the column as the file has it.
public struct ColumnMapping: Equatable, Hashable, Sendable {
  public private(set) var renames: [String: String]

  public init(_ renames: [String: String] = [:]) throws {
    var seen: [String: String] = [:]
    for (old, new) in renames.sorted(by: { $0.key < $1.key }) {
      if let other = seen[new] {
        throw DataError(message: "column mapping renames both \"\(other)\" and \"\(old)\" to \"\(new)\"")
      }
      seen[new] = old
    }
    self.renames = renames
  }

  /// No renames.
  public static let none = try! ColumnMapping()

  public var isEmpty: Bool { renames.isEmpty }

  /// The columns a reader needs from a file: the mapped ones under their old names, and the given fields that no
  /// rename produces.
  func sourceColumns(for fields: [String]) -> Set<String> {
    let produced = Set(renames.values)
    return Set(renames.keys).union(fields.filter { !produced.contains($0) })
  }

  /// The row with its keys renamed. A row that has both a renamed column's old and new names is refused, as
  /// datasets refuses a mapping onto an existing column.
  func apply(to row: JSONValue) throws -> JSONValue {
    guard !renames.isEmpty, case .object(let members) = row else { return row }
    let kept = Set(members.map(\.key)).subtracting(renames.keys)
    var renamed: [(key: String, value: JSONValue)] = []
    renamed.reserveCapacity(members.count)
    for member in members {
      guard let new = renames[member.key] else {
        renamed.append(member)
        continue
      }
      if kept.contains(new) {
        throw RowProblem(field: member.key, message: "the column mapping renames \"\(member.key)\" to \"\(new)\", but the "
          + "row already has a \"\(new)\" column")
      }
      renamed.append((new, member.value))
    }
    return .object(renamed)
  }

  /// A field path (`chosen[1].role`) under the column's old name (`response_j[1].role`).
  func sourceField(_ field: String?) -> String? {
    guard let field, !renames.isEmpty else { return field }
    let end = field.firstIndex(where: { $0 == "[" || $0 == "." }) ?? field.endIndex
    let head = String(field[..<end])
    guard let old = renames.first(where: { $0.value == head })?.key else { return field }
    return old + field[end...]
  }
}

// ParquetValue.swift — one value of a row as the reader assembles it: scalars, lists, records (structs, and whole
// rows) and maps, the shapes pyarrow's `to_pylist()` gives in Python.

/// A row, or one value in it. Integers of every width are `int`, FLOAT and DOUBLE are `double`, text (STRING, ENUM,
/// JSON) is `string` and other byte arrays are `bytes`. Lists come from LIST-annotated groups (and bare repeated
/// fields), records from other groups, maps from MAP-annotated groups; `null` is a missing optional value.
public enum ParquetValue: Equatable, Sendable {
  case null
  case bool(Bool)
  case int(Int64)
  case double(Double)
  case string(String)
  case bytes([UInt8])
  case list([ParquetValue])
  /// Fields in schema order.
  case record([(name: String, value: ParquetValue)])
  /// Entries in file order.
  case map([(key: ParquetValue, value: ParquetValue)])

  public static func == (lhs: ParquetValue, rhs: ParquetValue) -> Bool {
    switch (lhs, rhs) {
    case (.null, .null): return true
    case let (.bool(a), .bool(b)): return a == b
    case let (.int(a), .int(b)): return a == b
    case let (.double(a), .double(b)): return a == b || (a.isNaN && b.isNaN)
    case let (.string(a), .string(b)): return a == b
    case let (.bytes(a), .bytes(b)): return a == b
    case let (.list(a), .list(b)): return a == b
    case let (.record(a), .record(b)):
      return a.count == b.count && zip(a, b).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    case let (.map(a), .map(b)):
      return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    default: return false
    }
  }

  /// The field called `name` of a record, nil otherwise.
  public subscript(name: String) -> ParquetValue? {
    guard case .record(let fields) = self else { return nil }
    return fields.first(where: { $0.name == name })?.value
  }

  /// The elements of a list, nil otherwise.
  public var elements: [ParquetValue]? {
    if case .list(let elements) = self { return elements }
    return nil
  }

  /// What the value is, in the words error messages use.
  public var kindName: String {
    switch self {
    case .null: return "null"
    case .bool: return "boolean"
    case .int, .double: return "number"
    case .string: return "string"
    case .bytes: return "binary"
    case .list: return "list"
    case .record: return "struct"
    case .map: return "map"
    }
  }
}

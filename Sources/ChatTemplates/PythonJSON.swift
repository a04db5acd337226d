// PythonJSON.swift — JinjaValue to and from JSON, as Python's json module does it: `tojson` writes what
// transformers' filter (`json.dumps` with ensure_ascii=False by default) writes, `JinjaValue(json:)` reads like
// `json.loads`. The text itself is read and written by Support's JSON parser and writer.
import Support

enum PythonJSON {
  static func dumps(_ value: JinjaValue, ensureASCII: Bool = false, indent: JinjaValue? = nil,
    separators: JinjaValue? = nil, sortKeys: Bool = false) throws -> String
  {
    var indentUnit: String?
    switch indent {
    case nil, .none?: indentUnit = nil
    case let .string(s)?: indentUnit = s
    case let other?:
      guard case let .int(width)? = other.numericValue else {
        throw RuntimeFailure(message: "indent must be an int or a str, not \(other.typeName)")
      }
      indentUnit = String(repeating: " ", count: max(0, width))
    }
    var pair: (item: String, key: String)?
    if let separators, !separators.isNone {
      guard let items = separators.sequenceItems, items.count == 2, case let .string(item) = items[0],
        case let .string(key) = items[1]
      else { throw RuntimeFailure(message: "separators must be a (item_separator, key_separator) pair") }
      pair = (item, key)
    }
    let style = JSONStyle.python(indent: indentUnit, ensureASCII: ensureASCII, separators: pair)
    return try json(value, sortKeys: sortKeys).formatted(style)
  }

  /// The JSON value `json.dumps` sees. Python sorts the original keys (ints by value), so sorting happens here.
  private static func json(_ value: JinjaValue, sortKeys: Bool) throws -> JSONValue {
    switch value {
    case .none: return .null
    case let .bool(b): return .bool(b)
    case let .int(i): return .int(i)
    case let .double(d): return .double(d)
    case let .string(s), let .markup(s): return .string(s)
    case let .array(items), let .tuple(items): return .array(try items.map { try json($0, sortKeys: sortKeys) })
    case let .dictionary(dictionary):
      var keys = dictionary.keys
      if sortKeys {
        keys.sort { a, b in
          if case let .int(x) = a, case let .int(y) = b { return x < y }
          return Operators.compareScalars(Array(a.description.unicodeScalars), Array(b.description.unicodeScalars)) < 0
        }
      }
      return .object(try keys.map { ($0.description, try json(dictionary[$0]!, sortKeys: sortKeys)) })
    case .undefined:
      throw RuntimeFailure(message: "Object of type Undefined is not JSON serializable")
    case .namespace:
      throw RuntimeFailure(message: "Object of type TemplateNamespace is not JSON serializable")
    case .function:
      throw RuntimeFailure(message: "Object of type function is not JSON serializable")
    case let .iterator(iterator):
      throw RuntimeFailure(message: "Object of type \(iterator.typeName) is not JSON serializable")
    }
  }
}

extension JinjaValue {
  /// Parses JSON like Python's `json.loads`: objects keep their key order (a repeated key keeps its first place and
  /// its last value), integers stay `.int`, other numbers become `.double`. Handy for tools schemas and messages
  /// with extra keys. An unpaired surrogate escape is refused (a Swift string cannot hold one).
  public init(json: String) throws {
    var text = json
    self = try text.withUTF8 { bytes in
      do {
        return JinjaValue(try JSONValue.parse(bytes, options: .init(replacesLoneSurrogates: false)))
      } catch let error as JSONSyntaxError {
        let (line, column) = JSONSyntaxError.lineAndColumn(of: error.offset, in: bytes)
        throw ChatTemplateError.syntax("JSON: \(error.message) at line \(line), column \(column)", line: line,
                                       column: column)
      }
    }
  }

  init(_ json: JSONValue) {
    switch json {
    case .null: self = .none
    case let .bool(b): self = .bool(b)
    case let .number(n): self = n.integer.map(JinjaValue.int) ?? .double(n.double)
    case let .string(s): self = .string(s)
    case let .array(items): self = .array(items.map(JinjaValue.init))
    case let .object(members):
      var dictionary = JinjaDictionary()
      for (key, value) in members { dictionary[key] = JinjaValue(value) }
      self = .dictionary(dictionary)
    }
  }
}

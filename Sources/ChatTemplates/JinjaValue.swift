// JinjaValue.swift — the values a chat template sees, with Python's truthiness, equality, str() and repr().
import Support

/// A value inside a template: what Python/jinja2 would hold (str, int, float, bool, None, list, tuple, dict,
/// jinja2's Undefined, a `namespace()` or a callable).
///
/// Printing follows Python: `.double(2)` prints `2.0`, `.bool(true)` prints `True`, `.none` prints `None`,
/// lists and dicts print as Python `repr` (`['a', 'b']`). Equality (`==`) is Python's: `1 == 1.0 == True`.
public enum JinjaValue: Sendable {
  /// jinja2's default `Undefined`: prints as "", is falsy, iterates as empty; other uses throw `reason`.
  case undefined(reason: String)
  case none
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  /// markupsafe's `Markup`, made by the `safe` and `escape` filters: text that `+` combines with HTML-escaped text.
  case markup(String)
  case array([JinjaValue])
  case tuple([JinjaValue])
  case dictionary(JinjaDictionary)
  case namespace(JinjaNamespace)
  case function(JinjaFunction)
  /// A lazy Python iterable that is not a list: a filter's generator (`map`, `select` …, single use),
  /// a dict view (`d.items()`) or a `range`.
  case iterator(JinjaIterator)

  /// Builds a value from JSON-like Swift data: String, Bool, Int, Double, arrays, `[String: Any]`, nil/NSNull → none.
  /// Dictionary keys are sorted (a Swift dictionary has no order); use `JinjaDictionary` to keep an order.
  public init?(any: Any?) {
    guard let any else { self = .none; return }
    switch any {
    case let value as JinjaValue: self = value
    case let value as String: self = .string(value)
    case let value as Bool: self = .bool(value)
    case let value as Int: self = .int(value)
    case let value as Double: self = .double(value)
    case let value as [Any?]:
      var items: [JinjaValue] = []
      for item in value {
        guard let converted = JinjaValue(any: item) else { return nil }
        items.append(converted)
      }
      self = .array(items)
    case let value as [String: Any?]:
      var dictionary = JinjaDictionary()
      for key in value.keys.sorted() {
        guard let converted = JinjaValue(any: value[key] ?? nil) else { return nil }
        dictionary[key] = converted
      }
      self = .dictionary(dictionary)
    default: return nil
    }
  }
}

// MARK: - Containers

/// A dictionary key: Python dicts in templates use strings, sometimes integers (`{0: 0, 512: 128}`).
public enum JinjaKey: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
  case string(String)
  case int(Int)

  public init(stringLiteral value: String) { self = .string(value) }

  /// The key as a template value.
  public var value: JinjaValue {
    switch self {
    case let .string(s): return .string(s)
    case let .int(i): return .int(i)
    }
  }

  /// The string, or the integer in decimal (what `json.dumps` writes for it).
  public var description: String {
    switch self {
    case let .string(s): return s
    case let .int(i): return String(i)
    }
  }

  /// Python hashing equates `1`, `1.0` and `True`; other kinds of key are not supported.
  init?(_ value: JinjaValue) {
    switch value {
    case let .string(s): self = .string(s)
    case let .int(i): self = .int(i)
    case let .bool(b): self = .int(b ? 1 : 0)
    case let .double(d) where d == d.rounded() && abs(d) < 9e18: self = .int(Int(d))
    default: return nil
    }
  }
}

/// A dictionary that keeps insertion order, like a Python dict.
public struct JinjaDictionary: Sendable, ExpressibleByDictionaryLiteral {
  public private(set) var keys: [JinjaKey] = []
  private var storage: [JinjaKey: JinjaValue] = [:]

  public init() {}
  public init(_ pairs: [(JinjaKey, JinjaValue)]) {
    for (key, value) in pairs { self[key] = value }
  }
  public init(_ pairs: [(String, JinjaValue)]) {
    for (key, value) in pairs { self[.string(key)] = value }
  }
  public init(dictionaryLiteral elements: (String, JinjaValue)...) { self.init(elements) }

  public var count: Int { keys.count }
  public var isEmpty: Bool { keys.isEmpty }
  public var values: [JinjaValue] { keys.map { storage[$0]! } }
  public var pairs: [(JinjaKey, JinjaValue)] { keys.map { ($0, storage[$0]!) } }

  public subscript(key: JinjaKey) -> JinjaValue? {
    get { storage[key] }
    set {
      if let newValue {
        if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
      } else if storage.removeValue(forKey: key) != nil {
        keys.removeAll { $0 == key }
      }
    }
  }

  public subscript(key: String) -> JinjaValue? {
    get { self[.string(key)] }
    set { self[.string(key)] = newValue }
  }
}

/// A lazy iterable (see `JinjaValue.iterator`). Generators are used up by the first loop or filter that reads them.
public final class JinjaIterator: @unchecked Sendable {
  /// Python's type name: "generator", "dict_items", "dict_keys", "dict_values", "range", "list_reverseiterator" …
  public let typeName: String
  /// Views and ranges can be read again and know their length; generators cannot.
  public let isReusable: Bool
  private var items: [JinjaValue]
  private let reprOverride: String?

  init(_ typeName: String, _ items: [JinjaValue], reusable: Bool = false, repr: String? = nil) {
    self.typeName = typeName
    self.items = items
    self.isReusable = reusable
    self.reprOverride = repr
  }

  /// The items left; a generator is empty afterwards.
  func consume() -> [JinjaValue] {
    let all = items
    if !isReusable { items = [] }
    return all
  }

  var count: Int? { isReusable ? items.count : nil }

  var repr: String {
    if let reprOverride { return reprOverride }
    if isReusable { return typeName + "(" + JinjaValue.array(items).pythonRepr + ")" }
    return "<\(typeName) object>"
  }
}

/// The mutable object made by `namespace(...)`: the one thing a template may change after creating it.
public final class JinjaNamespace: @unchecked Sendable {
  public internal(set) var attributes: JinjaDictionary
  public init(_ attributes: JinjaDictionary = JinjaDictionary()) { self.attributes = attributes }
}

/// A callable inside a template: a built-in global, a bound method (`'a b'.split`), a macro, or `loop.cycle`.
public final class JinjaFunction: @unchecked Sendable {
  enum Kind {
    case global(String)
    case method(receiver: JinjaValue, name: String)
    case macro(MacroDefinition, scope: Scope)
    case cycle(index0: Int)
  }
  let kind: Kind
  init(_ kind: Kind) { self.kind = kind }

  var displayName: String {
    switch kind {
    case let .global(name): return name
    case let .method(_, name): return name
    case let .macro(definition, _): return definition.name
    case .cycle: return "cycle"
    }
  }
}

// MARK: - Literals

extension JinjaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
  ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
  public init(stringLiteral value: String) { self = .string(value) }
  public init(integerLiteral value: Int) { self = .int(value) }
  public init(floatLiteral value: Double) { self = .double(value) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(arrayLiteral elements: JinjaValue...) { self = .array(elements) }
  public init(dictionaryLiteral elements: (String, JinjaValue)...) { self = .dictionary(JinjaDictionary(elements)) }
  public init(nilLiteral: ()) { self = .none }
}

// MARK: - Python semantics

extension JinjaValue: Equatable {
  /// Python `==`: numbers compare by value across bool/int/float, lists and dicts element-wise.
  public static func == (lhs: JinjaValue, rhs: JinjaValue) -> Bool {
    switch (lhs, rhs) {
    case (.undefined, .undefined), (.none, .none): return true
    case let (.string(a), .string(b)), let (.markup(a), .markup(b)), let (.string(a), .markup(b)),
      let (.markup(a), .string(b)):
      return a == b
    case let (.array(a), .array(b)), let (.tuple(a), .tuple(b)): return a == b
    case let (.dictionary(a), .dictionary(b)):
      return a.count == b.count && a.keys.allSatisfy { key in b[key].map { $0 == a[key]! } ?? false }
    case let (.namespace(a), .namespace(b)): return a === b
    case let (.function(a), .function(b)): return a === b
    case let (.iterator(a), .iterator(b)): return a === b
    default:
      if let a = lhs.numericValue, let b = rhs.numericValue {
        if case let .int(x) = a, case let .int(y) = b { return x == y }
        return a.asDouble == b.asDouble
      }
      return false
    }
  }
}

extension JinjaValue {
  var isUndefined: Bool { if case .undefined = self { return true } else { return false } }

  /// Markup behaves as a plain string everywhere but in `+`, `*` and the escaping filters.
  var demotingMarkup: JinjaValue { if case let .markup(s) = self { return .string(s) } else { return self } }
  var isNone: Bool { if case .none = self { return true } else { return false } }
  var isMarkup: Bool { if case .markup = self { return true } else { return false } }

  /// The value as `.int` or `.double` when it is a number (bools count, as in Python).
  var numericValue: JinjaValue? {
    switch self {
    case .int, .double: return self
    case let .bool(b): return .int(b ? 1 : 0)
    default: return nil
    }
  }

  var asDouble: Double {
    switch self {
    case let .int(i): return Double(i)
    case let .double(d): return d
    case let .bool(b): return b ? 1 : 0
    default: return .nan
    }
  }

  /// Items of a list or tuple.
  var sequenceItems: [JinjaValue]? {
    switch self {
    case let .array(items), let .tuple(items): return items
    default: return nil
    }
  }

  /// Python truthiness (`bool(x)`); jinja2's Undefined is falsy.
  var isTruthy: Bool {
    switch self {
    case .undefined, .none: return false
    case let .bool(b): return b
    case let .int(i): return i != 0
    case let .double(d): return d != 0
    case let .string(s), let .markup(s): return !s.isEmpty
    case let .array(a), let .tuple(a): return !a.isEmpty
    case let .dictionary(d): return !d.isEmpty
    case .namespace, .function: return true
    case let .iterator(iterator): return iterator.count.map { $0 > 0 } ?? true
    }
  }

  /// Python's type name, for error messages that match jinja2's.
  var typeName: String {
    switch self {
    case .undefined: return "Undefined"
    case .none: return "NoneType"
    case .bool: return "bool"
    case .int: return "int"
    case .double: return "float"
    case .string: return "str"
    case .markup: return "Markup"
    case .array: return "list"
    case .tuple: return "tuple"
    case .dictionary: return "dict"
    case .namespace: return "Namespace"
    case .function: return "function"
    case let .iterator(iterator): return iterator.typeName
    }
  }

  /// Python `str(x)`, which is what `{{ x }}` prints (Undefined prints as "").
  var pythonString: String {
    switch self {
    case .undefined: return ""
    case let .string(s), let .markup(s): return s
    default: return pythonRepr
    }
  }

  /// Python `repr(x)`.
  var pythonRepr: String {
    switch self {
    case .undefined: return "Undefined"
    case .none: return "None"
    case let .bool(b): return b ? "True" : "False"
    case let .int(i): return String(i)
    case let .double(d): return pythonFloatRepr(d)
    case let .string(s): return pythonStringRepr(s)
    case let .markup(s): return "Markup(" + pythonStringRepr(s) + ")"
    case let .array(items): return "[" + items.map(\.pythonRepr).joined(separator: ", ") + "]"
    case let .tuple(items):
      if items.count == 1 { return "(" + items[0].pythonRepr + ",)" }
      return "(" + items.map(\.pythonRepr).joined(separator: ", ") + ")"
    case let .dictionary(d): return pythonDictRepr(d)
    case let .namespace(ns): return "<Namespace " + pythonDictRepr(ns.attributes) + ">"
    case let .function(f): return "<function \(f.displayName)>"
    case let .iterator(iterator): return iterator.repr
    }
  }
}

func pythonDictRepr(_ dictionary: JinjaDictionary) -> String {
  "{" + dictionary.pairs.map { $0.0.value.pythonRepr + ": " + $0.1.pythonRepr }.joined(separator: ", ") + "}"
}

/// Python `repr(str)`: single quotes unless the text has a `'` and no `"`; escapes like CPython's.
func pythonStringRepr(_ s: String) -> String {
  let quote: Character = (s.contains("'") && !s.contains("\"")) ? "\"" : "'"
  let escaped = s.escapingScalars(["\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"]) { scalar in
    if Character(scalar) == quote { return "\\" + String(quote) }
    if isPythonPrintable(scalar) { return nil }
    if scalar.value < 0x100 { return "\\x" + hex(scalar.value, width: 2) }
    if scalar.value < 0x10000 { return "\\u" + hex(scalar.value, width: 4) }
    return "\\U" + hex(scalar.value, width: 8)
  }
  return String(quote) + escaped + String(quote)
}

/// `str.isprintable()` for one character: everything but controls, format, surrogates, private use,
/// unassigned and separators other than the ASCII space.
func isPythonPrintable(_ scalar: Unicode.Scalar) -> Bool {
  if scalar.value < 0x7F { return scalar.value >= 0x20 }
  switch scalar.properties.generalCategory {
  case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
    .spaceSeparator:
    return false
  default: return true
  }
}

func hex(_ value: UInt32, width: Int) -> String {
  let digits = String(value, radix: 16)
  return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// Python `str.isspace()` for one character: Unicode White_Space plus the ASCII separators 0x1C–0x1F.
func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
  // ASCII without a Unicode property lookup (the lexer asks for every character of a tag).
  if scalar.isASCII { return scalar == " " || (0x09...0x0D).contains(scalar.value) || (0x1C...0x1F).contains(scalar.value) }
  return scalar.properties.isWhitespace
}

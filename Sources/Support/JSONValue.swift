// JSONValue.swift — the one JSON value every module reads and writes: object members kept in order (repeated keys
// included, the caller picks which one a lookup returns), each number kept as its text so values round-trip exactly.

/// One object member. Members stay in file order and a repeated key stays repeated.
public typealias JSONMember = (key: String, value: JSONValue)

/// A JSON value. Parse one with `JSONValue.parse(_:)` / `JSONParser`, write one with `formatted(_:)`.
public enum JSONValue: Sendable {
  case null
  case bool(Bool)
  case number(JSONNumber)
  case string(String)
  case array([JSONValue])
  case object([JSONMember])

  /// An integer number.
  public static func int<I: BinaryInteger>(_ value: I) -> JSONValue { .number(JSONNumber(value)) }
  /// A floating-point number, spelled as Python's `repr` spells it (`1.0`, `1e-05`; `NaN` and `Infinity` too,
  /// as `json.dumps` writes them, though strict JSON has no words for them).
  public static func double(_ value: Double) -> JSONValue { .number(JSONNumber(value)) }
}

/// Which member a lookup returns when an object repeats a key. Each format decides: Python's `json.loads` keeps the
/// last, a first-match reader the first, and the safetensors library refuses the file.
public enum JSONDuplicateKeys: Sendable {
  case first
  case last
  case reject
}

/// An object repeated a key that its format allows once (`JSONDuplicateKeys.reject`).
public struct JSONDuplicateKeyError: Error, Equatable, CustomStringConvertible, Sendable {
  public let key: String
  public var description: String { "key \"\(key)\" appears more than once" }
}

extension JSONValue {
  /// The value under `key` in an object (nil for a missing key or a value that is not an object). Keys compare
  /// code point by code point, as JSON and Python compare them (not by Swift's canonical equivalence).
  public func value(forKey key: String, duplicates: JSONDuplicateKeys) throws(JSONDuplicateKeyError) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    switch duplicates {
    case .first:
      return members.first(where: { exactlyEqual($0.key, key) })?.value
    case .last:
      return members.last(where: { exactlyEqual($0.key, key) })?.value
    case .reject:
      var found: JSONValue?
      for member in members where exactlyEqual(member.key, key) {
        guard found == nil else { throw JSONDuplicateKeyError(key: key) }
        found = member.value
      }
      return found
    }
  }

  /// The first value under `key` (a first-match reader, such as `tokenizers`' serde structs).
  public subscript(first key: String) -> JSONValue? { try! value(forKey: key, duplicates: .first) }

  /// The last value under `key` (Python's `json.loads`: a later member replaces an earlier one).
  public subscript(last key: String) -> JSONValue? { try! value(forKey: key, duplicates: .last) }

  public var isNull: Bool { if case .null = self { return true } else { return false } }
  public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
  public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
  public var numberValue: JSONNumber? { if case .number(let n) = self { return n } else { return nil } }
  public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
  public var objectValue: [JSONMember]? { if case .object(let o) = self { return o } else { return nil } }
  /// The number as a Double (nil for other values).
  public var doubleValue: Double? { numberValue?.double }
  /// The number as an Int when it is a whole number (`JSONNumber.wholeNumber`).
  public var intValue: Int? { numberValue?.wholeNumber }

  /// What the value is, in the words error messages use: "null", "boolean", "number", "string", "list", "object".
  public var kindName: String {
    switch self {
    case .null: return "null"
    case .bool: return "boolean"
    case .number: return "number"
    case .string: return "string"
    case .array: return "list"
    case .object: return "object"
    }
  }
}

extension JSONValue: Equatable {
  /// Structural equality: strings and keys compared code point by code point, numbers by their text (`1` and `1.0`
  /// differ, as they do for Python), members in order.
  public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
    switch (lhs, rhs) {
    case (.null, .null): return true
    case let (.bool(a), .bool(b)): return a == b
    case let (.number(a), .number(b)): return a == b
    case let (.string(a), .string(b)): return exactlyEqual(a, b)
    case let (.array(a), .array(b)): return a == b
    case let (.object(a), .object(b)):
      return a.count == b.count && zip(a, b).allSatisfy { exactlyEqual($0.key, $1.key) && $0.value == $1.value }
    default: return false
    }
  }
}

extension JSONValue: CustomStringConvertible {
  /// Compact JSON text (serde style), for messages.
  public var description: String { formatted(.serdeCompact) }
}

/// Code point equality (Swift's `==` on String treats canonically equivalent texts as equal; JSON does not).
@inline(__always) func exactlyEqual(_ a: String, _ b: String) -> Bool {
  a.utf8.elementsEqual(b.utf8)
}

/// A JSON number, kept as the text it was written with so that reading and writing it loses nothing (an id
/// above 2^53, `1.0` versus `1`, a 17-digit float). Conversions are asked for at the point of use.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
  /// The number's text: JSON number syntax, or Python's `NaN` / `Infinity` / `-Infinity` for a non-finite Double.
  public let text: String

  /// Text the caller vouches for (the parser, which has checked the grammar).
  init(uncheckedText text: String) { self.text = text }

  /// A number with this exact text; nil unless `text` follows JSON's number grammar.
  public init?(text: String) {
    var bytes = Array(text.utf8)
    let valid = bytes.withUnsafeMutableBufferPointer { buffer -> Bool in
      var parser = JSONParser(bytes: UnsafeBufferPointer(buffer))
      guard (try? parser.parseNumber()) != nil else { return false }
      return parser.atEnd
    }
    guard valid else { return nil }
    self.text = text
  }

  public init<I: BinaryInteger>(_ value: I) { text = String(value) }

  /// The text Python's `repr(float)` (and so `json.dumps`) gives: shortest round-trip digits, fixed notation for
  /// 1e-4 <= |x| < 1e16, `NaN`, `Infinity`, `-Infinity`.
  public init(_ value: Double) {
    if value.isNaN { text = "NaN" } else if value.isInfinite { text = value < 0 ? "-Infinity" : "Infinity" } else {
      text = pythonFloatRepr(value)
    }
  }

  /// A Float's shortest digits (`0.1`, not the `0.10000000149011612` its Double would print), laid out as Python.
  public init(_ value: Float) {
    if value.isNaN { text = "NaN" } else if value.isInfinite { text = value < 0 ? "-Infinity" : "Infinity" } else {
      text = pythonFloatLayout(shortestDigits: value.magnitude.description, negative: value.sign == .minus, zero: value == 0)
    }
  }

  /// True when the text has no fraction and no exponent (Python's `json.loads` gives an int for these).
  public var isInteger: Bool { !text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) }

  /// The value as the nearest Double (±infinity beyond its range).
  public var double: Double {
    if let d = Double(text) { return d }
    switch text {
    case "Infinity": return .infinity
    case "-Infinity": return -.infinity
    default: return .nan
    }
  }

  /// The integer an integer-syntax text spells, if it fits Int (nil for `1.0`, `1e3`, or a larger integer).
  public var integer: Int? { isInteger ? Int(text) : nil }

  /// The value as an Int when it is whole: an integer that fits Int, or another spelling (`2.0`, `1e3`) of a whole
  /// number below 2^53 in magnitude, where a Double holds every integer exactly.
  public var wholeNumber: Int? {
    if let integer { return integer }
    let d = double
    guard d.isFinite, d.rounded() == d, d.magnitude < 9_007_199_254_740_992 else { return nil }
    return Int(d)
  }

  public var description: String { text }
}

// MARK: Python float text

/// Python `repr(float)` for a finite or non-finite Double: shortest round-trip digits, fixed notation for
/// 1e-4 <= |x| < 1e16 and `1e+16` style outside, `nan`, `inf`, `-inf`. (Swift's `description` has the same digits
/// but switches to exponents at 2^53 instead of 1e16.)
public func pythonFloatRepr(_ value: Double) -> String {
  if value.isNaN { return "nan" }
  if value.isInfinite { return value < 0 ? "-inf" : "inf" }
  return pythonFloatLayout(shortestDigits: value.magnitude.description, negative: value.sign == .minus, zero: value == 0)
}

/// Lays out the shortest round-trip digits of a finite magnitude (Swift's `description`, e.g. `1.5e-05`) the way
/// CPython's `float_repr_style = 'short'` does.
func pythonFloatLayout(shortestDigits: String, negative: Bool, zero: Bool) -> String {
  if zero { return negative ? "-0.0" : "0.0" }
  var text = Substring(shortestDigits)
  var exponent = 0
  if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
    exponent = Int(text[text.index(after: e)...])!
    text = text[..<e]
  }
  var digits: String
  var pointPosition: Int  // value = 0.<digits> × 10^pointPosition
  if let dot = text.firstIndex(of: ".") {
    let integerPart = text[..<dot]
    digits = String(integerPart) + text[text.index(after: dot)...]
    pointPosition = integerPart.count + exponent
  } else {
    digits = String(text)
    pointPosition = text.count + exponent
  }
  while digits.hasPrefix("0") && digits.count > 1 {
    digits.removeFirst()
    pointPosition -= 1
  }
  while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
  let sign = negative ? "-" : ""
  if pointPosition > 16 || pointPosition <= -4 {
    let e = pointPosition - 1
    var mantissa = String(digits.first!)
    if digits.count > 1 { mantissa += "." + digits.dropFirst() }
    let exponentDigits = String(abs(e))
    return sign + mantissa + "e" + (e < 0 ? "-" : "+") + (exponentDigits.count < 2 ? "0" : "") + exponentDigits
  }
  if pointPosition <= 0 {
    return sign + "0." + String(repeating: "0", count: -pointPosition) + digits
  }
  if pointPosition >= digits.count {
    return sign + digits + String(repeating: "0", count: pointPosition - digits.count) + ".0"
  }
  let split = digits.index(digits.startIndex, offsetBy: pointPosition)
  return sign + digits[..<split] + "." + digits[split...]
}

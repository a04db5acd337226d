// TempJSON.swift — a stand-in for Support's JSONValue and writer (the same names and calls) until the Support target
// lands on main; then this file goes and Output.swift / Env.swift import Support.
import Foundation

typealias JSONMember = (key: String, value: JSONValue)

indirect enum JSONValue {
  case null, bool(Bool), string(String), number(JSONNumber), array([JSONValue]), object([JSONMember])

  static func int(_ value: Int) -> JSONValue { .number(JSONNumber(text: String(value))!) }
  /// Python's repr for floats: NaN, Infinity, -Infinity for the non-finite ones.
  static func double(_ value: Double) -> JSONValue {
    let text = value.isNaN ? "NaN" : value.isInfinite ? (value < 0 ? "-Infinity" : "Infinity") : "\(value)"
    return .number(JSONNumber(text: text)!)
  }

  var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
  var isNull: Bool { if case .null = self { return true } else { return false } }

  /// json.dumps(value, ensure_ascii=False): ", " and ": " separators.
  func formatted(_ style: JSONStyle) -> String {
    switch self {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .string(let s): return JSONValue.quoted(s)
    case .number(let n): return n.text
    case .array(let a): return "[" + a.map { $0.formatted(style) }.joined(separator: ", ") + "]"
    case .object(let o):
      return "{" + o.map { JSONValue.quoted($0.key) + ": " + $0.value.formatted(style) }.joined(separator: ", ") + "}"
    }
  }

  static func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}

struct JSONNumber {
  let text: String
  init?(text: String) { self.text = text }
}

struct JSONStyle {
  static func python(ensureASCII: Bool) -> JSONStyle { JSONStyle() }
  static let serdeCompact = JSONStyle()
}

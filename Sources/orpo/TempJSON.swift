// TEMPORARY stand-in until Support lands on main (not to be committed).
import Foundation
typealias JSONMember = (key: String, value: JSONValue)
indirect enum JSONValue {
  case null, bool(Bool), string(String), number(JSONNumber), array([JSONValue]), object([JSONMember])
  static func int(_ v: Int) -> JSONValue { .number(JSONNumber(text: String(v))!) }
  static func double(_ v: Double) -> JSONValue { .number(JSONNumber(text: v.isNaN ? "NaN" : "\(v)")!) }
  var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
  var isNull: Bool { if case .null = self { return true } else { return false } }
  func formatted(_ style: JSONStyle) -> String {
    switch self {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .string(let s): return "\"\(s)\""
    case .number(let n): return n.text
    case .array(let a): return "[" + a.map { $0.formatted(style) }.joined(separator: ", ") + "]"
    case .object(let o): return "{" + o.map { "\"\($0.key)\": \($0.value.formatted(style))" }.joined(separator: ", ") + "}"
    }
  }
}
struct JSONNumber { let text: String; init?(text: String) { self.text = text } }
struct JSONStyle { static func python(ensureASCII: Bool) -> JSONStyle { JSONStyle() }; static let serdeCompact = JSONStyle() }

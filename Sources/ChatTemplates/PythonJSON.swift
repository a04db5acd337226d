// PythonJSON.swift — Python's `json.dumps` output format, as transformers' `tojson` filter calls it
// (ensure_ascii=False, sort_keys=False, default separators, optional indent).

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
    var itemSeparator = indentUnit == nil ? ", " : ","
    var keySeparator = ": "
    if let separators, !separators.isNone {
      guard let pair = separators.sequenceItems, pair.count == 2, case let .string(item) = pair[0],
        case let .string(key) = pair[1]
      else { throw RuntimeFailure(message: "separators must be a (item_separator, key_separator) pair") }
      (itemSeparator, keySeparator) = (item, key)
    }
    var out = ""
    try encode(value, into: &out, level: 0)
    return out

    func encode(_ value: JinjaValue, into out: inout String, level: Int) throws {
      switch value {
      case .none: out += "null"
      case let .bool(b): out += b ? "true" : "false"
      case let .int(i): out += String(i)
      case let .double(d):
        if d.isNaN {
          out += "NaN"
        } else if d.isInfinite {
          out += d < 0 ? "-Infinity" : "Infinity"
        } else {
          out += formatPythonFloat(d)
        }
      case let .string(s): out += quote(s)
      case let .array(items), let .tuple(items):
        if items.isEmpty {
          out += "[]"
          return
        }
        out += "["
        let (newline, separator) = layout(level + 1)
        out += newline
        for (index, item) in items.enumerated() {
          if index > 0 { out += separator }
          try encode(item, into: &out, level: level + 1)
        }
        out += layout(level).newline + "]"
      case let .dictionary(dictionary):
        if dictionary.isEmpty {
          out += "{}"
          return
        }
        var keys = dictionary.keys
        if sortKeys {
          keys.sort { Operators.compareScalars(Array($0.unicodeScalars), Array($1.unicodeScalars)) < 0 }
        }
        out += "{"
        let (newline, separator) = layout(level + 1)
        out += newline
        for (index, key) in keys.enumerated() {
          if index > 0 { out += separator }
          out += quote(key) + keySeparator
          try encode(dictionary[key]!, into: &out, level: level + 1)
        }
        out += layout(level).newline + "}"
      case .undefined:
        throw RuntimeFailure(message: "Object of type Undefined is not JSON serializable")
      case .namespace:
        throw RuntimeFailure(message: "Object of type TemplateNamespace is not JSON serializable")
      case .function:
        throw RuntimeFailure(message: "Object of type function is not JSON serializable")
      }
    }

    /// The text that opens a nested level, and the one between items, with or without indentation.
    func layout(_ level: Int) -> (newline: String, separator: String) {
      guard let indentUnit else { return ("", itemSeparator) }
      let newline = "\n" + String(repeating: indentUnit, count: level)
      return (newline, itemSeparator + newline)
    }

    func quote(_ text: String) -> String {
      var out = "\""
      for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        default:
          if scalar.value < 0x20 {
            out += "\\u" + hex(scalar.value, width: 4)
          } else if ensureASCII && scalar.value > 0x7E {
            if scalar.value >= 0x10000 {
              let v = scalar.value - 0x10000
              out += "\\u" + hex(0xD800 + (v >> 10), width: 4) + "\\u" + hex(0xDC00 + (v & 0x3FF), width: 4)
            } else {
              out += "\\u" + hex(scalar.value, width: 4)
            }
          } else {
            out.unicodeScalars.append(scalar)
          }
        }
      }
      return out + "\""
    }
  }
}

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
      case let .string(s), let .markup(s): out += quote(s)
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
          keys.sort { a, b in
            if case let .int(x) = a, case let .int(y) = b { return x < y }
            return Operators.compareScalars(Array(a.description.unicodeScalars), Array(b.description.unicodeScalars)) < 0
          }
        }
        out += "{"
        let (newline, separator) = layout(level + 1)
        out += newline
        for (index, key) in keys.enumerated() {
          if index > 0 { out += separator }
          out += quote(key.description) + keySeparator
          try encode(dictionary[key]!, into: &out, level: level + 1)
        }
        out += layout(level).newline + "}"
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

extension JinjaValue {
  /// Parses JSON like Python's `json.loads`: objects keep their key order, integers stay `.int`,
  /// other numbers become `.double`. Handy for tools schemas and messages with extra keys.
  public init(json: String) throws {
    var parser = JSONParser(Array(json.unicodeScalars))
    self = try parser.parseDocument()
  }
}

/// A small strict JSON reader producing `JinjaValue`s (ordered objects).
private struct JSONParser {
  private let scalars: [Unicode.Scalar]
  private var index = 0
  private var depth = 0
  private static let maxDepth = 512
  init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

  private func fail(_ message: String) -> ChatTemplateError {
    .syntax("JSON: \(message) at offset \(index)", line: 1, column: nil)
  }

  private mutating func skipSpace() {
    while index < scalars.count, [" ", "\n", "\r", "\t"].contains(scalars[index]) { index += 1 }
  }

  private mutating func expect(_ literal: String) throws {
    for scalar in literal.unicodeScalars {
      guard index < scalars.count, scalars[index] == scalar else { throw fail("expected '\(literal)'") }
      index += 1
    }
  }

  mutating func parseDocument() throws -> JinjaValue {
    let value = try parseValue()
    skipSpace()
    guard index == scalars.count else { throw fail("extra data") }
    return value
  }

  private mutating func parseValue() throws -> JinjaValue {
    depth += 1
    defer { depth -= 1 }
    if depth > JSONParser.maxDepth { throw fail("nested deeper than \(JSONParser.maxDepth)") }
    skipSpace()
    guard index < scalars.count else { throw fail("unexpected end") }
    switch scalars[index] {
    case "{":
      index += 1
      var dictionary = JinjaDictionary()
      skipSpace()
      if index < scalars.count, scalars[index] == "}" {
        index += 1
        return .dictionary(dictionary)
      }
      while true {
        skipSpace()
        guard case let .string(key) = try parseString() else { throw fail("expected key") }
        skipSpace()
        try expect(":")
        dictionary[key] = try parseValue()
        skipSpace()
        if index < scalars.count, scalars[index] == "," {
          index += 1
          continue
        }
        try expect("}")
        return .dictionary(dictionary)
      }
    case "[":
      index += 1
      var items: [JinjaValue] = []
      skipSpace()
      if index < scalars.count, scalars[index] == "]" {
        index += 1
        return .array(items)
      }
      while true {
        items.append(try parseValue())
        skipSpace()
        if index < scalars.count, scalars[index] == "," {
          index += 1
          continue
        }
        try expect("]")
        return .array(items)
      }
    case "\"": return try parseString()
    case "t":
      try expect("true")
      return .bool(true)
    case "f":
      try expect("false")
      return .bool(false)
    case "n":
      try expect("null")
      return .none
    default: return try parseNumber()
    }
  }

  private mutating func parseString() throws -> JinjaValue {
    try expect("\"")
    var out = String.UnicodeScalarView()
    while true {
      guard index < scalars.count else { throw fail("unterminated string") }
      let scalar = scalars[index]
      index += 1
      if scalar == "\"" { return .string(String(out)) }
      guard scalar == "\\" else {
        out.append(scalar)
        continue
      }
      guard index < scalars.count else { throw fail("bad escape") }
      let escape = scalars[index]
      index += 1
      switch escape {
      case "\"", "\\", "/": out.append(escape)
      case "b": out.append("\u{08}")
      case "f": out.append("\u{0C}")
      case "n": out.append("\n")
      case "r": out.append("\r")
      case "t": out.append("\t")
      case "u":
        var code = try hex4()
        if (0xD800..<0xDC00).contains(code), index + 1 < scalars.count, scalars[index] == "\\",
          scalars[index + 1] == "u"
        {
          index += 2
          let low = try hex4()
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let decoded = Unicode.Scalar(code) else { throw fail("lone surrogate") }
        out.append(decoded)
      default: throw fail("bad escape")
      }
    }
  }

  private mutating func hex4() throws -> UInt32 {
    guard index + 4 <= scalars.count,
      let value = UInt32(String(String.UnicodeScalarView(scalars[index..<(index + 4)])), radix: 16)
    else { throw fail("bad \\u escape") }
    index += 4
    return value
  }

  private mutating func parseNumber() throws -> JinjaValue {
    let start = index
    var isInteger = true
    while index < scalars.count, "+-0123456789.eE".unicodeScalars.contains(scalars[index]) {
      if [".", "e", "E"].contains(scalars[index]) { isInteger = false }
      index += 1
    }
    let text = String(String.UnicodeScalarView(scalars[start..<index]))
    if isInteger, let value = Int(text) { return .int(value) }
    guard !text.isEmpty, let value = Double(text) else { throw fail("unexpected character") }
    return .double(value)
  }
}

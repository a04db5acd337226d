// JSON.swift — a small JSON value, a byte-level parser that reports where it failed, and a writer that formats
// like Python's `json.dumps(obj, ensure_ascii=False)`, so files we write match the reference scripts byte for byte.

/// A parsed JSON value. Objects keep their keys in file order; a repeated key keeps its last value (as Python).
enum JSONValue: Equatable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([(key: String, value: JSONValue)])

  static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
    switch (lhs, rhs) {
    case (.null, .null): return true
    case let (.bool(a), .bool(b)): return a == b
    case let (.number(a), .number(b)): return a == b
    case let (.string(a), .string(b)): return a == b
    case let (.array(a), .array(b)): return a == b
    case let (.object(a), .object(b)):
      return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    default: return false
    }
  }

  /// The value under `key` in an object (the last one when a key repeats), nil otherwise.
  subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.last(where: { $0.key == key })?.value
  }

  /// What the value is, in the words error messages use: "null", "boolean", "number", "string", "list", "object".
  var kindName: String {
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

/// A syntax error at a byte offset of the parsed buffer.
struct JSONSyntaxError: Error {
  var offset: Int
  var message: String
  /// The input ended before the value did (a row cut short, or the first line of a pretty-printed object).
  var atEndOfInput = false
}

/// Recursive-descent JSON parser over UTF-8 bytes (RFC 8259; strings must be valid UTF-8).
struct JSONParser {
  let bytes: UnsafeBufferPointer<UInt8>
  var position: Int
  let end: Int
  private var depth = 0
  static let maximumDepth = 512

  init(bytes: UnsafeBufferPointer<UInt8>, start: Int = 0, end: Int? = nil) {
    self.bytes = bytes
    self.position = start
    self.end = end ?? bytes.count
  }

  /// Parses `bytes` as exactly one JSON value surrounded by optional whitespace.
  static func parseDocument(_ bytes: UnsafeBufferPointer<UInt8>, start: Int = 0, end: Int? = nil) throws -> JSONValue {
    var parser = JSONParser(bytes: bytes, start: start, end: end)
    let value = try parser.parseValue()
    parser.skipWhitespace()
    if parser.position < parser.end { throw parser.error("unexpected \(parser.describeCurrent()) after the value") }
    return value
  }

  mutating func skipWhitespace() {
    while position < end {
      switch bytes[position] {
      case 0x20, 0x09, 0x0A, 0x0D: position += 1
      default: return
      }
    }
  }

  var atEnd: Bool { position >= end }
  var current: UInt8? { position < end ? bytes[position] : nil }

  func error(_ message: String) -> JSONSyntaxError {
    JSONSyntaxError(offset: position, message: message, atEndOfInput: position >= end)
  }

  func describeCurrent() -> String {
    guard let byte = current else { return "end of input" }
    if byte >= 0x21 && byte < 0x7f { return "character '\(Character(Unicode.Scalar(byte)))'" }
    return "byte 0x\(String(byte, radix: 16, uppercase: true))"
  }

  mutating func expect(_ byte: UInt8, _ what: String) throws {
    guard current == byte else { throw error("expected \(what), found \(describeCurrent())") }
    position += 1
  }

  mutating func parseValue() throws -> JSONValue {
    skipWhitespace()
    guard let byte = current else { throw error("unexpected end of input, expected a value") }
    switch byte {
    case UInt8(ascii: "{"): return try parseObject()
    case UInt8(ascii: "["): return try parseArray()
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
    case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
    case UInt8(ascii: "n"): try parseLiteral("null"); return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
    default: throw error("unexpected \(describeCurrent()), expected a value")
    }
  }

  private mutating func parseLiteral(_ word: StaticString) throws {
    let count = word.utf8CodeUnitCount
    let literal = UnsafeBufferPointer(start: word.utf8Start, count: count)
    guard end - position >= count, (0..<count).allSatisfy({ bytes[position + $0] == literal[$0] }) else {
      throw error("unexpected \(describeCurrent()), expected a value")
    }
    position += count
  }

  private mutating func enterContainer() throws {
    depth += 1
    if depth > Self.maximumDepth { throw error("nesting deeper than \(Self.maximumDepth) levels") }
  }

  mutating func parseObject() throws -> JSONValue {
    try enterContainer()
    defer { depth -= 1 }
    position += 1  // "{"
    var members: [(key: String, value: JSONValue)] = []
    skipWhitespace()
    if current == UInt8(ascii: "}") { position += 1; return .object(members) }
    while true {
      skipWhitespace()
      guard current == UInt8(ascii: "\"") else { throw error("expected a string key, found \(describeCurrent())") }
      let key = try parseString()
      skipWhitespace()
      try expect(UInt8(ascii: ":"), "':' after an object key")
      let value = try parseValue()
      members.append((key, value))
      skipWhitespace()
      if current == UInt8(ascii: ",") { position += 1; continue }
      try expect(UInt8(ascii: "}"), "',' or '}' in an object")
      return .object(members)
    }
  }

  mutating func parseArray() throws -> JSONValue {
    try enterContainer()
    defer { depth -= 1 }
    position += 1  // "["
    var elements: [JSONValue] = []
    skipWhitespace()
    if current == UInt8(ascii: "]") { position += 1; return .array(elements) }
    while true {
      elements.append(try parseValue())
      skipWhitespace()
      if current == UInt8(ascii: ",") { position += 1; continue }
      try expect(UInt8(ascii: "]"), "',' or ']' in a list")
      return .array(elements)
    }
  }

  private mutating func parseNumber() throws -> Double {
    let start = position
    if current == UInt8(ascii: "-") { position += 1 }
    guard let first = current, first >= 0x30 && first <= 0x39 else { throw error("invalid number") }
    if first == 0x30 { position += 1 } else { skipDigits() }
    if current == UInt8(ascii: ".") {
      position += 1
      guard let digit = current, digit >= 0x30 && digit <= 0x39 else { throw error("invalid number: no digit after '.'") }
      skipDigits()
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      position += 1
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
      guard let digit = current, digit >= 0x30 && digit <= 0x39 else { throw error("invalid number: no exponent digits") }
      skipDigits()
    }
    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    return Double(text) ?? .nan
  }

  private mutating func skipDigits() {
    while let byte = current, byte >= 0x30 && byte <= 0x39 { position += 1 }
  }

  mutating func parseString() throws -> String {
    let openingQuote = position
    position += 1
    let start = position
    // Fast path: no escapes.
    while position < end {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        let slice = UnsafeBufferPointer(rebasing: bytes[start..<position])
        guard let text = validatedString(slice) else {
          throw JSONSyntaxError(offset: openingQuote, message: "invalid UTF-8 in a string")
        }
        position += 1
        return text
      }
      if byte == UInt8(ascii: "\\") { break }
      if byte < 0x20 { throw error("unescaped control character in a string") }
      position += 1
    }
    guard position < end else { throw unterminated(at: openingQuote) }
    // Slow path: unescape into a byte buffer.
    var out = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<position]))
    while position < end {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        position += 1
        guard let text = out.withUnsafeBufferPointer(validatedString) else {
          throw JSONSyntaxError(offset: openingQuote, message: "invalid UTF-8 in a string")
        }
        return text
      }
      if byte < 0x20 { throw error("unescaped control character in a string") }
      if byte != UInt8(ascii: "\\") { out.append(byte); position += 1; continue }
      position += 1
      guard let escape = current else { break }
      position += 1
      switch escape {
      case UInt8(ascii: "\""): out.append(0x22)
      case UInt8(ascii: "\\"): out.append(0x5C)
      case UInt8(ascii: "/"): out.append(0x2F)
      case UInt8(ascii: "b"): out.append(0x08)
      case UInt8(ascii: "f"): out.append(0x0C)
      case UInt8(ascii: "n"): out.append(0x0A)
      case UInt8(ascii: "r"): out.append(0x0D)
      case UInt8(ascii: "t"): out.append(0x09)
      case UInt8(ascii: "u"):
        var scalar = try parseHex4()
        if (0xD800..<0xDC00).contains(scalar), end - position >= 6,
           bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") {
          let save = position
          position += 2
          let low = try parseHex4()
          if (0xDC00..<0xE000).contains(low) {
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          } else {
            position = save
          }
        }
        // A lone surrogate cannot live in a Swift string; it becomes U+FFFD.
        let unicode = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        out.append(contentsOf: Array(String(Character(unicode)).utf8))
      default:
        position -= 1
        throw error("invalid escape '\\\(Character(Unicode.Scalar(escape)))' in a string")
      }
    }
    throw unterminated(at: openingQuote)
  }

  private func unterminated(at openingQuote: Int) -> JSONSyntaxError {
    JSONSyntaxError(offset: openingQuote, message: "unterminated string", atEndOfInput: true)
  }

  /// The string `bytes` encode, or nil if they are not valid UTF-8.
  private func validatedString(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
    if #available(macOS 15.0, *) { return String(validating: bytes, as: UTF8.self) }
    if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
    let failed = transcode(bytes.makeIterator(), from: UTF8.self, to: UTF32.self, stoppingOnError: true, into: { _ in })
    return failed ? nil : String(decoding: bytes, as: UTF8.self)
  }

  private mutating func parseHex4() throws -> UInt32 {
    guard end - position >= 4 else { throw error("invalid \\u escape") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let byte = bytes[position]
      let digit: UInt8
      switch byte {
      case 0x30...0x39: digit = byte - 0x30
      case 0x41...0x46: digit = byte - 0x41 + 10
      case 0x61...0x66: digit = byte - 0x61 + 10
      default: throw error("invalid \\u escape")
      }
      value = value << 4 | UInt32(digit)
      position += 1
    }
    return value
  }
}

/// Writes JSON exactly as Python's `json.dumps(value, ensure_ascii=False)` does for strings, lists and objects:
/// `", "` and `": "` separators, `\"` `\\` `\n` `\r` `\t` `\b` `\f` escapes, other control characters as `\u00XX`.
struct PythonStyleJSONWriter {
  private(set) var output = ""

  mutating func writeString(_ text: String) {
    output.append("\"")
    var pending = text.unicodeScalars.startIndex
    let scalars = text.unicodeScalars
    var index = scalars.startIndex
    while index != scalars.endIndex {
      let scalar = scalars[index]
      let escaped: String?
      switch scalar {
      case "\"": escaped = "\\\""
      case "\\": escaped = "\\\\"
      case "\n": escaped = "\\n"
      case "\r": escaped = "\\r"
      case "\t": escaped = "\\t"
      case "\u{08}": escaped = "\\b"
      case "\u{0C}": escaped = "\\f"
      default:
        if scalar.value < 0x20 {
          let hex = String(scalar.value, radix: 16)
          escaped = "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          escaped = nil
        }
      }
      if let escaped {
        output.unicodeScalars.append(contentsOf: scalars[pending..<index])
        output.append(escaped)
        pending = scalars.index(after: index)
      }
      index = scalars.index(after: index)
    }
    output.unicodeScalars.append(contentsOf: scalars[pending..<scalars.endIndex])
    output.append("\"")
  }

  mutating func writeRaw(_ text: String) { output.append(text) }

  mutating func write(_ value: JSONValue) {
    switch value {
    case .null: output.append("null")
    case .bool(let flag): output.append(flag ? "true" : "false")
    case .number(let number):
      if number == number.rounded(), abs(number) < 1e16 { output.append(String(Int64(number))) } else { output.append("\(number)") }
    case .string(let text): writeString(text)
    case .array(let elements):
      output.append("[")
      for (offset, element) in elements.enumerated() {
        if offset > 0 { output.append(", ") }
        write(element)
      }
      output.append("]")
    case .object(let members):
      output.append("{")
      for (offset, member) in members.enumerated() {
        if offset > 0 { output.append(", ") }
        writeString(member.key)
        output.append(": ")
        write(member.value)
      }
      output.append("}")
    }
  }
}

// A small, exact JSON reader for tokenizer files: keeps object keys in order and byte-exact
// (Swift's String equality folds canonically equivalent keys, which would merge distinct vocabulary entries).
import Foundation

/// A parsed JSON value. Objects keep their keys in file order, duplicates included.
enum JSONValue {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([(key: String, value: JSONValue)])

  /// The value stored under `key` in an object (first match, compared byte for byte).
  subscript(key: String) -> JSONValue? {
    guard case .object(let pairs) = self else { return nil }
    for pair in pairs where pair.key.utf8.elementsEqual(key.utf8) { return pair.value }
    return nil
  }

  var isNull: Bool { if case .null = self { return true } else { return false } }
  var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
  var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
  var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
  var objectValue: [(key: String, value: JSONValue)]? { if case .object(let o) = self { return o } else { return nil } }
  var doubleValue: Double? { if case .number(let d) = self { return d } else { return nil } }
  var intValue: Int? {
    guard case .number(let d) = self, d.rounded() == d, abs(d) < 9.0e15 else { return nil }
    return Int(d)
  }

  /// Parses UTF-8 JSON text. Throws `JSONParseError` with a byte offset on malformed input.
  static func parse(_ data: Data) throws -> JSONValue {
    try data.withUnsafeBytes { raw -> JSONValue in
      var parser = JSONParser(bytes: raw.bindMemory(to: UInt8.self))
      parser.skipWhitespace()
      let value = try parser.parseValue(depth: 0)
      parser.skipWhitespace()
      guard parser.position == parser.bytes.count else { throw JSONParseError(offset: parser.position, reason: "trailing characters") }
      return value
    }
  }

  static func parse(_ text: String) throws -> JSONValue { try parse(Data(text.utf8)) }
}

struct JSONParseError: Error, CustomStringConvertible {
  let offset: Int
  let reason: String
  var description: String { "malformed JSON at byte \(offset): \(reason)" }
}

private struct JSONParser {
  let bytes: UnsafeBufferPointer<UInt8>
  var position = 0

  init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

  mutating func skipWhitespace() {
    while position < bytes.count {
      switch bytes[position] {
      case 0x20, 0x09, 0x0A, 0x0D: position += 1
      default: return
      }
    }
  }

  func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: position, reason: reason) }

  mutating func expect(_ literal: StaticString) throws {
    let count = literal.utf8CodeUnitCount
    guard position + count <= bytes.count else { throw fail("unexpected end of input") }
    let start = literal.utf8Start
    for i in 0..<count where bytes[position + i] != start[i] { throw fail("unexpected literal") }
    position += count
  }

  mutating func parseValue(depth: Int) throws -> JSONValue {
    guard depth < 512 else { throw fail("nesting too deep") }
    guard position < bytes.count else { throw fail("unexpected end of input") }
    switch bytes[position] {
    case UInt8(ascii: "{"):
      position += 1
      var pairs: [(key: String, value: JSONValue)] = []
      skipWhitespace()
      if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(pairs) }
      while true {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected object key") }
        let key = try parseString()
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':'") }
        position += 1
        skipWhitespace()
        let value = try parseValue(depth: depth + 1)
        pairs.append((key, value))
        skipWhitespace()
        guard position < bytes.count else { throw fail("unexpected end of input") }
        if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
        if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(pairs) }
        throw fail("expected ',' or '}'")
      }
    case UInt8(ascii: "["):
      position += 1
      var items: [JSONValue] = []
      skipWhitespace()
      if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
      while true {
        skipWhitespace()
        items.append(try parseValue(depth: depth + 1))
        skipWhitespace()
        guard position < bytes.count else { throw fail("unexpected end of input") }
        if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
        if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
        throw fail("expected ',' or ']'")
      }
    case UInt8(ascii: "\""):
      return .string(try parseString())
    case UInt8(ascii: "t"): try expect("true"); return .bool(true)
    case UInt8(ascii: "f"): try expect("false"); return .bool(false)
    case UInt8(ascii: "n"): try expect("null"); return .null
    default:
      return .number(try parseNumber())
    }
  }

  mutating func parseNumber() throws -> Double {
    let start = position
    var isInteger = true
    var integer: Int64 = 0
    var negative = false
    if position < bytes.count, bytes[position] == UInt8(ascii: "-") { negative = true; position += 1 }
    var digits = 0
    while position < bytes.count {
      let b = bytes[position]
      if b >= 0x30 && b <= 0x39 {
        if digits < 17 { integer = integer * 10 + Int64(b - 0x30) } else { isInteger = false }
        digits += 1
        position += 1
      } else if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
                  || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") {
        isInteger = false
        position += 1
      } else {
        break
      }
    }
    guard digits > 0 else { throw fail("expected a value") }
    if isInteger { return Double(negative ? -integer : integer) }
    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    guard let value = Double(text) else { throw JSONParseError(offset: start, reason: "bad number \(text)") }
    return value
  }

  mutating func parseHex4() throws -> UInt32 {
    guard position + 4 <= bytes.count else { throw fail("short \\u escape") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let b = bytes[position]
      let digit: UInt32
      switch b {
      case 0x30...0x39: digit = UInt32(b - 0x30)
      case 0x41...0x46: digit = UInt32(b - 0x41 + 10)
      case 0x61...0x66: digit = UInt32(b - 0x61 + 10)
      default: throw fail("bad hex digit in \\u escape")
      }
      value = value * 16 + digit
      position += 1
    }
    return value
  }

  mutating func parseString() throws -> String {
    position += 1  // opening quote
    let start = position
    // Fast path: no escapes.
    while position < bytes.count {
      let b = bytes[position]
      if b == UInt8(ascii: "\"") {
        let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        position += 1
        return s
      }
      if b == UInt8(ascii: "\\") { break }
      position += 1
    }
    var out = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<position]))
    while position < bytes.count {
      let b = bytes[position]
      if b == UInt8(ascii: "\"") {
        position += 1
        return String(decoding: out, as: UTF8.self)
      }
      if b != UInt8(ascii: "\\") { out.append(b); position += 1; continue }
      position += 1
      guard position < bytes.count else { break }
      let e = bytes[position]
      position += 1
      switch e {
      case UInt8(ascii: "\""): out.append(0x22)
      case UInt8(ascii: "\\"): out.append(0x5C)
      case UInt8(ascii: "/"): out.append(0x2F)
      case UInt8(ascii: "b"): out.append(0x08)
      case UInt8(ascii: "f"): out.append(0x0C)
      case UInt8(ascii: "n"): out.append(0x0A)
      case UInt8(ascii: "r"): out.append(0x0D)
      case UInt8(ascii: "t"): out.append(0x09)
      case UInt8(ascii: "u"):
        var code = try parseHex4()
        if code >= 0xD800 && code < 0xDC00 {
          // A high surrogate must be followed by \uDC00-\uDFFF.
          if position + 6 <= bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") {
            let save = position
            position += 2
            let low = try parseHex4()
            if low >= 0xDC00 && low < 0xE000 {
              code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            } else {
              position = save
              code = 0xFFFD
            }
          } else {
            code = 0xFFFD
          }
        } else if code >= 0xDC00 && code < 0xE000 {
          code = 0xFFFD
        }
        out.append(contentsOf: String(Character(Unicode.Scalar(code)!)).utf8)
      default:
        throw fail("bad escape")
      }
    }
    throw fail("unterminated string")
  }
}

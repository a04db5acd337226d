// JSONParser.swift — the one JSON reader: RFC 8259 over UTF-8 bytes (strings strictly UTF-8), nesting and list
// lengths capped, errors carrying the byte offset. A cursor, so readers can stream rows or members as they come.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A syntax error at a byte offset of the parsed buffer.
public struct JSONSyntaxError: Error, Equatable, CustomStringConvertible, Sendable {
  /// Byte offset (0-based) in the buffer the parser was given.
  public var offset: Int
  public var message: String
  /// The input ended before the value did (a row cut short, or the first line of a pretty-printed object).
  public var atEndOfInput = false

  public init(offset: Int, message: String, atEndOfInput: Bool = false) {
    self.offset = offset
    self.message = message
    self.atEndOfInput = atEndOfInput
  }

  public var description: String { "\(message) at byte \(offset)" }

  /// The error with its line and column (both 1-based; the column counts bytes) in `bytes`, the buffer that was
  /// parsed: "line 3, column 14: unterminated string".
  public func located(in bytes: UnsafeBufferPointer<UInt8>) -> String {
    let (line, column) = JSONSyntaxError.lineAndColumn(of: offset, in: bytes)
    return "line \(line), column \(column): \(message)"
  }

  /// 1-based line and byte column of `offset`.
  public static func lineAndColumn(of offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> (line: Int, column: Int) {
    var line = 1
    var lineStart = 0
    let end = min(offset, bytes.count)
    var position = 0
    while position < end, let base = bytes.baseAddress,
          let hit = memchr(base + position, 0x0A, end - position) {
      let newline = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
      line += 1
      lineStart = newline + 1
      position = newline + 1
    }
    return (line, offset - lineStart + 1)
  }
}

/// Recursive-descent JSON parser over UTF-8 bytes. Parse a whole document with `JSONValue.parse(_:)` or
/// `JSONParser.parseDocument(_:)`; or move the cursor (`position`) yourself and read one value, string or object
/// member at a time.
public struct JSONParser {
  /// Limits and choices a format makes.
  public struct Options: Sendable {
    /// Containers nested deeper than this are an error (a hostile file cannot exhaust the stack).
    public var maximumDepth: Int
    /// Lists longer than this are an error (a reader that knows its lists are short bounds what a file costs).
    public var maximumListCount: Int
    /// A `\uD800`-`\uDFFF` escape that is not half of a pair cannot live in a Swift string: it becomes U+FFFD
    /// (`true`) or is an error (`false`, as serde_json).
    public var replacesLoneSurrogates: Bool

    public init(maximumDepth: Int = 512, maximumListCount: Int = .max, replacesLoneSurrogates: Bool = true) {
      self.maximumDepth = maximumDepth
      self.maximumListCount = maximumListCount
      self.replacesLoneSurrogates = replacesLoneSurrogates
    }
  }

  public let bytes: UnsafeBufferPointer<UInt8>
  /// The next byte to read.
  public var position: Int
  /// One past the last byte the parser may read.
  public let end: Int
  public let options: Options
  private var depth = 0

  public init(bytes: UnsafeBufferPointer<UInt8>, start: Int = 0, end: Int? = nil, options: Options = Options()) {
    self.bytes = bytes
    self.position = start
    self.end = end ?? bytes.count
    self.options = options
  }

  /// Parses `bytes[start..<end]` as exactly one JSON value surrounded by optional whitespace.
  public static func parseDocument(_ bytes: UnsafeBufferPointer<UInt8>, start: Int = 0, end: Int? = nil,
                                   options: Options = Options()) throws -> JSONValue {
    var parser = JSONParser(bytes: bytes, start: start, end: end, options: options)
    let value = try parser.parseValue()
    try parser.expectEnd()
    return value
  }

  /// Skips trailing whitespace and fails if anything else is left.
  public mutating func expectEnd() throws {
    skipWhitespace()
    if position < end { throw error("unexpected \(describeCurrent()) after the value") }
  }

  public mutating func skipWhitespace() {
    while position < end {
      switch bytes[position] {
      case 0x20, 0x09, 0x0A, 0x0D: position += 1
      default: return
      }
    }
  }

  public var atEnd: Bool { position >= end }
  public var current: UInt8? { position < end ? bytes[position] : nil }

  /// An error at the cursor.
  public func error(_ message: String) -> JSONSyntaxError {
    JSONSyntaxError(offset: position, message: message, atEndOfInput: position >= end)
  }

  /// The byte at the cursor, in words: "character '}'", "byte 0xFF", "end of input".
  public func describeCurrent() -> String {
    guard let byte = current else { return "end of input" }
    if byte >= 0x21 && byte < 0x7f { return "character '\(Character(Unicode.Scalar(byte)))'" }
    return "byte 0x\(String(byte, radix: 16, uppercase: true))"
  }

  /// Consumes `byte` or fails with "expected \(what), found …".
  public mutating func expect(_ byte: UInt8, _ what: String) throws {
    guard current == byte else { throw error("expected \(what), found \(describeCurrent())") }
    position += 1
  }

  /// Reads one value after optional whitespace.
  public mutating func parseValue() throws -> JSONValue {
    skipWhitespace()
    guard let byte = current else { throw error("unexpected end of input, expected a value") }
    switch byte {
    case UInt8(ascii: "{"):
      var members: [JSONMember] = []
      try readObject { members.append(($0, $1)) }
      return .object(members)
    case UInt8(ascii: "["):
      var elements: [JSONValue] = []
      try readArray({ elements.append($0) }, elementStart: nil)
      return .array(elements)
    case UInt8(ascii: "\""): return .string(try readString())
    case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
    case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
    case UInt8(ascii: "n"): try parseLiteral("null"); return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
    default: throw error("unexpected \(describeCurrent()), expected a value")
    }
  }

  /// Reads the object at the cursor (which must be at `{`), handing each member to `body` as soon as its value is
  /// read: a reader can check members as they come, or keep only what it needs.
  public mutating func parseObject(_ body: (String, JSONValue) throws -> Void) throws {
    guard current == UInt8(ascii: "{") else { throw error("expected '{', found \(describeCurrent())") }
    try readObject(body)
  }

  /// Reads the list at the cursor (which must be at `[`).
  public mutating func parseArray() throws -> JSONValue {
    guard current == UInt8(ascii: "[") else { throw error("expected '[', found \(describeCurrent())") }
    return try parseValue()
  }

  /// Reads the list at the cursor (which must be at `[`), handing each element to `body` as soon as it is read,
  /// and the offset each element starts at to `elementStart`.
  public mutating func parseArray(_ body: (JSONValue) throws -> Void, elementStart: ((Int) -> Void)? = nil) throws {
    guard current == UInt8(ascii: "[") else { throw error("expected '[', found \(describeCurrent())") }
    try readArray(body, elementStart: elementStart)
  }

  /// Reads the string at the cursor (which must be at `"`). Errors about the string as a whole (unterminated,
  /// invalid UTF-8) point at its opening quote.
  public mutating func parseString() throws -> String {
    guard current == UInt8(ascii: "\"") else { throw error("expected '\"', found \(describeCurrent())") }
    return try readString()
  }

  /// The object at the cursor, which is at `{` (inlined into its callers, so the closure costs no call).
  @inline(__always) private mutating func readObject(_ body: (String, JSONValue) throws -> Void) throws {
    try enterContainer()
    defer { depth -= 1 }
    position += 1  // "{"
    skipWhitespace()
    if current == UInt8(ascii: "}") { position += 1; return }
    while true {
      skipWhitespace()
      guard current == UInt8(ascii: "\"") else { throw error("expected a string key, found \(describeCurrent())") }
      let key = try readString()
      skipWhitespace()
      guard current == UInt8(ascii: ":") else {
        throw error("expected ':' after an object key, found \(describeCurrent())")
      }
      position += 1
      try body(key, try parseValue())
      skipWhitespace()
      if current == UInt8(ascii: ",") { position += 1; continue }
      guard current == UInt8(ascii: "}") else { throw error("expected ',' or '}' in an object, found \(describeCurrent())") }
      position += 1
      return
    }
  }

  /// The list at the cursor, which is at `[` (inlined into its callers, so the closures cost no call).
  @inline(__always) private mutating func readArray(_ body: (JSONValue) throws -> Void,
                                                    elementStart: ((Int) -> Void)?) throws {
    try enterContainer()
    defer { depth -= 1 }
    position += 1  // "["
    skipWhitespace()
    if current == UInt8(ascii: "]") { position += 1; return }
    var count = 0
    while true {
      skipWhitespace()
      guard count < options.maximumListCount else {
        throw error("list longer than \(options.maximumListCount) elements")
      }
      elementStart?(position)
      try body(try parseValue())
      count += 1
      skipWhitespace()
      if current == UInt8(ascii: ",") { position += 1; continue }
      guard current == UInt8(ascii: "]") else { throw error("expected ',' or ']' in a list, found \(describeCurrent())") }
      position += 1
      return
    }
  }

  private mutating func enterContainer() throws {
    guard depth < options.maximumDepth else { throw error("nesting deeper than \(options.maximumDepth) levels") }
    depth += 1
  }

  private mutating func parseLiteral(_ word: StaticString) throws {
    let count = word.utf8CodeUnitCount
    let literal = UnsafeBufferPointer(start: word.utf8Start, count: count)
    guard end - position >= count, (0..<count).allSatisfy({ bytes[position + $0] == literal[$0] }) else {
      throw error("unexpected \(describeCurrent()), expected a value")
    }
    position += count
  }

  /// Reads a number in JSON's grammar (`-`, no leading zeros, optional fraction and exponent), keeping its text.
  public mutating func parseNumber() throws -> JSONNumber {
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
    return JSONNumber(uncheckedText: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self))
  }

  private mutating func skipDigits() {
    while position < end, bytes[position] >= 0x30 && bytes[position] <= 0x39 { position += 1 }
  }

  /// The string at the cursor, which is at `"`.
  private mutating func readString() throws -> String {
    let openingQuote = position
    position += 1
    let start = position
    // Fast path: no escapes; UTF-8 checked as it is scanned.
    while position < end {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        position += 1
        return text
      }
      if byte == UInt8(ascii: "\\") { break }
      if byte < 0x20 { throw error("unescaped control character in a string") }
      if byte < 0x80 {
        position += 1
      } else {
        let length = utf8SequenceLength(at: position)
        guard length > 0 else { throw JSONSyntaxError(offset: openingQuote, message: "invalid UTF-8 in a string") }
        position += length
      }
    }
    guard position < end else { throw unterminated(at: openingQuote) }
    // Slow path: unescape into a byte buffer (of well-formed UTF-8: checked bytes and encoded escapes).
    var out = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<position]))
    while position < end {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        position += 1
        return String(decoding: out, as: UTF8.self)
      }
      if byte < 0x20 { throw error("unescaped control character in a string") }
      if byte >= 0x80 {
        let length = utf8SequenceLength(at: position)
        guard length > 0 else { throw JSONSyntaxError(offset: openingQuote, message: "invalid UTF-8 in a string") }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[position..<(position + length)]))
        position += length
        continue
      }
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
        let escapeStart = position - 2
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
        guard let unicode = Unicode.Scalar(scalar) else {
          // A lone surrogate cannot live in a Swift string.
          guard options.replacesLoneSurrogates else {
            throw JSONSyntaxError(offset: escapeStart, message: "unpaired surrogate escape in a string")
          }
          out.append(contentsOf: [0xEF, 0xBF, 0xBD])  // U+FFFD
          continue
        }
        appendUTF8(unicode, to: &out)
      default:
        position -= 1
        throw error("invalid escape '\\\(Character(Unicode.Scalar(escape)))' in a string")
      }
    }
    throw unterminated(at: openingQuote)
  }

  /// The length of the well-formed UTF-8 sequence (a non-ASCII lead byte and its continuation bytes) at `index`,
  /// or 0 if it is not one: no overlong forms, no surrogates, nothing above U+10FFFF (RFC 3629).
  @inline(__always) private func utf8SequenceLength(at index: Int) -> Int {
    let lead = bytes[index]
    let length: Int
    var low: UInt8 = 0x80, high: UInt8 = 0xBF  // the range of the first continuation byte
    switch lead {
    case 0xC2...0xDF: length = 2
    case 0xE0: length = 3; low = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: length = 3
    case 0xED: length = 3; high = 0x9F
    case 0xF0: length = 4; low = 0x90
    case 0xF1...0xF3: length = 4
    case 0xF4: length = 4; high = 0x8F
    default: return 0
    }
    guard end - index >= length, bytes[index + 1] >= low, bytes[index + 1] <= high else { return 0 }
    for k in 2..<length where bytes[index + k] & 0xC0 != 0x80 { return 0 }
    return length
  }

  private func unterminated(at openingQuote: Int) -> JSONSyntaxError {
    JSONSyntaxError(offset: openingQuote, message: "unterminated string", atEndOfInput: true)
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

@inline(__always) func appendUTF8(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
  let v = scalar.value
  switch v {
  case 0..<0x80: out.append(UInt8(v))
  case 0x80..<0x800:
    out.append(UInt8(0xC0 | v >> 6)); out.append(UInt8(0x80 | v & 0x3F))
  case 0x800..<0x10000:
    out.append(UInt8(0xE0 | v >> 12)); out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
  default:
    out.append(UInt8(0xF0 | v >> 18)); out.append(UInt8(0x80 | v >> 12 & 0x3F))
    out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
  }
}

extension JSONValue {
  /// Parses UTF-8 JSON text: exactly one value, optional whitespace around it.
  public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, options: JSONParser.Options = .init()) throws -> JSONValue {
    try JSONParser.parseDocument(bytes, options: options)
  }

  public static func parse(_ bytes: UnsafeRawBufferPointer, options: JSONParser.Options = .init()) throws -> JSONValue {
    try parse(bytes.bindMemory(to: UInt8.self), options: options)
  }

  public static func parse(_ bytes: [UInt8], options: JSONParser.Options = .init()) throws -> JSONValue {
    try bytes.withUnsafeBufferPointer { try parse($0, options: options) }
  }

  public static func parse(_ data: Data, options: JSONParser.Options = .init()) throws -> JSONValue {
    try data.withUnsafeBytes { try parse($0, options: options) }
  }

  public static func parse(_ text: String, options: JSONParser.Options = .init()) throws -> JSONValue {
    var text = text
    return try text.withUTF8 { try parse($0, options: options) }
  }
}

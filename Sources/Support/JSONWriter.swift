// JSONWriter.swift — the one JSON writer, in the layouts the files we write need: Python's `json.dumps` (chat
// templates' `tojson`, data rows, metrics, config files as transformers and peft write them) and serde_json's
// compact and pretty printers (safetensors headers, tokenizer.json).

/// How JSON text is laid out. Object members are written in the value's order unless `sortsKeys`.
public struct JSONStyle: Sendable, Equatable {
  /// Text between list elements and between object members (before the newline when indenting).
  public var itemSeparator: String
  /// Text between a key and its value.
  public var keySeparator: String
  /// One level of indentation; nil writes everything on one line.
  public var indent: String?
  /// Escapes everything outside printable ASCII as `\uXXXX` (surrogate pairs above U+FFFF), like Python's
  /// `ensure_ascii=True`; otherwise only `"`, `\` and control characters are escaped.
  public var escapesNonASCII: Bool
  /// Writes object members sorted by key, code point by code point (Python's `sort_keys=True`).
  public var sortsKeys: Bool

  public init(itemSeparator: String, keySeparator: String, indent: String? = nil, escapesNonASCII: Bool = false,
              sortsKeys: Bool = false) {
    self.itemSeparator = itemSeparator
    self.keySeparator = keySeparator
    self.indent = indent
    self.escapesNonASCII = escapesNonASCII
    self.sortsKeys = sortsKeys
  }

  /// Python's `json.dumps(value, indent=…, ensure_ascii=…, sort_keys=…, separators=…)`: without `separators`,
  /// `", "` (`","` when indenting) and `": "`.
  public static func python(indent: String? = nil, ensureASCII: Bool = true, sortKeys: Bool = false,
                            separators: (item: String, key: String)? = nil) -> JSONStyle {
    JSONStyle(itemSeparator: separators?.item ?? (indent == nil ? ", " : ","), keySeparator: separators?.key ?? ": ",
              indent: indent, escapesNonASCII: ensureASCII, sortsKeys: sortKeys)
  }

  /// Python's `json.dumps(value, indent=n, …)` with an indent of `n` spaces.
  public static func python(indent: Int, ensureASCII: Bool = true, sortKeys: Bool = false) -> JSONStyle {
    python(indent: String(repeating: " ", count: max(0, indent)), ensureASCII: ensureASCII, sortKeys: sortKeys)
  }

  /// serde_json's `to_string`: no spaces, UTF-8 as is (the safetensors header).
  public static let serdeCompact = JSONStyle(itemSeparator: ",", keySeparator: ":")

  /// serde_json's `to_string_pretty`: two-space indent, `"key": value`, UTF-8 as is (tokenizer.json). The same
  /// text as Python's `json.dumps(value, indent=2, ensure_ascii=False)`.
  public static let serdePretty = JSONStyle(itemSeparator: ",", keySeparator: ": ", indent: "  ")
}

/// Appends JSON text to a UTF-8 buffer.
public struct JSONWriter {
  public let style: JSONStyle
  /// The text written so far.
  public private(set) var output: [UInt8] = []
  private let itemSeparator: [UInt8]
  private let keySeparator: [UInt8]
  private let indent: [UInt8]?

  public init(style: JSONStyle) {
    self.style = style
    itemSeparator = Array(style.itemSeparator.utf8)
    keySeparator = Array(style.keySeparator.utf8)
    indent = style.indent.map { Array($0.utf8) }
  }

  /// The text written so far.
  public var text: String { String(decoding: output, as: UTF8.self) }

  public mutating func write(_ value: JSONValue) { write(value, level: 0) }

  /// Appends text as it is (the caller vouches that it is JSON).
  public mutating func writeRaw(_ text: String) { output.append(contentsOf: text.utf8) }

  private mutating func write(_ value: JSONValue, level: Int) {
    switch value {
    case .null: output.append(contentsOf: "null".utf8)
    case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
    case .number(let number): output.append(contentsOf: number.text.utf8)
    case .string(let text): writeString(text)
    case .array(let elements):
      if elements.isEmpty { output.append(contentsOf: "[]".utf8); return }
      output.append(UInt8(ascii: "["))
      for (index, element) in elements.enumerated() {
        separate(index, level: level + 1)
        write(element, level: level + 1)
      }
      newline(level: level)
      output.append(UInt8(ascii: "]"))
    case .object(var members):
      if members.isEmpty { output.append(contentsOf: "{}".utf8); return }
      if style.sortsKeys {  // stable: a repeated key keeps its members' order
        members = members.enumerated().sorted { a, b in
          if a.element.key.utf8.lexicographicallyPrecedes(b.element.key.utf8) { return true }
          return exactlyEqual(a.element.key, b.element.key) && a.offset < b.offset
        }.map(\.element)
      }
      output.append(UInt8(ascii: "{"))
      for (index, member) in members.enumerated() {
        separate(index, level: level + 1)
        writeString(member.key)
        output.append(contentsOf: keySeparator)
        write(member.value, level: level + 1)
      }
      newline(level: level)
      output.append(UInt8(ascii: "}"))
    }
  }

  /// Before element `index` of a container at `level`: the item separator (after the first), then the newline
  /// and indentation when indenting.
  private mutating func separate(_ index: Int, level: Int) {
    if index > 0 { output.append(contentsOf: itemSeparator) }
    newline(level: level)
  }

  private mutating func newline(level: Int) {
    guard let indent else { return }
    output.append(0x0A)
    for _ in 0..<level { output.append(contentsOf: indent) }
  }

  /// A quoted string: `\"` `\\` `\n` `\r` `\t` `\b` `\f`, other control characters as `\u00XX` (lowercase hex, as
  /// Python and serde_json write them), and with `escapesNonASCII` everything above `~` as `\uXXXX`.
  public mutating func writeString(_ text: String) {
    output.append(UInt8(ascii: "\""))
    if style.escapesNonASCII {
      for scalar in text.unicodeScalars {
        if scalar.value < 0x7F { appendASCII(UInt8(scalar.value)) } else if scalar.value < 0x10000 {
          appendEscape(scalar.value)
        } else {
          let v = scalar.value - 0x10000
          appendEscape(0xD800 + (v >> 10))
          appendEscape(0xDC00 + (v & 0x3FF))
        }
      }
    } else {
      var text = text
      text.withUTF8 { bytes in
        var pending = 0  // bytes before this index are written
        for index in 0..<bytes.count {
          let byte = bytes[index]
          guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
          output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[pending..<index]))
          appendASCII(byte)
          pending = index + 1
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[pending...]))
      }
    }
    output.append(UInt8(ascii: "\""))
  }

  /// One ASCII byte, escaped if it must be.
  @inline(__always) private mutating func appendASCII(_ byte: UInt8) {
    switch byte {
    case UInt8(ascii: "\""): output.append(contentsOf: [0x5C, 0x22])
    case UInt8(ascii: "\\"): output.append(contentsOf: [0x5C, 0x5C])
    case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
    case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
    case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
    case 0x08: output.append(contentsOf: [0x5C, UInt8(ascii: "b")])
    case 0x0C: output.append(contentsOf: [0x5C, UInt8(ascii: "f")])
    case 0..<0x20: appendEscape(UInt32(byte))
    default: output.append(byte)
    }
  }

  private static let hexDigits = Array("0123456789abcdef".utf8)

  /// `\u` and four lowercase hex digits.
  private mutating func appendEscape(_ unit: UInt32) {
    let hex = JSONWriter.hexDigits
    output.append(contentsOf: [0x5C, UInt8(ascii: "u"), hex[Int(unit >> 12 & 0xF)], hex[Int(unit >> 8 & 0xF)],
                               hex[Int(unit >> 4 & 0xF)], hex[Int(unit & 0xF)]])
  }
}

extension JSONValue {
  /// The value as JSON text in `style`.
  public func formatted(_ style: JSONStyle) -> String {
    String(decoding: utf8(style), as: UTF8.self)
  }

  /// The value as UTF-8 JSON text in `style`.
  public func utf8(_ style: JSONStyle) -> [UInt8] {
    var writer = JSONWriter(style: style)
    writer.write(self)
    return writer.output
  }
}

extension String {
  /// The string as a JSON string literal in `style` (quotes included).
  public func jsonQuoted(_ style: JSONStyle = .serdeCompact) -> String {
    var writer = JSONWriter(style: style)
    writer.writeString(self)
    return writer.text
  }
}

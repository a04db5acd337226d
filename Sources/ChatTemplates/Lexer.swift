// Lexer.swift — splits template text into tokens exactly as jinja2 3.1's lexer does with transformers' settings
// (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False), including `-`/`+` whitespace control.

enum TokenKind: Equatable {
  case text(String)
  case variableBegin, variableEnd, blockBegin, blockEnd
  case name(String)
  case string(String)
  case integer(Int)
  case float(Double)
  case op(String)
  case eof
}

struct Token {
  let kind: TokenKind
  let line: Int
  let column: Int
}

struct Lexer {
  private let source: [Unicode.Scalar]
  private let lineStarts: [Int]
  private var tokens: [Token] = []

  /// Normalizes newlines to "\n" and drops one trailing newline, as jinja2 does before lexing.
  init(_ text: String) {
    var scalars: [Unicode.Scalar] = []
    scalars.reserveCapacity(text.unicodeScalars.count)
    var iterator = text.unicodeScalars.makeIterator()
    var pending = iterator.next()
    while let scalar = pending {
      pending = iterator.next()
      if scalar == "\r" {
        scalars.append("\n")
        if pending == "\n" { pending = iterator.next() }
      } else {
        scalars.append(scalar)
      }
    }
    if scalars.last == "\n" { scalars.removeLast() }
    source = scalars
    var starts = [0]
    for (index, scalar) in scalars.enumerated() where scalar == "\n" { starts.append(index + 1) }
    lineStarts = starts
  }

  static func tokenize(_ text: String) throws -> [Token] {
    var lexer = Lexer(text)
    try lexer.run()
    return lexer.tokens
  }

  // MARK: - Positions

  private func location(_ position: Int) -> (line: Int, column: Int) {
    var low = 0
    var high = lineStarts.count - 1
    while low < high {
      let mid = (low + high + 1) / 2
      if lineStarts[mid] <= position { low = mid } else { high = mid - 1 }
    }
    return (low + 1, position - lineStarts[low] + 1)
  }

  private mutating func emit(_ kind: TokenKind, at position: Int) {
    let (line, column) = location(position)
    tokens.append(Token(kind: kind, line: line, column: column))
  }

  private func fail(_ message: String, at position: Int) -> ChatTemplateError {
    let (line, column) = location(position)
    return .syntax(message, line: line, column: column)
  }

  private func at(_ position: Int) -> Unicode.Scalar? { position < source.count ? source[position] : nil }

  private func matches(_ literal: String, at position: Int) -> Bool {
    var index = position
    for scalar in literal.unicodeScalars {
      guard index < source.count, source[index] == scalar else { return false }
      index += 1
    }
    return true
  }

  private func matches(_ literal: [Unicode.Scalar], at position: Int) -> Bool {
    guard position + literal.count <= source.count else { return false }
    for (offset, scalar) in literal.enumerated() where source[position + offset] != scalar { return false }
    return true
  }

  private func skipWhitespace(from position: Int) -> Int {
    var index = position
    while index < source.count, isPythonWhitespace(source[index]) { index += 1 }
    return index
  }

  // MARK: - Root state: data and tag openings

  private mutating func run() throws {
    var position = 0
    var lineStarting = true
    while position < source.count {
      // The next `{{`, `{%` or `{#`.
      var open = position
      while open + 1 < source.count, !(source[open] == "{" && ["{", "%", "#"].contains(source[open + 1])) {
        open += 1
      }
      if open + 1 >= source.count {
        emit(.text(makeString(source[position...])), at: position)
        return
      }
      let kind = source[open + 1]
      let signScalar = at(open + 2)
      let sign: Unicode.Scalar? = (signScalar == "-" || signScalar == "+") ? signScalar : nil
      if let rawEnd = rawBeginEnd(at: open) {
        let text = strip(position..<open, sign: sign, isVariable: false, lineStarting: lineStarting)
        if !text.isEmpty { emit(.text(makeString(source[text])), at: position) }
        position = try lexRaw(from: rawEnd, rawBeginStart: open)
        lineStarting = at(position - 1) == "\n"
        continue
      }
      let text = strip(position..<open, sign: sign, isVariable: kind == "{", lineStarting: lineStarting)
      if !text.isEmpty { emit(.text(makeString(source[text])), at: position) }
      let afterOpen = open + 2 + (sign == nil ? 0 : 1)
      switch kind {
      case "#":
        position = try lexComment(from: afterOpen, openedAt: open)
      case "%":
        emit(.blockBegin, at: open)
        position = try lexTag(from: afterOpen, isBlock: true, openedAt: open)
      default:
        emit(.variableBegin, at: open)
        position = try lexTag(from: afterOpen, isBlock: false, openedAt: open)
      }
      lineStarting = at(position - 1) == "\n"
    }
  }

  /// jinja2's OptionalLStrip: `-` strips all whitespace before the tag; otherwise lstrip_blocks removes the
  /// spaces between the line start and a block or comment tag. Returns the part of `text` (positions in `source`)
  /// that stays.
  private func strip(_ text: Range<Int>, sign: Unicode.Scalar?, isVariable: Bool, lineStarting: Bool) -> Range<Int> {
    if sign == "-" {
      var end = text.upperBound
      while end > text.lowerBound, isPythonWhitespace(source[end - 1]) { end -= 1 }
      return text.lowerBound..<end
    }
    if sign == "+" || isVariable { return text }
    let lineStart = (source[text].lastIndex(of: "\n") ?? text.lowerBound - 1) + 1
    if lineStart > text.lowerBound || lineStarting {
      let tail = source[lineStart..<text.upperBound]
      if !tail.isEmpty && tail.allSatisfy(isPythonWhitespace) { return text.lowerBound..<lineStart }
    }
    return text
  }

  private mutating func lexComment(from start: Int, openedAt open: Int) throws -> Int {
    var index = start
    while index < source.count {
      if matches("+#}", at: index) { return index + 3 }
      if matches("-#}", at: index) { return skipWhitespace(from: index + 3) }
      if matches("#}", at: index) { return at(index + 2) == "\n" ? index + 3 : index + 2 }
      index += 1
    }
    throw fail("Missing end of comment tag", at: open)
  }

  /// The end of `{%(-|+)? raw (-%}\s*|%})` when one starts at `position`.
  private func rawBeginEnd(at position: Int) -> Int? {
    guard matches("{%", at: position) else { return nil }
    var index = position + 2
    if at(index) == "-" || at(index) == "+" { index += 1 }
    index = skipWhitespace(from: index)
    guard matches("raw", at: index) else { return nil }
    index = skipWhitespace(from: index + 3)
    if matches("-%}", at: index) { return skipWhitespace(from: index + 3) }
    if matches("%}", at: index) { return index + 2 }
    return nil
  }

  private mutating func lexRaw(from start: Int, rawBeginStart: Int) throws -> Int {
    var index = start
    while index < source.count {
      if matches("{%", at: index) {
        var cursor = index + 2
        let signScalar = at(cursor)
        let sign: Unicode.Scalar? = (signScalar == "-" || signScalar == "+") ? signScalar : nil
        if sign != nil { cursor += 1 }
        cursor = skipWhitespace(from: cursor)
        if matches("endraw", at: cursor) {
          cursor = skipWhitespace(from: cursor + 6)
          var end: Int?
          if matches("+%}", at: cursor) {
            end = cursor + 3
          } else if matches("-%}", at: cursor) {
            end = skipWhitespace(from: cursor + 3)
          } else if matches("%}", at: cursor) {
            end = at(cursor + 2) == "\n" ? cursor + 3 : cursor + 2
          }
          if let end {
            let lineStarting = at(start - 1) == "\n"
            let text = strip(start..<index, sign: sign, isVariable: false, lineStarting: lineStarting)
            if !text.isEmpty { emit(.text(makeString(source[text])), at: start) }
            return end
          }
        }
      }
      index += 1
    }
    throw fail("Missing end of raw directive", at: rawBeginStart)
  }

  // MARK: - Inside `{% … %}` and `{{ … }}`

  private static let operators = [
    "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=",
    ".", ":", "|", ",", ";",
  ].map { (text: $0, scalars: Array($0.unicodeScalars)) }

  /// Letters as `str.isalpha` sees them; ASCII without a Unicode property lookup.
  private func isLetter(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.isASCII { return (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") }
    return scalar.properties.isAlphabetic
  }

  private func isNumeric(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.isASCII { return scalar >= "0" && scalar <= "9" }
    return scalar.properties.numericType != nil
  }

  private mutating func lexTag(from start: Int, isBlock: Bool, openedAt open: Int) throws -> Int {
    var index = start
    var balance: [Unicode.Scalar] = []
    while true {
      guard index < source.count else {
        throw fail(isBlock ? "unexpected end of template, expected '%}'" : "unexpected end of template, expected '}}'",
          at: open)
      }
      if balance.isEmpty {
        if isBlock {
          if matches("+%}", at: index) {
            emit(.blockEnd, at: index)
            return index + 3
          }
          if matches("-%}", at: index) {
            emit(.blockEnd, at: index)
            return skipWhitespace(from: index + 3)
          }
          if matches("%}", at: index) {
            emit(.blockEnd, at: index)
            return at(index + 2) == "\n" ? index + 3 : index + 2
          }
        } else {
          if matches("-}}", at: index) {
            emit(.variableEnd, at: index)
            return skipWhitespace(from: index + 3)
          }
          if matches("}}", at: index) {
            emit(.variableEnd, at: index)
            return index + 2
          }
        }
      }
      let scalar = source[index]
      if isPythonWhitespace(scalar) {
        index += 1
        continue
      }
      if let end = try lexNumber(at: index) {
        index = end
        continue
      }
      if scalar == "_" || isLetter(scalar) {
        var end = index + 1
        while end < source.count, source[end] == "_" || isLetter(source[end]) || isNumeric(source[end]) { end += 1 }
        emit(.name(makeString(source[index..<end])), at: index)
        index = end
        continue
      }
      if scalar == "'" || scalar == "\"" {
        index = try lexString(at: index, quote: scalar)
        continue
      }
      guard let op = Lexer.operators.first(where: { matches($0.scalars, at: index) })?.text else {
        throw fail("unexpected char \(pythonStringRepr(String(scalar)))", at: index)
      }
      switch op {
      case "{": balance.append("}")
      case "(": balance.append(")")
      case "[": balance.append("]")
      case "}", ")", "]":
        guard let expected = balance.popLast() else { throw fail("unexpected '\(op)'", at: index) }
        if String(expected) != op { throw fail("unexpected '\(op)', expected '\(expected)'", at: index) }
      default: break
      }
      emit(.op(op), at: index)
      index += op.unicodeScalars.count
    }
  }

  private func isDigit(_ position: Int) -> Bool {
    guard let scalar = at(position) else { return false }
    return scalar >= "0" && scalar <= "9"
  }

  /// Digits with single `_` separators (`1_000`); returns the end, or nil when no digit starts here.
  private func digitRun(from position: Int) -> Int? {
    guard isDigit(position) else { return nil }
    var index = position + 1
    while true {
      if isDigit(index) {
        index += 1
      } else if at(index) == "_", isDigit(index + 1) {
        index += 2
      } else {
        return index
      }
    }
  }

  /// jinja2's float_re, then integer_re (binary, octal, hex, decimal).
  private mutating func lexNumber(at position: Int) throws -> Int? {
    guard isDigit(position) else { return nil }
    let source = self.source
    let clean = { (range: Range<Int>) in
      String(String.UnicodeScalarView(source[range].filter { $0 != "_" }))
    }
    if at(position - 1) != ".", let integerEnd = digitRun(from: position) {
      var end: Int?
      var cursor = integerEnd
      if at(cursor) == ".", let fractionEnd = digitRun(from: cursor + 1) {
        cursor = fractionEnd
        end = fractionEnd
      }
      if at(cursor) == "e" || at(cursor) == "E" {
        var exponentStart = cursor + 1
        if at(exponentStart) == "+" || at(exponentStart) == "-" { exponentStart += 1 }
        if let exponentEnd = digitRun(from: exponentStart) { end = exponentEnd }
      }
      if let end {
        guard let value = Double(clean(position..<end)) else { throw fail("invalid float literal", at: position) }
        emit(.float(value), at: position)
        return end
      }
    }
    if source[position] == "0", let prefix = at(position + 1).map({ Character($0).lowercased() }),
      let radix = ["b": 2, "o": 8, "x": 16][prefix]
    {
      var end = position + 2
      while let scalar = at(end) {
        if scalar == "_" || Int(String(scalar), radix: radix) != nil { end += 1 } else { break }
      }
      let digits = clean((position + 2)..<end)
      if let value = Int(digits, radix: radix) {
        emit(.integer(value), at: position)
        return end
      }
      if !digits.isEmpty { throw fail("integer literal too large", at: position) }
    }
    if source[position] == "0" {
      var end = position + 1
      while at(end) == "0" || (at(end) == "_" && at(end + 1) == "0") { end += at(end) == "_" ? 2 : 1 }
      emit(.integer(0), at: position)
      return end
    }
    let end = digitRun(from: position)!
    guard let value = Int(clean(position..<end)) else { throw fail("integer literal too large", at: position) }
    emit(.integer(value), at: position)
    return end
  }

  /// A quoted string; escapes are decoded the way jinja2 does (`backslashreplace` then `unicode-escape`).
  private mutating func lexString(at position: Int, quote: Unicode.Scalar) throws -> Int {
    var index = position + 1
    var body: [Unicode.Scalar] = []
    while true {
      guard let scalar = at(index) else { throw fail("unexpected char \(pythonStringRepr(String(quote)))", at: position) }
      if scalar == quote { break }
      if scalar == "\\" {
        guard let next = at(index + 1) else {
          throw fail("unexpected char \(pythonStringRepr(String(quote)))", at: position)
        }
        body.append(scalar)
        body.append(next)
        index += 2
        continue
      }
      body.append(scalar)
      index += 1
    }
    // Without a backslash, unicode-escape gives back every character as it was.
    guard let decoded = body.contains("\\") ? decodeUnicodeEscape(body) : makeString(body) else {
      throw fail("invalid escape in string literal", at: position)
    }
    emit(.string(decoded), at: position)
    return index + 1
  }
}

/// A String from scalars in one allocation (`String(String.UnicodeScalarView(scalars))` maps them to an array, decodes
/// that and concatenates: it was most of the time a fuzzed template spent in the lexer).
func makeString<C: Collection>(_ scalars: C) -> String where C.Element == Unicode.Scalar {
  var byteCount = 0
  for scalar in scalars { byteCount += UTF8.width(scalar) }
  return String(unsafeUninitializedCapacity: byteCount) { buffer in
    var index = 0
    for scalar in scalars {
      for byte in scalar.utf8 {
        buffer[index] = byte
        index += 1
      }
    }
    return index
  }
}

/// Python's `s.encode("ascii", "backslashreplace").decode("unicode-escape")`, as jinja2 applies to string literals.
/// Returns nil for a truncated `\x`, `\u` or `\U` escape or an unsupported `\N{…}`.
func decodeUnicodeEscape(_ body: [Unicode.Scalar]) -> String? {
  // backslashreplace: non-ASCII characters become \xNN, \uNNNN or \UNNNNNNNN escapes first.
  var ascii: [Unicode.Scalar] = []
  for scalar in body {
    if scalar.value < 0x80 {
      ascii.append(scalar)
    } else {
      let text: String
      if scalar.value < 0x100 {
        text = "\\x" + hex(scalar.value, width: 2)
      } else if scalar.value < 0x10000 {
        text = "\\u" + hex(scalar.value, width: 4)
      } else {
        text = "\\U" + hex(scalar.value, width: 8)
      }
      ascii.append(contentsOf: text.unicodeScalars)
    }
  }
  var out = String.UnicodeScalarView()
  var index = 0
  func hexValue(_ count: Int) -> UInt32? {
    guard index + count <= ascii.count else { return nil }
    let digits = String(String.UnicodeScalarView(ascii[index..<(index + count)]))
    guard digits.allSatisfy(\.isHexDigit), let value = UInt32(digits, radix: 16) else { return nil }
    index += count
    return value
  }
  while index < ascii.count {
    let scalar = ascii[index]
    index += 1
    guard scalar == "\\", index < ascii.count else {
      out.append(scalar)
      continue
    }
    let escape = ascii[index]
    index += 1
    switch escape {
    case "\n": break
    case "\\": out.append("\\")
    case "'": out.append("'")
    case "\"": out.append("\"")
    case "a": out.append("\u{07}")
    case "b": out.append("\u{08}")
    case "f": out.append("\u{0C}")
    case "n": out.append("\n")
    case "r": out.append("\r")
    case "t": out.append("\t")
    case "v": out.append("\u{0B}")
    case "0"..."7":
      var value = escape.value - 0x30
      var digits = 1
      while digits < 3, index < ascii.count, ("0"..."7").contains(ascii[index]) {
        value = value * 8 + ascii[index].value - 0x30
        index += 1
        digits += 1
      }
      out.append(Unicode.Scalar(value)!)
    case "x", "u", "U":
      guard let value = hexValue(escape == "x" ? 2 : escape == "u" ? 4 : 8), let decoded = Unicode.Scalar(value)
      else { return nil }
      out.append(decoded)
    case "N": return nil
    default:
      out.append("\\")
      out.append(escape)
    }
  }
  return String(out)
}

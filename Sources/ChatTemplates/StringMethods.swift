// StringMethods.swift — Python `str` methods (strip, split, startswith, replace, format …) on code points,
// shared by the `str.method()` calls and the filters built on them.

enum StringMethods {
  static func call(_ name: String, on text: String, arguments: Interpreter.EvaluatedArguments,
    interpreter: Interpreter, line: Int) throws -> JinjaValue
  {
    func bind(_ parameters: [String]) throws -> [JinjaValue?] { try arguments.bind(parameters, function: name) }
    func string(_ value: JinjaValue?, _ what: String = "argument") throws -> String? {
      guard let value, !value.isNone else { return nil }
      guard case let .string(s) = value else {
        throw RuntimeFailure(message: "\(name)() \(what) must be str or None, not \(value.typeName)")
      }
      return s
    }
    func integer(_ value: JinjaValue?, _ defaultValue: Int) throws -> Int {
      guard let value, !value.isNone else { return defaultValue }
      guard case let .int(i)? = value.numericValue else {
        throw RuntimeFailure(message: "'\(value.typeName)' object cannot be interpreted as an integer")
      }
      return i
    }
    switch name {
    case "strip", "lstrip", "rstrip":
      let chars = try string(try bind(["chars"])[0])
      return .string(strip(text, chars: chars, leading: name != "rstrip", trailing: name != "lstrip"))
    case "split", "rsplit":
      let bound = try bind(["sep", "maxsplit"])
      let parts = try split(text, separator: try string(bound[0]), maxSplit: try integer(bound[1], -1),
        fromRight: name == "rsplit")
      return .array(parts.map { .string($0) })
    case "splitlines":
      let keepEnds = (try bind(["keepends"])[0] ?? .bool(false)).isTruthy
      return .array(splitLines(text, keepEnds: keepEnds).map { .string($0) })
    case "startswith", "endswith":
      let bound = try bind(["prefix", "start", "end"])
      var scalars = Array(text.unicodeScalars)
      let sliced = try Builtins.slice(.string(text), start: bound[1], stop: bound[2], step: nil)
      if case let .string(part) = sliced { scalars = Array(part.unicodeScalars) }
      let candidates: [JinjaValue]
      switch bound[0] {
      case let .tuple(items)?: candidates = items
      case let .string(s)?: candidates = [.string(s)]
      default:
        throw RuntimeFailure(message: "\(name) first arg must be str or a tuple of str, not \(bound[0]?.typeName ?? "NoneType")")
      }
      for candidate in candidates {
        guard case let .string(affix) = candidate else {
          throw RuntimeFailure(message: "tuple for \(name) must only contain str, not \(candidate.typeName)")
        }
        let affixScalars = Array(affix.unicodeScalars)
        guard affixScalars.count <= scalars.count else { continue }
        let window = name == "startswith" ? scalars.prefix(affixScalars.count) : scalars.suffix(affixScalars.count)
        if Array(window) == affixScalars { return .bool(true) }
      }
      return .bool(false)
    case "upper": return .string(text.uppercased())
    case "lower": return .string(text.lowercased())
    case "title": return .string(pythonTitle(text))
    case "capitalize": return .string(capitalize(text))
    case "swapcase":
      return .string(
        String(text.unicodeScalars.map { scalar -> String in
          if scalar.properties.isUppercase { return scalar.properties.lowercaseMapping }
          if scalar.properties.isLowercase { return scalar.properties.uppercaseMapping }
          return String(scalar)
        }.joined()))
    case "replace":
      let bound = try bind(["old", "new", "count"])
      guard let old = try string(bound[0]), let new = try string(bound[1]) else {
        throw RuntimeFailure(message: "replace() argument must be str")
      }
      return .string(try interpreter.checked(replace(text, old, new, count: try integer(bound[2], -1))))
    case "find", "rfind", "index", "rindex", "count":
      let bound = try bind(["sub", "start", "end"])
      guard let needle = try string(bound[0]) else { throw RuntimeFailure(message: "must be str, not NoneType") }
      let haystack = Array(text.unicodeScalars)
      let needleScalars = Array(needle.unicodeScalars)
      let start = max(0, min(haystack.count, normalize(try integer(bound[1], 0), haystack.count)))
      let end = max(0, min(haystack.count, normalize(try integer(bound[2], haystack.count), haystack.count)))
      let window = start <= end ? Array(haystack[start..<end]) : []
      if name == "count" { return .int(countOccurrences(window, needleScalars)) }
      var found: Int?
      if name.hasPrefix("r") {
        var position = 0
        while let index = findScalars(window, needleScalars, from: position) {
          found = index
          position = index + 1
          if position > window.count { break }
        }
      } else {
        found = findScalars(window, needleScalars)
      }
      if let found { return .int(found + start) }
      if name.contains("index") { throw RuntimeFailure(message: "substring not found") }
      return .int(-1)
    case "join":
      let items = try interpreter.iterate(try bind(["iterable"])[0] ?? .none)
      var parts: [String] = []
      for (index, item) in items.enumerated() {
        guard case let .string(s) = item else {
          throw RuntimeFailure(message: "sequence item \(index): expected str instance, \(item.typeName) found")
        }
        parts.append(s)
      }
      return .string(try interpreter.checked(parts.joined(separator: text)))
    case "format":
      return .string(try interpreter.checked(try format(text, arguments, line: line)))
    case "removeprefix", "removesuffix":
      guard let affix = try string(try bind(["affix"])[0]) else { return .string(text) }
      let scalars = Array(text.unicodeScalars)
      let affixScalars = Array(affix.unicodeScalars)
      if name == "removeprefix", scalars.starts(with: affixScalars) {
        return .string(String(String.UnicodeScalarView(scalars.dropFirst(affixScalars.count))))
      }
      if name == "removesuffix", !affixScalars.isEmpty, Array(scalars.suffix(affixScalars.count)) == affixScalars {
        return .string(String(String.UnicodeScalarView(scalars.dropLast(affixScalars.count))))
      }
      return .string(text)
    case "center", "ljust", "rjust":
      let bound = try bind(["width", "fillchar"])
      let fill = try string(bound[1]) ?? " "
      return .string(pad(text, width: try integer(bound[0], 0), fill: fill, mode: name))
    case "zfill":
      let width = try integer(try bind(["width"])[0], 0)
      var scalars = Array(text.unicodeScalars)
      guard width > scalars.count else { return .string(text) }
      let sign = scalars.first.map { $0 == "+" || $0 == "-" } ?? false
      let zeros = Array(repeating: Unicode.Scalar("0"), count: width - scalars.count)
      scalars.insert(contentsOf: zeros, at: sign ? 1 : 0)
      return .string(String(String.UnicodeScalarView(scalars)))
    case "partition", "rpartition":
      guard let separator = try string(try bind(["sep"])[0]), !separator.isEmpty else {
        throw RuntimeFailure(message: "empty separator")
      }
      let parts = try split(text, separator: separator, maxSplit: 1, fromRight: name == "rpartition")
      if parts.count == 2 { return .tuple([.string(parts[0]), .string(separator), .string(parts[1])]) }
      return name == "partition" ? .tuple([.string(text), "", ""]) : .tuple(["", "", .string(text)])
    case "isdigit", "isnumeric":
      return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.numericType != nil })
    case "isalpha":
      return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic })
    case "isalnum":
      return .bool(
        !text.isEmpty
          && text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
    case "isspace":
      return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy(isPythonWhitespace))
    case "islower": return .bool(isLower(text))
    case "isupper": return .bool(isUpper(text))
    default:
      throw ChatTemplateError.unsupported("unsupported method '\(name)' of 'str'", line: line)
    }
  }

  // MARK: - Helpers shared with filters

  private static func normalize(_ index: Int, _ count: Int) -> Int { index < 0 ? index + count : index }

  static func strip(_ text: String, chars: String?, leading: Bool = true, trailing: Bool = true) -> String {
    let scalars = Array(text.unicodeScalars)
    let set = chars.map { Set($0.unicodeScalars) }
    let remove = { (scalar: Unicode.Scalar) in set?.contains(scalar) ?? isPythonWhitespace(scalar) }
    var start = 0
    var end = scalars.count
    if leading { while start < end, remove(scalars[start]) { start += 1 } }
    if trailing { while end > start, remove(scalars[end - 1]) { end -= 1 } }
    return String(String.UnicodeScalarView(scalars[start..<end]))
  }

  /// Python `str.split` / `str.rsplit`: runs of whitespace without a separator, exact separators with one.
  static func split(_ text: String, separator: String?, maxSplit: Int, fromRight: Bool = false) throws -> [String] {
    var scalars = Array(text.unicodeScalars)
    if fromRight { scalars.reverse() }
    var parts: [[Unicode.Scalar]] = []
    if let separator {
      var separatorScalars = Array(separator.unicodeScalars)
      if separatorScalars.isEmpty { throw RuntimeFailure(message: "empty separator") }
      if fromRight { separatorScalars.reverse() }
      var start = 0
      while maxSplit < 0 || parts.count < maxSplit, let index = findScalars(scalars, separatorScalars, from: start) {
        parts.append(Array(scalars[start..<index]))
        start = index + separatorScalars.count
      }
      parts.append(Array(scalars[start...]))
    } else {
      var index = 0
      while true {
        while index < scalars.count, isPythonWhitespace(scalars[index]) { index += 1 }
        if index >= scalars.count { break }
        if maxSplit >= 0 && parts.count == maxSplit {
          var end = scalars.count
          while end > index, isPythonWhitespace(scalars[end - 1]) { end -= 1 }
          parts.append(Array(scalars[index..<end]))
          break
        }
        let start = index
        while index < scalars.count, !isPythonWhitespace(scalars[index]) { index += 1 }
        parts.append(Array(scalars[start..<index]))
      }
    }
    if fromRight { parts = parts.reversed().map { $0.reversed() } }
    return parts.map { String(String.UnicodeScalarView($0)) }
  }

  /// Python `str.splitlines`, with all of its line boundaries.
  static func splitLines(_ text: String, keepEnds: Bool = false) -> [String] {
    let boundaries: Set<UInt32> = [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029]
    let scalars = Array(text.unicodeScalars)
    var lines: [String] = []
    var start = 0
    var index = 0
    while index < scalars.count {
      if boundaries.contains(scalars[index].value) {
        var end = index + 1
        if scalars[index] == "\r", end < scalars.count, scalars[end] == "\n" { end += 1 }
        lines.append(String(String.UnicodeScalarView(scalars[start..<(keepEnds ? end : index)])))
        start = end
        index = end
      } else {
        index += 1
      }
    }
    if start < scalars.count { lines.append(String(String.UnicodeScalarView(scalars[start...]))) }
    return lines
  }

  static func replace(_ text: String, _ old: String, _ new: String, count: Int = -1) -> String {
    let scalars = Array(text.unicodeScalars)
    let oldScalars = Array(old.unicodeScalars)
    var out = String.UnicodeScalarView()
    var replaced = 0
    if oldScalars.isEmpty {
      for scalar in scalars {
        if count < 0 || replaced < count {
          out.append(contentsOf: new.unicodeScalars)
          replaced += 1
        }
        out.append(scalar)
      }
      if count < 0 || replaced < count { out.append(contentsOf: new.unicodeScalars) }
      return String(out)
    }
    var start = 0
    while count < 0 || replaced < count, let index = findScalars(scalars, oldScalars, from: start) {
      out.append(contentsOf: scalars[start..<index])
      out.append(contentsOf: new.unicodeScalars)
      start = index + oldScalars.count
      replaced += 1
    }
    out.append(contentsOf: scalars[start...])
    return String(out)
  }

  private static func countOccurrences(_ haystack: [Unicode.Scalar], _ needle: [Unicode.Scalar]) -> Int {
    if needle.isEmpty { return haystack.count + 1 }
    var count = 0
    var start = 0
    while let index = findScalars(haystack, needle, from: start) {
      count += 1
      start = index + needle.count
    }
    return count
  }

  /// Python `str.capitalize`: first character title-cased, the rest lower-cased.
  static func capitalize(_ text: String) -> String {
    guard let first = text.unicodeScalars.first else { return text }
    let rest = String(String.UnicodeScalarView(text.unicodeScalars.dropFirst()))
    return first.properties.titlecaseMapping + rest.lowercased()
  }

  /// Python `str.title`: title-case after an uncased character, lower-case after a cased one.
  static func pythonTitle(_ text: String) -> String {
    var out = ""
    var previousCased = false
    for scalar in text.unicodeScalars {
      let mapped = previousCased ? scalar.properties.lowercaseMapping : scalar.properties.titlecaseMapping
      out += mapped
      previousCased = scalar.properties.isCased
    }
    return out
  }

  static func isLower(_ text: String) -> Bool { allCased(text, \.isLowercase, not: \.isUppercase) }

  static func isUpper(_ text: String) -> Bool { allCased(text, \.isUppercase, not: \.isLowercase) }

  /// Python's `str.islower`/`isupper`: at least one cased character, all of them `wanted`, none `other` or titlecase.
  private static func allCased(_ text: String, _ wanted: KeyPath<Unicode.Scalar.Properties, Bool>,
                               not other: KeyPath<Unicode.Scalar.Properties, Bool>) -> Bool {
    var cased = false
    for scalar in text.unicodeScalars {
      if scalar.properties[keyPath: other] || scalar.properties.generalCategory == .titlecaseLetter { return false }
      if scalar.properties[keyPath: wanted] { cased = true }
    }
    return cased
  }

  static func pad(_ text: String, width: Int, fill: String, mode: String) -> String {
    let length = text.unicodeScalars.count
    guard width > length else { return text }
    let total = width - length
    let left: Int
    switch mode {
    case "ljust": left = 0
    case "rjust": left = total
    default: left = total / 2 + (total & width & 1)
    }
    return String(repeating: fill, count: left) + text + String(repeating: fill, count: total - left)
  }

  /// `str.format` with `{}`, `{0}` and `{name}` fields; conversions and format specs are not supported.
  private static func format(_ text: String, _ arguments: Interpreter.EvaluatedArguments, line: Int) throws -> String {
    var out = ""
    var automatic = 0
    var scalars = text.unicodeScalars.makeIterator()
    while let scalar = scalars.next() {
      if scalar == "}" {
        guard scalars.next() == "}" else { throw RuntimeFailure(message: "Single '}' encountered in format string") }
        out += "}"
        continue
      }
      guard scalar == "{" else {
        out.unicodeScalars.append(scalar)
        continue
      }
      var field = ""
      var closed = false
      while let next = scalars.next() {
        if next == "{" && field.isEmpty {
          out += "{"
          closed = true
          field = "\u{0}"
          break
        }
        if next == "}" {
          closed = true
          break
        }
        field.unicodeScalars.append(next)
      }
      guard closed else { throw RuntimeFailure(message: "expected '}' before end of string") }
      if field == "\u{0}" { continue }
      if field.contains(":") || field.contains("!") || field.contains(".") || field.contains("[") {
        throw ChatTemplateError.unsupported("unsupported format field '{\(field)}'", line: line)
      }
      let value: JinjaValue?
      if field.isEmpty {
        value = automatic < arguments.positional.count ? arguments.positional[automatic] : nil
        automatic += 1
      } else if let index = Int(field) {
        value = index < arguments.positional.count ? arguments.positional[index] : nil
      } else {
        value = arguments.keywordValue(field)
      }
      guard let value else {
        throw RuntimeFailure(message: field.isEmpty || Int(field) != nil
          ? "Replacement index \(field.isEmpty ? String(automatic - 1) : field) out of range for positional args tuple"
          : pythonStringRepr(field))
      }
      out += value.pythonString
    }
    return out
  }
}

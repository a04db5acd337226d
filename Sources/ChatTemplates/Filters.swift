// Filters.swift — jinja2's built-in filters and tests (same signatures and defaults as jinja2 3.1),
// with transformers' own `tojson`.

import Foundation
import Support

enum Filters {
  static let names: Set<String> = [
    "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first",
    "float", "forceescape", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
    "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string",
    "striptags", "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "wordcount",
  ]

  static func apply(_ name: String, to input: JinjaValue, arguments: Interpreter.EvaluatedArguments,
    interpreter: Interpreter, line: Int) throws -> JinjaValue
  {
    if case .markup = input, ["e", "escape", "safe"].contains(name) { return input }
    let value = input.demotingMarkup
    func bind(_ parameters: [String]) throws -> [JinjaValue?] { try arguments.bind(parameters, function: name) }
    func flag(_ value: JinjaValue?) -> Bool { value?.isTruthy ?? false }
    func text() throws -> String { value.pythonString }
    func items() throws -> [JinjaValue] { try interpreter.iterate(value) }

    switch name {
    case "abs":
      switch value {
      case let .int(i): return .int(i == Int.min ? i : abs(i))
      case let .bool(b): return .int(b ? 1 : 0)
      case let .double(d): return .double(abs(d))
      case let .undefined(reason): throw RuntimeFailure(message: reason)
      default: throw RuntimeFailure(message: "bad operand type for abs(): '\(value.typeName)'")
      }
    case "attr":
      guard case let .string(attribute)? = try bind(["name"])[0] else { return .undefined(reason: "attr") }
      // Python getattr only: a dict's keys are not attributes.
      if case .dictionary = value { return try Builtins.attribute(of: .dictionary([:]), attribute) }
      return try Builtins.attribute(of: value, attribute)
    case "batch":
      let bound = try bind(["linecount", "fill_with"])
      guard case let .int(size)? = bound[0]?.numericValue, size > 0 else {
        throw RuntimeFailure(message: "batch size must be a positive integer")
      }
      var batches: [JinjaValue] = []
      var current: [JinjaValue] = []
      for item in try items() {
        current.append(item)
        if current.count == size {
          batches.append(.array(current))
          current = []
        }
      }
      if !current.isEmpty {
        if let fill = bound[1], !fill.isNone {
          current += Array(repeating: fill, count: size - current.count)
        }
        batches.append(.array(current))
      }
      return generator(batches)
    case "capitalize":
      return .string(StringMethods.capitalize(try text()))
    case "center":
      let width = try bind(["width"])[0] ?? .int(80)
      guard case let .int(w)? = width.numericValue else { throw RuntimeFailure(message: "width must be an integer") }
      return .string(StringMethods.pad(try text(), width: w, fill: " ", mode: "center"))
    case "count", "length":
      return .int(try length(value))
    case "d", "default":
      let bound = try bind(["default_value", "boolean"])
      let fallback = bound[0] ?? .string("")
      if value.isUndefined || (flag(bound[1]) && !value.isTruthy) { return fallback }
      return value
    case "dictsort":
      let bound = try bind(["case_sensitive", "by", "reverse"])
      guard case let .dictionary(dictionary) = value else {
        throw RuntimeFailure(message: "dictsort filter needs a dict, not \(value.typeName)")
      }
      let byValue: Bool
      switch bound[1] ?? .string("key") {
      case .string("key"): byValue = false
      case .string("value"): byValue = true
      default: throw RuntimeFailure(message: "You can only sort by either \"key\" or \"value\"")
      }
      let pairs = dictionary.pairs.map { JinjaValue.tuple([$0.0.value, $0.1]) }
      return .array(try stableSort(pairs, reverse: flag(bound[2])) { pair in
        let key = pair.sequenceItems![byValue ? 1 : 0]
        return flag(bound[0]) ? key : ignoringCase(key)
      })
    case "e", "escape", "forceescape":
      return .markup(htmlEscape(try text()))
    case "first", "last":
      if name == "last", case let .iterator(iterator) = value, !iterator.isReusable {
        throw RuntimeFailure(message: "'\(iterator.typeName)' object is not reversible")
      }
      let all = try items()
      let picked = name == "first" ? all.first : all.last
      return picked ?? .undefined(reason: "No \(name) item, sequence was empty.")
    case "float":
      let fallback = try bind(["default"])[0] ?? .double(0)
      return toFloat(value) ?? fallback
    case "int":
      let bound = try bind(["default", "base"])
      let fallback = bound[0] ?? .int(0)
      var base = 10
      if let b = bound[1], case let .int(value)? = b.numericValue { base = value }
      return toInt(value, base: base) ?? fallback
    case "items":
      if value.isUndefined { return generator([]) }
      guard case let .dictionary(dictionary) = value else {
        throw RuntimeFailure(message: "Can only get item pairs from a mapping.")
      }
      return generator(dictionary.pairs.map { .tuple([$0.0.value, $0.1]) })
    case "indent":
      let bound = try bind(["width", "first", "blank"])
      let indentation: String
      switch bound[0] ?? .int(4) {
      case let .string(s): indentation = s
      case let other:
        guard case let .int(w)? = other.numericValue else { throw RuntimeFailure(message: "width must be int") }
        indentation = String(repeating: " ", count: max(0, w))
      }
      let lines = StringMethods.splitLines(try text() + "\n")
      var result: String
      if flag(bound[2]) {
        result = lines.joined(separator: "\n" + indentation)
      } else {
        result = lines.first ?? ""
        let rest = lines.dropFirst()
        if !rest.isEmpty {
          result += "\n" + rest.map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n")
        }
      }
      if flag(bound[1]) { result = indentation + result }
      return .string(try interpreter.checked(result))
    case "join":
      let bound = try bind(["d", "attribute"])
      var all = try items()
      if let attribute = bound[1], !attribute.isNone { all = try all.map { try attributeGetter(attribute)($0) } }
      let separator = (bound[0] ?? .string("")).pythonString
      return .string(try interpreter.checked(all.map(\.pythonString).joined(separator: separator)))
    case "list":
      return .array(try items())
    case "lower":
      return .string(try text().lowercased())
    case "upper":
      return .string(try text().uppercased())
    case "map":
      // jinja2's map, select and reject yield nothing for a falsy input (None included).
      guard value.isTruthy else { return generator([]) }
      return generator(try map(try items(), arguments: arguments, interpreter: interpreter, line: line))
    case "max", "min":
      let bound = try bind(["case_sensitive", "attribute"])
      let all = try items()
      let key = try sortKey(attribute: bound[1], caseSensitive: flag(bound[0]))
      var best: JinjaValue?
      var bestKey: JinjaValue?
      for item in all {
        let itemKey = try key(item)
        if let current = bestKey {
          let order = try Operators.order(itemKey, current)
          if name == "max" ? order > 0 : order < 0 {
            best = item
            bestKey = itemKey
          }
        } else {
          best = item
          bestKey = itemKey
        }
      }
      return best ?? .undefined(reason: "No aggregated item, sequence was empty.")
    case "select", "reject", "selectattr", "rejectattr":
      guard value.isTruthy else { return generator([]) }
      return generator(try select(name, try items(), arguments: arguments, interpreter: interpreter))
    case "replace":
      let bound = try bind(["old", "new", "count"])
      var count = -1
      if let c = bound[2], !c.isNone, case let .int(n)? = c.numericValue { count = n }
      return .string(try interpreter.checked(StringMethods.replace(try text(), (bound[0] ?? .none).pythonString,
        (bound[1] ?? .none).pythonString, count: count)))
    case "reverse":
      switch value {
      case let .string(s): return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed())))
      case let .array(list): return .iterator(JinjaIterator("list_reverseiterator", list.reversed()))
      case let .tuple(list): return .iterator(JinjaIterator("reversed", list.reversed()))
      case let .dictionary(d): return .iterator(JinjaIterator("dict_reversekeyiterator", d.keys.reversed().map(\.value)))
      case let .iterator(iterator) where iterator.isReusable:
        return .iterator(JinjaIterator("reversed", iterator.consume().reversed()))
      default: return .array(try items().reversed())
      }
    case "round":
      let bound = try bind(["precision", "method"])
      var precision = 0
      if let p = bound[0], case let .int(n)? = p.numericValue { precision = n }
      let method = (bound[1] ?? .string("common")).pythonString
      guard ["common", "ceil", "floor"].contains(method) else {
        throw RuntimeFailure(message: "method must be common, ceil or floor")
      }
      return try round(value, precision: precision, method: method)
    case "safe", "string":
      return name == "safe" ? .markup(try text()) : .string(try text())
    case "sort":
      let bound = try bind(["reverse", "case_sensitive", "attribute"])
      let key = try sortKey(attribute: bound[2], caseSensitive: flag(bound[1]))
      return .array(try stableSort(try items(), reverse: flag(bound[0]), key: key))
    case "striptags":
      return .string(stripTags(try text()))
    case "sum":
      let bound = try bind(["attribute", "start"])
      var total = bound[1] ?? .int(0)
      var all = try items()
      if let attribute = bound[0], !attribute.isNone { all = try all.map { try attributeGetter(attribute)($0) } }
      for item in all { total = try Operators.binary(.add, total, item, interpreter: interpreter) }
      return total
    case "title":
      return .string(jinjaTitle(try text()))
    case "tojson":
      let bound = try bind(["ensure_ascii", "indent", "separators", "sort_keys"])
      return .string(try interpreter.checked(try PythonJSON.dumps(value, ensureASCII: flag(bound[0]),
        indent: bound[1], separators: bound[2], sortKeys: flag(bound[3]))))
    case "trim":
      let chars = try bind(["chars"])[0]
      return .string(StringMethods.strip(try text(), chars: chars.flatMap { $0.isNone ? nil : $0.pythonString }))
    case "truncate":
      let bound = try bind(["length", "killwords", "end", "leeway"])
      var length = 255
      if let l = bound[0], case let .int(n)? = l.numericValue { length = n }
      let end = (bound[2] ?? .string("...")).pythonString
      var leeway = 5
      if let l = bound[3], !l.isNone, case let .int(n)? = l.numericValue { leeway = n }
      let scalars = Array(try text().unicodeScalars)
      if scalars.count <= length + leeway { return .string(try text()) }
      let cut = String(String.UnicodeScalarView(scalars.prefix(max(0, length - end.unicodeScalars.count))))
      if flag(bound[1]) { return .string(cut + end) }
      let parts = try StringMethods.split(cut, separator: " ", maxSplit: 1, fromRight: true)
      return .string((parts.first ?? "") + end)
    case "unique":
      let bound = try bind(["case_sensitive", "attribute"])
      let key = try sortKey(attribute: bound[1], caseSensitive: flag(bound[0]))
      var seen: [JinjaValue] = []
      var result: [JinjaValue] = []
      for item in try items() {
        let itemKey = try key(item)
        if !seen.contains(itemKey) {
          seen.append(itemKey)
          result.append(item)
        }
      }
      return generator(result)
    case "wordcount":
      var count = 0
      var inWord = false
      for scalar in try text().unicodeScalars {
        let isWord = scalar == "_" || scalar.properties.isAlphabetic || scalar.properties.numericType != nil
        if isWord && !inWord { count += 1 }
        inWord = isWord
      }
      return .int(count)
    default:
      throw ChatTemplateError.unsupported("unsupported filter '\(name)'", line: line)
    }
  }

  // MARK: - Helpers

  /// What jinja2's generator filters (map, select, unique, batch, items …) return: truthy, single use, no len().
  private static func generator(_ items: [JinjaValue]) -> JinjaValue { .iterator(JinjaIterator("generator", items)) }

  static func length(_ value: JinjaValue) throws -> Int {
    switch value {
    case let .string(s): return s.unicodeScalars.count
    case let .array(items), let .tuple(items): return items.count
    case let .dictionary(dictionary): return dictionary.count
    case .undefined: return 0
    case let .iterator(iterator) where iterator.count != nil: return iterator.count!
    default: throw RuntimeFailure(message: "object of type '\(value.typeName)' has no len()")
    }
  }

  /// jinja2's `make_attrgetter`: dotted path, integer parts as indexes, looked up with `getitem`.
  static func attributeGetter(_ attribute: JinjaValue, defaultValue: JinjaValue? = nil) throws
    -> (JinjaValue) throws -> JinjaValue
  {
    let parts: [JinjaValue]
    switch attribute {
    case let .string(path):
      parts = path.split(separator: ".", omittingEmptySubsequences: false).map { part in
        Int(part).map { JinjaValue.int($0) } ?? .string(String(part))
      }
    case .int: parts = [attribute]
    default: parts = [attribute]
    }
    return { item in
      var current = item
      for part in parts {
        current = try Builtins.item(of: current, part)
        if current.isUndefined, let defaultValue { return defaultValue }
      }
      return current
    }
  }

  private static func ignoringCase(_ value: JinjaValue) -> JinjaValue {
    if case let .string(s) = value { return .string(s.lowercased()) }
    return value
  }

  private static func sortKey(attribute: JinjaValue?, caseSensitive: Bool) throws -> (JinjaValue) throws -> JinjaValue
  {
    let getter: ((JinjaValue) throws -> JinjaValue)? =
      (attribute == nil || attribute!.isNone) ? nil : try attributeGetter(attribute!)
    return { item in
      let key = try getter?(item) ?? item
      return caseSensitive ? key : ignoringCase(key)
    }
  }

  /// Python's stable `sorted(..., key=..., reverse=...)`.
  private static func stableSort(_ items: [JinjaValue], reverse: Bool, key: (JinjaValue) throws -> JinjaValue) throws
    -> [JinjaValue]
  {
    let keyed = try items.enumerated().map { (offset: $0.offset, key: try key($0.element), item: $0.element) }
    let sorted = try keyed.sorted { a, b in
      let order = reverse ? try Operators.order(b.key, a.key) : try Operators.order(a.key, b.key)
      return order < 0 || (order == 0 && a.offset < b.offset)
    }
    return sorted.map(\.item)
  }

  private static func map(_ items: [JinjaValue], arguments: Interpreter.EvaluatedArguments,
    interpreter: Interpreter, line: Int) throws -> [JinjaValue]
  {
    if arguments.positional.isEmpty, let attribute = arguments.keywordValue("attribute") {
      let getter = try attributeGetter(attribute, defaultValue: arguments.keywordValue("default"))
      return try items.map(getter)
    }
    guard case let .string(filter)? = arguments.positional.first else {
      throw RuntimeFailure(message: "map requires a filter argument")
    }
    guard names.contains(filter) else { throw ChatTemplateError.unsupported("unsupported filter '\(filter)'", line: line) }
    let rest = Interpreter.EvaluatedArguments(positional: Array(arguments.positional.dropFirst()),
      keyword: arguments.keyword)
    return try items.map { try apply(filter, to: $0, arguments: rest, interpreter: interpreter, line: line) }
  }

  private static func select(_ name: String, _ items: [JinjaValue], arguments: Interpreter.EvaluatedArguments,
    interpreter: Interpreter) throws -> [JinjaValue]
  {
    var positional = arguments.positional
    var getter: (JinjaValue) throws -> JinjaValue = { $0 }
    if name.hasSuffix("attr") {
      guard !positional.isEmpty else { throw RuntimeFailure(message: "Missing parameter for attribute name") }
      getter = try attributeGetter(positional.removeFirst())
    }
    let keep = name.hasPrefix("select")
    var test: ((JinjaValue) throws -> Bool) = { $0.isTruthy }
    if !positional.isEmpty {
      guard case let .string(testName) = positional.removeFirst() else {
        throw RuntimeFailure(message: "test name must be a string")
      }
      guard Tests.names.contains(testName) else { throw RuntimeFailure(message: "No test named '\(testName)'.") }
      let testArguments = Interpreter.EvaluatedArguments(positional: positional, keyword: arguments.keyword)
      test = { try Tests.apply(testName, to: $0, arguments: testArguments, interpreter: interpreter) }
    }
    return try items.filter { try test(try getter($0)) == keep }
  }

  private static func toFloat(_ value: JinjaValue) -> JinjaValue? {
    switch value {
    case .int, .double, .bool: return .double(value.asDouble)
    case let .string(s):
      let trimmed = StringMethods.strip(s, chars: nil).replacingUnderscoresInNumber().lowercased()
      switch trimmed {
      case "nan", "+nan", "-nan": return .double(.nan)
      case "inf", "+inf", "infinity", "+infinity": return .double(.infinity)
      case "-inf", "-infinity": return .double(-.infinity)
      default: break
      }
      guard trimmed.allSatisfy({ "0123456789.eE+-".contains($0) }), let d = Double(trimmed) else { return nil }
      return .double(d)
    default: return nil
    }
  }

  private static func toInt(_ value: JinjaValue, base: Int) -> JinjaValue? {
    switch value {
    case let .int(i): return .int(i)
    case let .bool(b): return .int(b ? 1 : 0)
    case let .double(d):
      guard d.isFinite, abs(d) < 9.2e18 else { return nil }
      return .int(Int(d.rounded(.towardZero)))
    case let .string(s):
      var digits = StringMethods.strip(s, chars: nil).replacingUnderscoresInNumber()
      var negative = false
      if digits.hasPrefix("-") || digits.hasPrefix("+") {
        negative = digits.hasPrefix("-")
        digits.removeFirst()
      }
      var radix = base
      let lower = digits.lowercased()
      for (prefix, prefixRadix) in [("0x", 16), ("0o", 8), ("0b", 2)] where lower.hasPrefix(prefix) {
        if base == prefixRadix || base == 0 {
          radix = prefixRadix
          digits.removeFirst(2)
        }
      }
      if radix == 0 { radix = 10 }
      if !digits.isEmpty, (2...36).contains(radix), let parsed = Int(digits, radix: radix) {
        return .int(negative ? -parsed : parsed)
      }
      if case let .double(d)? = toFloat(value), d.isFinite, abs(d) < 9.2e18 { return .int(Int(d.rounded(.towardZero))) }
      return nil
    default: return nil
    }
  }

  private static func round(_ value: JinjaValue, precision: Int, method: String) throws -> JinjaValue {
    if case let .undefined(reason) = value { throw RuntimeFailure(message: reason) }
    guard let number = value.numericValue else {
      throw RuntimeFailure(message: "type \(value.typeName) doesn't define __round__ method")
    }
    if method == "common", case .int = number, precision >= 0 { return number }
    let scale = Foundation.pow(10.0, Double(precision))
    let x = number.asDouble
    switch method {
    case "ceil": return .double((x * scale).rounded(.up) / scale)
    case "floor": return .double((x * scale).rounded(.down) / scale)
    default:
      if precision == 0 { return .double(x.rounded(.toNearestOrEven)) }
      if precision > 0, x.isFinite {
        // Python rounds the exact binary value half-to-even, as C's printf does: round(2.675, 2) == 2.67.
        return .double(Double(String(format: "%.\(min(precision, 340))f", x)) ?? x)
      }
      return .double((x * scale).rounded(.toNearestOrEven) / scale)
    }
  }

  static func htmlEscape(_ text: String) -> String {
    text.escapingScalars(["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&#34;", "'": "&#39;"])
  }

  /// markupsafe's `striptags`: drop comments and tags, collapse whitespace, unescape the basic entities.
  private static func stripTags(_ text: String) -> String {
    var scalars = Array(text.unicodeScalars)
    for (open, close) in [("<!--", "-->"), ("<", ">")] {
      let openScalars = Array(open.unicodeScalars)
      let closeScalars = Array(close.unicodeScalars)
      while let start = findScalars(scalars, openScalars),
        let end = findScalars(scalars, closeScalars, from: start + openScalars.count)
      {
        scalars.removeSubrange(start..<(end + closeScalars.count))
      }
    }
    let collapsed = (try? StringMethods.split(String(String.UnicodeScalarView(scalars)), separator: nil, maxSplit: -1))?
      .joined(separator: " ") ?? ""
    var out = collapsed
    for (entity, replacement) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#34;", "\""), ("&#39;", "'"),
      ("&amp;", "&")]
    {
      out = StringMethods.replace(out, entity, replacement)
    }
    return out
  }

  /// jinja2's `title` filter: upper-case the first character of each word split at `-`, whitespace, `(`, `{`,
  /// `[` and `<`, lower-case the rest.
  private static func jinjaTitle(_ text: String) -> String {
    var out = ""
    var atWordStart = true
    for scalar in text.unicodeScalars {
      let isDelimiter = isPythonWhitespace(scalar) || "-({[<".unicodeScalars.contains(scalar)
      if isDelimiter {
        out.unicodeScalars.append(scalar)
        atWordStart = true
      } else {
        out += atWordStart ? scalar.properties.uppercaseMapping : scalar.properties.lowercaseMapping
        atWordStart = false
      }
    }
    return out
  }
}

private extension String {
  func replacingUnderscoresInNumber() -> String {
    // Python accepts single underscores between digits ("1_000").
    guard contains("_") else { return self }
    let scalars = Array(unicodeScalars)
    var out = String.UnicodeScalarView()
    for (index, scalar) in scalars.enumerated() {
      if scalar == "_", index > 0, index + 1 < scalars.count, scalars[index - 1].properties.numericType != nil,
        scalars[index + 1].properties.numericType != nil
      {
        continue
      }
      out.append(scalar)
    }
    return String(out)
  }
}

// MARK: - Tests

enum Tests {
  static let names: Set<String> = [
    "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped", "even", "false", "filter", "float",
    "ge", "greaterthan", "gt", "in", "integer", "iterable", "le", "lessthan", "lower", "lt", "mapping", "ne", "none",
    "number", "odd", "sameas", "sequence", "string", "test", "true", "undefined", "upper", "==", "!=", "<", "<=", ">",
    ">=",
  ]

  static func apply(_ name: String, to value: JinjaValue, arguments: Interpreter.EvaluatedArguments,
    interpreter: Interpreter) throws -> Bool
  {
    func argument() throws -> JinjaValue {
      guard let first = try arguments.bind(["other"], function: name)[0] else {
        throw RuntimeFailure(message: "test '\(name)' is missing an argument")
      }
      return first
    }
    func integer() throws -> Int {
      if case let .undefined(reason) = value { throw RuntimeFailure(message: reason) }
      guard case let .int(i)? = value.numericValue else {
        throw RuntimeFailure(message: "unsupported operand type(s) for %: '\(value.typeName)' and 'int'")
      }
      return i
    }
    switch name {
    case "defined": return !value.isUndefined
    case "undefined": return value.isUndefined
    case "none": return value.isNone
    case "boolean": if case .bool = value { return true } else { return false }
    case "true": return value == .bool(true) && { if case .bool = value { return true } else { return false } }()
    case "false": return value == .bool(false) && { if case .bool = value { return true } else { return false } }()
    case "integer": if case .int = value { return true } else { return false }
    case "float": if case .double = value { return true } else { return false }
    case "number": return value.numericValue != nil
    case "string": if case .string = value { return true } else { return false }
    case "mapping": if case .dictionary = value { return true } else { return false }
    case "iterable", "sequence":
      switch value {
      case .string, .array, .tuple, .dictionary, .undefined: return true
      case let .iterator(iterator): return name == "iterable" || iterator.typeName == "range"
      default: return false
      }
    case "callable":
      switch value {
      case .function, .undefined: return true
      default: return false
      }
    case "odd": return try integer() % 2 != 0
    case "even": return try integer() % 2 == 0
    case "divisibleby":
      let divisor = try argument()
      guard case let .int(d)? = divisor.numericValue else {
        throw RuntimeFailure(message: "unsupported operand type(s) for %")
      }
      if d == 0 { throw RuntimeFailure(message: "integer modulo by zero") }
      return try integer() % d == 0
    case "eq", "equalto", "==": return try Operators.compare(.equal, value, try argument())
    case "ne", "!=": return try Operators.compare(.notEqual, value, try argument())
    case "lt", "lessthan", "<": return try Operators.compare(.less, value, try argument())
    case "le", "<=": return try Operators.compare(.lessOrEqual, value, try argument())
    case "gt", "greaterthan", ">": return try Operators.compare(.greater, value, try argument())
    case "ge", ">=": return try Operators.compare(.greaterOrEqual, value, try argument())
    case "in": return try Operators.contains(try argument(), value)
    case "lower": return StringMethods.isLower(value.pythonString)
    case "upper": return StringMethods.isUpper(value.pythonString)
    case "sameas":
      let other = try argument()
      switch (value, other) {
      case (.none, .none): return true
      case let (.bool(a), .bool(b)): return a == b
      case (.namespace, .namespace), (.function, .function): return value == other
      default: return false
      }
    case "escaped": return false
    case "filter": return Filters.names.contains((try argument()).pythonString)
    case "test": return names.contains((try argument()).pythonString)
    default: throw RuntimeFailure(message: "No test named '\(name)'.")
    }
  }
}

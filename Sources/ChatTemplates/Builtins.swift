// Builtins.swift — attribute and item access as jinja2's ImmutableSandboxedEnvironment does it, the globals
// transformers adds (raise_exception, namespace, dict, strftime_now, range), and str/dict/list methods.

enum Builtins {
  static let globalNames: Set<String> = ["range", "dict", "namespace", "raise_exception", "strftime_now"]

  private static let stringMethods: Set<String> = [
    "capitalize", "center", "count", "endswith", "find", "format", "index", "isalnum", "isalpha", "isdigit",
    "islower", "isnumeric", "isspace", "isupper", "join", "ljust", "lower", "lstrip", "partition", "removeprefix",
    "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines",
    "startswith", "strip", "swapcase", "title", "upper", "zfill",
  ]
  /// Real `str` attributes that are not implemented: found (so `is defined` holds) but calling them throws.
  private static let otherStringAttributes: Set<String> = [
    "casefold", "encode", "expandtabs", "format_map", "isascii", "isdecimal", "isidentifier", "isprintable",
    "istitle", "maketrans", "translate",
  ]
  private static let dictMethods: Set<String> = ["items", "keys", "values", "get", "copy"]
  private static let dictUnsafe: Set<String> = ["clear", "pop", "popitem", "setdefault", "update", "fromkeys"]
  private static let listMethods: Set<String> = ["index", "count", "copy"]
  private static let listUnsafe: Set<String> = ["append", "extend", "insert", "pop", "remove", "reverse", "sort",
    "clear"]

  // MARK: - Attribute and item access

  /// jinja2's `object_type_repr`, used in Undefined messages.
  static func objectTypeRepr(_ value: JinjaValue) -> String {
    switch value {
    case .none: return "None"
    case .namespace: return "transformers.utils.chat_template_utils.TemplateNamespace object"
    default: return "\(value.typeName) object"
    }
  }

  static func missingAttribute(_ value: JinjaValue, _ name: String) -> JinjaValue {
    .undefined(reason: "\(pythonStringRepr(objectTypeRepr(value))) has no attribute \(pythonStringRepr(name))")
  }

  private static func unsafe(_ value: JinjaValue, _ name: String) -> JinjaValue {
    .undefined(
      reason: "access to attribute \(pythonStringRepr(name)) of \(pythonStringRepr(value.typeName)) object is unsafe.")
  }

  private static func method(_ value: JinjaValue, _ name: String) -> JinjaValue {
    .function(JinjaFunction(.method(receiver: value, name: name)))
  }

  /// `value.name`: Python attributes (methods) first, then dict keys; unknown names give Undefined.
  static func attribute(of value: JinjaValue, _ name: String) throws -> JinjaValue {
    switch value {
    case let .undefined(reason):
      throw RuntimeFailure(message: reason)
    case let .dictionary(dictionary):
      if dictMethods.contains(name) { return method(value, name) }
      if dictUnsafe.contains(name) { return unsafe(value, name) }
      return dictionary[name] ?? missingAttribute(value, name)
    case let .namespace(namespace):
      return namespace.attributes[name] ?? missingAttribute(value, name)
    case .string:
      if stringMethods.contains(name) || otherStringAttributes.contains(name) { return method(value, name) }
    case .array:
      if listMethods.contains(name) { return method(value, name) }
      if listUnsafe.contains(name) { return unsafe(value, name) }
    case .tuple:
      if name == "index" || name == "count" { return method(value, name) }
    default:
      break
    }
    return missingAttribute(value, name)
  }

  /// `value[key]`: items first, then (for string keys) attributes, as jinja2's `getitem`.
  static func item(of value: JinjaValue, _ key: JinjaValue) throws -> JinjaValue {
    if case let .undefined(reason) = value { throw RuntimeFailure(message: reason) }
    switch (value, key) {
    case let (.dictionary(dictionary), _):
      if let found = JinjaKey(key).flatMap({ dictionary[$0] }) { return found }
    case let (.iterator(iterator), _) where iterator.typeName == "range":
      if case let .int(index)? = key.numericValue, let found = element(iterator.consume(), index) { return found }
    case let (.array(items), _), let (.tuple(items), _):
      if case let .int(index)? = key.numericValue, let found = element(items, index) { return found }
    case let (.string(text), _):
      if case let .int(index)? = key.numericValue, let found = element(Array(text.unicodeScalars), index) {
        return .string(String(found))
      }
    default: break
    }
    if case let .string(name) = key {
      if case .dictionary = value {
        if dictMethods.contains(name) { return method(value, name) }
        if dictUnsafe.contains(name) { return unsafe(value, name) }
        return missingAttribute(value, name)
      }
      return try attribute(of: value, name)
    }
    let owner = objectTypeRepr(value)
    return .undefined(reason: "\(owner) has no element \(key.pythonRepr)")
  }

  private static func element<T>(_ items: [T], _ index: Int) -> T? {
    let position = index < 0 ? items.count + index : index
    return (0..<items.count).contains(position) ? items[position] : nil
  }

  /// Python slicing `value[start:stop:step]` of a list, tuple or string.
  static func slice(_ value: JinjaValue, start: JinjaValue?, stop: JinjaValue?, step: JinjaValue?) throws
    -> JinjaValue
  {
    func integer(_ bound: JinjaValue?) throws -> Int? {
      guard let bound, !bound.isNone else { return nil }
      if case let .undefined(reason) = bound { throw RuntimeFailure(message: reason) }
      guard case let .int(i)? = bound.numericValue else {
        throw RuntimeFailure(message: "slice indices must be integers or None or have an __index__ method")
      }
      return i
    }
    let stepValue = try integer(step) ?? 1
    if stepValue == 0 { throw RuntimeFailure(message: "slice step cannot be zero") }
    func indices(_ count: Int) throws -> [Int] {
      func adjust(_ bound: Int?, _ defaultValue: Int) -> Int {
        guard var index = bound else { return defaultValue }
        if index < 0 {
          index += count
          if index < 0 { index = stepValue < 0 ? -1 : 0 }
        } else if index >= count {
          index = stepValue < 0 ? count - 1 : count
        }
        return index
      }
      let lower = adjust(try integer(start), stepValue < 0 ? count - 1 : 0)
      let upper = adjust(try integer(stop), stepValue < 0 ? -1 : count)
      return Array(stride(from: lower, to: upper, by: stepValue))
    }
    switch value {
    case let .undefined(reason): throw RuntimeFailure(message: reason)
    case let .array(items): return .array(try indices(items.count).map { items[$0] })
    case let .tuple(items): return .tuple(try indices(items.count).map { items[$0] })
    case let .string(text):
      let scalars = Array(text.unicodeScalars)
      var out = String.UnicodeScalarView()
      for index in try indices(scalars.count) { out.append(scalars[index]) }
      return .string(String(out))
    default:
      return .undefined(reason: "\(objectTypeRepr(value)) has no element slice")
    }
  }

  // MARK: - Globals

  static func callGlobal(_ name: String, arguments: Interpreter.EvaluatedArguments, interpreter: Interpreter,
    line: Int) throws -> JinjaValue
  {
    switch name {
    case "raise_exception":
      let message = try arguments.bind(["message"], function: name)[0] ?? .undefined(reason: "")
      throw ChatTemplateError.raised(message.pythonString)
    case "range":
      return try range(arguments)
    case "namespace":
      let namespace = JinjaNamespace(try dictionary(arguments, function: name))
      interpreter.track(namespace)
      if let bad = namespace.attributes.keys.first(where: { $0.description.hasPrefix("_") }) {
        throw RuntimeFailure(
          message: "Chat templates cannot store underscore-prefixed attributes on a namespace, but got "
            + "\(bad.value.pythonRepr). Please rename the attribute.")
      }
      return .namespace(namespace)
    case "dict":
      return .dictionary(try dictionary(arguments, function: name))
    case "strftime_now":
      guard case let .string(format)? = try arguments.bind(["format"], function: name)[0] else {
        throw RuntimeFailure(message: "strftime() argument 1 must be str")
      }
      return .string(strftime(format, interpreter.date))
    default:
      throw ChatTemplateError.unsupported("unsupported function '\(name)'", line: line)
    }
  }

  /// `dict(mapping_or_pairs, **kwargs)`, also the arguments of `namespace(...)`.
  private static func dictionary(_ arguments: Interpreter.EvaluatedArguments, function: String) throws
    -> JinjaDictionary
  {
    var result = JinjaDictionary()
    if arguments.positional.count > 1 {
      throw RuntimeFailure(message: "\(function) expected at most 1 argument, got \(arguments.positional.count)")
    }
    if let first = arguments.positional.first {
      switch first {
      case let .dictionary(dictionary): result = dictionary
      case let .namespace(namespace): result = namespace.attributes
      default:
        for pair in try iterateValue(first) {
          guard let items = pair.sequenceItems, items.count == 2, let key = JinjaKey(items[0]) else {
            throw RuntimeFailure(message: "dictionary update sequence element has the wrong form")
          }
          result[key] = items[1]
        }
      }
    }
    for (key, value) in arguments.keyword { result[key] = value }
    return result
  }

  private static func range(_ arguments: Interpreter.EvaluatedArguments) throws -> JinjaValue {
    guard arguments.keyword.isEmpty else { throw RuntimeFailure(message: "range() takes no keyword arguments") }
    let numbers = try arguments.positional.map { value -> Int in
      guard case let .int(i)? = value.numericValue else {
        throw RuntimeFailure(message: "'\(value.typeName)' object cannot be interpreted as an integer")
      }
      return i
    }
    let (start, stop, step): (Int, Int, Int)
    switch numbers.count {
    case 1: (start, stop, step) = (0, numbers[0], 1)
    case 2: (start, stop, step) = (numbers[0], numbers[1], 1)
    case 3: (start, stop, step) = (numbers[0], numbers[1], numbers[2])
    default: throw RuntimeFailure(message: "range expected at most 3 arguments, got \(numbers.count)")
    }
    if step == 0 { throw RuntimeFailure(message: "range() arg 3 must not be zero") }
    let count = step > 0 ? max(0, (stop - start + step - 1) / step) : max(0, (start - stop - step - 1) / -step)
    if count > 100_000 {
      throw ChatTemplateError.limitExceeded(
        "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).")
    }
    let description = numbers.count == 3 ? "range(\(start), \(stop), \(step))" : "range(\(start), \(stop))"
    return .iterator(JinjaIterator("range", stride(from: start, to: stop, by: step).map { .int($0) }, reusable: true,
      repr: description))
  }

  // MARK: - Methods

  static func callMethod(_ name: String, on receiver: JinjaValue, arguments: Interpreter.EvaluatedArguments,
    interpreter: Interpreter, line: Int) throws -> JinjaValue
  {
    switch receiver {
    case let .string(text):
      return try StringMethods.call(name, on: text, arguments: arguments, interpreter: interpreter, line: line)
    case let .dictionary(dictionary):
      switch name {
      case "items":
        return .iterator(JinjaIterator("dict_items", dictionary.pairs.map { .tuple([$0.0.value, $0.1]) }, reusable: true))
      case "keys": return .iterator(JinjaIterator("dict_keys", dictionary.keys.map(\.value), reusable: true))
      case "values": return .iterator(JinjaIterator("dict_values", dictionary.values, reusable: true))
      case "copy": return receiver
      case "get":
        let bound = try arguments.bind(["key", "default"], function: "get")
        guard let key = bound[0] else { throw RuntimeFailure(message: "get expected at least 1 argument, got 0") }
        if let found = JinjaKey(key).flatMap({ dictionary[$0] }) { return found }
        return bound[1] ?? .none
      default: break
      }
    case let .array(items), let .tuple(items):
      switch name {
      case "copy": return receiver
      case "count":
        let bound = try arguments.bind(["value"], function: "count")
        return .int(items.filter { $0 == (bound[0] ?? .none) }.count)
      case "index":
        let bound = try arguments.bind(["value"], function: "index")
        guard let position = items.firstIndex(of: bound[0] ?? .none) else {
          throw RuntimeFailure(message: "\((bound[0] ?? .none).pythonRepr) is not in \(receiver.typeName)")
        }
        return .int(position)
      default: break
      }
    default: break
    }
    throw ChatTemplateError.unsupported("unsupported method '\(name)' of '\(receiver.typeName)'", line: line)
  }

  // MARK: - strftime

  private static let dayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
  private static let monthNames = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"]

  /// C-locale `strftime` for a fixed date (glibc's `%-d` style unpadded flags included).
  static func strftime(_ format: String, _ date: TemplateDate) -> String {
    // Days since 1970-01-01 (proleptic Gregorian), for the weekday and day of the year.
    func days(_ y: Int, _ m: Int, _ d: Int) -> Int {
      let year = m <= 2 ? y - 1 : y
      let era = (year >= 0 ? year : year - 399) / 400
      let yearOfEra = year - era * 400
      let dayOfYear = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
      let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
      return era * 146097 + dayOfEra - 719468
    }
    let weekday = ((days(date.year, date.month, date.day) % 7) + 7 + 3) % 7  // 0 = Monday
    let dayOfYear = days(date.year, date.month, date.day) - days(date.year, 1, 1) + 1
    let hour12 = date.hour % 12 == 0 ? 12 : date.hour % 12
    func pad(_ value: Int, _ width: Int, _ unpadded: Bool) -> String {
      let digits = String(value)
      return unpadded ? digits : String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
    var out = ""
    var iterator = format.makeIterator()
    while let character = iterator.next() {
      guard character == "%" else {
        out.append(character)
        continue
      }
      guard var directive = iterator.next() else {
        out.append("%")
        break
      }
      var unpadded = false
      if directive == "-", let next = iterator.next() {
        unpadded = true
        directive = next
      }
      let month = max(1, min(12, date.month))
      switch directive {
      case "a": out += String(dayNames[weekday].prefix(3))
      case "A": out += dayNames[weekday]
      case "b", "h": out += String(monthNames[month - 1].prefix(3))
      case "B": out += monthNames[month - 1]
      case "d": out += pad(date.day, 2, unpadded)
      case "e": out += unpadded ? String(date.day) : (date.day < 10 ? " " : "") + String(date.day)
      case "m": out += pad(date.month, 2, unpadded)
      case "Y": out += String(date.year)
      case "y": out += pad(date.year % 100, 2, unpadded)
      case "H": out += pad(date.hour, 2, unpadded)
      case "I": out += pad(hour12, 2, unpadded)
      case "M": out += pad(date.minute, 2, unpadded)
      case "S": out += pad(date.second, 2, unpadded)
      case "p": out += date.hour < 12 ? "AM" : "PM"
      case "j": out += pad(dayOfYear, 3, unpadded)
      case "u": out += String(weekday + 1)
      case "w": out += String((weekday + 1) % 7)
      case "F": out += strftime("%Y-%m-%d", date)
      case "D", "x": out += strftime("%m/%d/%y", date)
      case "T", "X": out += strftime("%H:%M:%S", date)
      case "R": out += strftime("%H:%M", date)
      case "c": out += strftime("%a %b %e %H:%M:%S %Y", date)
      case "n": out += "\n"
      case "t": out += "\t"
      case "%": out += "%"
      case "Z", "z": break
      default: out += "%" + (unpadded ? "-" : "") + String(directive)
      }
    }
    return out
  }
}

// Interpreter.swift — runs parsed statements in a sandbox: jinja2 scoping (fresh scope per loop iteration and
// macro call), Python operators, bounded output, loop iterations and recursion.

/// Sandbox bounds for one render. Exceeding one throws `ChatTemplateError.limitExceeded`.
public struct ChatTemplateLimits: Sendable, Equatable {
  /// Largest output (and largest string built while rendering), in UTF-8 bytes.
  public var maxOutputBytes: Int
  /// Total loop iterations across all `for` loops of one render.
  public var maxLoopIterations: Int
  /// Deepest nesting of macro calls.
  public var maxCallDepth: Int

  public init(maxOutputBytes: Int = 1_000_000, maxLoopIterations: Int = 1_000_000, maxCallDepth: Int = 64) {
    self.maxOutputBytes = maxOutputBytes
    self.maxLoopIterations = maxLoopIterations
    self.maxCallDepth = maxCallDepth
  }
}

/// Variables visible at one point: a chain of frames (template, loop iteration, macro call).
final class Scope {
  var variables: [String: JinjaValue] = [:]
  let parent: Scope?
  init(parent: Scope?) { self.parent = parent }

  func lookup(_ name: String) -> JinjaValue? {
    var scope: Scope? = self
    while let current = scope {
      if let value = current.variables[name] { return value }
      scope = current.parent
    }
    return nil
  }
}

/// A fixed calendar date and time for `strftime_now`, so renders are reproducible.
public struct TemplateDate: Sendable, Equatable {
  public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
  public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
    (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
  }
}

final class Interpreter {
  enum Flow { case normal, breakLoop, continueLoop }

  let limits: ChatTemplateLimits
  let date: TemplateDate
  private var buffers: [String] = [""]
  private var outputBytes = 0
  private var captureBytes: [Int] = []
  private var iterations = 0
  private var callDepth = 0
  /// What may be part of a reference cycle once the render is over: scopes a macro captured (the macro is stored in
  /// the scope, the scope in the macro) and namespaces (a namespace may be stored in itself). `render` empties them
  /// at the end, so everything the template built is freed.
  private var capturedScopes: [ObjectIdentifier: Scope] = [:]
  private var namespaces: [JinjaNamespace] = []

  init(limits: ChatTemplateLimits, date: TemplateDate) {
    self.limits = limits
    self.date = date
  }

  func render(_ statements: [Statement], scope: Scope) throws -> String {
    defer { breakCycles() }
    _ = try execute(statements, scope: scope)
    return buffers[0]
  }

  /// A macro defined in (or a caller block called from) `scope`.
  private func macro(_ definition: MacroDefinition, in scope: Scope) -> JinjaValue {
    capturedScopes[ObjectIdentifier(scope)] = scope
    return .function(JinjaFunction(.macro(definition, scope: scope)))
  }

  /// A namespace made by `namespace(...)`, emptied when the render ends.
  func track(_ namespace: JinjaNamespace) { namespaces.append(namespace) }

  private func breakCycles() {
    for scope in capturedScopes.values { scope.variables.removeAll() }
    for namespace in namespaces { namespace.attributes = JinjaDictionary() }
    capturedScopes.removeAll()
    namespaces.removeAll()
  }

  // MARK: - Output

  /// Appends to the output, or to the text a macro or block is capturing; each is bounded by `maxOutputBytes`.
  private func write(_ text: String) throws {
    if buffers.count == 1 {
      outputBytes += text.utf8.count
    } else {
      captureBytes[captureBytes.count - 1] += text.utf8.count
    }
    if outputBytes > limits.maxOutputBytes || (captureBytes.last ?? 0) > limits.maxOutputBytes {
      throw ChatTemplateError.limitExceeded("output exceeds \(limits.maxOutputBytes) bytes")
    }
    buffers[buffers.count - 1] += text
  }

  /// Renders `body` into a separate buffer (macros, block `set`, `filter` blocks) and returns the text.
  private func capture(_ body: () throws -> Void) rethrows -> String {
    buffers.append("")
    captureBytes.append(0)
    defer {
      buffers.removeLast()
      captureBytes.removeLast()
    }
    try body()
    return buffers[buffers.count - 1]
  }

  /// Guards strings built by operators and filters, so `ns.x = ns.x ~ ns.x` cannot grow without bound.
  func checked(_ text: String) throws -> String {
    if text.utf8.count > limits.maxOutputBytes {
      throw RuntimeFailure(message: "string exceeds \(limits.maxOutputBytes) bytes")
    }
    return text
  }

  // MARK: - Statements

  func execute(_ statements: [Statement], scope: Scope) throws -> Flow {
    for statement in statements {
      let flow = try execute(statement, scope: scope)
      if flow != .normal { return flow }
    }
    return .normal
  }

  private func execute(_ statement: Statement, scope: Scope) throws -> Flow {
    try reportingFailures(at: statement.line) { try executeUnchecked(statement, scope: scope) }
  }

  /// Runs `body`; a RuntimeFailure it throws becomes a runtime error at `line` (the innermost statement or
  /// expression, as jinja2's traceback names it).
  @inline(__always) private func reportingFailures<T>(at line: Int, _ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let failure as RuntimeFailure {
      throw ChatTemplateError.runtime(failure.message, line: line)
    }
  }

  private func executeUnchecked(_ statement: Statement, scope: Scope) throws -> Flow {
    switch statement.kind {
    case let .text(text):
      try write(text)
    case let .output(expression):
      try write(try evaluate(expression, scope: scope).pythonString)
    case let .ifChain(branches, otherwise):
      for branch in branches where try evaluate(branch.condition, scope: scope).isTruthy {
        return try execute(branch.body, scope: scope)
      }
      return try execute(otherwise, scope: scope)
    case let .forLoop(target, iterable, condition, body, otherwise):
      return try executeFor(target: target, iterable: iterable, condition: condition, body: body,
        otherwise: otherwise, scope: scope)
    case let .set(target, expression):
      try assign(target, value: try evaluateRaw(expression, scope: scope), scope: scope)
    case let .setBlock(target, filter, body):
      var value = JinjaValue.string(try capture { _ = try execute(body, scope: scope) })
      if let filter { value = try applyFilterChain(filter, to: value, scope: scope) }
      try assign(target, value: value, scope: scope)
    case let .macro(definition):
      scope.variables[definition.name] = macro(definition, in: scope)
    case let .callBlock(call, caller):
      guard case let .call(callee, arguments) = call.kind else { break }
      let function = try evaluate(callee, scope: scope)
      let callerValue = macro(caller, in: scope)
      let result = try callValue(function, arguments: arguments, scope: scope, extraKeywords: ["caller": callerValue],
        line: call.line)
      try write(result.pythonString)
    case let .filterBlock(filter, body):
      let text = try capture { _ = try execute(body, scope: scope) }
      try write(try applyFilterChain(filter, to: .string(text), scope: scope).pythonString)
    case let .scoped(assignments, body):
      let inner = Scope(parent: scope)
      for (target, expression) in assignments {
        try assign(target, value: try evaluate(expression, scope: scope), scope: inner)
      }
      return try execute(body, scope: inner)
    case .breakLoop:
      return .breakLoop
    case .continueLoop:
      return .continueLoop
    }
    return .normal
  }

  /// Applies a filter chain parsed with no base value (`{% filter a|b %}`, `{% set x | a %}`) to `value`.
  private func applyFilterChain(_ filter: Expression, to value: JinjaValue, scope: Scope) throws -> JinjaValue {
    guard case let .filter(base, name, arguments) = filter.kind else { return value }
    let input = try base.map { try applyFilterChain($0, to: value, scope: scope) } ?? value
    return try applyFilter(name, to: input, arguments: arguments, scope: scope, line: filter.line)
  }

  private func executeFor(target: AssignTarget, iterable: Expression, condition: Expression?, body: [Statement],
    otherwise: [Statement], scope: Scope) throws -> Flow
  {
    var items = try iterate(try evaluate(iterable, scope: scope))
    if let condition {
      // jinja2 filters first, so loop.index and loop.length count only the kept items.
      items = try items.filter { item in
        let probe = Scope(parent: scope)
        try assign(target, value: item, scope: probe)
        return try evaluate(condition, scope: probe).isTruthy
      }
    }
    if items.isEmpty { return try execute(otherwise, scope: scope) }
    let count = items.count
    for (index, item) in items.enumerated() {
      iterations += 1
      if iterations > limits.maxLoopIterations {
        throw ChatTemplateError.limitExceeded("more than \(limits.maxLoopIterations) loop iterations")
      }
      let iterationScope = Scope(parent: scope)
      let loop: JinjaDictionary = [
        "index": .int(index + 1), "index0": .int(index), "revindex": .int(count - index),
        "revindex0": .int(count - index - 1), "first": .bool(index == 0), "last": .bool(index == count - 1),
        "length": .int(count), "depth": 1, "depth0": 0,
        "previtem": index > 0 ? items[index - 1] : .undefined(reason: "there is no previous item"),
        "nextitem": index + 1 < count ? items[index + 1] : .undefined(reason: "there is no next item"),
        "cycle": .function(JinjaFunction(.cycle(index0: index))),
      ]
      iterationScope.variables["loop"] = .dictionary(loop)
      try assign(target, value: item, scope: iterationScope)
      if try execute(body, scope: iterationScope) == .breakLoop { break }
    }
    return .normal
  }

  func iterate(_ value: JinjaValue) throws -> [JinjaValue] { try iterateValue(value) }

  private func assign(_ target: AssignTarget, value: JinjaValue, scope: Scope) throws {
    switch target {
    case let .name(name):
      scope.variables[name] = value
    case let .tuple(targets):
      let items = try iterate(value)
      guard items.count == targets.count else {
        throw RuntimeFailure(
          message: items.count > targets.count
            ? "too many values to unpack (expected \(targets.count))"
            : "not enough values to unpack (expected \(targets.count), got \(items.count))")
      }
      for (target, item) in zip(targets, items) { try assign(target, value: item, scope: scope) }
    case let .namespaceAttribute(name, attribute):
      guard case let .namespace(namespace)? = scope.lookup(name) else {
        throw RuntimeFailure(message: "cannot assign attribute on non-namespace object")
      }
      if attribute.hasPrefix("_") {
        throw RuntimeFailure(
          message: "Chat templates cannot store underscore-prefixed attributes on a namespace, but got "
            + "\(pythonStringRepr(attribute)). Please rename the attribute.")
      }
      namespace.attributes[attribute] = value
    }
  }

  // MARK: - Expressions

  func evaluate(_ expression: Expression, scope: Scope) throws -> JinjaValue {
    try evaluateRaw(expression, scope: scope).demotingMarkup
  }

  /// Like `evaluate`, but a Markup result stays Markup (for `+`, `set`, and/or, inline if and filters).
  private func evaluateRaw(_ expression: Expression, scope: Scope) throws -> JinjaValue {
    try reportingFailures(at: expression.line) { try evaluateUnchecked(expression, scope: scope) }
  }

  private func evaluateUnchecked(_ expression: Expression, scope: Scope) throws -> JinjaValue {
    switch expression.kind {
    case let .literal(value):
      return value
    case let .name(name):
      if let value = scope.lookup(name) { return value }
      if Builtins.globalNames.contains(name) { return .function(JinjaFunction(.global(name))) }
      return .undefined(reason: "'\(name)' is undefined")
    case let .list(items):
      return .array(try items.map { try evaluate($0, scope: scope) })
    case let .tuple(items):
      return .tuple(try items.map { try evaluate($0, scope: scope) })
    case let .dictionary(pairs):
      var dictionary = JinjaDictionary()
      for pair in pairs {
        let key = try evaluate(pair.key, scope: scope)
        guard let dictionaryKey = JinjaKey(key) else {
          throw RuntimeFailure(message: "unsupported dictionary key of type '\(key.typeName)'")
        }
        dictionary[dictionaryKey] = try evaluate(pair.value, scope: scope)
      }
      return .dictionary(dictionary)
    case let .attribute(base, name):
      return try Builtins.attribute(of: try evaluate(base, scope: scope), name)
    case let .item(base, argument):
      let value = try evaluate(base, scope: scope)
      if case let .slice(start, stop, step) = argument.kind {
        return try Builtins.slice(value, start: try start.map { try evaluate($0, scope: scope) },
          stop: try stop.map { try evaluate($0, scope: scope) }, step: try step.map { try evaluate($0, scope: scope) })
      }
      return try Builtins.item(of: value, try evaluate(argument, scope: scope))
    case .slice:
      throw RuntimeFailure(message: "slice outside of a subscript")
    case let .call(callee, arguments):
      return try callValue(try evaluate(callee, scope: scope), arguments: arguments, scope: scope,
        line: expression.line)
    case let .filter(base, name, arguments):
      let value = try base.map { try evaluateRaw($0, scope: scope) } ?? .undefined(reason: "no value")
      return try applyFilter(name, to: value, arguments: arguments, scope: scope, line: expression.line)
    case let .test(base, name, arguments):
      guard Tests.names.contains(name) else {
        throw ChatTemplateError.unsupported("unsupported test '\(name)'", line: expression.line)
      }
      let value = try evaluate(base, scope: scope)
      let evaluated = try evaluateArguments(arguments, scope: scope)
      return .bool(try Tests.apply(name, to: value, arguments: evaluated, interpreter: self))
    case let .not(operand):
      return .bool(!(try evaluate(operand, scope: scope).isTruthy))
    case let .negate(operand):
      return try Operators.negate(try evaluate(operand, scope: scope))
    case let .plus(operand):
      let value = try evaluate(operand, scope: scope)
      if case let .undefined(reason) = value { throw RuntimeFailure(message: reason) }
      guard let number = value.numericValue else {
        throw RuntimeFailure(message: "bad operand type for unary +: '\(value.typeName)'")
      }
      return number
    case let .binary(op, left, right):
      return try Operators.binary(op, try evaluateRaw(left, scope: scope), try evaluateRaw(right, scope: scope),
        interpreter: self)
    case let .and(left, right):
      let value = try evaluateRaw(left, scope: scope)
      return value.isTruthy ? try evaluateRaw(right, scope: scope) : value
    case let .or(left, right):
      let value = try evaluateRaw(left, scope: scope)
      return value.isTruthy ? value : try evaluateRaw(right, scope: scope)
    case let .compare(first, operations):
      var left = try evaluate(first, scope: scope)
      for (op, rightExpression) in operations {
        let right = try evaluate(rightExpression, scope: scope)
        if !(try Operators.compare(op, left, right)) { return .bool(false) }
        left = right
      }
      return .bool(true)
    case let .conditional(condition, then, otherwise):
      if try evaluate(condition, scope: scope).isTruthy { return try evaluateRaw(then, scope: scope) }
      if let otherwise { return try evaluateRaw(otherwise, scope: scope) }
      return .undefined(reason: "the inline if-expression on line \(expression.line) evaluated to false and no "
        + "else section was defined.")
    }
  }

  struct EvaluatedArguments {
    var positional: [JinjaValue]
    var keyword: [(name: String, value: JinjaValue)]

    func keywordValue(_ name: String) -> JinjaValue? { keyword.last { $0.name == name }?.value }

    /// Binds arguments to a Python-style signature; unknown keywords or too many positionals throw.
    func bind(_ parameters: [String], function: String) throws -> [JinjaValue?] {
      if positional.count > parameters.count {
        throw RuntimeFailure(
          message: "\(function)() takes at most \(parameters.count) argument(s) (\(positional.count) given)")
      }
      var bound: [JinjaValue?] = positional.map { $0 } + Array(repeating: nil, count: parameters.count - positional.count)
      for (name, value) in keyword {
        guard let index = parameters.firstIndex(of: name) else {
          throw RuntimeFailure(message: "\(function)() got an unexpected keyword argument '\(name)'")
        }
        bound[index] = value
      }
      return bound
    }
  }

  func evaluateArguments(_ arguments: Arguments, scope: Scope) throws -> EvaluatedArguments {
    EvaluatedArguments(
      positional: try arguments.positional.map { try evaluate($0, scope: scope) },
      keyword: try arguments.keyword.map { ($0.name, try evaluate($0.value, scope: scope)) })
  }

  private func applyFilter(_ name: String, to value: JinjaValue, arguments: Arguments, scope: Scope, line: Int) throws
    -> JinjaValue
  {
    let evaluated = try evaluateArguments(arguments, scope: scope)
    return try Filters.apply(name, to: value, arguments: evaluated, interpreter: self, line: line)
  }

  // MARK: - Calls

  private func callValue(_ callee: JinjaValue, arguments: Arguments, scope: Scope,
    extraKeywords: [String: JinjaValue] = [:], line: Int) throws -> JinjaValue
  {
    var evaluated = try evaluateArguments(arguments, scope: scope)
    for (name, value) in extraKeywords { evaluated.keyword.append((name, value)) }
    return try call(callee, arguments: evaluated, line: line)
  }

  func call(_ callee: JinjaValue, arguments: EvaluatedArguments, line: Int) throws -> JinjaValue {
    switch callee {
    case let .function(function):
      switch function.kind {
      case let .global(name):
        return try Builtins.callGlobal(name, arguments: arguments, interpreter: self, line: line)
      case let .method(receiver, name):
        return try Builtins.callMethod(name, on: receiver, arguments: arguments, interpreter: self, line: line)
      case let .macro(definition, scope):
        return try callMacro(definition, definitionScope: scope, arguments: arguments)
      case let .cycle(index0):
        guard !arguments.positional.isEmpty else { throw RuntimeFailure(message: "no items for cycling given") }
        return arguments.positional[index0 % arguments.positional.count]
      }
    case let .undefined(reason):
      throw RuntimeFailure(message: reason)
    default:
      throw RuntimeFailure(message: "'\(callee.typeName)' object is not callable")
    }
  }

  private func callMacro(_ definition: MacroDefinition, definitionScope: Scope, arguments: EvaluatedArguments) throws
    -> JinjaValue
  {
    callDepth += 1
    defer { callDepth -= 1 }
    if callDepth > limits.maxCallDepth {
      throw ChatTemplateError.limitExceeded("macro calls nested deeper than \(limits.maxCallDepth)")
    }
    let parameters = definition.parameters
    let scope = Scope(parent: definitionScope)
    if arguments.positional.count > parameters.count {
      throw RuntimeFailure(message: "macro '\(definition.name)' takes not more than \(parameters.count) argument(s)")
    }
    for (index, parameter) in parameters.enumerated() {
      if index < arguments.positional.count {
        scope.variables[parameter.name] = arguments.positional[index]
      } else if let value = arguments.keywordValue(parameter.name) {
        scope.variables[parameter.name] = value
      } else if let defaultValue = parameter.defaultValue {
        scope.variables[parameter.name] = try evaluate(defaultValue, scope: scope)
      } else {
        scope.variables[parameter.name] = .undefined(reason: "parameter '\(parameter.name)' was not provided")
      }
    }
    for (name, value) in arguments.keyword where !parameters.contains(where: { $0.name == name }) {
      guard name == "caller" else {
        throw RuntimeFailure(message: "macro '\(definition.name)' takes no keyword argument '\(name)'")
      }
      scope.variables[name] = value
    }
    scope.variables["varargs"] = .tuple([])
    scope.variables["kwargs"] = .dictionary(JinjaDictionary())
    let text = try capture { _ = try execute(definition.body, scope: scope) }
    return .string(text)
  }
}

/// What a `for` loop (or `list`) visits: list/tuple items, string characters, dict keys, an iterator's items
/// (using up a generator); Undefined is empty.
func iterateValue(_ value: JinjaValue) throws -> [JinjaValue] {
  switch value {
  case let .array(items), let .tuple(items): return items
  case let .string(text): return text.unicodeScalars.map { .string(String($0)) }
  case let .dictionary(dictionary): return dictionary.keys.map(\.value)
  case let .iterator(iterator): return iterator.consume()
  case .undefined: return []
  default: throw RuntimeFailure(message: "'\(value.typeName)' object is not iterable")
  }
}

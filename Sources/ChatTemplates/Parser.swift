// Parser.swift — turns tokens into statements and expressions, following jinja2 3.1's parser.py
// (same precedence, same tuple/filter/test rules), and rejects filters and tests this interpreter lacks.
import Support

struct Parser {
  private let tokens: [Token]
  private var index = 0
  private var loopDepth = 0
  private var depth = 0
  private let maxDepth: Int

  init(tokens: [Token], maxDepth: Int) {
    self.tokens = tokens
    self.maxDepth = maxDepth
  }

  static func parse(_ source: String, maxDepth: Int = 200) throws -> [Statement] {
    var parser = Parser(tokens: try Lexer.tokenize(source), maxDepth: maxDepth)
    return try parser.parseTemplate()
  }

  // MARK: - Token helpers

  private var current: Token { index < tokens.count ? tokens[index] : Token(kind: .eof, line: lastLine, column: 0) }
  private var lastLine: Int { tokens.last?.line ?? 1 }
  private func peek(_ offset: Int = 1) -> Token {
    index + offset < tokens.count ? tokens[index + offset] : Token(kind: .eof, line: lastLine, column: 0)
  }
  private mutating func advance() { index += 1 }

  private func isName(_ name: String, _ token: Token? = nil) -> Bool { (token ?? current).kind == .name(name) }
  private func isOp(_ op: String, _ token: Token? = nil) -> Bool { (token ?? current).kind == .op(op) }

  private func describe(_ token: Token) -> String {
    switch token.kind {
    case let .text(text): return "template data \(pythonStringRepr(text))"
    case .variableBegin: return "begin of print statement"
    case .variableEnd: return "end of print statement"
    case .blockBegin: return "begin of statement block"
    case .blockEnd: return "end of statement block"
    case let .name(name): return name
    case let .string(text): return pythonStringRepr(text)
    case let .integer(value): return String(value)
    case let .float(value): return pythonFloatRepr(value)
    case let .op(op): return op
    case .eof: return "end of template"
    }
  }

  private func fail(_ message: String, _ token: Token? = nil) -> ChatTemplateError {
    let token = token ?? current
    return .syntax(message, line: token.line, column: token.kind == .eof ? nil : token.column)
  }

  private mutating func expectOp(_ op: String) throws {
    guard isOp(op) else { throw fail("expected token '\(op)', got '\(describe(current))'") }
    advance()
  }

  private mutating func expectName() throws -> String {
    guard case let .name(name) = current.kind else { throw fail("expected name, got '\(describe(current))'") }
    advance()
    return name
  }

  private mutating func expectBlockEnd() throws {
    guard current.kind == .blockEnd else {
      throw fail("expected token 'end of statement block', got '\(describe(current))'")
    }
    advance()
  }

  private mutating func enter() throws {
    depth += 1
    if depth > maxDepth { throw ChatTemplateError.limitExceeded("template nesting deeper than \(maxDepth)") }
  }

  // MARK: - Statements

  mutating func parseTemplate() throws -> [Statement] {
    let body = try subparse(until: [])
    guard current.kind == .eof else { throw fail("unexpected '\(describe(current))'") }
    try FilterCheck.check(body, soft: false)
    return body
  }

  /// Statements up to a `{% name %}` whose name is in `endNames`; stops with `current` on that name.
  private mutating func subparse(until endNames: Set<String>) throws -> [Statement] {
    try enter()
    defer { depth -= 1 }
    var body: [Statement] = []
    while true {
      let token = current
      switch token.kind {
      case let .text(text):
        body.append(Statement(kind: .text(text), line: token.line))
        advance()
      case .variableBegin:
        advance()
        let expression = try parseTuple()
        guard current.kind == .variableEnd else {
          throw fail("expected token 'end of print statement', got '\(describe(current))'")
        }
        advance()
        body.append(Statement(kind: .output(expression), line: token.line))
      case .blockBegin:
        advance()
        if case let .name(name) = current.kind, endNames.contains(name) { return body }
        body.append(try parseStatement())
        try expectBlockEnd()
      case .eof:
        if endNames.isEmpty { return body }
        let expected = endNames.sorted().map { "'\($0)'" }.joined(separator: " or ")
        throw fail("Unexpected end of template. Jinja was looking for the following tags: \(expected).")
      default:
        throw fail("unexpected '\(describe(token))'")
      }
    }
  }

  /// jinja2's parse_statements: `%}`, then the body up to one of `endNames`; `dropNeedle` consumes the end name.
  private mutating func parseBody(until endNames: Set<String>, dropNeedle: Bool = false) throws -> [Statement] {
    if isOp(":") { advance() }
    try expectBlockEnd()
    let body = try subparse(until: endNames)
    if dropNeedle { advance() }
    return body
  }

  private mutating func parseStatement() throws -> Statement {
    let token = current
    guard case let .name(name) = token.kind else { throw fail("tag name expected") }
    let line = token.line
    switch name {
    case "if": return try parseIf()
    case "for": return try parseFor()
    case "set": return try parseSet()
    case "macro": return try parseMacro()
    case "call": return try parseCallBlock()
    case "filter":
      advance()
      guard let filter = try parseFilter(nil, startInline: true) else { throw fail("expected filter") }
      let body = try parseBody(until: ["endfilter"], dropNeedle: true)
      return Statement(kind: .filterBlock(filter, body: body), line: line)
    case "with":
      advance()
      var assignments: [(AssignTarget, Expression)] = []
      while current.kind != .blockEnd {
        if !assignments.isEmpty { try expectOp(",") }
        let target = try parseAssignTarget()
        try expectOp("=")
        assignments.append((target, try parseExpression()))
      }
      let body = try parseBody(until: ["endwith"], dropNeedle: true)
      return Statement(kind: .scoped(assignments: assignments, body: body), line: line)
    case "generation":
      advance()
      let body = try parseBody(until: ["endgeneration"], dropNeedle: true)
      return Statement(kind: .scoped(assignments: [], body: body), line: line)
    case "break", "continue":
      advance()
      guard loopDepth > 0 else { throw fail("'\(name)' outside of a loop", token) }
      return Statement(kind: name == "break" ? .breakLoop : .continueLoop, line: line)
    case "block", "extends", "include", "import", "from", "autoescape", "print", "do":
      throw ChatTemplateError.unsupported("unsupported tag '\(name)'", line: line)
    default:
      throw fail("Encountered unknown tag '\(name)'.")
    }
  }

  private mutating func parseIf() throws -> Statement {
    let line = current.line
    advance()
    var branches: [(condition: Expression, body: [Statement])] = []
    var otherwise: [Statement] = []
    while true {
      let condition = try parseTuple(withCondexpr: false)
      let body = try parseBody(until: ["elif", "else", "endif"])
      branches.append((condition, body))
      let name = try expectName()
      if name == "elif" { continue }
      if name == "else" { otherwise = try parseBody(until: ["endif"], dropNeedle: true) }
      break
    }
    return Statement(kind: .ifChain(branches, otherwise: otherwise), line: line)
  }

  private mutating func parseFor() throws -> Statement {
    let line = current.line
    advance()
    let target = try parseAssignTarget(extraEndNames: ["in"])
    guard isName("in") else { throw fail("expected token 'in', got '\(describe(current))'") }
    advance()
    let iterable = try parseTuple(withCondexpr: false, extraEndNames: ["recursive"])
    var condition: Expression?
    if isName("if") {
      advance()
      condition = try parseExpression()
    }
    if isName("recursive") { throw ChatTemplateError.unsupported("unsupported recursive for loop", line: line) }
    loopDepth += 1
    let body = try parseBody(until: ["endfor", "else"])
    loopDepth -= 1
    var otherwise: [Statement] = []
    if try expectName() == "else" { otherwise = try parseBody(until: ["endfor"], dropNeedle: true) }
    return Statement(
      kind: .forLoop(target: target, iterable: iterable, condition: condition, body: body, otherwise: otherwise),
      line: line)
  }

  private mutating func parseSet() throws -> Statement {
    let line = current.line
    advance()
    let target = try parseAssignTarget(withNamespace: true)
    if isOp("=") {
      advance()
      return Statement(kind: .set(target, try parseTuple()), line: line)
    }
    let filter = try parseFilter(nil)
    let body = try parseBody(until: ["endset"], dropNeedle: true)
    return Statement(kind: .setBlock(target, filter: filter, body: body), line: line)
  }

  private mutating func parseSignature() throws -> [(name: String, defaultValue: Expression?)] {
    var parameters: [(name: String, defaultValue: Expression?)] = []
    try expectOp("(")
    while !isOp(")") {
      if !parameters.isEmpty { try expectOp(",") }
      let name = try expectName()
      var defaultValue: Expression?
      if isOp("=") {
        advance()
        defaultValue = try parseExpression()
      } else if parameters.contains(where: { $0.defaultValue != nil }) {
        throw fail("non-default argument follows default argument")
      }
      parameters.append((name, defaultValue))
    }
    advance()
    return parameters
  }

  private mutating func parseMacro() throws -> Statement {
    let line = current.line
    advance()
    let name = try expectName()
    let parameters = try parseSignature()
    let savedLoopDepth = loopDepth
    loopDepth = 0
    defer { loopDepth = savedLoopDepth }
    let body = try parseBody(until: ["endmacro"], dropNeedle: true)
    return Statement(kind: .macro(MacroDefinition(name: name, parameters: parameters, body: body)), line: line)
  }

  private mutating func parseCallBlock() throws -> Statement {
    let line = current.line
    advance()
    let parameters = isOp("(") ? try parseSignature() : []
    let call = try parseExpression()
    guard case .call = call.kind else { throw fail("expected call", current) }
    let savedLoopDepth = loopDepth
    loopDepth = 0
    defer { loopDepth = savedLoopDepth }
    let body = try parseBody(until: ["endcall"], dropNeedle: true)
    let caller = MacroDefinition(name: "caller", parameters: parameters, body: body)
    return Statement(kind: .callBlock(call: call, caller: caller), line: line)
  }

  private mutating func parseAssignTarget(extraEndNames: Set<String> = [], withNamespace: Bool = false) throws
    -> AssignTarget
  {
    var targets: [AssignTarget] = []
    var isTuple = false
    while true {
      if !targets.isEmpty { try expectOp(",") }
      if isTupleEnd(extraEndNames) { break }
      let token = current
      let name = try expectName()
      if ["true", "false", "True", "False", "none", "None"].contains(name) {
        throw fail("can't assign to '\(name)'", token)
      }
      if withNamespace && isOp(".") {
        advance()
        targets.append(.namespaceAttribute(name, try expectName()))
      } else {
        targets.append(.name(name))
      }
      if isOp(",") { isTuple = true } else { break }
    }
    if !isTuple, let only = targets.first { return only }
    if targets.isEmpty { throw fail("expected an assignment target, got '\(describe(current))'") }
    return .tuple(targets)
  }

  // MARK: - Expressions

  private func isTupleEnd(_ extraEndNames: Set<String>) -> Bool {
    switch current.kind {
    case .variableEnd, .blockEnd, .op(")"): return true
    case let .name(name): return extraEndNames.contains(name)
    default: return false
    }
  }

  private mutating func parseTuple(withCondexpr: Bool = true, extraEndNames: Set<String> = [],
    explicitParentheses: Bool = false) throws -> Expression
  {
    let line = current.line
    var items: [Expression] = []
    var isTuple = false
    while true {
      if !items.isEmpty { try expectOp(",") }
      if isTupleEnd(extraEndNames) { break }
      items.append(try parseExpression(withCondexpr: withCondexpr))
      if isOp(",") { isTuple = true } else { break }
    }
    if !isTuple {
      if let only = items.first { return only }
      if !explicitParentheses { throw fail("Expected an expression, got '\(describe(current))'") }
    }
    return Expression(.tuple(items), line: line)
  }

  private mutating func parseExpression(withCondexpr: Bool = true) throws -> Expression {
    try enter()
    defer { depth -= 1 }
    return withCondexpr ? try parseConditional() : try parseOr()
  }

  private mutating func parseConditional() throws -> Expression {
    let line = current.line
    var expression = try parseOr()
    while isName("if") {
      advance()
      let condition = try parseOr()
      var otherwise: Expression?
      if isName("else") {
        advance()
        otherwise = try parseConditional()
      }
      expression = Expression(.conditional(condition: condition, then: expression, otherwise: otherwise), line: line)
    }
    return expression
  }

  private mutating func parseOr() throws -> Expression {
    try parseChain("or", operand: { try $0.parseAnd() }, Expression.Kind.or)
  }

  private mutating func parseAnd() throws -> Expression {
    try parseChain("and", operand: { try $0.parseNot() }, Expression.Kind.and)
  }

  /// `operand (keyword operand)*`, grouped from the left (`a or b or c` is `(a or b) or c`).
  private mutating func parseChain(_ keyword: String, operand: (inout Parser) throws -> Expression,
                                   _ combine: (Expression, Expression) -> Expression.Kind) throws -> Expression {
    let line = current.line
    var left = try operand(&self)
    while isName(keyword) {
      advance()
      left = Expression(combine(left, try operand(&self)), line: line)
    }
    return left
  }

  private mutating func parseNot() throws -> Expression {
    if isName("not") {
      let line = current.line
      advance()
      try enter()
      defer { depth -= 1 }
      return Expression(.not(try parseNot()), line: line)
    }
    return try parseCompare()
  }

  private static let compareOperators: [String: CompareOperator] = [
    "==": .equal, "!=": .notEqual, "<": .less, "<=": .lessOrEqual, ">": .greater, ">=": .greaterOrEqual,
  ]

  private mutating func parseCompare() throws -> Expression {
    let line = current.line
    let left = try parseMath1()
    var operations: [(CompareOperator, Expression)] = []
    while true {
      if case let .op(op) = current.kind, let compare = Parser.compareOperators[op] {
        advance()
        operations.append((compare, try parseMath1()))
      } else if isName("in") {
        advance()
        operations.append((.in, try parseMath1()))
      } else if isName("not") && isName("in", peek()) {
        advance()
        advance()
        operations.append((.notIn, try parseMath1()))
      } else {
        break
      }
    }
    return operations.isEmpty ? left : Expression(.compare(left, operations), line: line)
  }

  private mutating func parseBinary(_ operators: [String: BinaryOperator],
    next: (inout Parser) throws -> Expression) throws -> Expression
  {
    let line = current.line
    var left = try next(&self)
    while case let .op(op) = current.kind, let binary = operators[op] {
      advance()
      left = Expression(.binary(binary, left, try next(&self)), line: line)
    }
    return left
  }

  private mutating func parseMath1() throws -> Expression {
    try parseBinary(["+": .add, "-": .subtract]) { try $0.parseConcat() }
  }

  private mutating func parseConcat() throws -> Expression {
    try parseBinary(["~": .concat]) { try $0.parseMath2() }
  }

  private mutating func parseMath2() throws -> Expression {
    try parseBinary(["*": .multiply, "/": .divide, "//": .floorDivide, "%": .modulo]) { try $0.parsePower() }
  }

  private mutating func parsePower() throws -> Expression {
    try parseBinary(["**": .power]) { try $0.parseUnary() }
  }

  private mutating func parseUnary(withFilter: Bool = true) throws -> Expression {
    try enter()
    defer { depth -= 1 }
    let line = current.line
    var node: Expression
    if isOp("-") {
      advance()
      node = Expression(.negate(try parseUnary(withFilter: false)), line: line)
    } else if isOp("+") {
      advance()
      node = Expression(.plus(try parseUnary(withFilter: false)), line: line)
    } else {
      node = try parsePrimary()
    }
    node = try parsePostfix(node)
    if withFilter { node = try parseFilterExpression(node) }
    return node
  }

  private mutating func parsePrimary() throws -> Expression {
    let token = current
    let line = token.line
    switch token.kind {
    case let .name(name):
      advance()
      switch name {
      case "true", "True": return Expression(.literal(.bool(true)), line: line)
      case "false", "False": return Expression(.literal(.bool(false)), line: line)
      case "none", "None": return Expression(.literal(.none), line: line)
      default: return Expression(.name(name), line: line)
      }
    case let .string(text):
      advance()
      var buffer = text
      while case let .string(more) = current.kind {
        buffer += more
        advance()
      }
      return Expression(.literal(.string(buffer)), line: line)
    case let .integer(value):
      advance()
      return Expression(.literal(.int(value)), line: line)
    case let .float(value):
      advance()
      return Expression(.literal(.double(value)), line: line)
    case .op("("):
      advance()
      let node = try parseTuple(explicitParentheses: true)
      try expectOp(")")
      return node
    case .op("["):
      advance()
      var items: [Expression] = []
      while !isOp("]") {
        if !items.isEmpty { try expectOp(",") }
        if isOp("]") { break }
        items.append(try parseExpression())
      }
      advance()
      return Expression(.list(items), line: line)
    case .op("{"):
      advance()
      var pairs: [(key: Expression, value: Expression)] = []
      while !isOp("}") {
        if !pairs.isEmpty { try expectOp(",") }
        if isOp("}") { break }
        let key = try parseExpression()
        try expectOp(":")
        pairs.append((key, try parseExpression()))
      }
      advance()
      return Expression(.dictionary(pairs), line: line)
    default:
      throw fail("unexpected '\(describe(token))'")
    }
  }

  private mutating func parsePostfix(_ start: Expression) throws -> Expression {
    var node = start
    while true {
      if isOp(".") || isOp("[") {
        node = try parseSubscript(node)
      } else if isOp("(") {
        node = Expression(.call(node, try parseCallArguments()), line: current.line)
      } else {
        return node
      }
    }
  }

  private mutating func parseFilterExpression(_ start: Expression) throws -> Expression {
    var node = start
    while true {
      if isOp("|") {
        node = try parseFilter(node)!
      } else if isName("is") {
        node = try parseTest(node)
      } else if isOp("(") {
        node = Expression(.call(node, try parseCallArguments()), line: current.line)
      } else {
        return node
      }
    }
  }

  private mutating func parseSubscript(_ node: Expression) throws -> Expression {
    let token = current
    advance()
    if token.kind == .op(".") {
      let attribute = current
      advance()
      switch attribute.kind {
      case let .name(name): return Expression(.attribute(node, name), line: token.line)
      case let .integer(value): return Expression(.item(node, Expression(.literal(.int(value)), line: token.line)),
        line: token.line)
      default: throw fail("expected name or number", attribute)
      }
    }
    var arguments: [Expression] = []
    while !isOp("]") {
      if !arguments.isEmpty { try expectOp(",") }
      arguments.append(try parseSubscribed())
    }
    advance()
    let argument = arguments.count == 1 ? arguments[0] : Expression(.tuple(arguments), line: token.line)
    return Expression(.item(node, argument), line: token.line)
  }

  private mutating func parseSubscribed() throws -> Expression {
    let line = current.line
    var parts: [Expression?] = []
    if isOp(":") {
      advance()
      parts = [nil]
    } else {
      let node = try parseExpression()
      guard isOp(":") else { return node }
      advance()
      parts = [node]
    }
    if isOp(":") || isOp("]") || isOp(",") {
      parts.append(nil)
    } else {
      parts.append(try parseExpression())
    }
    if isOp(":") {
      advance()
      parts.append(isOp("]") || isOp(",") ? nil : try parseExpression())
    } else {
      parts.append(nil)
    }
    return Expression(.slice(start: parts[0], stop: parts[1], step: parts[2]), line: line)
  }

  private mutating func parseCallArguments() throws -> Arguments {
    try expectOp("(")
    var arguments = Arguments()
    var requireComma = false
    while !isOp(")") {
      if requireComma {
        try expectOp(",")
        if isOp(")") { break }
      }
      if isOp("*") || isOp("**") {
        throw ChatTemplateError.unsupported("unsupported argument unpacking '\(describe(current))'", line: current.line)
      }
      if case let .name(name) = current.kind, isOp("=", peek()) {
        advance()
        advance()
        arguments.keyword.append((name, try parseExpression()))
      } else {
        if !arguments.keyword.isEmpty { throw fail("invalid syntax for function call expression") }
        arguments.positional.append(try parseExpression())
      }
      requireComma = true
    }
    advance()
    return arguments
  }

  private mutating func dottedName() throws -> String {
    var name = try expectName()
    while isOp(".") {
      advance()
      name += "." + (try expectName())
    }
    return name
  }

  private mutating func parseFilter(_ start: Expression?, startInline: Bool = false) throws -> Expression? {
    var node = start
    var inline = startInline
    while isOp("|") || inline {
      if !inline { advance() }
      let token = current
      let name = try dottedName()
      let arguments = isOp("(") ? try parseCallArguments() : Arguments()
      node = Expression(.filter(node, name: name, arguments), line: token.line)
      inline = false
    }
    return node
  }

  private mutating func parseTest(_ node: Expression) throws -> Expression {
    let line = current.line
    advance()
    var negated = false
    if isName("not") {
      advance()
      negated = true
    }
    let name = try dottedName()
    var arguments = Arguments()
    if isOp("(") {
      arguments = try parseCallArguments()
    } else {
      var takesArgument = false
      switch current.kind {
      case let .name(next): takesArgument = !["else", "or", "and"].contains(next)
      case .string, .integer, .float, .op("("), .op("["), .op("{"): takesArgument = true
      default: break
      }
      if takesArgument {
        if isName("is") { throw fail("You cannot chain multiple tests with is") }
        arguments.positional = [try parsePostfix(try parsePrimary())]
      }
    }
    let test = Expression(.test(node, name: name, arguments), line: line)
    return negated ? Expression(.not(test), line: line) : test
  }
}

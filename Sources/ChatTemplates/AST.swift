// AST.swift — the parsed form of a template: statements (text, output, if, for, set, macro …) and expressions.

final class Expression {
  enum Kind {
    case literal(JinjaValue)
    case name(String)
    case list([Expression])
    case tuple([Expression])
    case dictionary([(key: Expression, value: Expression)])
    case attribute(Expression, String)
    case item(Expression, Expression)
    case slice(start: Expression?, stop: Expression?, step: Expression?)
    case call(Expression, Arguments)
    /// `value | name(args)`; `value` is nil for the filters of a `{% filter %}` or `{% set x | f %}` block.
    case filter(Expression?, name: String, Arguments)
    case test(Expression, name: String, Arguments)
    case not(Expression)
    case negate(Expression)
    case plus(Expression)
    case binary(BinaryOperator, Expression, Expression)
    case and(Expression, Expression)
    case or(Expression, Expression)
    case compare(Expression, [(CompareOperator, Expression)])
    case conditional(condition: Expression, then: Expression, otherwise: Expression?)
  }

  let kind: Kind
  let line: Int
  init(_ kind: Kind, line: Int) {
    self.kind = kind
    self.line = line
  }
}

struct Arguments {
  var positional: [Expression] = []
  var keyword: [(name: String, value: Expression)] = []
}

enum BinaryOperator: String {
  case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//", modulo = "%", power = "**"
  case concat = "~"
}

enum CompareOperator: String {
  case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
  case `in` = "in", notIn = "not in"
}

/// The left side of `set` and `for`: a name, a tuple of names, or `namespace.attribute`.
indirect enum AssignTarget {
  case name(String)
  case tuple([AssignTarget])
  case namespaceAttribute(String, String)
}

final class MacroDefinition {
  let name: String
  let parameters: [(name: String, defaultValue: Expression?)]
  let body: [Statement]
  init(name: String, parameters: [(name: String, defaultValue: Expression?)], body: [Statement]) {
    self.name = name
    self.parameters = parameters
    self.body = body
  }
}

struct Statement {
  enum Kind {
    case text(String)
    case output(Expression)
    case ifChain([(condition: Expression, body: [Statement])], otherwise: [Statement])
    case forLoop(target: AssignTarget, iterable: Expression, condition: Expression?, body: [Statement],
      otherwise: [Statement])
    case set(AssignTarget, Expression)
    case setBlock(AssignTarget, filter: Expression?, body: [Statement])
    case macro(MacroDefinition)
    case callBlock(call: Expression, caller: MacroDefinition)
    case filterBlock(Expression, body: [Statement])
    /// `{% with %}` and `{% generation %}`: a body with its own scope.
    case scoped(assignments: [(AssignTarget, Expression)], body: [Statement])
    case breakLoop
    case continueLoop
  }

  let kind: Kind
  let line: Int
}

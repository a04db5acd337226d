// FilterCheck.swift — the compile-time check for unknown filters and tests, with jinja2's exemption for `if` blocks.

/// jinja2 rejects an unknown filter or test when it compiles the template, except inside an `if` statement or an
/// inline `if` expression (a "soft frame"), where it fails only if rendering reaches it. Loops, macros and blocks
/// open a new frame, which is not soft.
enum FilterCheck {
  static func check(_ statements: [Statement], soft: Bool) throws {
    for statement in statements {
      switch statement.kind {
      case .text, .breakLoop, .continueLoop: break
      case let .output(expression), let .set(_, expression): try check(expression, soft: soft)
      case let .ifChain(branches, otherwise):
        for branch in branches {
          try check(branch.condition, soft: true)
          try check(branch.body, soft: true)
        }
        try check(otherwise, soft: true)
      case let .forLoop(_, iterable, condition, body, otherwise):
        try check(iterable, soft: soft)
        if let condition { try check(condition, soft: false) }
        try check(body, soft: false)
        try check(otherwise, soft: false)
      case let .setBlock(_, filter, body):
        if let filter { try check(filter, soft: soft) }
        try check(body, soft: false)
      case let .macro(definition):
        for parameter in definition.parameters { if let value = parameter.defaultValue { try check(value, soft: false) } }
        try check(definition.body, soft: false)
      case let .callBlock(call, caller):
        try check(call, soft: soft)
        try check(caller.body, soft: false)
      case let .filterBlock(filter, body):
        try check(filter, soft: soft)
        try check(body, soft: false)
      case let .scoped(assignments, body):
        for (_, value) in assignments { try check(value, soft: soft) }
        try check(body, soft: false)
      }
    }
  }

  static func check(_ expression: Expression, soft: Bool) throws {
    func arguments(_ arguments: Arguments) throws {
      for value in arguments.positional { try check(value, soft: soft) }
      for (_, value) in arguments.keyword { try check(value, soft: soft) }
    }
    switch expression.kind {
    case .literal, .name: break
    case let .list(items), let .tuple(items): for item in items { try check(item, soft: soft) }
    case let .dictionary(pairs):
      for pair in pairs {
        try check(pair.key, soft: soft)
        try check(pair.value, soft: soft)
      }
    case let .attribute(base, _): try check(base, soft: soft)
    case let .item(base, argument):
      try check(base, soft: soft)
      try check(argument, soft: soft)
    case let .slice(start, stop, step):
      for part in [start, stop, step] { if let part { try check(part, soft: soft) } }
    case let .call(callee, callArguments):
      try check(callee, soft: soft)
      try arguments(callArguments)
    case let .filter(base, name, filterArguments):
      if !soft && !Filters.names.contains(name) {
        throw ChatTemplateError.unsupported("unsupported filter '\(name)'", line: expression.line)
      }
      if let base { try check(base, soft: soft) }
      try arguments(filterArguments)
    case let .test(base, name, testArguments):
      if !soft && !Tests.names.contains(name) {
        throw ChatTemplateError.unsupported("unsupported test '\(name)'", line: expression.line)
      }
      try check(base, soft: soft)
      try arguments(testArguments)
    case let .not(operand), let .negate(operand), let .plus(operand): try check(operand, soft: soft)
    case let .binary(_, left, right), let .and(left, right), let .or(left, right):
      try check(left, soft: soft)
      try check(right, soft: soft)
    case let .compare(first, operations):
      try check(first, soft: soft)
      for (_, operand) in operations { try check(operand, soft: soft) }
    case let .conditional(condition, then, otherwise):
      try check(condition, soft: true)
      try check(then, soft: true)
      if let otherwise { try check(otherwise, soft: true) }
    }
  }
}

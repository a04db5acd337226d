// Operators.swift — Python semantics for + - * / // % ** ~, comparisons and `in`, with Python's error messages.

import Foundation

enum Operators {
  static func negate(_ value: JinjaValue) throws -> JinjaValue {
    switch value {
    case let .undefined(reason): throw RuntimeFailure(message: reason)
    case let .int(i):
      guard i != Int.min else { throw RuntimeFailure(message: "integer overflow") }
      return .int(-i)
    case let .bool(b): return .int(b ? -1 : 0)
    case let .double(d): return .double(-d)
    default: throw RuntimeFailure(message: "bad operand type for unary -: '\(value.typeName)'")
    }
  }

  static func binary(_ op: BinaryOperator, _ left: JinjaValue, _ right: JinjaValue, interpreter: Interpreter) throws
    -> JinjaValue
  {
    if op == .concat { return .string(try interpreter.checked(left.pythonString + right.pythonString)) }
    if case let .undefined(reason) = left { throw RuntimeFailure(message: reason) }
    if case let .undefined(reason) = right { throw RuntimeFailure(message: reason) }
    if let a = left.numericValue, let b = right.numericValue { return try arithmetic(op, a, b) }
    switch (op, left, right) {
    case let (.add, .string(a), .string(b)): return .string(try interpreter.checked(a + b))
    case let (.add, .array(a), .array(b)): return .array(a + b)
    case let (.add, .tuple(a), .tuple(b)): return .tuple(a + b)
    case (.add, .string, _), (.add, .array, _), (.add, .tuple, _):
      let kind = left.typeName
      throw RuntimeFailure(message: "can only concatenate \(kind) (not \"\(right.typeName)\") to \(kind)")
    case (.multiply, _, _):
      if let times = right.numericValue, case let .int(count) = times, let result = try repeatValue(left, count) {
        return result
      }
      if let times = left.numericValue, case let .int(count) = times, let result = try repeatValue(right, count) {
        return result
      }
    case (.modulo, .string, _):
      throw RuntimeFailure(message: "unsupported printf-style string formatting ('%' on a string)")
    default: break
    }
    throw RuntimeFailure(
      message: "unsupported operand type(s) for \(op.rawValue): '\(left.typeName)' and '\(right.typeName)'")

    func repeatValue(_ value: JinjaValue, _ count: Int) throws -> JinjaValue? {
      let times = max(0, count)
      switch value {
      case let .string(text):
        guard text.utf8.count.multipliedReportingOverflow(by: times).partialValue <= interpreter.limits.maxOutputBytes
        else { throw RuntimeFailure(message: "string exceeds \(interpreter.limits.maxOutputBytes) bytes") }
        return .string(String(repeating: text, count: times))
      case let .array(items), let .tuple(items):
        guard items.count.multipliedReportingOverflow(by: times).partialValue <= interpreter.limits.maxOutputBytes
        else { throw RuntimeFailure(message: "list exceeds \(interpreter.limits.maxOutputBytes) items") }
        let repeated = Array([[JinjaValue]](repeating: items, count: times).joined())
        if case .tuple = value { return .tuple(repeated) }
        return .array(repeated)
      default: return nil
      }
    }
  }

  /// Numbers only (bools already turned into ints).
  private static func arithmetic(_ op: BinaryOperator, _ a: JinjaValue, _ b: JinjaValue) throws -> JinjaValue {
    if case let .int(x) = a, case let .int(y) = b {
      func exact(_ result: (partialValue: Int, overflow: Bool)) throws -> JinjaValue {
        if result.overflow { throw RuntimeFailure(message: "integer overflow") }
        return .int(result.partialValue)
      }
      switch op {
      case .add: return try exact(x.addingReportingOverflow(y))
      case .subtract: return try exact(x.subtractingReportingOverflow(y))
      case .multiply: return try exact(x.multipliedReportingOverflow(by: y))
      case .divide:
        if y == 0 { throw RuntimeFailure(message: "division by zero") }
        return .double(Double(x) / Double(y))
      case .floorDivide:
        if y == 0 { throw RuntimeFailure(message: "integer division or modulo by zero") }
        let quotient = try exact(x.dividedReportingOverflow(by: y))
        guard case let .int(q) = quotient else { return quotient }
        return .int((x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q)
      case .modulo:
        if y == 0 { throw RuntimeFailure(message: "integer modulo by zero") }
        let r = x.remainderReportingOverflow(dividingBy: y).partialValue
        return .int((r != 0 && (r < 0) != (y < 0)) ? r + y : r)
      case .power:
        if y < 0 {
          if x == 0 { throw RuntimeFailure(message: "0.0 cannot be raised to a negative power") }
          return .double(pow(Double(x), Double(y)))
        }
        var result = 1
        var base = x
        var exponent = y
        while exponent > 0 {
          if exponent & 1 == 1 {
            let product = result.multipliedReportingOverflow(by: base)
            if product.overflow { throw RuntimeFailure(message: "integer overflow") }
            result = product.partialValue
          }
          exponent >>= 1
          if exponent > 0 {
            let square = base.multipliedReportingOverflow(by: base)
            if square.overflow { throw RuntimeFailure(message: "integer overflow") }
            base = square.partialValue
          }
        }
        return .int(result)
      case .concat: break
      }
    }
    let x = a.asDouble
    let y = b.asDouble
    switch op {
    case .add: return .double(x + y)
    case .subtract: return .double(x - y)
    case .multiply: return .double(x * y)
    case .divide:
      if y == 0 { throw RuntimeFailure(message: "float division by zero") }
      return .double(x / y)
    case .floorDivide:
      if y == 0 { throw RuntimeFailure(message: "float floor division by zero") }
      return .double((x / y).rounded(.down))
    case .modulo:
      if y == 0 { throw RuntimeFailure(message: "float modulo") }
      var r = x.truncatingRemainder(dividingBy: y)
      if r != 0 && (r < 0) != (y < 0) { r += y }
      return .double(r)
    case .power:
      if x == 0 && y < 0 { throw RuntimeFailure(message: "0.0 cannot be raised to a negative power") }
      return .double(pow(x, y))
    case .concat: return .string(a.pythonString + b.pythonString)
    }
  }

  static func compare(_ op: CompareOperator, _ left: JinjaValue, _ right: JinjaValue) throws -> Bool {
    switch op {
    case .equal: return left == right
    case .notEqual: return left != right
    case .in: return try contains(right, left)
    case .notIn: return !(try contains(right, left))
    case .less: return try order(left, right, op) < 0
    case .lessOrEqual: return try order(left, right, op) <= 0
    case .greater: return try order(left, right, op) > 0
    case .greaterOrEqual: return try order(left, right, op) >= 0
    }
  }

  /// Python ordering: -1, 0 or 1; numbers with numbers, strings by code point, lists and tuples item by item.
  static func order(_ left: JinjaValue, _ right: JinjaValue, _ op: CompareOperator = .less) throws -> Int {
    if case let .undefined(reason) = left { throw RuntimeFailure(message: reason) }
    if case let .undefined(reason) = right { throw RuntimeFailure(message: reason) }
    if let a = left.numericValue, let b = right.numericValue {
      if case let .int(x) = a, case let .int(y) = b { return x < y ? -1 : (x == y ? 0 : 1) }
      let (x, y) = (a.asDouble, b.asDouble)
      return x < y ? -1 : (x == y ? 0 : 1)
    }
    switch (left, right) {
    case let (.string(a), .string(b)):
      return compareScalars(Array(a.unicodeScalars), Array(b.unicodeScalars))
    case let (.array(a), .array(b)), let (.tuple(a), .tuple(b)):
      for (x, y) in zip(a, b) where x != y { return try order(x, y, op) }
      return a.count < b.count ? -1 : (a.count == b.count ? 0 : 1)
    default:
      throw RuntimeFailure(
        message: "'\(op.rawValue)' not supported between instances of '\(left.typeName)' and '\(right.typeName)'")
    }
  }

  static func compareScalars(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
    for (x, y) in zip(a, b) where x != y { return x.value < y.value ? -1 : 1 }
    return a.count < b.count ? -1 : (a.count == b.count ? 0 : 1)
  }

  /// Python `item in container`.
  static func contains(_ container: JinjaValue, _ item: JinjaValue) throws -> Bool {
    switch container {
    case let .string(text):
      guard case let .string(needle) = item else {
        if case let .undefined(reason) = item { throw RuntimeFailure(message: reason) }
        throw RuntimeFailure(message: "'in <string>' requires string as left operand, not \(item.typeName)")
      }
      return findScalars(Array(text.unicodeScalars), Array(needle.unicodeScalars)) != nil
    case let .array(items), let .tuple(items): return items.contains(item)
    case let .dictionary(dictionary):
      if case let .string(key) = item { return dictionary[key] != nil }
      return false
    case .undefined: return false
    default: throw RuntimeFailure(message: "argument of type '\(container.typeName)' is not iterable")
    }
  }
}

/// The first index of `needle` in `haystack` at or after `start`, by code point.
func findScalars(_ haystack: [Unicode.Scalar], _ needle: [Unicode.Scalar], from start: Int = 0) -> Int? {
  if needle.isEmpty { return start <= haystack.count ? start : nil }
  guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
  for index in start...(haystack.count - needle.count) where haystack[index] == needle[0] {
    if Array(haystack[index..<(index + needle.count)]) == needle { return index }
  }
  return nil
}

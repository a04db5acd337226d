// ChatTemplateError.swift — every way parsing or rendering a chat template can fail, with the template line.

/// An error from parsing or rendering a chat template.
///
/// Errors that come from a place in the template carry its 1-based `line` (and `column` where the lexer knows it),
/// and their `description` reads like `unsupported filter 'xmlattr' at line 3`.
public enum ChatTemplateError: Error, Equatable, CustomStringConvertible, Sendable {
  /// The template text is not valid Jinja (unbalanced tags, bad expression, unknown tag …).
  case syntax(String, line: Int, column: Int?)
  /// Valid Jinja that this interpreter does not implement (a filter, test, tag or method).
  case unsupported(String, line: Int)
  /// A failure while rendering, where jinja2 would raise too (type errors, undefined values, security checks).
  case runtime(String, line: Int)
  /// The template called `raise_exception(message)`.
  case raised(String)
  /// A sandbox limit was hit: output size, loop iterations, recursion depth or range size.
  case limitExceeded(String)
  /// `render` was called with no messages (transformers refuses an empty conversation too).
  case emptyConversation

  public var description: String {
    switch self {
    case let .syntax(message, line, column):
      if let column { return "syntax error: \(message) at line \(line), column \(column)" }
      return "syntax error: \(message) at line \(line)"
    case let .unsupported(message, line): return "\(message) at line \(line)"
    case let .runtime(message, line): return "\(message) at line \(line)"
    case let .raised(message): return message
    case let .limitExceeded(message): return message
    case .emptyConversation: return "Cannot apply chat template to an empty conversation. Provide at least one message."
    }
  }
}

/// Internal error carrying no line yet; the interpreter adds the line of the node that was evaluating.
struct RuntimeFailure: Error {
  let message: String
}

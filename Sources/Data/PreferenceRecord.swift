// PreferenceRecord.swift — one preference pair (prompt, chosen, rejected) in TRL's explicit-prompt form, each part
// either plain text or a list of chat messages.

import ChatTemplates
import Support

/// One side of a preference pair: plain text (TRL's "standard" format) or chat messages ("conversational").
public enum Turns: Equatable, Hashable, Sendable {
  case text(String)
  case messages([ChatMessage])

  /// True for `.messages`.
  public var isConversational: Bool {
    if case .messages = self { return true }
    return false
  }

  /// The text of a `.text` value, nil for messages.
  public var text: String? {
    if case .text(let text) = self { return text }
    return nil
  }

  /// The messages of a `.messages` value, nil for text.
  public var messages: [ChatMessage]? {
    if case .messages(let messages) = self { return messages }
    return nil
  }

  var jsonValue: JSONValue {
    switch self {
    case .text(let text): return .string(text)
    case .messages(let messages):
      return .array(messages.map { .object([("role", .string($0.role)), ("content", .string($0.content))]) })
    }
  }
}

/// A preference pair with an explicit prompt, as TRL's ORPO trainer sees a row after `maybe_extract_prompt`:
/// `prompt` is shared, `chosen` is the preferred completion and `rejected` the dispreferred one. All three are
/// text, or all three are messages.
public struct PreferenceRecord: Equatable, Hashable, Sendable {
  public var prompt: Turns
  public var chosen: Turns
  public var rejected: Turns
  /// The row's "id" field, when it has one (a string, or an integer written as text).
  public var id: String?
  /// The row's "family" field: a task label the synthetic data sets carry for per-family metrics.
  public var family: String?
  /// The 1-based line the row started on in its source file, when it was read from one.
  public var sourceLine: Int?

  public init(prompt: Turns, chosen: Turns, rejected: Turns, id: String? = nil, family: String? = nil,
              sourceLine: Int? = nil) {
    self.prompt = prompt
    self.chosen = chosen
    self.rejected = rejected
    self.id = id
    self.family = family
    self.sourceLine = sourceLine
  }

  /// A conversational pair: the prompt is one user message, the completions one assistant message each.
  public static func conversation(user prompt: String, chosen: String, rejected: String,
                                  family: String? = nil) -> PreferenceRecord {
    PreferenceRecord(prompt: .messages([ChatMessage(role: "user", content: prompt)]),
                     chosen: .messages([ChatMessage(role: "assistant", content: chosen)]),
                     rejected: .messages([ChatMessage(role: "assistant", content: rejected)]),
                     family: family)
  }

  /// True when the record is conversational (its prompt is a list of messages).
  public var isConversational: Bool { prompt.isConversational }

  /// The row as a JSON object, keys in the order prompt, chosen, rejected, id, family (the last two when set).
  var jsonValue: JSONValue {
    var members: [(key: String, value: JSONValue)] = [
      ("prompt", prompt.jsonValue), ("chosen", chosen.jsonValue), ("rejected", rejected.jsonValue),
    ]
    if let id { members.append(("id", .string(id))) }
    if let family { members.append(("family", .string(family))) }
    return .object(members)
  }

  /// The row as one line of JSON Lines (no newline), formatted like Python's `json.dumps(row, ensure_ascii=False)`.
  public var jsonLine: String {
    jsonValue.formatted(.python(ensureASCII: false))
  }
}

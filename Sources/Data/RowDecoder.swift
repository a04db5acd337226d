// RowDecoder.swift — turns one parsed JSON row into a PreferenceRecord, accepting TRL's preference shapes and
// naming the field at fault (with what was expected and found) when a row is malformed.

import ChatTemplates
import Support

/// A malformed row, before the reader adds the file, line and element.
struct RowProblem: Error, Equatable {
  var field: String?
  var message: String
}

/// Decodes rows in the shapes TRL's preference trainers accept (extra keys are ignored):
/// - (a) standard: `{"prompt": str, "chosen": str, "rejected": str}`;
/// - (b) conversational: `prompt`, `chosen` and `rejected` are message lists;
/// - (c) UltraFeedback-binarized: `prompt` is a string, `chosen`/`rejected` are whole conversations. As TRL's
///   `maybe_extract_prompt` does, the prompt becomes the messages the two conversations share and the completions
///   what follows; we also check that the shared turns end with a user message equal to `prompt`;
/// - (d) implicit prompt (orpo-dpo-mix-40k, Anthropic HH): no `prompt`; TRL's `extract_prompt` splits the shared
///   prefix of `chosen` and `rejected` (messages, or characters for text) into the prompt.
enum RowDecoder {
  /// Roles a message may have.
  static let allowedRoles = ["system", "developer", "user", "assistant", "tool"]
  static let allowedRolesText = allowedRoles.map { "\"\($0)\"" }.joined(separator: ", ")

  static func record(from row: JSONValue, sourceLine: Int? = nil) throws -> PreferenceRecord {
    guard case .object(let members) = row else {
      throw RowProblem(field: nil, message: "expected a JSON object with \"chosen\" and \"rejected\", found \(row.kindName)")
    }
    // Python's json would keep the last of two values silently; a row that gives a field twice is refused.
    var seen = Set<String>()
    for member in members where ["prompt", "chosen", "rejected"].contains(member.0) {
      guard seen.insert(member.0).inserted else {
        throw RowProblem(field: member.0, message: "given twice in the row; expected each field once")
      }
    }
    let chosen = try turns(row, "chosen")
    let rejected = try turns(row, "rejected")
    if chosen.isConversational != rejected.isConversational {
      throw RowProblem(field: "rejected", message: chosen.isConversational
        ? "expected a list of messages, like \"chosen\", found string"
        : "expected a string, like \"chosen\", found list")
    }

    var record: PreferenceRecord
    switch (row[last: "prompt"], chosen, rejected) {
    case (nil, .text(let chosenText), .text(let rejectedText)):  // (d), text
      let split = PromptExtraction.split(chosen: chosenText, rejected: rejectedText)
      record = PreferenceRecord(prompt: .text(split.prompt), chosen: .text(split.chosen), rejected: .text(split.rejected))

    case (nil, .messages(let chosenMessages), .messages(let rejectedMessages)):  // (d), messages
      let split = PromptExtraction.split(chosen: chosenMessages, rejected: rejectedMessages)
      if split.prompt.isEmpty {
        throw RowProblem(field: "chosen", message: "expected \"chosen\" and \"rejected\" to start with the same prompt "
          + "messages (there is no \"prompt\" field), but their first messages differ")
      }
      record = PreferenceRecord(prompt: .messages(split.prompt), chosen: .messages(split.chosen),
                                rejected: .messages(split.rejected))

    case (.some(let promptValue), _, _):
      let prompt = try turns(promptValue, field: "prompt", allowsEmptyText: true)
      switch (prompt, chosen, rejected) {
      case (.text, .text, .text), (.messages, .messages, .messages):  // (a), (b)
        record = PreferenceRecord(prompt: prompt, chosen: chosen, rejected: rejected)
      case (.messages, .text, _):
        throw RowProblem(field: "chosen", message: "expected a list of messages, like \"prompt\", found string")
      case (.text(let promptText), .messages(let chosenMessages), .messages(let rejectedMessages)):  // (c)
        let split = PromptExtraction.split(chosen: chosenMessages, rejected: rejectedMessages)
        guard let lastUser = split.prompt.last(where: { $0.role == "user" }) else {
          throw RowProblem(field: "prompt", message: "is a string while \"chosen\" and \"rejected\" are messages that "
            + "share no user turn; expected \"prompt\" as a list of messages, or conversations that repeat it")
        }
        if trimmed(lastUser.content) != trimmed(promptText) {
          throw RowProblem(field: "prompt", message: "expected the text of the last user turn shared by \"chosen\" "
            + "and \"rejected\", found \(quoted(promptText)) while the turn says \(quoted(lastUser.content))")
        }
        record = PreferenceRecord(prompt: .messages(split.prompt), chosen: .messages(split.chosen),
                                  rejected: .messages(split.rejected))
      default:
        fatalError("unreachable: chosen and rejected were checked to have the same kind")
      }

    default:
      fatalError("unreachable: chosen and rejected were checked to have the same kind")
    }

    if case .messages(let promptMessages) = record.prompt, let last = promptMessages.last,
       !["user", "tool", "assistant"].contains(last.role) {
      // TRL's apply_chat_template raises "Invalid role in the last message" here.
      throw RowProblem(field: "prompt", message: "expected the prompt to end with a user, tool or assistant message, "
        + "found \(quoted(last.role))")
    }

    switch row[last: "id"] {
    case .string(let id)?: record.id = id
    case .number(let number)?:
      if let whole = number.wholeNumber, abs(whole) < 1_000_000_000_000_000 { record.id = String(whole) }
    default: break
    }
    if case .string(let family)? = row[last: "family"] { record.family = family }
    record.sourceLine = sourceLine
    return record
  }

  /// A completion field (`chosen` or `rejected`) of a row.
  private static func turns(_ row: JSONValue, _ field: String) throws -> Turns {
    guard let value = row[last: field] else {
      throw RowProblem(field: field, message: "missing; expected a string or a list of messages")
    }
    return try turns(value, field: field, allowsEmptyText: false)
  }

  static func turns(_ value: JSONValue, field: String, allowsEmptyText: Bool) throws -> Turns {
    switch value {
    case .string(let text):
      if text.isEmpty && !allowsEmptyText {
        throw RowProblem(field: field, message: "expected a non-empty string or a list of messages, found an empty string")
      }
      return .text(text)
    case .array(let elements):
      if elements.isEmpty {
        throw RowProblem(field: field, message: "expected a non-empty list of messages, found an empty list")
      }
      var messages: [ChatMessage] = []
      messages.reserveCapacity(elements.count)
      for (index, element) in elements.enumerated() {
        messages.append(try message(element, field: "\(field)[\(index)]"))
      }
      return .messages(messages)
    default:
      throw RowProblem(field: field, message: "expected a string or a list of messages, found \(value.kindName)")
    }
  }

  private static func message(_ value: JSONValue, field: String) throws -> ChatMessage {
    guard case .object = value else {
      throw RowProblem(field: field, message: "expected a message object with \"role\" and \"content\", found \(value.kindName)")
    }
    guard let roleValue = value[last: "role"] else {
      throw RowProblem(field: "\(field).role", message: "missing; expected one of \(allowedRolesText)")
    }
    guard case .string(let role) = roleValue else {
      throw RowProblem(field: "\(field).role", message: "expected a string, found \(roleValue.kindName)")
    }
    guard allowedRoles.contains(role) else {
      throw RowProblem(field: "\(field).role", message: "expected one of \(allowedRolesText), found \(quoted(role))")
    }
    guard let contentValue = value[last: "content"] else {
      throw RowProblem(field: "\(field).content", message: "missing; expected a string")
    }
    guard case .string(let content) = contentValue else {
      throw RowProblem(field: "\(field).content", message: "expected a string, found \(contentValue.kindName)")
    }
    return ChatMessage(role: role, content: content)
  }

  private static func trimmed(_ text: String) -> Substring {
    let isSpace: (Character) -> Bool = { $0.isWhitespace }
    guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) }) else {
      return ""
    }
    return text[first...last]
  }

  /// A value quoted for a message, cut to 60 characters.
  static func quoted(_ text: String) -> String {
    (text.count > 60 ? String(text.prefix(57)) + "..." : text).jsonQuoted(.python(ensureASCII: false))
  }
}

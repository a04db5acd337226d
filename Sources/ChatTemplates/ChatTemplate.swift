// ChatTemplate.swift — the public entry point: parse a Hugging Face chat_template once, render conversations
// byte-identically to transformers' `apply_chat_template(..., tokenize=False)`.

import Foundation
import Support

/// A parsed chat template.
///
/// ```swift
/// let template = try ChatTemplate(ChatTemplate.chatML)
/// let prompt = try template.render(messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
/// ```
/// Rendering follows transformers 5.23 (`render_jinja_template`): the template sees `messages`,
/// `add_generation_prompt`, `tools` and `documents` (both `None`), the special tokens given, and `extraContext`.
public struct ChatTemplate: @unchecked Sendable {
  /// The template text as given.
  public let source: String
  /// Sandbox bounds applied to every render.
  public var limits = ChatTemplateLimits()
  /// The date `strftime_now(...)` formats. Nil means the current local date and time.
  public var date: TemplateDate?

  private let statements: [Statement]

  /// Parses `source`; throws `ChatTemplateError` for invalid Jinja or unsupported filters, tests and tags.
  public init(_ source: String) throws {
    self.source = source
    self.statements = try Parser.parse(source)
  }

  /// Reads a template from a file: a bare `.jinja` file, or a `tokenizer_config.json` with a `chat_template`
  /// (a string, or a list of `{name, template}` where the one named "default" is taken).
  public init(contentsOfFile path: String) throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    guard let text = String(data: data, encoding: .utf8) else {
      throw ChatTemplateError.syntax("template file is not UTF-8: \(path)", line: 1, column: nil)
    }
    if path.hasSuffix(".json") {
      // As transformers reads it (json.load: a repeated key keeps its last value).
      let config: JSONValue
      do { config = try JSONValue.parse(data) } catch let error as JSONSyntaxError {
        throw ChatTemplateError.syntax("\(path): malformed JSON: \(error)", line: 1, column: nil)
      }
      if let template = config[last: "chat_template"]?.stringValue {
        try self.init(template)
        return
      }
      if let named = config[last: "chat_template"]?.arrayValue,
        let template = (named.first { $0[last: "name"]?.stringValue == "default" } ?? named.first)?[last: "template"]?
          .stringValue
      {
        try self.init(template)
        return
      }
      throw ChatTemplateError.syntax("no chat_template in \(path)", line: 1, column: nil)
    }
    try self.init(text)
  }

  /// Renders role/content messages.
  public func render(messages: [ChatMessage], addGenerationPrompt: Bool = false, bosToken: String? = nil,
    eosToken: String? = nil, extraContext: [String: JinjaValue] = [:]) throws -> String
  {
    let dictionaries = messages.map { message -> JinjaDictionary in
      ["role": .string(message.role), "content": .string(message.content)]
    }
    return try render(conversation: dictionaries, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken,
      eosToken: eosToken, extraContext: extraContext)
  }

  /// Renders messages with any keys (tool calls, names, reasoning …), in the order given.
  /// As transformers does, keys whose value is `.none` are dropped, and a `reasoning_content`, `thinking` or
  /// `reasoning` field is copied to both `thinking` and `reasoning_content`.
  public func render(conversation: [JinjaDictionary], addGenerationPrompt: Bool = false, bosToken: String? = nil,
    eosToken: String? = nil, extraContext: [String: JinjaValue] = [:]) throws -> String
  {
    guard !conversation.isEmpty else { throw ChatTemplateError.emptyConversation }
    let messages = conversation.map { ChatTemplate.normalize($0) }
    let globals = Scope(parent: nil)
    if let bosToken { globals.variables["bos_token"] = .string(bosToken) }
    if let eosToken { globals.variables["eos_token"] = .string(eosToken) }
    for (key, value) in extraContext { globals.variables[key] = value }
    globals.variables["messages"] = .array(messages.map { .dictionary($0) })
    if globals.variables["tools"] == nil { globals.variables["tools"] = JinjaValue.none }
    if globals.variables["documents"] == nil { globals.variables["documents"] = JinjaValue.none }
    globals.variables["add_generation_prompt"] = .bool(addGenerationPrompt)
    let interpreter = Interpreter(limits: limits, date: date ?? ChatTemplate.now())
    return try interpreter.render(statements, scope: Scope(parent: globals))
  }

  /// Renders with exactly the variables given (no `messages`, special tokens or transformers defaults), as
  /// jinja2's `Template.render(**context)` does.
  public func render(context: [String: JinjaValue]) throws -> String {
    let globals = Scope(parent: nil)
    globals.variables = context
    let interpreter = Interpreter(limits: limits, date: date ?? ChatTemplate.now())
    return try interpreter.render(statements, scope: Scope(parent: globals))
  }

  /// transformers' input clean-up: drop `None` values, alias reasoning fields.
  private static func normalize(_ message: JinjaDictionary) -> JinjaDictionary {
    var kept = JinjaDictionary(message.pairs.filter { !$0.1.isNone } as [(JinjaKey, JinjaValue)])
    let reasoning = ["reasoning_content", "thinking", "reasoning"].lazy.compactMap { kept[$0] }.first
    guard let reasoning else { return kept }
    var aliased: JinjaDictionary = ["thinking": reasoning]
    for (key, value) in kept.pairs { aliased[key] = value }
    aliased["reasoning_content"] = reasoning
    kept = aliased
    return kept
  }

  private static func now() -> TemplateDate {
    let components = Calendar.current.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date())
    return TemplateDate(year: components.year ?? 1970, month: components.month ?? 1, day: components.day ?? 1,
      hour: components.hour ?? 0, minute: components.minute ?? 0, second: components.second ?? 0)
  }

  /// The ChatML template of TRL's `setup_chat_format` (`ChatMlSpecialTokens.chat_template` in
  /// `trl/models/utils.py`, TRL ≤ 0.25; TRL 1.16 no longer ships that function). Its `'\n'` are real newlines.
  public static let chatML =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
}

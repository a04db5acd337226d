// PairEncoding.swift — preference rows to token ids exactly as TRL 1.16's trainers prepare them: the ORPO/CPO way
// (trl/data_utils.py `apply_chat_template`, then trl/experimental/orpo/orpo_trainer.py `tokenize_row` /
// `build_tokenized_answer`: BOS/EOS rules, truncation of the completion, labels masked over the prompt), or the
// DPO/SFT/KTO way (`tokenize_fn` of trl/trainer/dpo_trainer.py and sft_trainer.py); see `PairTokenization`.
import ChatTemplates
import Foundation
import Tokenization

/// Renders a conversation to text (a chat template).
public protocol ChatFormatting {
  func format(_ messages: [ChatMessage], addGenerationPrompt: Bool, continueFinalMessage: Bool) throws -> String
}

/// One preference pair, tokenized. `labels` are −100 over the prompt (TRL's label masking).
public struct EncodedPair: Equatable, Sendable {
  public var chosenIDs: [Int]
  public var chosenLabels: [Int]
  public var rejectedIDs: [Int]
  public var rejectedLabels: [Int]
  /// Length of the prompt part of each sequence (chosen, rejected): they may differ by one when BPE merged across
  /// the prompt/answer boundary.
  public var chosenPromptLength: Int
  public var rejectedPromptLength: Int
  /// Unpaired data (KTO): whether the chosen-side completion is desirable; the rejected side then holds the
  /// mismatched completion that estimates the KL term. nil for a preference pair.
  public var desirable: Bool? = nil
  /// The record's `family` label, carried along for per-family evaluation.
  public var family: String? = nil

  public init(chosenIDs: [Int], chosenLabels: [Int], rejectedIDs: [Int], rejectedLabels: [Int], chosenPromptLength: Int,
              rejectedPromptLength: Int, desirable: Bool? = nil, family: String? = nil)
  {
    self.chosenIDs = chosenIDs
    self.chosenLabels = chosenLabels
    self.rejectedIDs = rejectedIDs
    self.rejectedLabels = rejectedLabels
    self.chosenPromptLength = chosenPromptLength
    self.rejectedPromptLength = rejectedPromptLength
    self.desirable = desirable
    self.family = family
  }

  public var tokenCount: Int { chosenIDs.count + rejectedIDs.count }
  /// Tokens chosen and rejected begin with in common (the prompt, and any identical start of the answers).
  public var sharedPrefixLength: Int {
    var shared = 0
    while shared < chosenIDs.count, shared < rejectedIDs.count, chosenIDs[shared] == rejectedIDs[shared] { shared += 1 }
    return shared
  }
  /// Positions the pair takes with its prompt shared: the common prefix of chosen and rejected once, then both tails,
  /// each without its last token (which predicts nothing and which no other position sees).
  public var packedTokenCount: Int {
    let shared = sharedPrefixLength
    return shared + max(chosenIDs.count - shared - 1, 0) + max(rejectedIDs.count - shared - 1, 0)
  }

  /// The pair without its rejected answer: what SFT trains on.
  public var chosenOnly: EncodedPair {
    var pair = self
    pair.rejectedIDs = []
    pair.rejectedLabels = []
    pair.rejectedPromptLength = 0
    return pair
  }
}

public struct PairEncodingError: Error, CustomStringConvertible, Equatable {
  public let description: String
}

/// TRL 1.16 tokenizes preference rows in two ways; each method here follows the trainer it is pinned to.
public enum PairTokenization: Sendable {
  /// trl/experimental/orpo and trl/experimental/cpo `tokenize_row`: prompt and prompt + answer tokenized, the answer
  /// split off at the prompt's length (one token earlier when BPE merged across the boundary), BOS prepended and the
  /// EOS token appended when missing, the answer cut to fit max_length. ORPO, CPO and SimPO.
  case orpo
  /// trl/trainer/dpo_trainer.py `tokenize_fn`: the prompt alone (with the generation prompt) and prompt + answer
  /// tokenized whole — through the chat template for conversations, as text with the tokenizer's own special tokens
  /// otherwise, a plain answer getting the EOS *text* appended first —; both answers start where the prompt's tokens
  /// and the shorter common prefix diverge; each sequence is cut to max_length from its end (keep_start). DPO.
  case dpo
  /// trl/trainer/sft_trainer.py and kto_trainer.py: as `.dpo`, but each answer starts where its own prompt + answer
  /// diverges from the prompt (they are tokenized independently). SFT and KTO.
  case sft
}

public struct PairEncoder {
  public let tokenizer: Tokenizer
  public let formatter: ChatFormatting?
  public let maxLength: Int
  public let tokenization: PairTokenization

  public init(tokenizer: Tokenizer, formatter: ChatFormatting?, maxLength: Int, tokenization: PairTokenization = .orpo) {
    self.tokenizer = tokenizer
    self.formatter = formatter
    self.maxLength = maxLength
    self.tokenization = tokenization
  }

  /// TRL's `apply_chat_template` for a preference row: (prompt, chosen, rejected) as strings.
  public func texts(for record: PreferenceRecord) throws -> (prompt: String, chosen: String, rejected: String) {
    switch (record.prompt, record.chosen, record.rejected) {
    case (.text(let p), .text(let c), .text(let r)):
      return (p, c, r)
    case (.messages(let p), .messages(let c), .messages(let r)):
      guard let formatter else {
        throw PairEncodingError(description: "\(where_(record)): conversational rows need a chat template, and this model has none (set one with --chat-template)")
      }
      guard let last = p.last else { throw PairEncodingError(description: "\(where_(record)): empty prompt") }
      let generation: Bool
      switch last.role {
      case "user", "tool": generation = true
      case "assistant": generation = false
      default:
        throw PairEncodingError(description: "\(where_(record)): the prompt's last message has role \"\(last.role)\"; expected user, tool or assistant")
      }
      var prompt = try formatter.format(p, addGenerationPrompt: generation, continueFinalMessage: !generation)
      let promptChosen = try formatter.format(p + c, addGenerationPrompt: false, continueFinalMessage: false)
      let promptRejected = try formatter.format(p + r, addGenerationPrompt: false, continueFinalMessage: false)
      // TRL keeps the longest common (character) prefix of the three renderings as the prompt.
      prompt = commonPrefix(commonPrefix(prompt, promptChosen), promptRejected)
      let cut = prompt.unicodeScalars.count
      return (prompt, String(String.UnicodeScalarView(promptChosen.unicodeScalars.dropFirst(cut))),
              String(String.UnicodeScalarView(promptRejected.unicodeScalars.dropFirst(cut))))
    default:
      throw PairEncodingError(description: "\(where_(record)): prompt, chosen and rejected must all be strings or all be message lists")
    }
  }

  /// TRL's `tokenize_row`. Returns nil when the prompt alone fills `maxLength` (TRL would train on an empty
  /// completion and get NaN log-probs; we drop the row and the caller reports it).
  public func encode(_ record: PreferenceRecord) throws -> EncodedPair? {
    if tokenization != .orpo { return try encodeWhole(record) }
    let (prompt, chosen, rejected) = try texts(for: record)
    let promptIDs = tokenizer.encode(prompt, addSpecialTokens: false)
    var (chosenPrompt, chosenAnswer) = splitAnswer(prompt: prompt, promptIDs: promptIDs, answer: chosen)
    var (rejectedPrompt, rejectedAnswer) = splitAnswer(prompt: prompt, promptIDs: promptIDs, answer: rejected)
    let differing = zip(chosenPrompt, rejectedPrompt).filter { $0 != $1 }.count
    if differing > 1 || Swift.abs(chosenPrompt.count - rejectedPrompt.count) > 1 {
      throw PairEncodingError(description: "\(where_(record)): chosen and rejected prompt tokens differ by more than the last token")
    }
    if let bos = tokenizer.bosTokenID {
      if chosenPrompt.first != bos { chosenPrompt.insert(bos, at: 0) }
      if rejectedPrompt.first != bos { rejectedPrompt.insert(bos, at: 0) }
    }
    if let eos = tokenizer.eosTokenID {
      if chosenAnswer.last != eos { chosenAnswer.append(eos) }
      if rejectedAnswer.last != eos { rejectedAnswer.append(eos) }
    }
    // Only the completion is truncated (TRL); a prompt that leaves no room for it is dropped.
    if chosenPrompt.count >= maxLength || rejectedPrompt.count >= maxLength { return nil }
    if chosenPrompt.count + chosenAnswer.count > maxLength { chosenAnswer = Array(chosenAnswer.prefix(maxLength - chosenPrompt.count)) }
    if rejectedPrompt.count + rejectedAnswer.count > maxLength { rejectedAnswer = Array(rejectedAnswer.prefix(maxLength - rejectedPrompt.count)) }
    return EncodedPair(
      chosenIDs: chosenPrompt + chosenAnswer,
      chosenLabels: Array(repeating: -100, count: chosenPrompt.count) + chosenAnswer,
      rejectedIDs: rejectedPrompt + rejectedAnswer,
      rejectedLabels: Array(repeating: -100, count: rejectedPrompt.count) + rejectedAnswer,
      chosenPromptLength: chosenPrompt.count, rejectedPromptLength: rejectedPrompt.count, family: record.family)
  }

  /// `.dpo` and `.sft`: TRL 1.16's `tokenize_fn` and its collator's truncation. Returns nil when the prompt alone
  /// fills `maxLength` (TRL drops those rows).
  func encodeWhole(_ record: PreferenceRecord) throws -> EncodedPair? {
    let prompt: [Int], chosen: [Int], rejected: [Int]
    switch (record.prompt, record.chosen, record.rejected) {
    case (.text(let p), .text(let c), .text(let r)):
      let eos = tokenizer.eosToken ?? ""
      func ended(_ answer: String) -> String { answer.hasSuffix(eos) ? answer : answer + eos }
      prompt = tokenizer.encode(p)
      chosen = tokenizer.encode(p + ended(c))
      rejected = tokenizer.encode(p + ended(r))
    case (.messages(let p), .messages(let c), .messages(let r)):
      guard let formatter else {
        throw PairEncodingError(description: "\(where_(record)): conversational rows need a chat template, and this model has none (set one with --chat-template)")
      }
      func ids(_ messages: [ChatMessage], generation: Bool) throws -> [Int] {
        tokenizer.encode(try formatter.format(messages, addGenerationPrompt: generation, continueFinalMessage: false),
                         addSpecialTokens: false)
      }
      prompt = try ids(p, generation: true)
      chosen = try ids(p + c, generation: false)
      rejected = try ids(p + r, generation: false)
    default:
      throw PairEncodingError(description: "\(where_(record)): prompt, chosen and rejected must all be strings or all be message lists")
    }
    var chosenStart = commonPrefixLength(prompt, chosen), rejectedStart = commonPrefixLength(prompt, rejected)
    if tokenization == .dpo { (chosenStart, rejectedStart) = (Swift.min(chosenStart, rejectedStart), Swift.min(chosenStart, rejectedStart)) }
    if chosenStart >= maxLength || rejectedStart >= maxLength { return nil }
    func labels(_ ids: [Int], start: Int) -> [Int] { ids.indices.map { $0 < start ? -100 : ids[$0] } }
    let c = Array(chosen.prefix(maxLength)), r = Array(rejected.prefix(maxLength))
    return EncodedPair(chosenIDs: c, chosenLabels: labels(c, start: chosenStart), rejectedIDs: r,
                       rejectedLabels: labels(r, start: rejectedStart), chosenPromptLength: chosenStart,
                       rejectedPromptLength: rejectedStart, family: record.family)
  }

  /// Every row of `data`, encoded; `dropped` counts rows whose prompt alone fills `maxLength`.
  public func encodeAll(_ data: PreferenceDataset) throws -> (pairs: [EncodedPair], dropped: Int) {
    var pairs: [EncodedPair] = []
    pairs.reserveCapacity(data.count)
    var dropped = 0
    for record in data {
      if let pair = try encode(record) { pairs.append(pair) } else { dropped += 1 }
    }
    return (pairs, dropped)
  }

  /// TRL's `build_tokenized_answer`: tokenize prompt+answer jointly, split at the prompt's length, moving the split
  /// one token left when BPE merged across the boundary.
  func splitAnswer(prompt: String, promptIDs: [Int], answer: String) -> ([Int], [Int]) {
    let full = tokenizer.encode(prompt + answer, addSpecialTokens: false)
    var start = Swift.min(promptIDs.count, full.count)
    if Array(full.prefix(start)) != promptIDs { start = Swift.max(0, start - 1) }
    return (Array(full[..<start]), Array(full[start...]))
  }

  private func where_(_ record: PreferenceRecord) -> String {
    record.sourceLine.map { "row at line \($0)" } ?? (record.id.map { "row \($0)" } ?? "row")
  }
}

/// Longest common prefix in Unicode scalars (Python's str compares code points).
func commonPrefix(_ a: String, _ b: String) -> String {
  var end = a.startIndex
  var i = a.unicodeScalars.startIndex, j = b.unicodeScalars.startIndex
  while i < a.unicodeScalars.endIndex, j < b.unicodeScalars.endIndex, a.unicodeScalars[i] == b.unicodeScalars[j] {
    i = a.unicodeScalars.index(after: i)
    j = b.unicodeScalars.index(after: j)
    end = i
  }
  return String(a.unicodeScalars[a.unicodeScalars.startIndex..<end])
}

/// A model's chat template as the pair encoder's formatter, with transformers' `apply_chat_template` options.
public struct TemplateFormatter: ChatFormatting {
  public let template: ChatTemplate
  public let bosToken: String?
  public let eosToken: String?
  /// The file the template was read from (`--chat-template`), named in errors raised while rendering; nil for the
  /// model's own template.
  public var file: String?

  public init(template: ChatTemplate, bosToken: String?, eosToken: String?, file: String? = nil) {
    self.template = template
    self.bosToken = bosToken
    self.eosToken = eosToken
    self.file = file
  }

  public func format(_ messages: [ChatMessage], addGenerationPrompt: Bool, continueFinalMessage: Bool) throws -> String {
    let rendered: String
    do {
      rendered = try template.render(messages: messages, addGenerationPrompt: addGenerationPrompt,
                                     bosToken: bosToken, eosToken: eosToken)
    } catch let error as ChatTemplateError {
      guard let file else { throw error }
      throw PairEncodingError(description: "chat template \(file): \(error)")
    }
    guard continueFinalMessage, let final = messages.last?.content else { return rendered }
    // transformers: cut the rendering right after the final message's text, so the model continues it.
    let stripped = final.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !stripped.isEmpty, let location = rendered.range(of: stripped, options: .backwards) else {
      throw PairEncodingError(description: "continue_final_message: the final message's text does not occur in the rendered template")
    }
    let start = location.lowerBound
    let leftStripped = String(final.drop(while: { $0.isWhitespace }))
    if rendered[start...].hasPrefix(leftStripped) {
      return String(rendered[..<rendered.index(start, offsetBy: leftStripped.count)])
    }
    return String(rendered[..<location.upperBound])
  }
}

/// How many leading tokens `a` and `b` share (TRL's `common_prefix_length`).
func commonPrefixLength(_ a: [Int], _ b: [Int]) -> Int {
  var n = 0
  while n < a.count, n < b.count, a[n] == b[n] { n += 1 }
  return n
}

// Writing a Tokenizer back out as Hugging Face files: tokenizer.json in `tokenizers`' schema (the inverse of
// Tokenizer+JSON.swift; what makes a GGUF-built tokenizer usable by transformers) and a tokenizer_config.json,
// both laid out as serde_json's pretty printer writes them.
import Foundation
import Support

extension Tokenizer {
  /// tokenizer.json in `tokenizers`' (0.2x) schema: model (BPE vocabulary by id, merges as pairs in rank order,
  /// byte_fallback, ignore_merges), normalizer, pre_tokenizer, post_processor, decoder and added_tokens (by id).
  /// `Tokenizer(tokenizerJSON:)` on the result, and Python's `tokenizers`, give the same ids as this tokenizer.
  public func tokenizerJSON() throws -> Data {
    let json: JSONValue = .object([
      ("version", .string("1.0")),
      ("truncation", .null),
      ("padding", .null),
      ("added_tokens", .array(added.tokens.sorted { $0.id < $1.id }.map(Self.json(addedToken:)))),
      ("normalizer", try normalizer.map { try $0.json() } ?? .null),
      ("pre_tokenizer", try preTokenizer.map { try $0.json() } ?? .null),
      ("post_processor", try postProcessor.map { try $0.json(tokenName: tokenName) } ?? .null),
      ("decoder", try decoder.map { try $0.json() } ?? .null),
      ("model", model.json()),
    ])
    return Data(json.utf8(.serdePretty))
  }

  /// tokenizer_config.json for the exported tokenizer.json: named special tokens, the chat template,
  /// `model_max_length`, `tokenizer_class` (PreTrainedTokenizerFast: transformers reads tokenizer.json as it is)
  /// and `clean_up_tokenization_spaces: false` (decode returns the text the tokens spell, as ours does).
  public func tokenizerConfigJSON(modelMaxLength: Int?, chatTemplate: String? = nil) -> Data {
    var members: [(key: String, value: JSONValue)] = []
    if let bosToken { members.append(("bos_token", .string(bosToken))) }
    if let template = chatTemplate ?? self.chatTemplate { members.append(("chat_template", .string(template))) }
    members.append(("clean_up_tokenization_spaces", .bool(false)))
    if let eosToken { members.append(("eos_token", .string(eosToken))) }
    if let modelMaxLength { members.append(("model_max_length", .int(modelMaxLength))) }
    if let padToken { members.append(("pad_token", .string(padToken))) }
    members.append(("tokenizer_class", .string("PreTrainedTokenizerFast")))
    if let unknownToken { members.append(("unk_token", .string(unknownToken))) }
    return Data(JSONValue.object(members).utf8(.serdePretty))
  }

  /// The name a post-processor template uses for a special token id: its text.
  private func tokenName(_ id: Int) -> String? { token(id) }

  static func json(addedToken t: AddedToken) -> JSONValue {
    .object([("id", .int(t.id)), ("content", .string(t.content)), ("single_word", .bool(t.singleWord)),
             ("lstrip", .bool(t.leftStrip)), ("rstrip", .bool(t.rightStrip)), ("normalized", .bool(t.normalized)),
             ("special", .bool(t.isSpecial))])
  }
}

/// A pipeline part that has no tokenizer.json form (only built internally, never parsed).
struct TokenizerExportError: Error, CustomStringConvertible {
  let description: String
}

// MARK: Model

extension BPEModel {
  /// The merges as `tokenizers` serialises them: by rank, each pair spelled with the vocabulary's tokens.
  var rankedMerges: [(String, String)] {
    merges.sorted { $0.value.rank < $1.value.rank }.compactMap { key, _ in
      guard let left = tokensByID[Int(key >> 32)], let right = tokensByID[Int(key & 0xFFFF_FFFF)] else { return nil }
      return (left, right)
    }
  }

  func json() -> JSONValue {
    let vocab = vocabulary.sorted { $0.value < $1.value }.map { (key: $0.key.value, value: JSONValue.int($0.value)) }
    let merges = rankedMerges.map { JSONValue.array([.string($0.0), .string($0.1)]) }
    return .object([
      ("type", .string("BPE")),
      ("dropout", .null),
      ("unk_token", unknownToken.map(JSONValue.string) ?? .null),
      ("continuing_subword_prefix", continuingSubwordPrefix.map(JSONValue.string) ?? .null),
      ("end_of_word_suffix", endOfWordSuffix.map(JSONValue.string) ?? .null),
      ("fuse_unk", .bool(fuseUnknown)),
      ("byte_fallback", .bool(byteFallback)),
      ("ignore_merges", .bool(ignoreMerges)),
      ("vocab", .object(vocab)),
      ("merges", .array(merges)),
    ])
  }
}

// MARK: Pipeline parts

extension ReplacePattern {
  func json() throws -> JSONValue { try Self.json(matcher) }

  /// `{"String": s}` or `{"Regex": r}` for the matchers tokenizer.json can name.
  static func json(_ matcher: SplitPattern) throws -> JSONValue {
    switch matcher {
    case let literal as LiteralPattern:
      return .object([("String", .string(String(scalars: literal.needle)))])
    case is GPT2Pattern:
      return .object([("Regex", .string(KnownPattern.gpt2))])
    case let pattern as Llama3Pattern:
      switch pattern.maximumDigits {
      case 3: return .object([("Regex", .string(KnownPattern.llama3))])
      case 1: return .object([("Regex", .string(KnownPattern.qwen2))])
      default: throw TokenizerExportError(description: "a Llama-3-style split with \(pattern.maximumDigits) digits has no regex source")
      }
    case let regex as FoundationRegexPattern:
      return .object([("Regex", .string(regex.regex.pattern))])
    default:
      throw TokenizerExportError(description: "split pattern \(type(of: matcher)) has no tokenizer.json form")
    }
  }
}

extension Normalizer {
  func json() throws -> JSONValue {
    switch self {
    case .nfc: return .object([("type", .string("NFC"))])
    case .nfd: return .object([("type", .string("NFD"))])
    case .nfkc: return .object([("type", .string("NFKC"))])
    case .nfkd: return .object([("type", .string("NFKD"))])
    case .lowercase: return .object([("type", .string("Lowercase"))])
    case .prepend(let prefix): return .object([("type", .string("Prepend")), ("prepend", .string(prefix))])
    case .replace(let pattern, let content):
      return .object([("type", .string("Replace")), ("pattern", try pattern.json()), ("content", .string(content))])
    case .strip(let left, let right):
      return .object([("type", .string("Strip")), ("strip_left", .bool(left)), ("strip_right", .bool(right))])
    case .sequence(let steps):
      return .object([("type", .string("Sequence")), ("normalizers", .array(try steps.map { try $0.json() }))])
    }
  }
}

extension PreTokenizer {
  func json() throws -> JSONValue {
    switch self {
    case .byteLevel(let addPrefixSpace, let useRegex):
      return .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(addPrefixSpace)),
                      ("trim_offsets", .bool(true)), ("use_regex", .bool(useRegex))])
    case .split(let pattern, let behavior, let invert):
      return .object([("type", .string("Split")), ("pattern", try ReplacePattern.json(pattern)),
                      ("behavior", .string(behavior.rawValue)), ("invert", .bool(invert))])
    case .digits(let individual):
      return .object([("type", .string("Digits")), ("individual_digits", .bool(individual))])
    case .metaspace(let replacement, let scheme, let split):
      return .object([("type", .string("Metaspace")), ("replacement", .string(String(replacement))),
                      ("prepend_scheme", .string(scheme.rawValue)), ("split", .bool(split))])
    case .whitespaceSplit: return .object([("type", .string("WhitespaceSplit"))])
    case .whitespace: return .object([("type", .string("Whitespace"))])
    case .sequence(let steps):
      return .object([("type", .string("Sequence")), ("pretokenizers", .array(try steps.map { try $0.json() }))])
    }
  }
}

extension TokenDecoder {
  func json() throws -> JSONValue {
    switch self {
    case .byteLevel:
      return .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)), ("trim_offsets", .bool(true)),
                      ("use_regex", .bool(true))])
    case .metaspace(let replacement, let scheme):
      return .object([("type", .string("Metaspace")), ("replacement", .string(String(replacement))),
                      ("prepend_scheme", .string(scheme.rawValue)), ("split", .bool(true))])
    case .byteFallback: return .object([("type", .string("ByteFallback"))])
    case .fuse: return .object([("type", .string("Fuse"))])
    case .strip(let content, let start, let stop):
      return .object([("type", .string("Strip")), ("content", .string(String(content))),
                      ("start", .int(start)), ("stop", .int(stop))])
    case .replace(let pattern, let content):
      return .object([("type", .string("Replace")), ("pattern", try pattern.json()), ("content", .string(content))])
    case .sequence(let steps):
      return .object([("type", .string("Sequence")), ("decoders", .array(try steps.map { try $0.json() }))])
    }
  }
}

extension PostProcessor {
  /// Wrapping rules become TemplateProcessing (as transformers' `update_post_processor` writes them); a pair
  /// repeats the single template with the second sequence at type id 1.
  func json(tokenName: (Int) -> String?) throws -> JSONValue {
    func template(_ items: [TemplateItem]) throws -> JSONValue {
      var specials: [(key: String, value: JSONValue)] = []
      func piece(_ item: TemplateItem, sequence: String, typeID: Int) throws -> JSONValue {
        switch item {
        case .sequence:
          return .object([("Sequence", .object([("id", .string(sequence)), ("type_id", .int(typeID))]))])
        case .special(let ids):
          let tokens = try ids.map { id -> String in
            guard let name = tokenName(id) else {
              throw TokenizerExportError(description: "post-processor adds id \(id), which has no token")
            }
            return name
          }
          let name = tokens.joined()
          if !specials.contains(where: { exactlyEqual($0.key, name) }) {
            specials.append((name, .object([("id", .string(name)), ("ids", .array(ids.map { .int($0) })),
                                            ("tokens", .array(tokens.map(JSONValue.string)))])))
          }
          return .object([("SpecialToken", .object([("id", .string(name)), ("type_id", .int(typeID))]))])
        }
      }
      let single = try items.map { try piece($0, sequence: "A", typeID: 0) }
      let pair = try single + items.map { try piece($0, sequence: "B", typeID: 1) }
      return .object([("type", .string("TemplateProcessing")), ("single", .array(single)), ("pair", .array(pair)),
                      ("special_tokens", .object(specials))])
    }
    switch self {
    case .template(let items): return try template(items)
    case .wrap(let prefix, let suffix):
      return try template(prefix.map { .special([$0]) } + [.sequence] + suffix.map { .special([$0]) })
    case .identity:
      return .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)), ("trim_offsets", .bool(false)),
                      ("use_regex", .bool(true))])
    case .sequence(let steps):
      return .object([("type", .string("Sequence")),
                      ("processors", .array(try steps.map { try $0.json(tokenName: tokenName) }))])
    }
  }
}

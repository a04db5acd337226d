// Loading a Tokenizer from Hugging Face files: tokenizer.json (model, normalizer, pre-tokenizer, post-processor,
// decoder, added tokens) and tokenizer_config.json / chat_template.jinja (special tokens, BOS/EOS flags, template).
import Foundation
import Support

extension Tokenizer {
  /// Loads `tokenizer.json`, and optionally `tokenizer_config.json` for BOS/EOS/PAD and the chat template.
  public convenience init(tokenizerJSON url: URL, tokenizerConfig configURL: URL? = nil) throws {
    let file = url.lastPathComponent
    let json = try Self.readJSON(url)
    try self.init(tokenizerJSON: json, file: file)
    if let configURL {
      let config = try Self.readJSON(configURL)
      try applyConfig(config, file: configURL.lastPathComponent)
    }
  }

  /// Loads a Hugging Face model folder: tokenizer.json, tokenizer_config.json and chat_template.jinja if present.
  public convenience init(folder: URL) throws {
    let configURL = folder.appendingPathComponent("tokenizer_config.json")
    let hasConfig = FileManager.default.fileExists(atPath: configURL.path)
    try self.init(tokenizerJSON: folder.appendingPathComponent("tokenizer.json"),
                  tokenizerConfig: hasConfig ? configURL : nil)
    // A chat_template.jinja file takes priority over the template in tokenizer_config.json, as in transformers.
    let jinja = folder.appendingPathComponent("chat_template.jinja")
    if FileManager.default.fileExists(atPath: jinja.path) {
      guard let text = try? String(contentsOf: jinja, encoding: .utf8) else {
        throw TokenizerError.unreadableFile(file: jinja.path, reason: "not UTF-8 text")
      }
      setChatTemplates(default: text, named: namedChatTemplates)
    }
  }

  static func readJSON(_ url: URL) throws -> JSONValue {
    let file: MappedFile
    do { file = try MappedFile(url: url) } catch let error as FileError {
      throw TokenizerError.unreadableFile(file: url.path, reason: "cannot \(error.operation): \(error.reason)")
    }
    do {
      return try JSONValue.parse(file.utf8)
    } catch let error as JSONSyntaxError {
      throw TokenizerError.unreadableFile(file: url.path, reason: "malformed JSON at \(error.located(in: file.utf8))")
    }
  }

  /// Builds the pipeline from a parsed tokenizer.json.
  convenience init(tokenizerJSON json: JSONValue, file: String) throws {
    guard let modelJSON = json[first: "model"], case .object = modelJSON else {
      throw TokenizerError.invalidField(file: file, field: "model", reason: "missing")
    }
    let modelType = modelJSON[first: "type"]?.stringValue ?? (modelJSON[first: "merges"] != nil ? "BPE" : "")
    guard modelType == "BPE" else {
      throw TokenizerError.unsupported(file: file, field: "model.type", value: modelType.isEmpty ? "(missing)" : modelType)
    }
    guard let vocabPairs = modelJSON[first: "vocab"]?.objectValue else {
      throw TokenizerError.invalidField(file: file, field: "model.vocab", reason: "expected an object of token -> id")
    }
    var vocabulary: [(String, Int)] = []
    vocabulary.reserveCapacity(vocabPairs.count)
    for (token, value) in vocabPairs {
      // Token ids are u32 in `tokenizers`; ours are Int32 inside the BPE model.
      guard let id = value.intValue, id >= 0, id <= Int(Int32.max) else {
        throw TokenizerError.invalidField(file: file, field: "model.vocab[\(token)]",
                                          reason: "id is not an integer from 0 to \(Int32.max)")
      }
      vocabulary.append((token, id))
    }
    var merges: [(String, String)] = []
    for (index, entry) in (modelJSON[first: "merges"]?.arrayValue ?? []).enumerated() {
      if let text = entry.stringValue {
        guard let pair = Self.splitMerge(text) else {
          throw TokenizerError.invalidField(file: file, field: "model.merges[\(index)]", reason: "expected \"a b\", got \"\(text)\"")
        }
        merges.append(pair)
      } else if let pair = entry.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue {
        merges.append((a, b))
      } else {
        throw TokenizerError.invalidField(file: file, field: "model.merges[\(index)]", reason: "expected \"a b\" or [a, b]")
      }
    }
    if let dropout = modelJSON[first: "dropout"]?.doubleValue, dropout > 0 {
      throw TokenizerError.unsupported(file: file, field: "model.dropout", value: "\(dropout)")
    }
    func nonEmpty(_ s: String?) -> String? { (s?.isEmpty ?? true) ? nil : s }
    let model: BPEModel
    do {
      model = try BPEModel(
        vocabulary: vocabulary, merges: merges,
        unknownToken: modelJSON[first: "unk_token"]?.stringValue,
        fuseUnknown: modelJSON[first: "fuse_unk"]?.boolValue ?? false,
        byteFallback: modelJSON[first: "byte_fallback"]?.boolValue ?? false,
        ignoreMerges: modelJSON[first: "ignore_merges"]?.boolValue ?? false,
        continuingSubwordPrefix: nonEmpty(modelJSON[first: "continuing_subword_prefix"]?.stringValue),
        endOfWordSuffix: nonEmpty(modelJSON[first: "end_of_word_suffix"]?.stringValue))
    } catch BPEModelError.mergeTokenMissing(let token) {
      throw TokenizerError.invalidField(file: file, field: "model.merges", reason: "token \"\(token)\" is not in model.vocab")
    }
    let normalizer = try json[first: "normalizer"].flatMap { try Normalizer.parse($0, file: file) }
    let preTokenizer = try json[first: "pre_tokenizer"].flatMap { try PreTokenizer.parse($0, file: file) }
    let postProcessor = try json[first: "post_processor"].flatMap { try PostProcessor.parse($0, file: file) }
    let decoder = try json[first: "decoder"].flatMap { try TokenDecoder.parse($0, file: file) }
    var addedTokens: [AddedToken] = []
    for (index, entry) in (json[first: "added_tokens"]?.arrayValue ?? []).enumerated() {
      guard let id = entry[first: "id"]?.intValue, let content = entry[first: "content"]?.stringValue else {
        throw TokenizerError.invalidField(file: file, field: "added_tokens[\(index)]", reason: "needs id and content")
      }
      guard id >= 0, id <= Int(Int32.max) else {
        throw TokenizerError.invalidField(file: file, field: "added_tokens[\(index)].id",
                                          reason: "\(id) is not an integer from 0 to \(Int32.max)")
      }
      let special = entry[first: "special"]?.boolValue ?? false
      addedTokens.append(AddedToken(
        id: id, content: content, isSpecial: special,
        leftStrip: entry[first: "lstrip"]?.boolValue ?? false, rightStrip: entry[first: "rstrip"]?.boolValue ?? false,
        singleWord: entry[first: "single_word"]?.boolValue ?? false,
        normalized: entry[first: "normalized"]?.boolValue ?? !special))
    }
    self.init(model: model, normalizer: normalizer, preTokenizer: preTokenizer, postProcessor: postProcessor,
              decoder: decoder, addedTokens: addedTokens)
  }

  /// "a b" -> ("a", "b"), split at the first space as `tokenizers` does.
  static func splitMerge(_ text: String) -> (String, String)? {
    guard let space = text.utf8.firstIndex(of: UInt8(ascii: " ")) else { return nil }
    let left = String(text.utf8[..<space])!
    let right = String(text.utf8[text.utf8.index(after: space)...])!
    return (left, right)
  }

  /// Applies tokenizer_config.json: named special tokens (added as special tokens when missing) and `chat_template`.
  func applyConfig(_ config: JSONValue, file: String) throws {
    func tokenText(_ key: String) throws -> String? {
      guard let value = config[first: key], !value.isNull else { return nil }
      if let s = value.stringValue { return s }
      if let s = value[first: "content"]?.stringValue { return s }
      throw TokenizerError.invalidField(file: file, field: key, reason: "expected a string or {\"content\": …}")
    }
    setNamedSpecialTokens(bos: try tokenText("bos_token"), eos: try tokenText("eos_token"),
                          pad: try tokenText("pad_token"), unknown: try tokenText("unk_token"))
    registerNamedSpecialTokens()
    // transformers 5.23 drops `add_bos_token`/`add_eos_token` when a tokenizer.json exists: its post-processor rules.
    if let template = config[first: "chat_template"], !template.isNull {
      if let text = template.stringValue {
        setChatTemplates(default: text, named: [:])
      } else if let list = template.arrayValue {
        var named: [String: String] = [:]
        for (index, item) in list.enumerated() {
          guard let name = item[first: "name"]?.stringValue, let text = item[first: "template"]?.stringValue else {
            throw TokenizerError.invalidField(file: file, field: "chat_template[\(index)]", reason: "expected {name, template}")
          }
          named[name] = text
        }
        setChatTemplates(default: named["default"] ?? list.first?[first: "template"]?.stringValue, named: named)
      } else {
        throw TokenizerError.invalidField(file: file, field: "chat_template", reason: "expected a string or a list")
      }
    }
  }
}

/// A part of tokenizer.json's pipeline (normalizer, pre-tokenizer, post-processor, decoder): `null` for none, an
/// object with a "type", or `{"type": "Sequence", "<sequenceKey>": [parts]}`.
protocol PipelinePart {
  /// The part's key in tokenizer.json ("normalizer", …), which errors name.
  static var field: String { get }
  /// The key of a Sequence's parts ("normalizers", …).
  static var sequenceKey: String { get }
  static func sequence(_ parts: [Self]) -> Self
  /// A part of a type other than "Sequence"; throws `unsupported` for a type it does not know.
  static func part(type: String, json: JSONValue, file: String, field: String) throws -> Self
}

extension PipelinePart {
  static func parse(_ json: JSONValue, file: String) throws -> Self? { try parse(json, file: file, field: field) }

  /// The part `json` describes at `field` (nil for `null`).
  static func parse(_ json: JSONValue, file: String, field: String) throws -> Self? {
    if json.isNull { return nil }
    guard let type = json[first: "type"]?.stringValue else {
      throw TokenizerError.invalidField(file: file, field: "\(field).type", reason: "missing")
    }
    guard type == "Sequence" else { return try part(type: type, json: json, file: file, field: field) }
    guard let items = json[first: sequenceKey]?.arrayValue else {
      throw TokenizerError.invalidField(file: file, field: "\(field).\(sequenceKey)", reason: "expected an array")
    }
    return .sequence(try items.enumerated().compactMap {
      try parse($0.element, file: file, field: "\(field).\(sequenceKey)[\($0.offset)]")
    })
  }
}

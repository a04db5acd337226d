// Writing a Hugging Face tokenizer folder as llama.cpp's GGUF vocabulary (`tokenizer.ggml.*`, `tokenizer.chat_template`)
// the way llama.cpp's converter does for byte-level BPE (convert_hf_to_gguf.py's get_vocab_base, get_vocab_base_pre
// and gguf-py's SpecialVocab, as vendored in llama-cpp-python 0.3.36): tokens, token types, merges, the
// pre-tokenizer's llama.cpp name, special token ids, add_bos/add_eos and the chat template.
import Foundation
import GGUF
import Support

/// The GGUF tokenizer metadata for a Hugging Face tokenizer folder, and how its pre-tokenizer name was found.
public struct GGUFVocabulary {
  /// `tokenizer.*` keys in the order llama.cpp's converter writes them.
  public var metadata: [(key: String, value: GGUFValue)]
  /// `tokenizer.ggml.pre`.
  public let pre: String
  /// llama.cpp's "chkhsh": SHA-256 of the ids `encode` gives for `Tokenizer.llamaCppCheckText`.
  public let checksum: String
  /// True when `checksum` is in llama.cpp's table; false when `pre` was read off the pre-tokenizer's structure.
  public let checksumRecognized: Bool
  /// tokenizer_config.json's `add_prefix_space`, which llama.cpp writes as `tokenizer.ggml.add_space_prefix` for
  /// the llama architecture.
  public let addPrefixSpace: Bool?
}

extension Tokenizer {
  /// The text llama.cpp's converter encodes to tell pre-tokenizers apart (convert_hf_to_gguf.py's `chktxt`).
  public static let llamaCppCheckText = "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n\u{1f680} (normal) "
    + "\u{1f636}\u{200d}\u{1f32b}\u{fe0f} (multiple emojis concatenated) \u{2705} \u{1f999}\u{1f999} 3 33 333 3333 33333 "
    + "333333 3333333 33333333 3.3 3..3 3...3 \u{1780}\u{17b6}\u{1793}\u{17cb}\u{178f}\u{17c2}\u{1796}\u{17b7}\u{179f}"
    + "\u{17c1}\u{179f}\u{17a2}\u{17b6}\u{1785}\u{1f601} ?\u{6211}\u{60f3}\u{5728}apple\u{5de5}\u{4f5c}1314151\u{5929}"
    + "\u{ff5e} ------======= \u{43d}\u{435}\u{449}\u{43e} \u{43d}\u{430} \u{411}\u{44a}\u{43b}\u{433}\u{430}\u{440}"
    + "\u{441}\u{43a}\u{438} ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not "
    + "sure I'll make it, 'D you like some tea? We'Ve a'lL"

  /// llama.cpp's checksums for the byte-level BPE tokenizers of the families this project trains (get_vocab_base_pre).
  static let llamaCppPreTokenizers: [String: String] = [
    "0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5": "llama-bpe",  // Meta-Llama-3-8B
    "c136ed14d01c2745d4f60a9596ae66800e2b61fa45643e72436041855ad4089d": "smaug-bpe",  // Smaug-Llama-3-70B
    "855059429035d75a914d1eda9f10a876752e281a054a7a3d421ef0533e5b6249": "smollm",  // SmolLM-135M (SmolLM2's too)
    "e636dc30a262dcc0d8c323492e32ae2b70728f4df7dfe9737d9f920a282b8aea": "qwen2",  // Qwen1.5-7B (Qwen2, Qwen2.5, Qwen3)
    "d4540891389ea895b53b399da6ac824becc30f2fba0e9ddbb98f92e55ca0e97c": "qwen2",  // Qwen3-Embedding-0.6B
    "3ce83efda5659b07b1ad37ca97ca5797ea4285d9b9ab0dc679e4a720c9da7454": "gpt-2",  // openai-community/gpt2
  ]

  /// llama.cpp's "chkhsh": SHA-256 of Python's `str()` of the ids `encode` (special tokens added) gives for
  /// `llamaCppCheckText`.
  public func llamaCppChecksum() -> String {
    let ids = encode(Self.llamaCppCheckText, addSpecialTokens: true)
    return SHA256.hex(Array(("[" + ids.map(String.init).joined(separator: ", ") + "]").utf8))
  }

  /// The llama.cpp pre-tokenizer whose splitting this tokenizer's pre-tokenizer does, read off its structure (for
  /// tokenizers whose checksum llama.cpp does not list, e.g. small ones trained for tests): Llama-3's split →
  /// "llama-bpe", Qwen2's → "qwen2", single digits then GPT-2's byte-level split → "smollm", GPT-2's → "gpt-2".
  var llamaCppPreTokenizerByStructure: String? {
    switch preTokenizer {
    case .byteLevel(_, useRegex: true)?:
      return "gpt-2"
    case .sequence(let steps)?:
      if steps.count == 2, case .digits(individual: true) = steps[0], case .byteLevel(_, useRegex: true) = steps[1] {
        return "smollm"
      }
      if steps.count == 2, case .split(let pattern as Llama3Pattern, .isolated, false) = steps[0],
         case .byteLevel(_, useRegex: false) = steps[1] {
        return [3: "llama-bpe", 1: "qwen2"][pattern.maximumDigits]
      }
      return nil
    default:
      return nil
    }
  }

  /// llama.cpp's `does_token_look_special`: added tokens some models forget to mark special.
  static func looksSpecial(_ token: String) -> Bool {
    ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(token)
      || (token.hasPrefix("<|") && token.hasSuffix("|>"))
      || (token.hasPrefix("<\u{ff5c}") && token.hasSuffix("\u{ff5c}>"))
      || (token.hasPrefix("<unused") && token.hasSuffix(">"))
  }

  /// The GGUF vocabulary llama.cpp's converter writes for the byte-level BPE tokenizer in `folder` (tokenizer.json,
  /// tokenizer_config.json, chat_template.jinja/.json, config.json): every id below config.json's `vocab_size`
  /// (`[PAD<i>]`, unused, where no token has it), types normal / control (special added tokens and ones that look
  /// special) / user-defined (other added tokens), merges, special token ids (from tokenizer_config.json's named
  /// tokens, then config.json's `*_token_id`), add_bos/add_eos (from tokenizer.json's post-processor, then
  /// tokenizer_config.json) and the chat template. Throws for SentencePiece-style (Metaspace / byte-fallback) folders.
  public static func ggufVocabulary(folder: URL) throws -> GGUFVocabulary {
    let tokenizerURL = folder.appendingPathComponent("tokenizer.json")
    let file = tokenizerURL.path
    let tokenizer = try Tokenizer(folder: folder)
    guard !tokenizer.model.byteFallback, tokenizer.decoder.map({ if case .byteLevel = $0 { return true } else { return false } }) ?? false
    else {
      throw TokenizerError.unsupported(
        file: file, field: "model (GGUF export from a Hugging Face folder)",
        value: "a SentencePiece-style BPE (Metaspace, byte fallback); only byte-level BPE (Llama-3, SmolLM2, Qwen2/3) is written from tokenizer.json — export from the model's GGUF file instead")
    }
    let json = try readJSON(tokenizerURL)
    func optionalJSON(_ name: String) throws -> JSONValue? {
      let url = folder.appendingPathComponent(name)
      return FileManager.default.fileExists(atPath: url.path) ? try readJSON(url) : nil
    }
    let tokenizerConfig = try optionalJSON("tokenizer_config.json")
    let config = try optionalJSON("config.json")

    // get_vocab_base: ids below vocab_size, named by the vocabulary (added tokens included).
    let vocabSize = config?[first: "vocab_size"]?.intValue ?? tokenizer.vocabularyCount
    guard tokenizer.vocabularySize <= vocabSize else {
      throw TokenizerError.invalidField(file: folder.appendingPathComponent("config.json").path, field: "vocab_size",
                                        reason: "\(vocabSize), but the tokenizer has id \(tokenizer.vocabularySize - 1)")
    }
    let checksum = tokenizer.llamaCppChecksum()
    let recognized = llamaCppPreTokenizers[checksum]
    guard let pre = recognized ?? tokenizer.llamaCppPreTokenizerByStructure else {
      throw TokenizerError.unsupported(file: file, field: "pre_tokenizer (llama.cpp's tokenizer.ggml.pre)",
                                       value: "checksum \(checksum), not one llama.cpp lists, and a pre-tokenizer other than GPT-2's, Llama-3's, Qwen2's or SmolLM's")
    }
    var tokens: [String] = []
    var types: [GGUFValue] = []
    tokens.reserveCapacity(vocabSize)
    types.reserveCapacity(vocabSize)
    for id in 0..<vocabSize {
      if let addedToken = tokenizer.added.token(forID: id) {
        var token = addedToken.content
        if !addedToken.normalized {
          token = tokenizer.decode(tokenizer.encode(token, addSpecialTokens: false))
        }
        if addedToken.isSpecial || looksSpecial(token) {
          types.append(.int32(Int32(GGUFTokenType.control.rawValue)))
        } else {
          token = token.replacingOccurrences(of: "\u{2581}", with: " ")
          types.append(.int32(Int32(GGUFTokenType.userDefined.rawValue)))
        }
        tokens.append(token)
      } else if let token = tokenizer.model.tokensByID[id] {
        tokens.append(token)
        types.append(.int32(Int32(GGUFTokenType.normal.rawValue)))
      } else {
        tokens.append("[PAD\(id)]")
        types.append(.int32(Int32(GGUFTokenType.unused.rawValue)))
      }
    }

    var metadata: [(key: String, value: GGUFValue)] = [
      ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string(pre)),
      ("tokenizer.ggml.tokens", .array(tokens.map(GGUFValue.string))), ("tokenizer.ggml.token_type", .array(types)),
    ]
    let special = try SpecialVocabulary(folder: folder, tokenizerJSON: json, tokenizerConfig: tokenizerConfig,
                                        config: config, file: file)
    if !special.merges.isEmpty { metadata.append(("tokenizer.ggml.merges", .array(special.merges.map(GGUFValue.string)))) }
    let idKeys = ["bos": "bos_token_id", "eos": "eos_token_id", "unk": "unknown_token_id", "sep": "seperator_token_id",
                  "pad": "padding_token_id", "mask": "mask_token_id", "eot": "eot_token_id", "eom": "eom_token_id"]
    for (type, id) in special.ids {
      guard let key = idKeys[type] else { continue }  // cls: gguf-py has no key for it
      metadata.append(("tokenizer.ggml.\(key)", .uint32(UInt32(id))))
    }
    for (type, add) in special.add where ["bos", "eos", "sep"].contains(type) {
      metadata.append(("tokenizer.ggml.add_\(type)_token", .bool(add)))
    }
    metadata += special.chatTemplate
    if let lowercase = special.lowercase { metadata.append(("tokenizer.ggml.normalizer.lowercase", .bool(lowercase))) }
    if let strip = special.stripAccents { metadata.append(("tokenizer.ggml.normalizer.strip_accents", .bool(strip))) }
    return GGUFVocabulary(metadata: metadata, pre: pre, checksum: checksum, checksumRecognized: recognized != nil,
                          addPrefixSpace: tokenizerConfig?[first: "add_prefix_space"]?.boolValue)
  }
}

/// gguf-py's SpecialVocab(load_merges=True) over a folder: merges and normalizer flags from tokenizer.json; special
/// token ids and add_<type>_token flags from tokenizer.json's post-processor, tokenizer_config.json and config.json;
/// the chat template. (A named token given as {"content": …} counts by its content.)
struct SpecialVocabulary {
  var merges: [String] = []
  var ids: [(type: String, id: Int)] = []
  var add: [(type: String, value: Bool)] = []
  var chatTemplate: [(key: String, value: GGUFValue)] = []
  /// tokenizer.json's normalizer lowercases / strips accents (`tokenizer.ggml.normalizer.*`).
  var lowercase: Bool?
  var stripAccents: Bool?

  init(folder: URL, tokenizerJSON json: JSONValue, tokenizerConfig: JSONValue?, config: JSONValue?, file: String) throws {
    var types = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"]
    if let list = json[first: "model"]?[first: "merges"]?.arrayValue, let first = list.first {
      if first.stringValue != nil {
        merges = list.compactMap(\.stringValue)
      } else if first.arrayValue != nil {
        // Pairs (tokenizers ≥ 0.20); a space inside a token is written as U+0120, as gguf-py does.
        merges = try list.enumerated().map { index, pair in
          guard let parts = pair.arrayValue?.compactMap(\.stringValue), parts.count == 2 else {
            throw TokenizerError.invalidField(file: file, field: "model.merges[\(index)]", reason: "expected a pair of strings")
          }
          return parts.map { $0.replacingOccurrences(of: " ", with: "\u{120}") }.joined(separator: " ")
        }
      }
    }
    func readNormalizer(_ normalizer: JSONValue) {
      switch normalizer[first: "type"]?.stringValue {
      case "Lowercase": lowercase = true
      case "StripAccents": stripAccents = true
      case "BertNormalizer":
        if let value = normalizer[first: "lowercase"]?.boolValue { lowercase = value }
        if let value = normalizer[first: "strip_accents"]?.boolValue { stripAccents = value }
      case "Sequence": for step in normalizer[first: "normalizers"]?.arrayValue ?? [] { readNormalizer(step) }
      default: break
      }
    }
    if let normalizer = json[first: "normalizer"], normalizer.objectValue?.isEmpty == false { readNormalizer(normalizer) }
    let addedTokens = json[first: "added_tokens"]?.arrayValue ?? []
    // tokenizer_config.json's named tokens (by content), which the post-processor's template may amend.
    var named: [String: String] = [:]
    if let tokenizerConfig {
      for type in types + ["eot", "eom"] {
        guard let entry = tokenizerConfig[first: "\(type)_token"] else { continue }
        if let s = entry.stringValue ?? entry[first: "content"]?.stringValue { named[type] = s }
      }
    }
    let hasConfig = !(tokenizerConfig?.objectValue?.isEmpty ?? true)
    func setAdd(_ type: String, _ value: Bool) {
      if let i = add.firstIndex(where: { $0.type == type }) { add[i].value = value } else { add.append((type, value)) }
    }
    if !named.keys.contains("bos"), hasConfig, let cls = named["cls"] { named["bos"] = cls }
    if !named.keys.contains("eos"), hasConfig, let sep = named["sep"] { named["eos"] = sep }
    if let postProcessor = json[first: "post_processor"], !postProcessor.isNull {
      let processors = postProcessor[first: "processors"]?.arrayValue ?? [postProcessor]
      for processor in processors {
        switch processor[first: "type"]?.stringValue {
        case "ByteLevel":
          if !add.contains(where: { $0.type == "bos" }) { add.append(("bos", false)) }
          if !add.contains(where: { $0.type == "eos" }) { add.append(("eos", false)) }
        case "RobertaProcessing":
          setAdd("bos", true); setAdd("eos", true); setAdd("sep", true)
          if named["cls"] == nil, hasConfig, let cls = processor[first: "cls"]?.arrayValue?.first?.stringValue ?? named["bos"] {
            named["cls"] = cls
          }
          if named["sep"] == nil, hasConfig, let sep = processor[first: "sep"]?.arrayValue?.first?.stringValue ?? named["eos"] {
            named["sep"] = sep
          }
        case "TemplateProcessing":
          let single = processor[first: "single"]?.arrayValue ?? []
          let pair = processor[first: "pair"]?.arrayValue ?? []
          func specialID(_ item: JSONValue?) -> String? {
            guard let s = item?[first: "SpecialToken"]?[first: "id"]?.stringValue, !s.isEmpty else { return nil }
            return s
          }
          var first: String?, last: String?
          if single.count > 1 {
            first = specialID(single.first)
            if let first {
              if !hasConfig {
                named["bos"] = first
              } else if first != named["bos"] && first != named["cls"] {
                if named["bos"] == nil { named["bos"] = first }
                if named["cls"] == nil { named["cls"] = first }
              }
              setAdd("bos", first == named["bos"] || first == named["cls"])
            }
            last = specialID(single.last)
            if let last {
              if !hasConfig {
                named["eos"] = last
              } else if last != named["eos"] {
                if !types.contains("eot") {
                  types.append("eot"); named["eot"] = named["eos"]
                } else if !types.contains("eom") {
                  types.append("eom"); named["eom"] = named["eos"]
                }
                named["eos"] = last
              }
              setAdd("eos", last == named["eos"])
            }
          }
          if !pair.isEmpty {
            let start = first != nil && specialID(pair.first) == first ? 1 : 0
            let stop = last != nil && specialID(pair.last) == last ? pair.count - 1 : pair.count
            if start < stop {
              var middle = Array(pair[start..<stop])
              let a = middle.first?[first: "Sequence"]?[first: "id"]?.stringValue
              let b = middle.last?[first: "Sequence"]?[first: "id"]?.stringValue
              if a == "A" && b == "B" && middle.count > 2 {
                middle = Array(middle[1..<(middle.count - 1)])
                var addSep = false
                if let entry = specialID(middle[0]), entry == named["sep"] || entry == named["eos"], last == nil { addSep = true }
                if middle.count == 2, let entry = specialID(middle[1]), entry == named["sep"] || entry == named["eos"] {
                  addSep = true
                }
                setAdd("sep", addSep)
                if addSep && named["sep"] == nil && hasConfig { named["sep"] = named["eos"] }
              }
            }
          }
        default:
          break
        }
      }
    }
    func setID(_ type: String, _ value: JSONValue?) throws {
      guard let value, let id = value.intValue, value.numberValue?.isInteger == true else { return }
      guard id >= 0 else {
        throw TokenizerError.invalidField(file: file, field: "\(type)_token_id", reason: "\(id) is negative")
      }
      if !ids.contains(where: { $0.type == type }) { ids.append((type, id)) }
    }
    if hasConfig, let tokenizerConfig {
      // The chat template: tokenizer_config.json's, else chat_template.jinja (with additional_chat_templates/),
      // else chat_template.json's.
      let jinja = folder.appendingPathComponent("chat_template.jinja")
      let jsonTemplate = folder.appendingPathComponent("chat_template.json")
      var template: JSONValue? = tokenizerConfig[first: "chat_template"]
      if template == nil, FileManager.default.fileExists(atPath: jinja.path) {
        let text = try Self.text(jinja)
        let extra = folder.appendingPathComponent("additional_chat_templates")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: extra.path)) ?? []).filter { $0.hasSuffix(".jinja") }
        if names.isEmpty {
          template = .string(text)
        } else {
          var list: [JSONValue] = [.object([("name", .string("default")), ("template", .string(text))])]
          for name in names.sorted() {
            list.append(.object([("name", .string(String(name.dropLast(6)))),
                                 ("template", .string(try Self.text(extra.appendingPathComponent(name))))]))
          }
          template = .array(list)
        }
      } else if template == nil, FileManager.default.fileExists(atPath: jsonTemplate.path) {
        template = try Tokenizer.readJSON(jsonTemplate)[first: "chat_template"]
      }
      chatTemplate = Self.chatTemplateMetadata(template)
      for type in types {
        if let value = tokenizerConfig[first: "add_\(type)_token"]?.boolValue, !add.contains(where: { $0.type == type }) {
          add.append((type, value))
        }
        guard let content = named[type] else { continue }
        let id = addedTokens.first { $0[first: "content"]?.stringValue == content }?[first: "id"]
        try setID(type, id)
      }
    }
    for type in types {
      try setID(type, config?[first: "\(type)_token_id"] ?? config?[first: "text_config"]?[first: "\(type)_token_id"])
    }
  }

  static func text(_ url: URL) throws -> String {
    guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8) else {
      throw TokenizerError.unreadableFile(file: url.path, reason: "not UTF-8 text")
    }
    return text
  }

  /// gguf-py's `add_chat_template`: a string as `tokenizer.chat_template`; a list of {name, template} as
  /// `tokenizer.chat_template.<name>` each (names reduced to ASCII letters, digits and "_"), their names in
  /// `tokenizer.chat_templates`, and the "default" one as `tokenizer.chat_template`.
  static func chatTemplateMetadata(_ value: JSONValue?) -> [(key: String, value: GGUFValue)] {
    guard let value, !value.isNull else { return [] }
    if let text = value.stringValue { return [("tokenizer.chat_template", .string(text))] }
    guard let list = value.arrayValue else { return [] }
    var out: [(key: String, value: GGUFValue)] = []
    var names: [String] = []
    var defaultTemplate: String?
    for choice in list {
      let raw = choice[first: "name"]?.stringValue ?? ""
      let name = String(raw.unicodeScalars.map { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) ? Character($0) : "_" })
      guard !name.isEmpty, let template = choice[first: "template"]?.stringValue else { continue }
      if name == "default" {
        defaultTemplate = template
      } else {
        if !names.contains(name) { names.append(name) }
        out.append(("tokenizer.chat_template.\(name)", .string(template)))
      }
    }
    if !names.isEmpty { out.append(("tokenizer.chat_templates", .array(names.map(GGUFValue.string)))) }
    if let defaultTemplate { out.append(("tokenizer.chat_template", .string(defaultTemplate))) }
    return out
  }
}

// Building a Tokenizer from GGUF tokenizer metadata given as plain arrays, mapped to the same pipeline
// transformers 5.23 builds (integrations/gguf/gguf_tokenizer_mapping.py: byte_level_tokenizer,
// sentencepiece_tokenizer, gemma_tokenizer, add_gguf_special_tokens, set_split_regex, then TokenizersBackend's
// special tokens).
import Foundation

/// llama.cpp's `tokenizer.ggml.token_type` values.
public enum GGUFTokenType: Int, Sendable {
  case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

extension Tokenizer {
  static let ggufFile = "GGUF metadata"

  /// Pre-tokenizer splits transformers installs for `tokenizer.ggml.pre` values (`GGUF_PRE_TOKENIZER_SPLITS`).
  static func ggufSplitPattern(pre: String) -> String? {
    switch pre {
    case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano",
         "dbrx", "smaug-bpe":
      return KnownPattern.llama3
    case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez":
      return KnownPattern.qwen2
    case "tekken":
      return "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
        + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
        + "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
    case "gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2":
      return "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
        + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
        + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
    default:
      return nil
    }
  }

  /// A tokenizer from GGUF tokenizer metadata (`tokenizer.ggml.*`), as transformers converts it.
  ///
  /// - Parameters:
  ///   - ggufModel: `tokenizer.ggml.model`: "gpt2" (byte-level BPE) or "llama" (SentencePiece BPE, byte fallback).
  ///   - pre: `tokenizer.ggml.pre` ("llama-bpe", "qwen2", "smollm", "default", …): picks the split regex.
  ///   - merges: `tokenizer.ggml.merges` ("a b"); when absent they are rebuilt from `scores` as transformers does.
  ///   - tokenTypes: `tokenizer.ggml.token_type` (see `GGUFTokenType`).
  ///   - addBOS/addEOS: `tokenizer.ggml.add_bos_token`/`add_eos_token`; a "llama" vocabulary adds BOS when unset.
  ///   - architecture: `general.architecture` ("phi3" moves the prefix space into a normalizer; "gemma",
  ///     "gemma2" and "gemma3" build `GemmaTokenizer`'s pipeline, see `gemmaRespelled`).
  public convenience init(ggufModel: String, pre: String?, tokens: [String], merges: [String]?, tokenTypes: [Int]?,
                          scores: [Float]?, bos: Int?, eos: Int?, pad: Int?, unk: Int?, addBOS: Bool?, addEOS: Bool?,
                          chatTemplate: String?, architecture: String = "llama") throws {
    let file = Self.ggufFile
    let byteLevel: Bool
    switch ggufModel {
    case "gpt2": byteLevel = true
    case "llama": byteLevel = false
    default:
      throw TokenizerError.unsupported(file: file, field: "tokenizer.ggml.model", value: ggufModel)
    }
    // transformers' GGUF_SENTENCEPIECE_BUILDERS: these architectures get GemmaTokenizer; other Gemma generations
    // (gemma4 states its own tokenizer model) are not built from a "llama" vocabulary.
    let gemma = !byteLevel && ["gemma", "gemma2", "gemma3"].contains(architecture)
    if !byteLevel && !gemma && architecture.hasPrefix("gemma") {
      throw TokenizerError.unsupported(file: file, field: "general.architecture (with tokenizer.ggml.model llama)",
                                       value: architecture)
    }
    if let tokenTypes, tokenTypes.count != tokens.count {
      throw TokenizerError.invalidField(file: file, field: "tokenizer.ggml.token_type",
                                        reason: "\(tokenTypes.count) entries for \(tokens.count) tokens")
    }
    if let scores, scores.count != tokens.count {
      throw TokenizerError.invalidField(file: file, field: "tokenizer.ggml.scores",
                                        reason: "\(scores.count) entries for \(tokens.count) tokens")
    }
    for (field, id) in [("bos_token_id", bos), ("eos_token_id", eos), ("padding_token_id", pad), ("unknown_token_id", unk)] {
      if let id, !tokens.indices.contains(id) {
        throw TokenizerError.invalidField(file: file, field: "tokenizer.ggml.\(field)", reason: "\(id) is not a token id")
      }
    }

    // A byte-level vocabulary is spelled in GPT-2's byte alphabet; tokens that are not get respelled.
    let inAlphabet: (String) -> Bool = { $0.unicodeScalars.allSatisfy { ByteLevelTables.scalarToByte[$0.value] != nil } }
    let spelled = byteLevel ? tokens.map { inAlphabet($0) ? $0 : ByteLevelTables.encode($0) }
      : gemma ? tokens.map(Self.gemmaRespelled) : tokens
    let vocabulary = spelled.enumerated().map { ($0.element, $0.offset) }

    var mergePairs: [(String, String)] = []
    if let merges {
      for (index, merge) in merges.enumerated() {
        let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
          throw TokenizerError.invalidField(file: file, field: "tokenizer.ggml.merges[\(index)]",
                                            reason: "expected \"a b\", got \"\(merge)\"")
        }
        mergePairs.append((String(parts[0]), String(parts[1])))
      }
    } else if gemma {
      // Gemma's scores do not follow its merge order; the order of the tokens in the file does (gemma_tokenizer
      // ranks by -position). Float holds every position of a 2^24-token vocabulary exactly.
      mergePairs = Self.generateMerges(tokens: spelled, scores: spelled.indices.map { -Float($0) })
    } else {
      guard let scores else {
        throw TokenizerError.invalidField(file: file, field: "tokenizer.ggml.merges",
                                          reason: "missing, and no tokenizer.ggml.scores to rebuild them from")
      }
      mergePairs = Self.generateMerges(tokens: tokens, scores: scores)
    }

    let model: BPEModel
    do {
      // GemmaTokenizer's BPE names "<unk>" (its default, whatever the file's unknown id) as the unknown token.
      model = try BPEModel(vocabulary: vocabulary, merges: mergePairs, unknownToken: gemma ? "<unk>" : nil,
                           fuseUnknown: !byteLevel, byteFallback: !byteLevel, ignoreMerges: false)
    } catch BPEModelError.mergeTokenMissing(let token) {
      throw TokenizerError.invalidField(file: file, field: "tokenizer.ggml.merges",
                                        reason: "token \"\(token)\" is not in tokenizer.ggml.tokens")
    }

    var normalizer: Normalizer?
    var preTokenizer: PreTokenizer?
    let decoder: TokenDecoder
    let metaspaceToSpace = ReplacePattern(matcher: LiteralPattern(needle: ["▁"]))
    if byteLevel {
      preTokenizer = .byteLevel(addPrefixSpace: false, useRegex: true)
      decoder = .byteLevel
    } else if gemma {
      // GemmaTokenizer: spaces become "▁" with no prefix space; its split on " " comes after that normalizer and
      // so never cuts (kept to mirror the pipeline); the decoder has no Strip.
      normalizer = .replace(pattern: ReplacePattern(matcher: LiteralPattern(needle: [" "])), content: "▁")
      preTokenizer = .split(pattern: LiteralPattern(needle: [" "]), behavior: .mergedWithPrevious, invert: false)
      decoder = .sequence([.replace(pattern: metaspaceToSpace, content: " "), .byteFallback, .fuse])
    } else {
      if architecture == "phi3" {
        normalizer = .sequence([.prepend("▁"), .replace(pattern: ReplacePattern(matcher: LiteralPattern(needle: [" "])), content: "▁")])
      } else {
        preTokenizer = .metaspace(replacement: "▁", prependScheme: .first, split: false)
      }
      decoder = .sequence([.replace(pattern: metaspaceToSpace, content: " "), .byteFallback, .fuse,
                           .strip(content: " ", start: 1, stop: 0)])
    }
    if let pre, let source = Self.ggufSplitPattern(pre: pre) {
      let matcher: SplitPattern
      do { matcher = try KnownPattern.matcher(for: source) } catch {
        throw TokenizerError.invalidField(file: file, field: "tokenizer.ggml.pre", reason: "cannot compile split for \(pre)")
      }
      preTokenizer = .sequence([.split(pattern: matcher, behavior: .isolated, invert: false),
                                .byteLevel(addPrefixSpace: false, useRegex: false)])
    }

    self.init(model: model, normalizer: normalizer, preTokenizer: preTokenizer, postProcessor: nil, decoder: decoder,
              addedTokens: [])
    // The builder class's own default special tokens (GPT2Tokenizer / LlamaTokenizer / GemmaTokenizer, in
    // SPECIAL_TOKENS_ATTRIBUTES order), then control tokens, then user-defined tokens that are in the vocabulary as
    // spelled (add_gguf_special_tokens: Gemma's space runs, respelled, are not), then the named special tokens
    // (TokenizersBackend).
    let defaults = byteLevel ? ["<|endoftext|>"] : gemma ? ["<bos>", "<eos>", "<unk>", "<pad>", "<mask>"]
      : ["<s>", "</s>", "<unk>"]
    let types = tokenTypes ?? []
    let name: (Int?) -> String? = { $0.map { tokens[$0] } }
    added.deferringRebuild(normalize: normalizeForMatching) {
      for content in defaults { addGGUFToken(content, special: true) }
      for (token, type) in zip(tokens, types) where type == GGUFTokenType.control.rawValue {
        if !byteLevel || inAlphabet(token) { addGGUFToken(token, special: true) }
      }
      for (token, type) in zip(tokens, types) where type == GGUFTokenType.userDefined.rawValue {
        if tokenID(token) != nil { addGGUFToken(token, special: false) }
      }
      setNamedSpecialTokens(bos: name(bos), eos: name(eos), pad: name(pad), unknown: name(unk))
      registerNamedSpecialTokens()
    }
    setBOSEOSRule(addBOS: addBOS ?? !byteLevel, addEOS: addEOS ?? false)
    setChatTemplates(default: chatTemplate, named: [:])
  }

  /// gemma_tokenizer's respelling: a token of spaces and other whitespace that holds a space (Gemma files store
  /// runs of spaces as real spaces) becomes that many "▁", the spelling GemmaTokenizer's normalizer produces.
  /// "Whitespace" is Python's `str.isspace` (Zs, or bidirectional class WS, B or S).
  static func gemmaRespelled(_ token: String) -> String {
    func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
      switch s.value {
      case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
        return true
      default: return false
      }
    }
    let scalars = token.unicodeScalars
    guard scalars.contains(" "), scalars.allSatisfy(isPythonSpace) else { return token }
    return String(repeating: "▁", count: scalars.count)
  }

  private func addGGUFToken(_ content: String, special: Bool) {
    if let existing = added.id(of: content) {
      _ = existing
      return
    }
    let id = model.id(of: content) ?? vocabularySize
    added.add(AddedToken(id: id, content: content, isSpecial: special, normalized: false), normalize: { $0 })
  }

  /// transformers' `generate_merges(vocab, vocab_scores)`: every split of every token into two vocabulary
  /// tokens, ordered by (score, left length, right length) descending, stable.
  static func generateMerges(tokens: [String], scores: [Float]) -> [(String, String)] {
    var index: [ExactString: Int] = [:]
    var scoreByToken: [ExactString: Float] = [:]
    var order: [String] = []
    for (i, token) in tokens.enumerated() {
      let key = ExactString(token)
      index[key] = i
      if scoreByToken[key] == nil { order.append(token) }
      scoreByToken[key] = scores[i]
    }
    struct Candidate { let left: String; let right: String; let score: Float; let leftLength: Int; let rightLength: Int; let position: Int }
    var candidates: [Candidate] = []
    for token in order {
      let scalars = Array(token.unicodeScalars)
      guard scalars.count > 1 else { continue }
      let score = scoreByToken[ExactString(token)]!
      var local: [(Candidate, Int, Int)] = []
      for cut in 1..<scalars.count {
        let left = String(scalars: scalars[..<cut]), right = String(scalars: scalars[cut...])
        guard let l = index[ExactString(left)], let r = index[ExactString(right)] else { continue }
        local.append((Candidate(left: left, right: right, score: score, leftLength: cut,
                                rightLength: scalars.count - cut, position: 0), l, r))
      }
      local.sort { ($0.1, $0.2) < ($1.1, $1.2) }
      for (candidate, _, _) in local {
        candidates.append(Candidate(left: candidate.left, right: candidate.right, score: candidate.score,
                                    leftLength: candidate.leftLength, rightLength: candidate.rightLength,
                                    position: candidates.count))
      }
    }
    candidates.sort { a, b in
      if a.score != b.score { return a.score > b.score }
      if a.leftLength != b.leftLength { return a.leftLength > b.leftLength }
      if a.rightLength != b.rightLength { return a.rightLength > b.rightLength }
      return a.position < b.position
    }
    return candidates.map { ($0.left, $0.right) }
  }
}

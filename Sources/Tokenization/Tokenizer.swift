// The public tokenizer: added-token extraction -> normalizer -> pre-tokenizer -> BPE -> post-processor,
// and the reverse through the decoder; built from tokenizer.json (+ tokenizer_config.json) or GGUF metadata.
import Foundation

/// A byte-level or SentencePiece-style BPE tokenizer that reproduces Hugging Face `tokenizers` ids exactly.
///
/// Encoding is safe from several threads at once; `addSpecialTokens(_:)` must not run concurrently with it.
public final class Tokenizer {
  let model: BPEModel
  let normalizer: Normalizer?
  let preTokenizer: PreTokenizer?
  private(set) var postProcessor: PostProcessor?
  let decoder: TokenDecoder?
  let added = AddedVocabulary()

  public private(set) var bosToken: String?
  public private(set) var eosToken: String?
  public private(set) var padToken: String?
  public private(set) var unknownToken: String?
  /// The default chat template (Jinja source), if the files carry one.
  public private(set) var chatTemplate: String?
  /// Named chat templates (e.g. "tool_use") when tokenizer_config.json lists several.
  public private(set) var namedChatTemplates: [String: String] = [:]

  init(model: BPEModel, normalizer: Normalizer?, preTokenizer: PreTokenizer?, postProcessor: PostProcessor?,
       decoder: TokenDecoder?, addedTokens: [AddedToken]) {
    self.model = model
    self.normalizer = normalizer
    self.preTokenizer = preTokenizer
    self.postProcessor = postProcessor
    self.decoder = decoder
    added.deferringRebuild(normalize: normalizeForMatching) {
      for token in addedTokens { added.add(token, normalize: normalizeForMatching) }
    }
    self.unknownToken = model.unknownToken
  }

  func normalizeForMatching(_ text: String) -> String { normalizer?.normalize(text) ?? text }

  // MARK: Vocabulary

  /// Number of ids (largest id + 1), model vocabulary and added tokens together: the embedding rows needed.
  public var vocabularySize: Int {
    max(model.largestID, added.largestID) + 1
  }

  /// Number of distinct tokens, model vocabulary and added tokens together (`len(tokenizer.vocab)` in transformers;
  /// equal to `vocabularySize` when the ids leave no gap).
  public var vocabularyCount: Int {
    model.tokensByID.count + added.tokens.filter { model.id(of: $0.content) == nil }.count
  }

  /// The tokens matched whole in the text (special tokens and other added tokens), in the order they were added.
  public var addedTokens: [AddedToken] { added.tokens }

  public func tokenID(_ token: String) -> Int? { added.id(of: token) ?? model.id(of: token) }

  public func token(_ id: Int) -> String? { added.token(forID: id)?.content ?? model.tokensByID[id] }

  public var bosTokenID: Int? { bosToken.flatMap(tokenID) }
  public var eosTokenID: Int? { eosToken.flatMap(tokenID) }
  public var padTokenID: Int? { padToken.flatMap(tokenID) }
  public var unknownTokenID: Int? { unknownToken.flatMap(tokenID) }

  /// True for ids of special added tokens (BOS, EOS, chat markers).
  public func isSpecialToken(_ id: Int) -> Bool { added.token(forID: id)?.isSpecial ?? false }

  // MARK: Encoding

  /// Token ids for `text`. With `addSpecialTokens` the post-processor adds BOS/EOS as the model expects.
  public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
    var ids: [Int] = []
    ids.reserveCapacity(text.utf8.count / 3 + 2)
    for piece in added.split(text, atStart: true, normalized: false) {
      switch piece {
      case .token(let id):
        ids.append(id)
      case .text(let raw, let atStart):
        let normalized = normalizer?.normalize(raw) ?? raw
        for inner in added.split(normalized, atStart: atStart, normalized: true) {
          switch inner {
          case .token(let id):
            ids.append(id)
          case .text(let text, let atStart):
            var pieces = [TextPiece(scalars: Array(text.unicodeScalars), atStartOfInput: atStart)]
            if let preTokenizer { pieces = preTokenizer.preTokenize(pieces) }
            for word in pieces { ids += model.tokenize(word.scalars) }
          }
        }
      }
    }
    return postProcessor?.process(ids, addSpecialTokens: addSpecialTokens) ?? ids
  }

  /// The ids the post-processor puts before and after a sequence when `addSpecialTokens` is true.
  public var specialTokensAddedByEncode: (prefix: [Int], suffix: [Int]) { postProcessor?.addedIDs ?? ([], []) }

  // MARK: Decoding

  /// Text for `ids`: every token, added ones included, goes through the decoder, as in `tokenizers` 0.23.
  /// Unknown ids are skipped.
  public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
    var tokens: [String] = []
    tokens.reserveCapacity(ids.count)
    for id in ids {
      if let addedToken = added.token(forID: id) {
        if skipSpecialTokens && addedToken.isSpecial { continue }
        tokens.append(addedToken.content)
      } else if let token = model.tokensByID[id] {
        tokens.append(token)
      }
    }
    return decoder?.decode(tokens) ?? tokens.joined(separator: " ")
  }

  // MARK: Changing the vocabulary

  /// Adds special tokens (e.g. ChatML's `<|im_start|>`, `<|im_end|>` for TRL's `setup_chat_format`) and returns
  /// their ids. Tokens already in the vocabulary keep their id; new ones get ids after the current largest.
  @discardableResult
  public func addSpecialTokens(_ tokens: [String]) -> [Int] {
    tokens.map { content in
      let id = tokenID(content) ?? vocabularySize
      added.add(AddedToken(id: id, content: content, isSpecial: true, normalized: false), normalize: normalizeForMatching)
      return id
    }
  }

  /// Adds tokens as transformers' `add_tokens` does with `AddedToken`s (TRL's `clone_chat_template`): each keeps its
  /// flags (special, strips, normalized) and gets the next free id, unless its content is already in the vocabulary.
  /// Returns the ids of the tokens that were new.
  @discardableResult
  public func addTokens(_ tokens: [AddedToken]) -> [Int] {
    tokens.compactMap { token in
      guard !token.content.isEmpty, tokenID(token.content) == nil else { return nil }
      let id = vocabularySize
      added.add(AddedToken(id: id, content: token.content, isSpecial: token.isSpecial, leftStrip: token.leftStrip,
                           rightStrip: token.rightStrip, singleWord: token.singleWord, normalized: token.normalized),
                normalize: normalizeForMatching)
      return id
    }
  }

  /// Sets which tokens count as BOS/EOS/PAD (e.g. after `addSpecialTokens`, as `setup_chat_format` does).
  public func setSpecialTokens(bos: String? = nil, eos: String? = nil, pad: String? = nil) {
    if let bos { bosToken = bos }
    if let eos { eosToken = eos }
    if let pad { padToken = pad }
  }

  /// Replaces the chat template.
  public func setChatTemplate(_ template: String?) { chatTemplate = template }

  /// Makes encode add BOS/EOS exactly as transformers' `update_post_processor` does for `add_bos_token`/`add_eos_token`.
  func setBOSEOSRule(addBOS: Bool, addEOS: Bool) {
    var prefix: [Int] = [], suffix: [Int] = []
    if addBOS, let id = bosTokenID { prefix = [id] }
    if addEOS, let id = eosTokenID { suffix = [id] }
    postProcessor = .wrap(prefix: prefix, suffix: suffix)
  }

  func setNamedSpecialTokens(bos: String?, eos: String?, pad: String?, unknown: String?) {
    bosToken = bos
    eosToken = eos
    padToken = pad
    if unknown != nil { unknownToken = unknown }
  }

  func setChatTemplates(default template: String?, named: [String: String]) {
    chatTemplate = template
    namedChatTemplates = named
  }

  /// transformers' `_post_init`: named special tokens missing from the added vocabulary are added as special.
  func registerNamedSpecialTokens() {
    for content in [bosToken, eosToken, unknownToken, padToken].compactMap({ $0 }) where added.id(of: content) == nil {
      let id = model.id(of: content) ?? vocabularySize
      added.add(AddedToken(id: id, content: content, isSpecial: true, normalized: false), normalize: normalizeForMatching)
    }
  }
}

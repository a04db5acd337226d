// ChatFormat.swift — giving a base model a chat format: TRL's `clone_chat_template` (another tokenizer's template,
// added tokens and EOS) and its older `setup_chat_format` (ChatML's <|im_start|>/<|im_end|> as BOS/EOS/PAD); both
// resize the embeddings (each model's `resizeTokenEmbeddings`).
import ChatTemplates
import NN
import Tokenization
import Torch

extension CausalLanguageModel {
  /// TRL's `setup_chat_format(model, tokenizer)` (ChatML): errors if the tokenizer already has a chat template,
  /// as TRL does. `multipleOf` pads the new vocabulary size like `resize_to_multiple_of`.
  public func setUpChatFormat(tokenizer: Tokenizer, multipleOf: Int? = nil) throws {
    if tokenizer.chatTemplate != nil {
      throw ModelError("the tokenizer already has a chat template; setup_chat_format is for base models without one")
    }
    _ = tokenizer.addSpecialTokens(["<|im_start|>", "<|im_end|>"])
    tokenizer.setSpecialTokens(bos: "<|im_start|>", eos: "<|im_end|>", pad: "<|im_end|>")
    tokenizer.setChatTemplate(ChatTemplate.chatML)
    var size = Swift.max(tokenizer.vocabularySize, config.vocabSize)
    if let m = multipleOf, m > 1 { size = (size + m - 1) / m * m }
    try resizeTokenEmbeddings(to: size)
    config.bosTokenId = tokenizer.bosTokenID
    config.eosTokenId = tokenizer.eosTokenID.map { .one($0) }
    config.padTokenId = tokenizer.padTokenID
  }

  /// TRL's `clone_chat_template(model, tokenizer, source)` (trl/chat_template_utils.py, TRL 1.16): copies `source`'s
  /// default chat template; adds its added tokens (in id order, flags kept) whose content the vocabulary lacks; makes
  /// its EOS the tokenizer's and the config's EOS (BOS and PAD stay); resizes the embeddings to the number of
  /// distinct tokens rounded up to `multipleOf` (TRL's default 64; nil: no rounding), shrinking them if the model had
  /// more rows; and fills the rounding with plain `<extra_id_N>` tokens so that vocabulary and embeddings agree.
  /// Returns the ids of every token added, as TRL does.
  @discardableResult
  public func cloneChatTemplate(tokenizer: Tokenizer, from source: Tokenizer, sourceName: String,
                                multipleOf: Int? = 64) throws -> [Int]
  {
    guard let template = source.chatTemplate else {
      throw ModelError("clone_chat_template: the tokenizer of \(sourceName) has no chat template to clone")
    }
    guard let eos = source.eosToken else {
      throw ModelError("clone_chat_template: the tokenizer of \(sourceName) names no eos_token")
    }
    tokenizer.setChatTemplate(template)
    let fromSource = source.addedTokens.sorted { $0.id < $1.id }.filter { tokenizer.tokenID($0.content) == nil }
    var addedIDs = tokenizer.addTokens(fromSource)
    tokenizer.setSpecialTokens(eos: eos)
    var size = tokenizer.vocabularyCount
    if let m = multipleOf, m > 1 { size = (size + m - 1) / m * m }
    try resizeTokenEmbeddings(to: size)
    var index = 0
    while tokenizer.vocabularyCount < size {
      addedIDs += tokenizer.addTokens([AddedToken(id: 0, content: "<extra_id_\(index)>", isSpecial: false)])
      index += 1
    }
    guard tokenizer.vocabularyCount == size, tokenizer.vocabularySize == size else {
      throw ModelError("clone_chat_template: the vocabulary (\(tokenizer.vocabularyCount) tokens, ids up to "
                         + "\(tokenizer.vocabularySize - 1)) does not fill the \(size) embedding rows")
    }
    config.eosTokenId = tokenizer.eosTokenID.map { .one($0) }
    return addedIDs
  }
}

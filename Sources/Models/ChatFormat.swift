// ChatFormat.swift — TRL's `setup_chat_format` for base models without a chat template: add ChatML's
// <|im_start|>/<|im_end|> as special tokens, make them BOS/EOS/PAD, set the ChatML template, resize the embeddings
// (each model's `resizeTokenEmbeddings`).
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
}

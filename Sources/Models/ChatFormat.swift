// ChatFormat.swift — TRL's `setup_chat_format` for base models without a chat template: add ChatML's
// <|im_start|>/<|im_end|> as special tokens, make them BOS/EOS/PAD, set the ChatML template, resize the embeddings.
import ChatTemplates
import Torch
import Tokenization

extension LlamaForCausalLM {
  /// Grows (or shrinks) the token embedding and the output layer to `size` rows. New rows start at the mean of the
  /// existing ones (transformers' `mean_resizing` samples around that mean; we take its centre, deterministically).
  public func resizeTokenEmbeddings(to size: Int) throws {
    let old = embedTokens.weight
    let rows = old.size(0)
    guard size != rows else { return }
    guard size > 0 else { throw ModelError("cannot resize the embeddings to \(size) rows") }
    func resized(_ w: Tensor) throws -> Tensor {
      try withNoGrad {
        if size < rows { return try w.narrow(0, start: 0, length: size).contiguous() }
        let mean = try w.to(dtype: .float32).mean(dim: 0, keepDim: true).to(dtype: w.dtype)
        return try Tensor.cat([w, mean.expanded(to: [size - rows, w.size(1)])], dim: 0).contiguous()
      }
    }
    embedTokens.weight = try resized(old)
    lmHead.weight = config.tiesEmbeddings ? embedTokens.weight : try resized(lmHead.weight)
    config.vocabSize = size
  }

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

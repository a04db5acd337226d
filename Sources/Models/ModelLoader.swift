// ModelLoader.swift — one call from a path to a ready model: weights (Checkpoint), tokenizer (tokenizer.json +
// tokenizer_config.json, or GGUF metadata) and chat template, shared by generate, inspect and the trainer.
import ChatTemplates
import Foundation
import GGUF
import NN
import Tokenization
import Torch

/// A model with everything needed to turn text into its input and its output back into text.
public struct LoadedModel {
  public let url: URL
  public let format: CheckpointFormat
  public let configuration: LlamaConfiguration
  public let model: any CausalLanguageModel
  /// The model's tokenizer (`Options.load` puts a resized adapter's own in its place).
  public var tokenizer: Tokenizer
  /// The default chat template's Jinja source (tokenizer_config.json, chat_template.jinja or GGUF metadata).
  public var chatTemplate: String? { tokenizer.chatTemplate }

  /// The model's end-of-sequence ids (config and tokenizer together).
  public var endOfSequenceTokenIDs: Set<Int> { model.endOfSequenceTokenIDs(tokenizer: tokenizer) }

  /// The conversation rendered by the model's chat template, as transformers'
  /// `apply_chat_template(messages, tokenize=False, add_generation_prompt=…)`.
  public func chatPrompt(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> String {
    guard let source = chatTemplate else {
      throw ModelError("\(url.lastPathComponent) has no chat template; send raw text instead (e.g. `orpo generate --prompt`)")
    }
    return try ChatTemplate(source).render(messages: messages, addGenerationPrompt: addGenerationPrompt,
                                           bosToken: tokenizer.bosToken, eosToken: tokenizer.eosToken)
  }

  /// Token ids for a conversation: the rendered template encoded without added special tokens (the template
  /// writes them itself), as transformers' `apply_chat_template(..., tokenize=True)`.
  public func chatPromptIDs(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> [Int] {
    tokenizer.encode(try chatPrompt(messages, addGenerationPrompt: addGenerationPrompt), addSpecialTokens: false)
  }

  /// Token ids for raw text, with the special tokens the tokenizer adds by default (e.g. BOS), as `tokenizer(text)`.
  public func promptIDs(_ text: String) -> [Int] { tokenizer.encode(text, addSpecialTokens: true) }
}

public enum ModelLoader {
  /// Loads the model at `url` (a Hugging Face folder or a .gguf file) with its tokenizer.
  /// Floating-point weights are converted to `dtype` and placed on `device`; with `quantization`, the projections
  /// are quantized one by one as they are read (see `WeightQuantization`).
  public static func load(_ url: URL, dtype: DType = .float32, device: Device = .cpu,
                          quantization: WeightQuantization = .none) throws -> LoadedModel
  {
    let tokenizer = try loadTokenizer(url)
    let reader = try Checkpoint.open(url)
    let (configuration, format) = (reader.config, reader.format)
    let model = try ModelError.context(url.path) {
      try makeCausalLanguageModel(config: configuration,
                                  weights: reader.parameterSource(dtype: dtype, device: device, quantization: quantization))
    }
    if tokenizer.vocabularySize > configuration.vocabSize {
      throw ModelError("\(url.path): the tokenizer has \(tokenizer.vocabularySize) ids but the model only \(configuration.vocabSize) embedding rows")
    }
    return LoadedModel(url: url, format: format, configuration: configuration, model: model, tokenizer: tokenizer)
  }

  /// A model of `shape` with random weights (`CheckpointReader.randomWeights`, drawn layer by layer, so a 4-bit
  /// model never exists dense) and the tokenizer of the model at `tokenizerURL`, whose ids must fit the vocabulary:
  /// memory and speed checks at a real model's size without its weights.
  public static func load(randomWeights shape: LlamaConfiguration, seed: UInt64, tokenizerFrom tokenizerURL: URL,
                          dtype: DType = .float32, device: Device = .cpu,
                          quantization: WeightQuantization = .none) throws -> LoadedModel
  {
    let tokenizer = try loadTokenizer(tokenizerURL)
    let reader = try CheckpointReader.randomWeights(shape, seed: seed)
    let model = try makeCausalLanguageModel(config: shape,
                                            weights: reader.parameterSource(dtype: dtype, device: device, quantization: quantization))
    if tokenizer.vocabularySize > shape.vocabSize {
      throw ModelError("the tokenizer of \(tokenizerURL.path) has \(tokenizer.vocabularySize) ids but the random model only \(shape.vocabSize) embedding rows")
    }
    return LoadedModel(url: reader.url, format: .random, configuration: shape, model: model, tokenizer: tokenizer)
  }

  /// The tokenizer of a model: tokenizer.json (+ tokenizer_config.json, chat_template.jinja) in a folder, or the
  /// `tokenizer.ggml.*` metadata of a .gguf file.
  public static func loadTokenizer(_ url: URL) throws -> Tokenizer {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
      throw ModelError("\(url.path): no such file or folder")
    }
    if isFolder.boolValue {
      guard FileManager.default.fileExists(atPath: url.appendingPathComponent("tokenizer.json").path) else {
        throw ModelError("\(url.path): no tokenizer.json (a model folder needs its tokenizer to generate text)")
      }
      return try Tokenizer(folder: url)
    }
    guard url.pathExtension.lowercased() == "gguf" else {
      throw ModelError("\(url.path): expected a Hugging Face model folder or a .gguf file")
    }
    return try Tokenizer(ggufURL: url)
  }
}

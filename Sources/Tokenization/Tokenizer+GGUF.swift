// Reading a tokenizer out of a GGUF file's metadata (`tokenizer.ggml.*`, `tokenizer.chat_template`).
import Foundation
import GGUF

extension Tokenizer {
  /// Opens a GGUF file and builds its tokenizer as transformers does (`AutoTokenizer.from_pretrained(dir, gguf_file=…)`).
  public convenience init(ggufURL url: URL) throws {
    try self.init(gguf: try GGUFFile(url: url))
  }

  /// Builds the tokenizer described by a GGUF file's metadata.
  public convenience init(gguf file: GGUFFile) throws {
    try self.init(ggufMetadata: file.metadata, file: file.url.lastPathComponent)
  }

  /// Builds the tokenizer described by GGUF metadata; `file` names the source in errors.
  public convenience init(ggufMetadata metadata: [String: GGUFValue], file: String = "GGUF metadata") throws {
    func wrongType(_ key: String, _ expected: String) -> TokenizerError {
      .invalidField(file: file, field: key, reason: "expected \(expected), found \(metadata[key].map { "\($0.wireType)" } ?? "nothing")")
    }
    func string(_ key: String) throws -> String? {
      guard let value = metadata[key] else { return nil }
      guard let s = value.string else { throw wrongType(key, "a string") }
      return s
    }
    func int(_ key: String) throws -> Int? {
      guard let value = metadata[key] else { return nil }
      guard let i = value.int else { throw wrongType(key, "an integer") }
      return i
    }
    func bool(_ key: String) throws -> Bool? {
      guard let value = metadata[key] else { return nil }
      guard let b = value.bool else { throw wrongType(key, "a bool") }
      return b
    }
    func strings(_ key: String) throws -> [String]? {
      guard let value = metadata[key] else { return nil }
      guard let s = value.strings else { throw wrongType(key, "an array of strings") }
      return s
    }
    guard let model = try string("tokenizer.ggml.model") else {
      throw TokenizerError.invalidField(file: file, field: "tokenizer.ggml.model", reason: "missing: the file has no tokenizer")
    }
    guard let tokens = try strings("tokenizer.ggml.tokens") else {
      throw TokenizerError.invalidField(file: file, field: "tokenizer.ggml.tokens", reason: "missing")
    }
    var tokenTypes: [Int]?
    if let value = metadata["tokenizer.ggml.token_type"] {
      guard let ints = value.ints else { throw wrongType("tokenizer.ggml.token_type", "an array of integers") }
      tokenTypes = ints
    }
    var scores: [Float]?
    if let value = metadata["tokenizer.ggml.scores"] {
      guard let doubles = value.doubles else { throw wrongType("tokenizer.ggml.scores", "an array of numbers") }
      scores = doubles.map { Float($0) }
    }
    do {
      try self.init(
        ggufModel: model, pre: try string("tokenizer.ggml.pre"), tokens: tokens,
        merges: try strings("tokenizer.ggml.merges"), tokenTypes: tokenTypes, scores: scores,
        bos: try int("tokenizer.ggml.bos_token_id"), eos: try int("tokenizer.ggml.eos_token_id"),
        pad: try int("tokenizer.ggml.padding_token_id"), unk: try int("tokenizer.ggml.unknown_token_id"),
        addBOS: try bool("tokenizer.ggml.add_bos_token"), addEOS: try bool("tokenizer.ggml.add_eos_token"),
        chatTemplate: try string("tokenizer.chat_template"),
        architecture: try string("general.architecture") ?? "llama")
    } catch TokenizerError.invalidField(let source, let field, let reason) where source == Self.ggufFile {
      throw TokenizerError.invalidField(file: file, field: field, reason: reason)
    } catch TokenizerError.unsupported(let source, let field, let value) where source == Self.ggufFile {
      throw TokenizerError.unsupported(file: file, field: field, value: value)
    }
  }
}

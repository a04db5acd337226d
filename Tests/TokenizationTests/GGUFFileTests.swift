// Tokenizers read from GGUF files: the tokenizer-only fixtures and the real SmolLM2-135M-Instruct vocabulary,
// compared id for id with transformers' `AutoTokenizer.from_pretrained(dir, gguf_file=...)`.
import Foundation
import GGUF
import Testing
@testable import Tokenization

/// The default model, from $ORPO_TEST_GGUF or models/ at the package root.
private var smolLM2URL: URL {
  if let path = ProcessInfo.processInfo.environment["ORPO_TEST_GGUF"] { return URL(fileURLWithPath: path) }
  return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf")
}
private var smolLM2Exists: Bool { FileManager.default.fileExists(atPath: smolLM2URL.path) }

@Suite struct GGUFFileTests {
  @Test(arguments: ["gguf_llama_bpe", "gguf_llama_spm"])
  func tokenizerOnlyFilesMatchTransformers(name: String) throws {
    let tokenizer = try Tokenizer(ggufURL: Fixtures.url("\(name).gguf"))
    let expected = try Fixtures.expected("\(name).expected.json")
    let plain = Fixtures.mismatches(tokenizer, expected, addSpecialTokens: false)
    #expect(plain.isEmpty, "\(plain.count) mismatches: \(plain.prefix(5).joined(separator: "\n"))")
    let special = Fixtures.mismatches(tokenizer, expected, addSpecialTokens: true)
    #expect(special.isEmpty, "\(special.count) mismatches: \(special.prefix(5).joined(separator: "\n"))")
    let info = try Fixtures.json("\(name).expected.json")["tokenizer"]!
    #expect(tokenizer.bosToken == info["bos_token"]?.stringValue)
    #expect(tokenizer.eosToken == info["eos_token"]?.stringValue)
    #expect(tokenizer.vocabularySize == info["len"]?.intValue)
    #expect(tokenizer.chatTemplate?.hasPrefix("{% for m in messages %}") == true)
  }

  @Test(.enabled(if: smolLM2Exists, "models/SmolLM2-135M-Instruct.Q4_1.gguf is absent (or set ORPO_TEST_GGUF)"))
  func smolLM2MatchesTransformers() throws {
    let tokenizer = try Tokenizer(ggufURL: smolLM2URL)
    let expected = try Fixtures.expected("smollm2_gguf_expected.json")
    let plain = Fixtures.mismatches(tokenizer, expected, addSpecialTokens: false)
    #expect(plain.isEmpty, "\(plain.count) mismatches: \(plain.prefix(5).joined(separator: "\n"))")
    let special = Fixtures.mismatches(tokenizer, expected, addSpecialTokens: true)
    #expect(special.isEmpty, "\(special.count) mismatches: \(special.prefix(5).joined(separator: "\n"))")
    #expect(tokenizer.vocabularySize == 49152)
    #expect(tokenizer.bosToken == "<|im_start|>" && tokenizer.bosTokenID == 1)
    #expect(tokenizer.eosToken == "<|im_end|>" && tokenizer.eosTokenID == 2)
    #expect(tokenizer.padToken == "<|im_end|>" && tokenizer.padTokenID == 2)
    #expect(tokenizer.unknownToken == "<|endoftext|>" && tokenizer.unknownTokenID == 0)
    #expect(tokenizer.specialTokensAddedByEncode.prefix.isEmpty && tokenizer.specialTokensAddedByEncode.suffix.isEmpty)
    #expect(tokenizer.chatTemplate?.contains("<|im_start|>") == true)
    #expect(tokenizer.encode("Hello world 12345 <|im_start|>user\n") == [19556, 905, 216, 33, 34, 35, 36, 37, 216, 1, 4093, 198])
    let text = "<|im_start|>user\nWhat's 2+2? 😀<|im_end|>\n"
    #expect(tokenizer.decode(tokenizer.encode(text)) == text)
  }

  @Test func metadataWithoutTokenizerNamesTheField() {
    #expect(throws: TokenizerError.invalidField(file: "x.gguf", field: "tokenizer.ggml.model",
                                                reason: "missing: the file has no tokenizer")) {
      try Tokenizer(ggufMetadata: ["general.architecture": .string("llama")], file: "x.gguf")
    }
    #expect(throws: TokenizerError.unsupported(file: "x.gguf", field: "tokenizer.ggml.model", value: "bert")) {
      try Tokenizer(ggufMetadata: ["tokenizer.ggml.model": .string("bert"),
                                   "tokenizer.ggml.tokens": .array([.string("a")])], file: "x.gguf")
    }
    #expect(throws: TokenizerError.self) {
      try Tokenizer(ggufMetadata: ["tokenizer.ggml.model": .string("gpt2"), "tokenizer.ggml.tokens": .uint32(3)],
                    file: "x.gguf")
    }
  }
}

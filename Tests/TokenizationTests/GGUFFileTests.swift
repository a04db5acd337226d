// Tokenizers read from GGUF files: the tokenizer-only fixtures and the real SmolLM2-135M-Instruct and Gemma 3 270M
// vocabularies, compared id for id with transformers' `AutoTokenizer.from_pretrained(dir, gguf_file=...)`.
import Foundation
import GGUF
import Support
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

/// The real Gemma 3 270M GGUF (`ORPO_GEMMA3=1 scripts/setup.sh`), or $ORPO_TEST_GEMMA3_GGUF.
private var gemma3URL: URL {
  if let path = ProcessInfo.processInfo.environment["ORPO_TEST_GEMMA3_GGUF"] { return URL(fileURLWithPath: path) }
  return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("models/gemma-3-270m-q4_k_m.gguf")
}
private var gemma3Exists: Bool { FileManager.default.fileExists(atPath: gemma3URL.path) }

/// Gemma's SentencePiece vocabulary from GGUF, against reference/make_gemma3_tokenizer_fixtures.py (transformers
/// 5.23's gemma_tokenizer): the shared corpus and Gemma-specific strings, decodes, special and added tokens.
@Suite struct GemmaGGUFTokenizerTests {
  /// Differences between `tokenizer` and one of the fixture files, described.
  static func mismatches(_ tokenizer: Tokenizer, fixture name: String) throws -> [String] {
    let root = try Fixtures.json(name)
    let strings = Fixtures.corpus + root["extra_strings"]!.arrayValue!.map { $0.stringValue! }
    let entries = root["entries"]!.arrayValue!
    let info = root["tokenizer"]!
    let ints: (JSONValue?) -> [Int] = { $0?.arrayValue?.compactMap(\.intValue) ?? [] }
    var out: [String] = []
    guard strings.count == entries.count else { return ["\(strings.count) strings for \(entries.count) entries"] }
    let prefix = ints(info["prefix"])
    for (index, (text, entry)) in zip(strings, entries).enumerated() {
      let want = ints(entry["ids"])
      let got = tokenizer.encode(text, addSpecialTokens: false)
      if got != want { out.append("#\(index) \(text.debugDescription): got \(got), want \(want)") }
      let withSpecial = tokenizer.encode(text)
      if withSpecial != prefix + want { out.append("#\(index) with special tokens: got \(withSpecial)") }
      let decoded = entry["decoded"]?.stringValue ?? text
      if !exactlyEqual(tokenizer.decode(want), decoded) {
        out.append("#\(index) decode: got \(tokenizer.decode(want).debugDescription), want \(decoded.debugDescription)")
      }
      let skipped = entry["decoded_skip_special"]?.stringValue ?? decoded
      if !exactlyEqual(tokenizer.decode(prefix + want, skipSpecialTokens: true), skipped) {
        out.append("#\(index) decode skipping special: want \(skipped.debugDescription)")
      }
    }
    return out
  }

  /// The tokenizer's special tokens and added-token ids against the fixture's.
  static func checkVocabulary(_ tokenizer: Tokenizer, fixture name: String) throws {
    let info = try Fixtures.json(name)["tokenizer"]!
    #expect(tokenizer.vocabularySize == info["len"]?.intValue)
    #expect(tokenizer.bosToken == info["bos_token"]?.stringValue && tokenizer.bosTokenID == info["bos_token_id"]?.intValue)
    #expect(tokenizer.eosToken == info["eos_token"]?.stringValue && tokenizer.eosTokenID == info["eos_token_id"]?.intValue)
    #expect(tokenizer.padToken == info["pad_token"]?.stringValue && tokenizer.padTokenID == info["pad_token_id"]?.intValue)
    #expect(tokenizer.unknownToken == info["unk_token"]?.stringValue
      && tokenizer.unknownTokenID == info["unk_token_id"]?.intValue)
    #expect(tokenizer.chatTemplate == nil && info["chat_template"]?.stringValue == nil)
    #expect(tokenizer.specialTokensAddedByEncode.prefix == info["prefix"]?.arrayValue?.compactMap(\.intValue))
    #expect(tokenizer.specialTokensAddedByEncode.suffix.isEmpty)
    func expand(_ value: JSONValue?) -> [Int] {
      (value?.arrayValue ?? []).flatMap { run -> [Int] in
        let bounds = run.arrayValue!.compactMap(\.intValue)
        return Array(bounds[0]...bounds[1])
      }
    }
    let added = tokenizer.addedTokens
    #expect(added.filter(\.isSpecial).map(\.id).sorted() == expand(info["added_special_ids"]))
    #expect(added.filter { !$0.isSpecial }.map(\.id).sorted() == expand(info["added_plain_ids"]))
    #expect(added.allSatisfy { !$0.normalized && !$0.leftStrip && !$0.rightStrip && !$0.singleWord })
  }

  @Test func tinyVocabularyMatchesTransformers() throws {
    let tokenizer = try Tokenizer(ggufURL: Fixtures.url("gemma3_tiny_vocab.gguf"))
    let wrong = try Self.mismatches(tokenizer, fixture: "gemma3_tiny_vocab.expected.json")
    #expect(wrong.isEmpty, "\(wrong.count) mismatches: \(wrong.prefix(5).joined(separator: "\n"))")
    try Self.checkVocabulary(tokenizer, fixture: "gemma3_tiny_vocab.expected.json")
  }

  @Test(.enabled(if: gemma3Exists, "models/gemma-3-270m-q4_k_m.gguf is absent (ORPO_GEMMA3=1 scripts/setup.sh)"))
  func gemma3_270mMatchesTransformers() throws {
    let tokenizer = try Tokenizer(ggufURL: gemma3URL)
    let wrong = try Self.mismatches(tokenizer, fixture: "gemma3_270m_gguf_expected.json")
    #expect(wrong.isEmpty, "\(wrong.count) mismatches: \(wrong.prefix(5).joined(separator: "\n"))")
    try Self.checkVocabulary(tokenizer, fixture: "gemma3_270m_gguf_expected.json")
    #expect(tokenizer.tokenID("<start_of_turn>") == 105 && tokenizer.tokenID("<end_of_turn>") == 106)
  }

  @Test func respellsOnlyWhitespaceRunsHoldingASpace() {
    #expect(Tokenizer.gemmaRespelled("   ") == "▁▁▁")
    #expect(Tokenizer.gemmaRespelled(" \t") == "▁▁")
    #expect(Tokenizer.gemmaRespelled("\t\t") == "\t\t")
    #expect(Tokenizer.gemmaRespelled("\n") == "\n")
    #expect(Tokenizer.gemmaRespelled(" a") == " a")
  }
}

// Writing tokenizer.json back out (Tokenizer+Export): every fixture tokenizer and the GGUF-built ones survive the
// round trip id for id, and the default GGUF's exported file gives Python `tokenizers`' ids (committed fixture).
import Foundation
import Testing
@testable import Tokenization
import Support

/// The default model, from $ORPO_TEST_GGUF or models/ at the package root.
private var defaultGGUF: URL {
  if let path = ProcessInfo.processInfo.environment["ORPO_TEST_GGUF"] { return URL(fileURLWithPath: path) }
  return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf")
}
private var defaultGGUFExists: Bool { FileManager.default.fileExists(atPath: defaultGGUF.path) }

/// The tokenizer read back from what `tokenizer` exports.
private func roundTrip(_ tokenizer: Tokenizer) throws -> (Tokenizer, Data) {
  let data = try tokenizer.tokenizerJSON()
  return (try Tokenizer(tokenizerJSON: try JSONValue.parse(data), file: "exported tokenizer.json"), data)
}

/// Indices of corpus strings on which two tokenizers disagree (ids with and without special tokens, decodes).
private func disagreements(_ a: Tokenizer, _ b: Tokenizer) -> [String] {
  var out: [String] = []
  for (index, text) in Fixtures.corpus.enumerated() {
    for special in [false, true] {
      let (x, y) = (a.encode(text, addSpecialTokens: special), b.encode(text, addSpecialTokens: special))
      if x != y { out.append("#\(index) \(text.debugDescription) special=\(special): \(x) vs \(y)") }
    }
    let ids = a.encode(text, addSpecialTokens: true)
    if a.decode(ids) != b.decode(ids) { out.append("#\(index) decode differs") }
  }
  return out
}

@Suite struct TokenizerExportTests {
  @Test(arguments: ["gpt2", "llama3", "qwen2", "smollm2", "llama2", "mistral"])
  func fixtureTokenizersRoundTrip(kind: String) throws {
    let original = try Tokenizer(tokenizerJSON: Fixtures.url("\(kind)/tokenizer.json"))
    let (reloaded, data) = try roundTrip(original)
    let expected = try Fixtures.expected("\(kind)/expected.json")
    let plain = Fixtures.mismatches(reloaded, expected, addSpecialTokens: false)
    #expect(plain.isEmpty, "\(plain.count) mismatches: \(plain.prefix(5).joined(separator: "\n"))")
    let special = Fixtures.mismatches(reloaded, expected, addSpecialTokens: true)
    #expect(special.isEmpty, "\(special.count) mismatches: \(special.prefix(5).joined(separator: "\n"))")
    let differ = disagreements(original, reloaded)
    #expect(differ.isEmpty, "\(differ.prefix(5).joined(separator: "\n"))")
    #expect(reloaded.addedTokens == original.addedTokens.sorted { $0.id < $1.id })
    // Writing is stable: the reloaded tokenizer writes the same bytes.
    #expect(try reloaded.tokenizerJSON() == data)
  }

  @Test(arguments: ["gguf_llama_bpe", "gguf_llama_spm"])
  func ggufTokenizersRoundTrip(name: String) throws {
    let original = try Tokenizer(ggufURL: Fixtures.url("\(name).gguf"))
    let (reloaded, _) = try roundTrip(original)
    let expected = try Fixtures.expected("\(name).expected.json")
    for special in [false, true] {
      let mismatches = Fixtures.mismatches(reloaded, expected, addSpecialTokens: special)
      #expect(mismatches.isEmpty, "\(mismatches.count) mismatches: \(mismatches.prefix(5).joined(separator: "\n"))")
    }
    let differ = disagreements(original, reloaded)
    #expect(differ.isEmpty, "\(differ.prefix(5).joined(separator: "\n"))")
  }

  /// reference/check_export.py loaded the tokenizer.json that `orpo export --merge` wrote from the default GGUF
  /// with `tokenizers.Tokenizer.from_file`, `PreTrainedTokenizerFast(tokenizer_file=…)` and `AutoTokenizer`, and
  /// recorded their (identical) ids for the corpus.
  @Test(.enabled(if: defaultGGUFExists, "models/SmolLM2-135M-Instruct.Q4_1.gguf is absent (or set ORPO_TEST_GGUF)"))
  func defaultGGUFTokenizerRoundTripsAndMatchesPython() throws {
    let original = try Tokenizer(ggufURL: defaultGGUF)
    let (reloaded, _) = try roundTrip(original)
    let differ = disagreements(original, reloaded)
    #expect(differ.isEmpty, "\(differ.count) disagreements: \(differ.prefix(5).joined(separator: "\n"))")
    let python = try Fixtures.json("smollm2_gguf_export.json")
    #expect(python["matches_transformers_gguf"]?.boolValue == true)
    let ids = try #require(python["ids"]?.arrayValue).map { $0.arrayValue!.compactMap(\.intValue) }
    let prefix = python["prefix"]?.arrayValue?.compactMap(\.intValue) ?? []
    #expect(ids.count == Fixtures.corpus.count)
    var mismatches: [String] = []
    for (index, text) in Fixtures.corpus.enumerated() {
      if reloaded.encode(text, addSpecialTokens: false) != ids[index] { mismatches.append("#\(index) \(text.debugDescription)") }
      if reloaded.encode(text) != prefix + ids[index] { mismatches.append("#\(index) with special tokens") }
    }
    #expect(mismatches.isEmpty, "\(mismatches.count) mismatches: \(mismatches.prefix(5).joined(separator: "\n"))")
    let config = try JSONValue.parse(original.tokenizerConfigJSON(modelMaxLength: 8192))
    #expect(config["bos_token"]?.stringValue == "<|im_start|>" && config["eos_token"]?.stringValue == "<|im_end|>")
    #expect(config["chat_template"]?.stringValue == original.chatTemplate)
    #expect(config["tokenizer_class"]?.stringValue == "PreTrainedTokenizerFast")
  }

  @Test func jsonTextEscapesLikeSerde() throws {
    let value: JSONValue = .object([("a\"b", .string("tab\t nl\n cr\r bs\\ nul\u{0} esc\u{1B} é e\u{301} 😀")),
                                    ("n", .array([.int(3), .double(-0.5), .null, .bool(true)])), ("e", .object([]))])
    let text = value.formatted(.serdePretty)
    #expect(text == "{\n  \"a\\\"b\": \"tab\\t nl\\n cr\\r bs\\\\ nul\\u0000 esc\\u001b é e\u{301} 😀\",\n  \"n\": [\n    3,\n    -0.5,\n    null,\n    true\n  ],\n  \"e\": {}\n}")
    // Canonically equivalent keys stay distinct through a write and a read.
    let back = try JSONValue.parse(text)
    #expect(back["a\"b"]?.stringValue?.unicodeScalars.elementsEqual(value["a\"b"]!.stringValue!.unicodeScalars) == true)
  }
}

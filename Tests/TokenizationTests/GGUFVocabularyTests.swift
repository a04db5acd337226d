// GGUF-style vocabularies given as arrays must build the tokenizer transformers builds from a GGUF file:
// ids compared with transformers' on the tokenizer-only GGUF fixtures, plus the mapping rules by hand.
import Foundation
import Testing
@testable import Tokenization

@Suite struct GGUFVocabularyTests {
  /// Tokens in id order, merges as "a b", and the special tokens of a tokenizer.json fixture.
  static func arrays(_ kind: String) throws -> (tokens: [String], merges: [String], special: Set<String>) {
    let json = try Fixtures.json("\(kind)/tokenizer.json")
    var byID: [Int: String] = [:]
    for (token, id) in json["model"]!["vocab"]!.objectValue! { byID[id.intValue!] = token }
    var special = Set<String>()
    for entry in json["added_tokens"]!.arrayValue! {
      byID[entry["id"]!.intValue!] = entry["content"]!.stringValue!
      if entry["special"]!.boolValue! { special.insert(entry["content"]!.stringValue!) }
    }
    let tokens = (0..<byID.count).map { byID[$0]! }
    let merges = json["model"]!["merges"]!.arrayValue!.map { m -> String in
      if let s = m.stringValue { return s }
      return m.arrayValue!.map { $0.stringValue! }.joined(separator: " ")
    }
    return (tokens, merges, special)
  }

  static let template = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"

  /// The vocabulary written to gguf_llama_bpe.gguf by the reference script.
  static func llamaBPE() throws -> Tokenizer {
    let (tokens, merges, special) = try arrays("llama3")
    return try Tokenizer(
      ggufModel: "gpt2", pre: "llama-bpe", tokens: tokens, merges: merges,
      tokenTypes: tokens.map { special.contains($0) ? 3 : 1 }, scores: nil,
      bos: tokens.firstIndex(of: "<|begin_of_text|>"), eos: tokens.firstIndex(of: "<|eot_id|>"), pad: nil, unk: nil,
      addBOS: true, addEOS: nil, chatTemplate: template)
  }

  /// The vocabulary written to gguf_llama_spm.gguf: no merges, scores = -id, byte tokens typed 6.
  static func llamaSentencePiece() throws -> Tokenizer {
    let (tokens, _, _) = try arrays("llama2")
    let types = tokens.map { token -> Int in
      if token == "<s>" || token == "</s>" { return 3 }
      if token == "<unk>" { return 2 }
      return TokenDecoder.byteToken(token) != nil ? 6 : 1
    }
    return try Tokenizer(
      ggufModel: "llama", pre: "default", tokens: tokens, merges: nil, tokenTypes: types,
      scores: tokens.indices.map { -Float($0) }, bos: tokens.firstIndex(of: "<s>"), eos: tokens.firstIndex(of: "</s>"),
      pad: nil, unk: tokens.firstIndex(of: "<unk>"), addBOS: nil, addEOS: nil, chatTemplate: template)
  }

  @Test func byteLevelVocabularyMatchesTransformers() throws {
    let tokenizer = try Self.llamaBPE()
    let expected = try Fixtures.expected("gguf_llama_bpe.expected.json")
    #expect(expected.prefix == [0] && expected.suffix == [])
    let plain = Fixtures.mismatches(tokenizer, expected, addSpecialTokens: false)
    #expect(plain.isEmpty, "\(plain.count) mismatches: \(plain.prefix(5).joined(separator: "\n"))")
    let special = Fixtures.mismatches(tokenizer, expected, addSpecialTokens: true)
    #expect(special.isEmpty, "\(special.count) mismatches: \(special.prefix(5).joined(separator: "\n"))")
    // GPT2Tokenizer's own "<|endoftext|>" is added after the 1000 GGUF tokens, as in transformers (len 1001).
    #expect(tokenizer.vocabularySize == 1001)
    #expect(tokenizer.tokenID("<|endoftext|>") == 1000)
    #expect(tokenizer.bosToken == "<|begin_of_text|>" && tokenizer.bosTokenID == 0)
    #expect(tokenizer.eosToken == "<|eot_id|>" && tokenizer.eosTokenID == 4)
    #expect(tokenizer.padToken == nil && tokenizer.unknownToken == nil)
    #expect(tokenizer.chatTemplate == Self.template)
  }

  @Test func sentencePieceVocabularyMatchesTransformers() throws {
    let tokenizer = try Self.llamaSentencePiece()
    let expected = try Fixtures.expected("gguf_llama_spm.expected.json")
    #expect(expected.prefix == [1] && expected.suffix == [])
    let plain = Fixtures.mismatches(tokenizer, expected, addSpecialTokens: false)
    #expect(plain.isEmpty, "\(plain.count) mismatches: \(plain.prefix(5).joined(separator: "\n"))")
    let special = Fixtures.mismatches(tokenizer, expected, addSpecialTokens: true)
    #expect(special.isEmpty, "\(special.count) mismatches: \(special.prefix(5).joined(separator: "\n"))")
    #expect(tokenizer.vocabularySize == 1100)
    #expect(tokenizer.unknownToken == "<unk>" && tokenizer.unknownTokenID == 0)
    #expect(tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2)
  }

  @Test func mergesAreRebuiltFromScoresLikeTransformers() {
    // generate_merges: every two-way split whose halves are tokens, by (score, |left|, |right|) descending.
    let tokens = ["a", "b", "c", "ab", "bc", "abc"]
    let merges = Tokenizer.generateMerges(tokens: tokens, scores: [0, 0, 0, -1, -2, -3])
    #expect(merges.map { "\($0.0) \($0.1)" } == ["a b", "b c", "ab c", "a bc"])
  }

  @Test func unsupportedModelNamesTheField() {
    #expect(throws: TokenizerError.unsupported(file: "GGUF metadata", field: "tokenizer.ggml.model", value: "bert")) {
      try Tokenizer(ggufModel: "bert", pre: nil, tokens: ["a"], merges: [], tokenTypes: nil, scores: nil, bos: nil,
                    eos: nil, pad: nil, unk: nil, addBOS: nil, addEOS: nil, chatTemplate: nil)
    }
    #expect(throws: TokenizerError.self) {
      try Tokenizer(ggufModel: "gpt2", pre: nil, tokens: ["a"], merges: ["a b"], tokenTypes: nil, scores: nil, bos: nil,
                    eos: nil, pad: nil, unk: nil, addBOS: nil, addEOS: nil, chatTemplate: nil)
    }
  }
}

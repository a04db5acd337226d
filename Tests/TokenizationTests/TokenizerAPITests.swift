// The public API around encode/decode: model folders with tokenizer_config.json, ChatML tokens added for
// TRL's setup_chat_format, streaming decode, lookups, errors that name the file and field, and speed.
import Foundation
import Testing
@testable import Tokenization

@Suite struct TokenizerAPITests {
  @Test func folderWithConfigMatchesTransformers() throws {
    let tokenizer = try Tokenizer(folder: Fixtures.url("llama2"))
    let root = try Fixtures.json("llama2/expected_folder.json")
    let info = root["tokenizer"]!
    let expected = try Fixtures.expected("llama2/expected_folder.json")
    // tokenizer.json's post-processor wins over add_eos_token (transformers 5.23 drops the flags).
    #expect(expected.prefix == [1] && expected.suffix == [])
    for (index, ids) in expected.ids.enumerated() {
      let text = Fixtures.corpus[index]
      #expect(tokenizer.encode(text, addSpecialTokens: false) == ids, "\(text.debugDescription)")
      #expect(tokenizer.encode(text) == expected.prefix + ids + expected.suffix, "\(text.debugDescription)")
    }
    #expect(tokenizer.bosToken == "<s>" && tokenizer.bosTokenID == info["bos_token_id"]?.intValue)
    #expect(tokenizer.eosToken == "</s>" && tokenizer.eosTokenID == info["eos_token_id"]?.intValue)
    // "<pad>" is not in the vocabulary: it is appended as a special token, id 1100.
    #expect(tokenizer.padToken == "<pad>" && tokenizer.padTokenID == 1100 && tokenizer.isSpecialToken(1100))
    #expect(tokenizer.unknownTokenID == 0)
    #expect(tokenizer.vocabularySize == info["len"]?.intValue)
    #expect(tokenizer.chatTemplate == info["chat_template"]?["default"]?.stringValue)
    #expect(tokenizer.namedChatTemplates["tool_use"] == "{{ tools }}")
  }

  @Test func chatMLTokensForSetupChatFormat() throws {
    let tokenizer = try Tokenizer(tokenizerJSON: Fixtures.url("gpt2/tokenizer.json"))
    let expected = try Fixtures.json("gpt2/expected_chatml.json")
    #expect(tokenizer.vocabularySize == 903)
    let ids = tokenizer.addSpecialTokens(["<|im_start|>", "<|im_end|>"])
    #expect(ids == expected["added"]!.arrayValue!.map { $0.intValue! })
    #expect(ids == [903, 904])
    #expect(tokenizer.vocabularySize == expected["vocab_size"]!.intValue!)
    #expect(tokenizer.addSpecialTokens(["<|im_end|>"]) == [904])  // already there: same id
    tokenizer.setSpecialTokens(bos: "<|im_start|>", eos: "<|im_end|>", pad: "<|im_end|>")
    #expect(tokenizer.bosTokenID == 903 && tokenizer.eosTokenID == 904 && tokenizer.padTokenID == 904)
    for (text, ids) in zip(expected["strings"]!.arrayValue!, expected["ids"]!.arrayValue!) {
      #expect(tokenizer.encode(text.stringValue!, addSpecialTokens: false) == ids.arrayValue!.map { $0.intValue! })
    }
    let chat = "<|im_start|>user\nHi there<|im_end|>\n"
    #expect(tokenizer.decode(tokenizer.encode(chat)) == chat)
    #expect(tokenizer.decode(tokenizer.encode(chat), skipSpecialTokens: true) == "user\nHi there\n")
  }

  @Test(arguments: TokenizerJSONTests.kinds)
  func streamingDecodeConcatenatesToDecode(kind: String) throws {
    let tokenizer = try Tokenizer(tokenizerJSON: Fixtures.url("\(kind)/tokenizer.json"))
    var failures: [String] = []
    for text in Fixtures.corpus {
      let ids = tokenizer.encode(text)
      var stream = StreamingDecoder(tokenizer: tokenizer)
      var pieces: [String] = []
      for id in ids { pieces.append(stream.append(id)) }
      pieces.append(stream.finish())
      let whole = tokenizer.decode(ids)
      if !pieces.joined().unicodeScalars.elementsEqual(whole.unicodeScalars) {
        failures.append("\(text.debugDescription): \(pieces) vs \(whole.debugDescription)")
      }
      // No piece ends in the middle of a character.
      if pieces.dropLast().contains(where: { $0.unicodeScalars.last == "\u{FFFD}" }) && !whole.contains("\u{FFFD}") {
        failures.append("\(text.debugDescription): a piece ended with U+FFFD")
      }
    }
    #expect(failures.isEmpty, "\(failures.count): \(failures.prefix(3).joined(separator: "\n"))")
  }

  @Test func streamingHoldsBackIncompleteCharacters() throws {
    let tokenizer = try Tokenizer(tokenizerJSON: Fixtures.url("gpt2/tokenizer.json"))
    // "🦀" (not in the training text) is four byte tokens, none a complete character alone.
    let ids = tokenizer.encode("a🦀", addSpecialTokens: false)
    #expect(ids == [65, 500, 100, 223])
    var stream = StreamingDecoder(tokenizer: tokenizer)
    var pieces = ids.map { stream.append($0) }
    pieces.append(stream.finish())
    #expect(pieces.first == "a")
    #expect(pieces == ["a", "", "", "🦀", ""])
  }

  @Test func lookups() throws {
    let tokenizer = try Tokenizer(tokenizerJSON: Fixtures.url("llama3/tokenizer.json"))
    #expect(tokenizer.tokenID("<|begin_of_text|>") == 0)
    #expect(tokenizer.token(0) == "<|begin_of_text|>")
    #expect(tokenizer.tokenID("Hello") == nil || tokenizer.token(tokenizer.tokenID("Hello")!) == "Hello")
    #expect(tokenizer.token(-1) == nil && tokenizer.token(1_000_000) == nil)
    #expect(tokenizer.addedTokens.count == 5 && tokenizer.addedTokens.allSatisfy(\.isSpecial))
    #expect(tokenizer.specialTokensAddedByEncode.prefix == [0])
    #expect(tokenizer.encode("") == [0] && tokenizer.encode("", addSpecialTokens: false) == [])
    #expect(tokenizer.decode([]) == "")
  }

  // MARK: Errors

  private func write(_ json: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString).json")
    try json.write(to: url, atomically: true, encoding: .utf8)
    return url
  }

  @Test func unsupportedModelTypeNamesFileAndField() throws {
    let url = try write(#"{"model": {"type": "WordPiece", "vocab": {}}}"#)
    defer { try? FileManager.default.removeItem(at: url) }
    #expect(throws: TokenizerError.unsupported(file: url.lastPathComponent, field: "model.type", value: "WordPiece")) {
      try Tokenizer(tokenizerJSON: url)
    }
  }

  @Test func unsupportedPreTokenizerNamesFileAndField() throws {
    let url = try write(#"""
      {"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
       "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "ByteLevel"}, {"type": "BertPreTokenizer"}]}}
      """#)
    defer { try? FileManager.default.removeItem(at: url) }
    #expect(throws: TokenizerError.unsupported(file: url.lastPathComponent, field: "pre_tokenizer.pretokenizers[1].type",
                                               value: "BertPreTokenizer")) {
      try Tokenizer(tokenizerJSON: url)
    }
  }

  @Test func badMergeAndBadJSONAreErrorsNotCrashes() throws {
    let badMerge = try write(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}"#)
    let badJSON = try write(#"{"model": {"type": "BPE", "vocab": {"a": 0,}"#)
    defer { try? FileManager.default.removeItem(at: badMerge); try? FileManager.default.removeItem(at: badJSON) }
    #expect(throws: TokenizerError.invalidField(file: badMerge.lastPathComponent, field: "model.merges",
                                                reason: "token \"b\" is not in model.vocab")) {
      try Tokenizer(tokenizerJSON: badMerge)
    }
    #expect(throws: TokenizerError.self) { try Tokenizer(tokenizerJSON: badJSON) }
    #expect(throws: TokenizerError.self) { try Tokenizer(folder: URL(fileURLWithPath: "/nonexistent-folder")) }
    let error = TokenizerError.unsupported(file: "tokenizer.json", field: "model.type", value: "WordPiece")
    #expect(error.description == "tokenizer.json: field `model.type` has unsupported value \"WordPiece\"")
  }

  /// Found by the fuzzer (Fuzz/Tokenizer): a one-character token with an id past Int32 trapped in the BPE model.
  @Test func idsOutOfRangeAreErrorsNotCrashes() throws {
    let hugeVocabID = try write(#"{"model": {"type": "BPE", "vocab": {"G": 4333333333333333}, "merges": []}}"#)
    let negativeAddedID = try write(#"{"model": {"type": "BPE", "vocab": {"a": 0}}, "added_tokens": [{"id": -1, "content": "<s>"}]}"#)
    defer { try? FileManager.default.removeItem(at: hugeVocabID); try? FileManager.default.removeItem(at: negativeAddedID) }
    #expect(throws: TokenizerError.invalidField(file: hugeVocabID.lastPathComponent, field: "model.vocab[G]",
                                                reason: "id is not an integer from 0 to 2147483647")) {
      try Tokenizer(tokenizerJSON: hugeVocabID)
    }
    #expect(throws: TokenizerError.invalidField(file: negativeAddedID.lastPathComponent, field: "added_tokens[0].id",
                                                reason: "-1 is not an integer from 0 to 2147483647")) {
      try Tokenizer(tokenizerJSON: negativeAddedID)
    }
  }

  /// Found by the fuzzer (Fuzz/Tokenizer): a Strip decoder with a negative start (usize in `tokenizers`) trapped.
  @Test func stripDecoderWithNegativeCountIsAnErrorNotACrash() throws {
    for (start, stop) in [(-1, 0), (0, -3)] {
      let url = try write(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "decoder": {"type": "Sequence", "decoders": [{"type": "Fuse"}, {"type": "Strip", "content": " ", "start": \#(start), "stop": \#(stop)}]}}"#)
      defer { try? FileManager.default.removeItem(at: url) }
      #expect(throws: TokenizerError.invalidField(file: url.lastPathComponent, field: "decoder.decoders[1].start/stop",
                                                  reason: "expected counts >= 0")) {
        try Tokenizer(tokenizerJSON: url)
      }
    }
  }

  // MARK: Speed

  @Test func encodesThousandsOfRowsPerSecond() throws {
    let tokenizer = try Tokenizer(tokenizerJSON: Fixtures.url("llama3/tokenizer.json"))
    let rows = (0..<4000).map { "Row \($0): " + Fixtures.corpus[$0 % Fixtures.corpus.count] }
    let start = Date()
    var total = 0
    for row in rows { total += tokenizer.encode(row).count }
    let seconds = Date().timeIntervalSince(start)
    print("encoded \(rows.count) rows (\(total) tokens) in \(String(format: "%.3f", seconds)) s")
    #expect(total > rows.count)
    #expect(Double(rows.count) / seconds > 1000, "only \(Double(rows.count) / seconds) rows/s")
  }
}

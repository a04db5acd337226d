// Every tokenizer kind from tokenizer.json must give Hugging Face's ids (with and without special tokens)
// and decodes for the whole corpus.
import Foundation
import Testing
@testable import Tokenization

@Suite struct TokenizerJSONTests {
  static let kinds = ["gpt2", "llama3", "qwen2", "smollm2", "llama2", "mistral"]

  @Test(arguments: kinds)
  func idsMatchHuggingFace(kind: String) throws {
    let tokenizer = try Tokenizer(tokenizerJSON: Fixtures.url("\(kind)/tokenizer.json"))
    let expected = try Fixtures.expected("\(kind)/expected.json")
    #expect(Fixtures.corpus.count >= 500)
    #expect(expected.ids.count == Fixtures.corpus.count)
    let plain = Fixtures.mismatches(tokenizer, expected, addSpecialTokens: false)
    #expect(plain.isEmpty, "\(plain.count) mismatches: \(plain.prefix(5).joined(separator: "\n"))")
    let special = Fixtures.mismatches(tokenizer, expected, addSpecialTokens: true)
    #expect(special.isEmpty, "\(special.count) mismatches: \(special.prefix(5).joined(separator: "\n"))")
  }

  @Test(arguments: kinds)
  func decodesMatchHuggingFace(kind: String) throws {
    let tokenizer = try Tokenizer(tokenizerJSON: Fixtures.url("\(kind)/tokenizer.json"))
    let expected = try Fixtures.expected("\(kind)/expected.json")
    var failures: [String] = []
    for (index, text) in Fixtures.corpus.enumerated() {
      let ids = expected.ids[index]
      let want = expected.decoded[index] ?? text
      let got = tokenizer.decode(ids)
      if !got.unicodeScalars.elementsEqual(want.unicodeScalars) {
        failures.append("#\(index) decode: got \(got.debugDescription), want \(want.debugDescription)")
      }
      let withSpecial = expected.prefix + ids + expected.suffix
      let wantSkipping = expected.decodedSkippingSpecial[index] ?? want
      let gotSkipping = tokenizer.decode(withSpecial, skipSpecialTokens: true)
      if !gotSkipping.unicodeScalars.elementsEqual(wantSkipping.unicodeScalars) {
        failures.append("#\(index) skip: got \(gotSkipping.debugDescription), want \(wantSkipping.debugDescription)")
      }
    }
    #expect(failures.isEmpty, "\(failures.count) failures: \(failures.prefix(5).joined(separator: "\n"))")
  }
}

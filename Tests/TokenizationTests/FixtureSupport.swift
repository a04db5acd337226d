// Loads the fixtures written by reference/make_tokenizer_fixtures.py (corpus, tokenizers, Hugging Face ids).
import Foundation
@testable import Tokenization
import Support

extension JSONValue {
  /// Fixture files are written by Python's json module, which never repeats a key: the first match is the only one.
  subscript(key: String) -> JSONValue? { self[first: key] }
}

enum Fixtures {
  static func url(_ path: String) -> URL {
    Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(path)
  }

  static func json(_ path: String) throws -> JSONValue { try JSONValue.parse(Data(contentsOf: url(path))) }

  static let corpus: [String] = {
    (try! json("corpus.json"))["strings"]!.arrayValue!.map { $0.stringValue! }
  }()

  struct Expected {
    var prefix: [Int]
    var suffix: [Int]
    var ids: [[Int]]
    /// decode(ids) when it differs from the input string.
    var decoded: [String?]
    /// decode(ids with special tokens, skipSpecialTokens: true) when it differs from `decoded`.
    var decodedSkippingSpecial: [String?]
  }

  static func expected(_ path: String) throws -> Expected {
    let root = try json(path)
    let ints: (JSONValue?) -> [Int] = { $0?.arrayValue?.compactMap(\.intValue) ?? [] }
    if let entries = root["entries"]?.arrayValue {
      return Expected(prefix: ints(root["prefix"]), suffix: ints(root["suffix"]),
                      ids: entries.map { ints($0["ids"]) },
                      decoded: entries.map { $0["decoded"]?.stringValue },
                      decodedSkippingSpecial: entries.map { $0["decoded_skip_special"]?.stringValue })
    }
    let ids = root["ids"]!.arrayValue!.map(ints)
    return Expected(prefix: ints(root["prefix"]), suffix: ints(root["suffix"]), ids: ids,
                    decoded: ids.map { _ in nil }, decodedSkippingSpecial: ids.map { _ in nil })
  }

  /// Indices of corpus strings whose ids differ, with a short description of the first few.
  static func mismatches(_ tokenizer: Tokenizer, _ expected: Expected, addSpecialTokens: Bool) -> [String] {
    var out: [String] = []
    for (index, text) in corpus.enumerated() {
      let want = addSpecialTokens ? expected.prefix + expected.ids[index] + expected.suffix : expected.ids[index]
      let got = tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
      if got != want { out.append("#\(index) \(text.debugDescription): got \(got), want \(want)") }
    }
    return out
  }
}

// PreferenceDatasetTests.swift — selection, splits' edge cases and JSON Lines round trips. Shuffles and splits
// are checked against Hugging Face datasets' own indices in SelectionTests.swift.

import ChatTemplates
import Foundation
import Testing
@testable import Data

@Suite struct PreferenceDatasetTests {
  /// Rows whose id is their original position.
  func numbered(_ count: Int) -> PreferenceDataset {
    PreferenceDataset(records: (0..<count).map {
      PreferenceRecord(prompt: .text("q\($0)"), chosen: .text("c"), rejected: .text("r"), id: "\($0)")
    }, sourceName: "numbered")
  }

  func ids(_ dataset: PreferenceDataset) -> [Int] { dataset.records.map { Int($0.id!)! } }

  @Test func selectAndFirst() {
    let dataset = numbered(10)
    #expect(ids(dataset.select(2..<5)) == [2, 3, 4])
    #expect(ids(dataset.select(8..<20)) == [8, 9])
    #expect(ids(dataset.first(3)) == [0, 1, 2])
    #expect(dataset.first(50).count == 10)
    #expect(dataset.first(0).isEmpty)
    #expect(ids(dataset.select(indices: [9, 0, 9])) == [9, 0, 9])
  }

  @Test func splitsAreDisjointAndComplete() throws {
    let dataset = numbered(97)
    let (train, test) = try dataset.trainTestSplit(testFraction: 0.1, seed: 42)
    #expect(test.count == 10 && train.count == 87)
    #expect(Set(ids(train)).isDisjoint(with: Set(ids(test))))
    #expect(Set(ids(train) + ids(test)) == Set(0..<97))
    let again = try dataset.trainTestSplit(testFraction: 0.1, seed: 42)
    #expect(again.train == train && again.test == test)
  }

  @Test func badSplitsAreErrors() {
    #expect(throws: DataError(source: "numbered", message: "cannot split 10 rows with 10 in test: expected a test count from 1 to 9")) {
      try numbered(10).trainTestSplit(testCount: 10, seed: 1)
    }
    #expect(throws: DataError(source: "numbered", message: "expected a test fraction between 0 and 1 (exclusive), found 1.5")) {
      try numbered(10).trainTestSplit(testFraction: 1.5, seed: 1)
    }
  }

  @Test func jsonLinesRoundTripEveryShape() throws {
    let records = [
      PreferenceRecord(prompt: .text("Say \"hi\"\n"), chosen: .text(" hi\t\u{1}"), rejected: .text(" bye é 😀"), id: "x"),
      PreferenceRecord(prompt: .messages([system("s"), user("u")]), chosen: .messages([assistant("a")]),
                       rejected: .messages([assistant("b"), user("c"), assistant("d")]), family: "f"),
    ]
    let dataset = PreferenceDataset(records: records)
    // Python's json.dumps(row, ensure_ascii=False) formatting.
    #expect(dataset.jsonLines == """
      {"prompt": "Say \\"hi\\"\\n", "chosen": " hi\\t\\u0001", "rejected": " bye é 😀", "id": "x"}
      {"prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}], "family": "f"}

      """)
    let back = try PreferenceReader().read(text: dataset.jsonLines, sourceName: "x.jsonl").dataset
    #expect(back.records.map { var r = $0; r.sourceLine = nil; return r } == records)
  }
}

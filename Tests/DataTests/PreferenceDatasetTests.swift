// PreferenceDatasetTests.swift — shuffling, selection and train/test splits, with expected orders printed by
// CPython 3.11 (`random.Random(seed).shuffle(list(range(n)))`), and JSON Lines round trips.

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

  @Test func shuffleMatchesPython() {
    #expect(ids(numbered(10).shuffled(seed: 3)) == [1, 5, 6, 0, 9, 4, 7, 2, 8, 3])
    #expect(ids(numbered(25).shuffled(seed: 2024))
      == [19, 16, 2, 10, 1, 0, 12, 14, 4, 3, 21, 11, 22, 20, 23, 24, 7, 17, 8, 13, 6, 9, 18, 5, 15])
    let large = ids(numbered(1000).shuffled(seed: 7))
    #expect(Array(large.prefix(10)) == [878, 857, 349, 313, 382, 850, 927, 194, 261, 946])
    #expect(Array(large.suffix(5)) == [666, 404, 154, 970, 331])
    #expect(numbered(10).shuffled(seed: 3).sourceName == "numbered")
  }

  @Test func selectAndFirst() {
    let dataset = numbered(10)
    #expect(ids(dataset.select(2..<5)) == [2, 3, 4])
    #expect(ids(dataset.select(8..<20)) == [8, 9])
    #expect(ids(dataset.first(3)) == [0, 1, 2])
    #expect(dataset.first(50).count == 10)
    #expect(dataset.first(0).isEmpty)
    #expect(ids(dataset.select(indices: [9, 0, 9])) == [9, 0, 9])
  }

  @Test func trainTestSplitMatchesPythonPermutation() throws {
    // random.Random(123).shuffle(list(range(10))) == [8, 7, 5, 9, 2, 3, 6, 1, 4, 0]
    let (train, test) = try numbered(10).trainTestSplit(testCount: 3, seed: 123)
    #expect(ids(test) == [8, 7, 5])
    #expect(ids(train) == [9, 2, 3, 6, 1, 4, 0])
    // ceil(0.25 × 10) = 3 rows in test: the same split.
    let byFraction = try numbered(10).trainTestSplit(testFraction: 0.25, seed: 123)
    #expect(byFraction.test == test && byFraction.train == train)
    let fifth = try numbered(10).trainTestSplit(testFraction: 0.2, seed: 123)
    #expect(ids(fifth.test) == [8, 7])
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

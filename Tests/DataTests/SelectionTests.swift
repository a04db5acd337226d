// SelectionTests.swift — the rows Hugging Face datasets picks, picked here too: numpy's PCG64 stream for each seed,
// `shuffle(seed).select(range(n))` and `train_test_split(test_size, seed)` indices, all dumped by datasets 5.2.0 /
// numpy 2.4.6 (reference/make_parquet_fixtures.py, Fixtures/selection.json).

import Foundation
import Testing
@testable import Data

struct SelectionFixture: Decodable {
  struct Stream: Decodable { var seed: Double; var uint64: [String] }
  struct Shuffle: Decodable { var n: Int; var seed: Int; var select: Int; var indices: [Int] }
  struct Split: Decodable {
    var n: Int; var test_size: Double; var seed: Int; var test: [Int]; var train_count: Int
    var train_head: [Int]; var train_tail: [Int]; var train_weighted_sum: Int
  }
  var versions: [String: String]
  var pcg64: [Stream]
  var shuffle: [Shuffle]
  var train_test_split: [Split]

  static func load() throws -> SelectionFixture {
    try JSONDecoder().decode(SelectionFixture.self, from: Data(contentsOf: dataFixture("selection.json")))
  }
}

/// Rows whose id is their original position.
func numberedRows(_ count: Int) -> PreferenceDataset {
  PreferenceDataset(records: (0..<count).map {
    PreferenceRecord(prompt: .text("q\($0)"), chosen: .text("c"), rejected: .text("r"), id: "\($0)")
  }, sourceName: "numbered")
}

func rowIDs(_ dataset: PreferenceDataset) -> [Int] { dataset.records.map { Int($0.id!)! } }

@Suite struct SelectionTests {
  @Test func pcg64StreamsEqualNumpys() throws {
    let fixture = try SelectionFixture.load()
    #expect(fixture.versions["numpy"] == "2.4.6" && fixture.versions["datasets"] == "5.2.0")
    // The seeds as numpy's SeedSequence splits them into 32-bit words, lowest first.
    let words: [[UInt32]] = [[0], [1], [42], [1234], [5, 1], [3, 0, 64]]  // 2**32 + 5 and 2**70 + 3 last
    #expect(fixture.pcg64.count == words.count)
    for (stream, entropy) in zip(fixture.pcg64, words) {
      var generator = NumpyRandom(entropy: entropy)
      let drawn = (0..<stream.uint64.count).map { _ in String(generator.nextUInt64()) }
      #expect(drawn == stream.uint64, "seed \(stream.seed)")
    }
    var small = NumpyRandom(seed: (1 << 32) + 5)
    var split = NumpyRandom(entropy: [5, 1])
    #expect(small.nextUInt64() == split.nextUInt64())
  }

  @Test func shuffleSelectEqualsDatasets() throws {
    for case let entry in try SelectionFixture.load().shuffle {
      let picked = try numberedRows(entry.n).shuffled(seed: entry.seed).first(entry.select)
      #expect(rowIDs(picked) == entry.indices, "n \(entry.n), seed \(entry.seed)")
    }
  }

  @Test func trainTestSplitEqualsDatasets() throws {
    for entry in try SelectionFixture.load().train_test_split {
      let rows = numberedRows(entry.n)
      let (train, test) = entry.test_size < 1
        ? try rows.trainTestSplit(testFraction: entry.test_size, seed: entry.seed)
        : try rows.trainTestSplit(testCount: Int(entry.test_size), seed: entry.seed)
      let trainIDs = rowIDs(train)
      #expect(rowIDs(test) == entry.test, "n \(entry.n), test_size \(entry.test_size), seed \(entry.seed)")
      #expect(trainIDs.count == entry.train_count)
      #expect(Array(trainIDs.prefix(40)) == entry.train_head && Array(trainIDs.suffix(10)) == entry.train_tail)
      #expect(trainIDs.enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element } == entry.train_weighted_sum)
    }
  }

  @Test func negativeSeedsAreRefusedAsNumpyRefusesThem() {
    #expect(throws: DataError(source: "numbered", message: "expected a non-negative seed (numpy's default_rng), found -1")) {
      try numberedRows(3).shuffled(seed: -1)
    }
  }
}

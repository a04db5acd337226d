// DatasetFolderTests.swift — dataset folders cut into splits as Hugging Face datasets 5.2.0 cuts them
// (Fixtures/data_files.json: `get_data_patterns` + `DataFilesDict.from_patterns` on each layout), Hub folders read
// split by split, selections and mixtures of several sets.

import Foundation
import Testing
@testable import Data

struct DataFilesFixture: Decodable {
  struct Layout: Decodable { var files: [String]; var splits: [String: [String]]; var split_order: [String] }
  var layouts: [String: Layout]
}

@Suite struct DatasetFolderTests {
  /// Creates `files` (each holding "x") under a new temporary folder.
  func layout(_ files: [String], name: String) throws -> URL {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("layout-\(getpid())-\(name)")
    try? FileManager.default.removeItem(at: root)
    for file in files {
      let url = root.appendingPathComponent(file)
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data("x".utf8).write(to: url)
    }
    return root
  }

  @Test func splitsEqualWhatDatasetsResolves() throws {
    let fixture = try JSONDecoder().decode(DataFilesFixture.self, from: Data(contentsOf: dataFixture("data_files.json")))
    #expect(fixture.layouts.count == 11)
    for (name, expected) in fixture.layouts.sorted(by: { $0.key < $1.key }) {
      let root = try layout(expected.files, name: name)
      defer { try? FileManager.default.removeItem(at: root) }
      let folder = try DatasetFolder(root)
      #expect(folder.splits.map(\.name) == expected.split_order, "\(name)")
      for split in folder.splits { #expect(split.files == expected.splits[split.name], "\(name) \(split.name)") }
    }
  }

  @Test func shardNames() {
    #expect(DatasetFolder.shardSplitName("train_prefs-00000-of-00001.parquet") == "train_prefs")
    #expect(DatasetFolder.shardSplitName("train.clean-00003-of-00010.parquet") == "train.clean")
    #expect(DatasetFolder.shardSplitName("a-00000-of-00001-b-00001-of-00002.x") == "a-00000-of-00001-b")
    #expect(DatasetFolder.shardSplitName("train-00000-of-00001") == nil)  // no "." after the shard numbers
    #expect(DatasetFolder.shardSplitName("train-0000-of-00001.parquet") == nil)
  }

  @Test func ultrafeedbackFolderSplitEqualsItsJSONLines() throws {
    let source = DatasetSource(path: dataFixture("ultrafeedback").path, split: "train_prefs")
    let (dataset, report) = try source.readAll()
    #expect(dataset.sourceName == "ultrafeedback[train_prefs]" && report.keptCount == 40)
    #expect(dataset.records == withoutLines(try PreferenceDataset(contentsOf: dataFixture("ultrafeedback-train_prefs.jsonl"))))
    let test = try DatasetSource(path: dataFixture("ultrafeedback").path, split: "test_prefs").readAll().dataset
    #expect(test.count == 12)
  }

  @Test func theSplitMustBeNamedWhenThereIsNoTrain() throws {
    let path = dataFixture("ultrafeedback").path
    #expect(throws: DataError(source: path, message: "the folder has no \"train\" split; choose one of \"test_prefs\", "
      + "\"train_prefs\" with --split (recipe key dataset_split)")) { try DatasetSource(path: path).readAll() }
    #expect(throws: DataError(source: path, message: "there is no split \"train_sft\" (the folder's splits: \"test_prefs\", "
      + "\"train_prefs\")")) { try DatasetSource(path: path, split: "train_sft").readAll() }
    let file = dataFixture("plain.jsonl").path
    #expect(throws: DataError(source: file, message: "a split (\"train\") only applies to a dataset folder; this is a file")) {
      try DatasetSource(path: file, split: "train").readAll()
    }
  }

  @Test func shardsReadInOrderAsTheDefaultTrainSplit() throws {
    let dataset = try DatasetSource(path: dataFixture("orpo-dpo-mix").path).readAll().dataset
    #expect(dataset.sourceName == "orpo-dpo-mix[train]")
    #expect(dataset.records == withoutLines(try PreferenceDataset(contentsOf: dataFixture("orpo-dpo-mix.jsonl"))))
  }

  @Test func aHuggingFaceCacheFolderReadsItsSnapshot() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("datasets--org--prefs-\(getpid())")
    defer { try? FileManager.default.removeItem(at: root) }
    let snapshot = root.appendingPathComponent("snapshots/0123abcd/data")
    try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: root.appendingPathComponent("refs"), withIntermediateDirectories: true)
    try Data("0123abcd".utf8).write(to: root.appendingPathComponent("refs/main"))
    // The cache links snapshot files to blobs.
    try FileManager.default.createSymbolicLink(at: snapshot.appendingPathComponent("train-00000-of-00001.parquet"),
                                               withDestinationURL: dataFixture("plain.parquet"))
    let dataset = try DatasetSource(path: root.path).readAll().dataset
    #expect(dataset.count == 20)
  }

  @Test func shuffleThenTakeRowsAsTheSeedsDo() throws {
    // dataset.shuffle(seed=42).select(range(10)) on the train_prefs split.
    let source = DatasetSource(path: dataFixture("ultrafeedback").path, split: "train_prefs", shuffleSeed: 42, rowCount: 10)
    let picked = try source.load().dataset
    let all = try DatasetSource(path: dataFixture("ultrafeedback").path, split: "train_prefs").readAll().dataset
    var numpy = NumpyRandom(seed: 42)
    #expect(picked.records == all.select(indices: Array(numpy.permutation(40).prefix(10))).records)
    #expect(throws: DataError(source: "ultrafeedback[train_prefs]", message: "cannot take 41 rows: the set has 40")) {
      try DatasetSource(path: dataFixture("ultrafeedback").path, split: "train_prefs", rowCount: 41).load()
    }
  }

  @Test func mixturesByCountAndByWeight() throws {
    let plain = DatasetSource(path: dataFixture("plain.parquet").path)                 // 20 rows
    let mix = DatasetSource(path: dataFixture("orpo-dpo-mix").path)                     // 30 rows
    let counted = try DatasetSource.mix([withRows(plain, 3), withRows(mix, 4)]).dataset
    #expect(counted.count == 7 && counted.sourceName == "plain.parquet+orpo-dpo-mix[train]")
    #expect(counted.records.prefix(3).allSatisfy { !$0.isConversational })
    // Equal weights, no total: as many rows as the smaller set allows at that share (20 + 20).
    #expect(try DatasetSource.mix([weighted(plain, 1), weighted(mix, 1)]).dataset.count == 40)
    // 1 : 2 of 7 rows: 2.33 and 4.67, the larger remainder gets the extra row: 2 + 5.
    let thirds = try DatasetSource.mix([weighted(plain, 1), weighted(mix, 2)], total: 7).dataset
    #expect(thirds.records.filter { !$0.isConversational }.count == 2 && thirds.count == 7)
    // A set with neither gives everything.
    #expect(try DatasetSource.mix([plain, weighted(mix, 1)], total: 5).dataset.count == 25)
    #expect(throws: DataError(source: "plain.parquet", message: "its weight asks for 50 of 100 rows, the set has 20")) {
      try DatasetSource.mix([weighted(plain, 1), weighted(mix, 1)], total: 100)
    }
    var both = withRows(plain, 2)
    both.weight = 1
    #expect(throws: DataError(source: plain.path, message: "give a data set num_rows or weight, not both")) {
      try DatasetSource.mix([both])
    }
  }

  func withRows(_ source: DatasetSource, _ count: Int) -> DatasetSource {
    var copy = source
    copy.rowCount = count
    return copy
  }

  func weighted(_ source: DatasetSource, _ weight: Double) -> DatasetSource {
    var copy = source
    copy.weight = weight
    return copy
  }
}

// PreferenceDataset.swift — a list of preference records with its source name: loading, seeded shuffling,
// selection and train/test splitting (the same rows Hugging Face datasets picks), and writing JSON Lines.

import Foundation
import Support

/// Preference records plus the name of where they came from. Shuffles and splits draw from numpy's PCG64 as Hugging
/// Face datasets does, so a seed picks the same rows here as in Python:
///
///     ds.shuffle(seed=42).select(range(1000))      # == try dataset.shuffled(seed: 42).first(1000)
///     ds.train_test_split(test_size=0.01, seed=42) # == try dataset.trainTestSplit(testFraction: 0.01, seed: 42)
public struct PreferenceDataset: RandomAccessCollection, Equatable, Sendable {
  public var records: [PreferenceRecord]
  /// A file name or other label, used in messages and reports.
  public var sourceName: String

  public init(records: [PreferenceRecord], sourceName: String = "memory") {
    self.records = records
    self.sourceName = sourceName
  }

  /// Reads a JSON Lines or JSON file, stopping at the first malformed row (see `PreferenceReader`).
  public init(contentsOf url: URL) throws {
    self = try PreferenceReader().read(contentsOf: url).dataset
  }

  /// Reads a JSON Lines or JSON file; with `skipInvalid`, malformed rows are left out and reported.
  public static func read(contentsOf url: URL, skipInvalid: Bool) throws -> (dataset: PreferenceDataset, report: ReadReport) {
    try PreferenceReader(skipInvalid: skipInvalid).read(contentsOf: url)
  }

  public var startIndex: Int { records.startIndex }
  public var endIndex: Int { records.endIndex }
  public subscript(position: Int) -> PreferenceRecord { records[position] }

  /// The records in the order Hugging Face datasets' `shuffle(seed=seed)` gives: numpy's
  /// `default_rng(seed).permutation(count)` (NumpyRandom.swift). `shuffled(seed:).first(n)` is the seeds'
  /// `dataset.shuffle(seed=42).select(range(n))`.
  public func shuffled(seed: Int) throws -> PreferenceDataset {
    select(indices: try Self.permutation(count, seed: seed, sourceName: sourceName))
  }

  /// numpy's `default_rng(seed).permutation(count)`; numpy refuses negative seeds, and so do we.
  static func permutation(_ count: Int, seed: Int, sourceName: String) throws -> [Int] {
    guard seed >= 0 else {
      throw DataError(source: sourceName, message: "expected a non-negative seed (numpy's default_rng), found \(seed)")
    }
    var generator = NumpyRandom(seed: UInt64(seed))
    return generator.permutation(count)
  }

  /// The records at `range` (clamped to the dataset).
  public func select(_ range: Range<Int>) -> PreferenceDataset {
    let clamped = range.clamped(to: records.indices)
    return PreferenceDataset(records: Array(records[clamped]), sourceName: sourceName)
  }

  /// The records at `indices`, in that order (an index may repeat).
  public func select(indices: [Int]) -> PreferenceDataset {
    PreferenceDataset(records: indices.map { records[$0] }, sourceName: sourceName)
  }

  /// The first `count` records (all of them when there are fewer).
  public func first(_ count: Int) -> PreferenceDataset { select(0..<Swift.max(0, count)) }

  /// Splits at random into train and test sets, `testCount` rows in test, as Hugging Face datasets'
  /// `train_test_split(test_size=testCount, seed=seed)`: a permutation from numpy's `default_rng(seed)`; test takes
  /// its first `testCount` indices and train the rest, both in permuted order.
  public func trainTestSplit(testCount: Int, seed: Int) throws -> (train: PreferenceDataset, test: PreferenceDataset) {
    guard testCount > 0 && testCount < records.count else {
      throw DataError(source: sourceName, message: "cannot split \(records.count) rows with \(testCount) in test: "
        + "expected a test count from 1 to \(records.count - 1)")
    }
    let order = try Self.permutation(records.count, seed: seed, sourceName: sourceName)
    return (select(indices: Array(order[testCount...])), select(indices: Array(order[..<testCount])))
  }

  /// Splits with `ceil(testFraction × count)` rows in test (the rounding Hugging Face datasets uses).
  public func trainTestSplit(testFraction: Double, seed: Int) throws -> (train: PreferenceDataset, test: PreferenceDataset) {
    guard testFraction > 0 && testFraction < 1 else {
      throw DataError(source: sourceName, message: "expected a test fraction between 0 and 1 (exclusive), found \(testFraction)")
    }
    let testCount = Int((testFraction * Double(records.count)).rounded(.up))
    return try trainTestSplit(testCount: testCount, seed: seed)
  }

  /// The dataset as JSON Lines: one `PreferenceRecord.jsonLine` per line, each ending with "\n".
  public var jsonLines: String {
    var text = ""
    for record in records {
      text += record.jsonLine
      text += "\n"
    }
    return text
  }

  /// Writes the dataset as JSON Lines (UTF-8, "\n" line ends), replacing any file at `url` atomically.
  public func writeJSONLines(to url: URL) throws {
    do { try AtomicFile.write(jsonLines, to: url) } catch let error as FileError {
      throw DataError(source: url.lastPathComponent, message: "cannot write the file: \(error.reason)")
    }
  }

  /// The number of records per `family` label (records without one count under "").
  public var familyCounts: [String: Int] {
    records.reduce(into: [:]) { $0[$1.family ?? "", default: 0] += 1 }
  }
}

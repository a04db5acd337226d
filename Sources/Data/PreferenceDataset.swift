// PreferenceDataset.swift — a list of preference records with its source name: loading, seeded shuffling,
// selection, train/test splitting (reproducible in Python), and writing JSON Lines.

import Foundation

/// Preference records plus the name of where they came from. Shuffles and splits draw from `PythonRandom`, so a
/// seed gives the same order on every platform, and Python reproduces it:
///
///     rows = [...]; random.Random(seed).shuffle(rows)   # == dataset.shuffled(seed: seed)
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

  /// The records in an order drawn with `seed`: Python's `random.Random(seed).shuffle` applied to the rows.
  public func shuffled(seed: Int) -> PreferenceDataset {
    var generator = PythonRandom(seed: seed)
    var copy = records
    generator.shuffle(&copy)
    return PreferenceDataset(records: copy, sourceName: sourceName)
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

  /// Splits at random into train and test sets, `testCount` rows in test, like Hugging Face datasets'
  /// `train_test_split`: a seeded permutation of the row indices (Python's `random.Random(seed).shuffle` of
  /// `range(n)`); test takes the first `testCount` indices and train the rest, both in permuted order.
  public func trainTestSplit(testCount: Int, seed: Int) throws -> (train: PreferenceDataset, test: PreferenceDataset) {
    guard testCount > 0 && testCount < records.count else {
      throw DataError(source: sourceName, message: "cannot split \(records.count) rows with \(testCount) in test: "
        + "expected a test count from 1 to \(records.count - 1)")
    }
    var order = Array(records.indices)
    var generator = PythonRandom(seed: seed)
    generator.shuffle(&order)
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

  /// Writes the dataset as JSON Lines (UTF-8, "\n" line ends), replacing any file at `url`.
  public func writeJSONLines(to url: URL) throws {
    do {
      try jsonLines.write(to: url, atomically: true, encoding: .utf8)
    } catch {
      throw DataError(source: url.lastPathComponent, message: "cannot write the file: \(error.localizedDescription)")
    }
  }

  /// The number of records per `family` label (records without one count under "").
  public var familyCounts: [String: Int] {
    records.reduce(into: [:]) { $0[$1.family ?? "", default: 0] += 1 }
  }
}

// DatasetSource.swift — one data set as a recipe names it (a file or a Hub dataset folder, a split, a column
// mapping, and which rows to take, as datasets' `shuffle(seed).select(range(n))`), and the mixing of several.

import Foundation

/// A data set to read: where, which split, how its columns are named, and which of its rows to take.
public struct DatasetSource: Equatable, Sendable {
  /// A .jsonl / .json / .parquet file, or a folder of them (Hub layout, see DatasetFolder).
  public var path: String
  /// The split of a folder (default: "train", or its only split).
  public var split: String?
  public var columnMapping: ColumnMapping
  /// Shuffle with datasets' `shuffle(seed=…)` before taking rows.
  public var shuffleSeed: Int?
  /// Take this many rows (`select(range(n))`, after the shuffle when there is one).
  public var rowCount: Int?
  /// In a mixture: this set's share of the rows (see `DatasetSource.mix`).
  public var weight: Double?

  public init(path: String, split: String? = nil, columnMapping: ColumnMapping = .none, shuffleSeed: Int? = nil,
              rowCount: Int? = nil, weight: Double? = nil) {
    self.path = path
    self.split = split
    self.columnMapping = columnMapping
    self.shuffleSeed = shuffleSeed
    self.rowCount = rowCount
    self.weight = weight
  }

  /// Reads every row of the file, or of the folder's split (its files one after another), in file order. A folder
  /// read without a split reads `defaultSplit` (or its only split).
  public func readAll(skipInvalid: Bool = false, defaultSplit: String = "train") throws
    -> (dataset: PreferenceDataset, report: ReadReport)
  {
    let url = URL(fileURLWithPath: path)
    let reader = PreferenceReader(skipInvalid: skipInvalid, columnMapping: columnMapping)
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
      throw DataError(source: path, message: "no such file or folder")
    }
    guard isFolder.boolValue else {
      if let split {
        throw DataError(source: path, message: "a split (\"\(split)\") only applies to a dataset folder; this is a file")
      }
      return try reader.read(contentsOf: url)
    }
    let (splitName, files) = try DatasetFolder(url).files(split: split, defaultSplit: defaultSplit)
    var records: [PreferenceRecord] = []
    var report = ReadReport()
    for file in files {
      let (part, partReport) = try reader.read(contentsOf: file)
      records.append(contentsOf: part.records)
      report.skippedCount += partReport.skippedCount
      report.examples.append(contentsOf: partReport.examples.prefix(ReadReport.maximumExamples - report.examples.count))
    }
    report.keptCount = records.count
    return (PreferenceDataset(records: records, sourceName: "\(url.lastPathComponent)[\(splitName)]"), report)
  }

  /// Reads the rows and takes the ones asked for: all, or `rowCount` of them (shuffled first with `shuffleSeed`).
  public func load(skipInvalid: Bool = false) throws -> (dataset: PreferenceDataset, report: ReadReport) {
    var (dataset, report) = try readAll(skipInvalid: skipInvalid)
    if let shuffleSeed { dataset = try dataset.shuffled(seed: shuffleSeed) }
    if let rowCount {
      guard rowCount >= 0 && rowCount <= dataset.count else {
        throw DataError(source: dataset.sourceName, message: "cannot take \(rowCount) rows: the set has \(dataset.count)")
      }
      dataset = dataset.first(rowCount)
    }
    return (dataset, report)
  }

  /// Several sets, one after another. A set with `rowCount` gives that many rows; the sets with a `weight` share
  /// `total` rows in proportion to their weights (largest remainders get the rounding), `total` being, when not
  /// given, the most the weighted sets can give without repeating a row; a set with neither gives all its rows.
  /// Each set's rows are its first ones after its own shuffle, so give a `shuffleSeed` to sample at random.
  public static func mix(_ sources: [DatasetSource], total: Int? = nil, skipInvalid: Bool = false) throws
    -> (dataset: PreferenceDataset, reports: [(source: String, report: ReadReport)])
  {
    guard !sources.isEmpty else { throw DataError(message: "a mixture needs at least one data set") }
    var sets: [(source: DatasetSource, dataset: PreferenceDataset)] = []
    var reports: [(source: String, report: ReadReport)] = []
    for source in sources {
      if source.rowCount != nil && source.weight != nil {
        throw DataError(source: source.path, message: "give a data set num_rows or weight, not both")
      }
      if let weight = source.weight, !(weight > 0 && weight.isFinite) {
        throw DataError(source: source.path, message: "expected a positive weight, found \(weight)")
      }
      var unlimited = source
      if source.weight != nil { unlimited.rowCount = nil }
      let (dataset, report) = try unlimited.load(skipInvalid: skipInvalid)
      sets.append((source, dataset))
      reports.append((dataset.sourceName, report))
    }
    let weighted = sets.indices.filter { sets[$0].source.weight != nil }
    var counts = sets.map { $0.dataset.count }
    if !weighted.isEmpty {
      let weightSum = weighted.reduce(0.0) { $0 + sets[$1].source.weight! }
      let share = { (index: Int) in sets[index].source.weight! / weightSum }
      let budget = total ?? weighted.map { Int((Double(sets[$0].dataset.count) / share($0)).rounded(.down)) }.min()!
      let exact = weighted.map { Double(budget) * share($0) }
      var given = exact.map { Int($0.rounded(.down)) }
      let remainder = { (position: Int) in exact[position] - Double(given[position]) }
      let byRemainder = exact.indices.sorted { remainder($0) != remainder($1) ? remainder($0) > remainder($1) : $0 < $1 }
      for position in byRemainder.prefix(budget - given.reduce(0, +)) { given[position] += 1 }
      for (position, index) in weighted.enumerated() {
        guard given[position] <= sets[index].dataset.count else {
          throw DataError(source: sets[index].dataset.sourceName, message: "its weight asks for \(given[position]) of "
            + "\(budget) rows, the set has \(sets[index].dataset.count)")
        }
        counts[index] = given[position]
      }
    }
    var records: [PreferenceRecord] = []
    for (index, set) in sets.enumerated() { records.append(contentsOf: set.dataset.records.prefix(counts[index])) }
    return (PreferenceDataset(records: records, sourceName: sets.map(\.dataset.sourceName).joined(separator: "+")), reports)
  }
}

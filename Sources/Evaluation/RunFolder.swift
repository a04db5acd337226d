// RunFolder.swift — reading a finished (or running) training run back: its `metrics.jsonl` rows, its
// `summary.json`, and curves from them for plots. No libtorch: reports and tools use this alone.
import Foundation
import RunMetrics

/// One row of `metrics.jsonl` as `JSONLMetricsWriter` writes it: `step`, `epoch` (optional), `split`, then the
/// metrics under TRL's names (`loss`, `rewards/chosen`, … for train rows; `eval_loss`, … for eval rows).
public struct MetricsRow: Equatable, Sendable {
  public var step: Int
  public var epoch: Double?
  public var split: MetricsSplit
  public var values: [String: Double]

  public init(step: Int, epoch: Double? = nil, split: MetricsSplit, values: [String: Double]) {
    self.step = step
    self.epoch = epoch
    self.split = split
    self.values = values
  }
}

extension MetricsRow: Decodable {
  struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  public init(from decoder: Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    func key(_ name: String) -> Key { Key(stringValue: name)! }
    step = try container.decode(Int.self, forKey: key("step"))
    epoch = try container.decodeIfPresent(Double.self, forKey: key("epoch"))
    let splitName = try container.decode(String.self, forKey: key("split"))
    guard let split = MetricsSplit(rawValue: splitName) else {
      throw DecodingError.dataCorruptedError(
        forKey: key("split"), in: container,
        debugDescription: "expected one of \(MetricsSplit.allCases.map(\.rawValue)), got \"\(splitName)\"")
    }
    self.split = split
    values = [:]
    for name in container.allKeys where !["step", "epoch", "split"].contains(name.stringValue) {
      values[name.stringValue] = try container.decode(Double.self, forKey: name)
    }
  }
}

/// A run's output folder (`output_dir`): `metrics.jsonl` and `summary.json` side by side.
public struct RunFolder: Sendable {
  public let url: URL

  public init(_ url: URL) { self.url = url }

  public var metricsURL: URL { url.appendingPathComponent("metrics.jsonl") }
  public var summaryURL: URL { url.appendingPathComponent("summary.json") }

  /// Every row of `metrics.jsonl`, in file order. A bad line is an error naming `file:line` and the key.
  public func metrics() throws -> [MetricsRow] { try RunFolder.metricsRows(contentsOf: metricsURL) }

  public func summary() throws -> RunSummary { try RunSummary(contentsOf: summaryURL) }

  public static func metricsRows(contentsOf url: URL) throws -> [MetricsRow] {
    let bytes: Foundation.Data
    do { bytes = try Foundation.Data(contentsOf: url) } catch {
      throw RunReadError(path: url.path, message: "cannot read the file (\(error.localizedDescription))")
    }
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = RunSummary.nonFinite.decoding
    var rows: [MetricsRow] = []
    for (index, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
      if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) { continue }
      let place = "\(url.path):\(index + 1)"
      do { rows.append(try decoder.decode(MetricsRow.self, from: Foundation.Data(line))) } catch let error as DecodingError {
        throw RunReadError(path: place, decodingError: error)
      }
    }
    return rows
  }
}

extension Array where Element == MetricsRow {
  /// `(step, value)` points of one metric, for plotting: `series("loss", split: .train)`. Rows without the
  /// metric are skipped; eval rows may name it with or without the `eval_` prefix.
  public func series(_ name: String, split: MetricsSplit) -> [(Double, Double)] {
    compactMap { row in
      guard row.split == split else { return nil }
      let value = row.values[name] ?? (split == .eval ? row.values["eval_" + name] : nil)
      return value.map { (Double(row.step), $0) }
    }
  }

  /// The curves of `names` for a chart, keyed `train/loss`, `eval/loss` (TensorBoard's tags); splits without any
  /// point are left out.
  public func curves(_ names: [String], splits: [MetricsSplit] = MetricsSplit.allCases) -> [String: [(Double, Double)]] {
    var curves: [String: [(Double, Double)]] = [:]
    for name in names {
      for split in splits {
        let points = series(name, split: split)
        if !points.isEmpty { curves["\(split.rawValue)/\(name)"] = points }
      }
    }
    return curves
  }
}

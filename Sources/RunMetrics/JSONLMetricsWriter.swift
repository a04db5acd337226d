// JSONLMetricsWriter.swift — metrics as JSON Lines, one object per logging step, in a stable key order and number
// format: {"step": 12, "epoch": 0.5, "split": "train", "loss": 1.234, ...}.
import Foundation
import Support

/// Appends one JSON object per `log` call to a file and writes it through at once (a crash loses at most the
/// row being written). Keys: `step`, `epoch` (left out when nil), `split`, then the values in the order given;
/// a value whose name was already written in the row (say `epoch`) is skipped so every key appears once.
/// Numbers use the shortest text that reads back as the same Double, as Python's `repr` spells it; NaN and
/// ±infinity, which JSON cannot spell, are written as the strings "NaN", "Infinity", "-Infinity" (what pandas and
/// Python's float() accept).
public final class JSONLMetricsWriter: MetricsSink {
  public let url: URL
  private var handle: FileHandle?

  public init(url: URL) throws {
    self.url = url
    do {
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      if !FileManager.default.fileExists(atPath: url.path) {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
          throw MetricsError.cannotWrite(path: url.path, reason: "cannot create the file")
        }
      }
      let handle = try FileHandle(forWritingTo: url)
      try handle.seekToEnd()
      self.handle = handle
    } catch let error as MetricsError {
      throw error
    } catch {
      throw MetricsError.cannotWrite(path: url.path, reason: "\(error)")
    }
  }

  deinit { try? handle?.close() }

  /// One row as a single line of JSON (no trailing newline), laid out as Python's `json.dumps(row,
  /// ensure_ascii=False)`.
  public static func line(step: Int, epoch: Double?, values: [(String, Double)], split: MetricsSplit) -> String {
    var fields: [JSONMember] = [("step", .int(step))]
    if let epoch { fields.append(("epoch", number(epoch))) }
    fields.append(("split", .string(split.rawValue)))
    var seen = Set(fields.map(\.key))
    for (name, value) in values where seen.insert(name).inserted {
      fields.append((name, number(value)))
    }
    return JSONValue.object(fields).formatted(.python(ensureASCII: false))
  }

  /// Python's `repr` digits for a finite value (the shortest text that reads back as the same Double); NaN and
  /// ±infinity as strings.
  static func number(_ value: Double) -> JSONValue {
    if value.isNaN { return .string("NaN") }
    if value.isInfinite { return .string(value > 0 ? "Infinity" : "-Infinity") }
    return .double(value)
  }

  public func log(step: Int, epoch: Double?, values: [(String, Double)], split: MetricsSplit) throws {
    guard let handle else { throw MetricsError.closed(path: url.path) }
    let text = JSONLMetricsWriter.line(step: step, epoch: epoch, values: values, split: split) + "\n"
    do { try handle.write(contentsOf: Foundation.Data(text.utf8)) } catch {
      throw MetricsError.cannotWrite(path: url.path, reason: "\(error)")
    }
  }

  public func close() throws {
    guard let handle else { return }
    self.handle = nil
    do { try handle.close() } catch { throw MetricsError.cannotWrite(path: url.path, reason: "\(error)") }
  }
}

// JSONLMetricsWriter.swift — metrics as JSON Lines, one object per logging step, written by hand so key order
// and number formatting are stable: {"step": 12, "epoch": 0.5, "split": "train", "loss": 1.234, ...}.
import Foundation

/// Appends one JSON object per `log` call to a file and writes it through at once (a crash loses at most the
/// row being written). Keys: `step`, `epoch` (left out when nil), `split`, then the values in the order given;
/// a value whose name was already written in the row (say `epoch`) is skipped so every key appears once.
/// Numbers use the shortest text that reads back as the same Double; NaN and ±infinity, which JSON cannot
/// spell, are written as the strings "NaN", "Infinity", "-Infinity" (what pandas and Python's float() accept).
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

  /// One row as a single line of JSON (no trailing newline).
  public static func line(step: Int, epoch: Double?, values: [(String, Double)], split: MetricsSplit) -> String {
    var fields: [(String, String)] = [("step", String(step))]
    if let epoch { fields.append(("epoch", jsonNumber(epoch))) }
    fields.append(("split", jsonString(split.rawValue)))
    var seen = Set(fields.map(\.0))
    for (name, value) in values where seen.insert(name).inserted {
      fields.append((name, jsonNumber(value)))
    }
    return "{" + fields.map { "\(jsonString($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
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

/// Swift's `description` of a Double is the shortest text that round-trips (`0.1`, `1e-05`, `6.0`, `1e+20`),
/// and every finite case is a valid JSON number.
func jsonNumber(_ value: Double) -> String {
  if value.isNaN { return "\"NaN\"" }
  if value.isInfinite { return value > 0 ? "\"Infinity\"" : "\"-Infinity\"" }
  return value.description
}

func jsonString(_ text: String) -> String {
  var out = "\""
  for scalar in text.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\r": out += "\\r"
    case "\t": out += "\\t"
    case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
    default: out.unicodeScalars.append(scalar)
    }
  }
  return out + "\""
}

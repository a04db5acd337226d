// TensorBoardWriter.swift — TensorBoard event files without TensorFlow: TFRecord framing, hand-encoded
// `tensorboard.Event` protobufs, and the tag layout of transformers' TensorBoardCallback (`train/loss`, `eval/loss`).
import Foundation

/// TFRecord framing (tensorflow/core/lib/io/record_writer.cc): for each record,
/// `uint64 length (LE) · uint32 masked_crc32c(length bytes) · payload · uint32 masked_crc32c(payload)`.
public enum TFRecord {
  public static func frame(_ payload: [UInt8]) -> [UInt8] {
    var record: [UInt8] = []
    record.reserveCapacity(payload.count + 16)
    let length = littleEndianBytes(UInt64(payload.count))
    record += length
    record += littleEndianBytes(CRC32C.maskedChecksum(length))
    record += payload
    record += littleEndianBytes(CRC32C.maskedChecksum(payload))
    return record
  }

  public enum ReadError: Error, Equatable {
    case truncated(offset: Int)
    case badLengthChecksum(offset: Int)
    case badPayloadChecksum(offset: Int)
  }

  /// Splits a TFRecord file back into payloads, checking both checksums of every record.
  public static func records(in bytes: [UInt8]) throws -> [[UInt8]] {
    var records: [[UInt8]] = []
    var offset = 0
    func word<T: FixedWidthInteger>(_: T.Type, at position: Int) -> T {
      var value: T = 0
      for index in 0..<MemoryLayout<T>.size { value |= T(bytes[position + index]) << (8 * index) }
      return value
    }
    while offset < bytes.count {
      guard bytes.count - offset >= 12 else { throw ReadError.truncated(offset: offset) }
      let length = word(UInt64.self, at: offset)
      guard word(UInt32.self, at: offset + 8) == CRC32C.maskedChecksum(bytes[offset..<offset + 8]) else {
        throw ReadError.badLengthChecksum(offset: offset)
      }
      guard length <= UInt64(bytes.count - offset - 16) else { throw ReadError.truncated(offset: offset) }
      let start = offset + 12, end = start + Int(length)
      let payload = Array(bytes[start..<end])
      guard word(UInt32.self, at: end) == CRC32C.maskedChecksum(payload) else {
        throw ReadError.badPayloadChecksum(offset: offset)
      }
      records.append(payload)
      offset = end + 4
    }
    return records
  }

  static func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
  }
}

/// Just enough protobuf wire format for `tensorboard.Event` (tensorboard/compat/proto/event.proto, summary.proto).
/// Fields are written in field-number order and proto3 defaults (0, "") are left out, as protobuf's own
/// serializer does, so the bytes equal `event_pb2.Event(...).SerializeToString()`.
struct ProtobufWriter {
  private(set) var bytes: [UInt8] = []

  mutating func varint(_ value: UInt64) {
    var value = value
    while value >= 0x80 {
      bytes.append(UInt8(value & 0x7F) | 0x80)
      value >>= 7
    }
    bytes.append(UInt8(value))
  }

  mutating func key(_ field: Int, wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

  /// `double`, implicit presence: skipped when its bits are all zero (so -0.0 is written, as upb does).
  mutating func double(_ field: Int, _ value: Double) {
    guard value.bitPattern != 0 else { return }
    key(field, wireType: 1)
    bytes += TFRecord.littleEndianBytes(value.bitPattern)
  }

  /// `int64`, implicit presence: negative values take ten bytes (two's complement as uint64).
  mutating func int64(_ field: Int, _ value: Int64) {
    guard value != 0 else { return }
    key(field, wireType: 0)
    varint(UInt64(bitPattern: value))
  }

  /// `float` inside a oneof: explicit presence, always written.
  mutating func float(_ field: Int, _ value: Float) {
    key(field, wireType: 5)
    bytes += TFRecord.littleEndianBytes(value.bitPattern)
  }

  mutating func string(_ field: Int, _ value: String) {
    guard !value.isEmpty else { return }
    lengthDelimited(field, Array(value.utf8))
  }

  /// A sub-message or string in a oneof (explicit presence: written even when empty).
  mutating func lengthDelimited(_ field: Int, _ payload: [UInt8]) {
    key(field, wireType: 2)
    varint(UInt64(payload.count))
    bytes += payload
  }
}

/// Serialized `tensorboard.Event` messages.
public enum TensorBoardEvent {
  /// The first event of every file: `Event{wall_time, file_version: "brain.Event:2", source_metadata{writer}}`.
  public static func fileVersion(wallTime: Double, sourceWriter: String?) -> [UInt8] {
    var event = ProtobufWriter()
    event.double(1, wallTime)
    event.lengthDelimited(3, Array("brain.Event:2".utf8))
    if let sourceWriter {
      var metadata = ProtobufWriter()
      metadata.string(1, sourceWriter)
      event.lengthDelimited(10, metadata.bytes)
    }
    return event.bytes
  }

  /// `Event{wall_time, step, summary{value{tag, simple_value}}}`: one scalar, as `SummaryWriter.add_scalar`
  /// writes it (`simple_value` is a float32, rounded to nearest).
  public static func scalar(tag: String, value: Double, step: Int, wallTime: Double) -> [UInt8] {
    var summaryValue = ProtobufWriter()
    summaryValue.string(1, tag)
    summaryValue.float(2, Float(value))
    var summary = ProtobufWriter()
    summary.lengthDelimited(1, summaryValue.bytes)
    var event = ProtobufWriter()
    event.double(1, wallTime)
    event.int64(2, Int64(step))
    event.lengthDelimited(5, summary.bytes)
    return event.bytes
  }
}

/// Writes scalars to `events.out.tfevents.<10-digit unix seconds>.<hostname>.<pid>.<n>` in `directory`, the name
/// tensorboard's `EventFileWriter` uses (pid and a per-process counter keep two writers in one folder apart).
/// Every `log` call is written straight through to the file (no user-space buffer), so a crash mid-run leaves a
/// file TensorBoard reads up to the last logged step.
public final class TensorBoardWriter: MetricsSink {
  public let directory: URL
  public let fileURL: URL
  private let clock: () -> Double
  private var handle: FileHandle?

  private static let counterLock = NSLock()
  nonisolated(unsafe) private static var nextFileNumber = 0

  /// - Parameters:
  ///   - clock: wall time in seconds since 1970 (injectable so tests get fixed bytes).
  ///   - sourceWriter: `source_metadata.writer` of the first event (tensorboard's own writer puts its module name
  ///     there); nil leaves the field out.
  public init(directory: URL, clock: @escaping () -> Double = { Date().timeIntervalSince1970 },
              hostname: String = currentHostname(), processID: Int32 = ProcessInfo.processInfo.processIdentifier,
              sourceWriter: String? = "orpo-swift") throws
  {
    self.directory = directory
    self.clock = clock
    let number: Int = TensorBoardWriter.counterLock.withLock {
      defer { TensorBoardWriter.nextFileNumber += 1 }
      return TensorBoardWriter.nextFileNumber
    }
    let now = clock()
    let seconds = String(format: "%010lld", Int64(now.rounded(.down)))
    fileURL = directory.appendingPathComponent("events.out.tfevents.\(seconds).\(hostname).\(processID).\(number)")
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      guard FileManager.default.createFile(atPath: fileURL.path, contents: nil) else {
        throw MetricsError.cannotWrite(path: fileURL.path, reason: "cannot create the file")
      }
      handle = try FileHandle(forWritingTo: fileURL)
    } catch let error as MetricsError {
      throw error
    } catch {
      throw MetricsError.cannotWrite(path: fileURL.path, reason: "\(error)")
    }
    try write(TFRecord.frame(TensorBoardEvent.fileVersion(wallTime: now, sourceWriter: sourceWriter)))
  }

  deinit { try? handle?.close() }

  /// transformers' TensorBoardCallback tags: it logs `rewrite_logs(logs)`, which maps `eval_x` to `eval/x`,
  /// `test_x` to `test/x` and every other key to `train/x`; Trainer.log appends `epoch` last, so epoch lands
  /// under `train/epoch` for eval rows too. Eval values may be named with or without the `eval_` prefix.
  public static func tags(for values: [(String, Double)], epoch: Double?, split: MetricsSplit) -> [(String, Double)] {
    var logs = values.map { name, value -> (String, Double) in
      (split == .eval && !name.hasPrefix("eval_") ? "eval_" + name : name, value)
    }
    if let epoch { logs.append(("epoch", epoch)) }
    return logs.map { key, value in
      if key.hasPrefix("eval_") { return ("eval/" + key.dropFirst(5), value) }
      if key.hasPrefix("test_") { return ("test/" + key.dropFirst(5), value) }
      return ("train/" + key, value)
    }
  }

  public func log(step: Int, epoch: Double?, values: [(String, Double)], split: MetricsSplit) throws {
    try addScalars(TensorBoardWriter.tags(for: values, epoch: epoch, split: split), step: step)
  }

  /// Writes one event per scalar with the tags as given, all stamped with one wall time, in a single write.
  public func addScalars(_ scalars: [(String, Double)], step: Int) throws {
    let wallTime = clock()
    var bytes: [UInt8] = []
    for (tag, value) in scalars {
      bytes += TFRecord.frame(TensorBoardEvent.scalar(tag: tag, value: value, step: step, wallTime: wallTime))
    }
    try write(bytes)
  }

  public func close() throws {
    guard let handle else { return }
    self.handle = nil
    do { try handle.close() } catch { throw MetricsError.cannotWrite(path: fileURL.path, reason: "\(error)") }
  }

  private func write(_ bytes: [UInt8]) throws {
    guard let handle else { throw MetricsError.closed(path: fileURL.path) }
    do { try handle.write(contentsOf: Foundation.Data(bytes)) } catch {
      throw MetricsError.cannotWrite(path: fileURL.path, reason: "\(error)")
    }
  }
}

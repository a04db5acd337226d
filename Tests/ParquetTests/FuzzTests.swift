// FuzzTests.swift — the reader on corrupted files: fixtures with bytes overwritten, flipped, cut or zeroed at
// seeded random places (often in the footer, where one byte redirects everything). Every read must either give
// rows or throw a ParquetError naming the file; none may crash, hang or allocate without bound.

import Foundation
import Testing
@testable import Parquet

/// A small seeded generator (SplitMix64), so a failing case can be replayed from its seed and iteration.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

@Suite struct ParquetFuzzTests {
  static let files = ["ultrafeedback-snappy-v1.parquet", "ultrafeedback-gzip-v2-plain.parquet",
                      "ultrafeedback-zstd-v2.parquet", "ultrafeedback-none-v1-plain.parquet", "types.parquet",
                      "types-v2-zstd.parquet"]

  /// One corrupted copy of `original`.
  static func mutate(_ original: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
    var bytes = original
    let footerLength = Int(bytes[bytes.count - 8]) | Int(bytes[bytes.count - 7]) << 8
    let footerStart = max(4, bytes.count - 8 - footerLength)
    for _ in 0..<Int.random(in: 1...4, using: &random) {
      // Half the time in the footer (schema, offsets, sizes), half anywhere (page headers and data).
      let position = Bool.random(using: &random) ? Int.random(in: footerStart..<(bytes.count - 8), using: &random)
                                                 : Int.random(in: 0..<bytes.count, using: &random)
      switch Int.random(in: 0..<5, using: &random) {
      case 0: bytes[position] = UInt8.random(in: 0...255, using: &random)
      case 1: bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &random)
      case 2: for offset in 0..<min(4, bytes.count - position) { bytes[position + offset] = 0xFF }
      case 3: for offset in 0..<min(3, bytes.count - position) { bytes[position + offset] = 0 }
      default: bytes[position] = [0x00, 0x7F, 0x80, 0xFF, 0x15, 0x1C, 0x19][Int.random(in: 0..<7, using: &random)]
      }
    }
    if Int.random(in: 0..<10, using: &random) == 0 {  // sometimes cut the file short instead
      bytes.removeLast(Int.random(in: 1..<bytes.count, using: &random))
    }
    return bytes
  }

  @Test(arguments: files)
  func corruptedCopiesThrowParquetErrorsOrReadNeverCrash(name: String) throws {
    let original = [UInt8](try Data(contentsOf: fixture(name)))
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-fuzz-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let url = directory.appendingPathComponent(name)
    var random = SplitMix64(state: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ Int($1) }.magnitude))
    var failures = 0
    // A longer hunt: PARQUET_FUZZ_ITERATIONS=20000 swift test --filter ParquetFuzzTests
    let iterations = ProcessInfo.processInfo.environment["PARQUET_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 100
    for iteration in 0..<iterations {
      try Data(Self.mutate(original, &random)).write(to: url)
      do {
        let file = try ParquetFile(contentsOf: url)
        _ = try file.rows()
      } catch let error as ParquetError {
        failures += 1
        #expect(error.file == name && !error.message.isEmpty, "iteration \(iteration): \(error)")
      } catch {
        Issue.record("iteration \(iteration): not a ParquetError: \(error)")
      }
    }
    // Most corruptions are caught (the rest changed a value's text or a number, which no format can tell).
    #expect(failures > iterations / 3, "only \(failures) of \(iterations) corrupted copies failed")
  }
}

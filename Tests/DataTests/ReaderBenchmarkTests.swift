// ReaderBenchmarkTests.swift — opt-in timing of a large JSON Lines read (set ORPO_DATA_BENCH_MB, e.g. 100).

import Foundation
import Testing
@testable import Data

@Suite struct ReaderBenchmarkTests {
  static var megabytes: Int? { ProcessInfo.processInfo.environment["ORPO_DATA_BENCH_MB"].flatMap { Int($0) } }

  @Test(.enabled(if: megabytes != nil)) func readLargeJSONLines() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("large.jsonl")
    let block = SyntheticPreferences.generate(seed: 1, count: 10_000).jsonLines
    let repeats = max(1, Self.megabytes! * 1_000_000 / block.utf8.count)
    FileManager.default.createFile(atPath: url.path, contents: nil)
    let handle = try FileHandle(forWritingTo: url)
    for _ in 0..<repeats { handle.write(block.data(using: .utf8)!) }
    try handle.close()
    let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int
    let start = Date()
    let dataset = try PreferenceDataset(contentsOf: url)
    let seconds = Date().timeIntervalSince(start)
    print("read \(dataset.count) rows, \(size / 1_000_000) MB in \(String(format: "%.2f", seconds)) s "
      + "(\(String(format: "%.1f", Double(size) / 1e6 / seconds)) MB/s)")
    #expect(dataset.count == repeats * 10_000)
  }
}


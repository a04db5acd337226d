// ReadBenchmarkTests.swift — opt-in timing of a large Parquet read, to compare with pyarrow on the same file
// (reference/bench_parquet.py writes it): ORPO_PARQUET_BENCH=/tmp/ultrafeedback-50k.parquet, best of 5 runs. Build in
// release for numbers that mean anything: `swift test -c release --filter ReadBenchmarkTests`.

import Foundation
import Testing
@testable import Parquet

@Suite struct ReadBenchmarkTests {
  static var path: String? { ProcessInfo.processInfo.environment["ORPO_PARQUET_BENCH"] }

  @Test(.enabled(if: path != nil)) func readALargeFile() throws {
    let url = URL(fileURLWithPath: Self.path!)
    let size = Double(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int)
    for (name, columns) in [("all columns", nil), ("prompt, chosen, rejected", ["prompt", "chosen", "rejected"])] as [(String, [String]?)] {
      var best = Double.infinity
      var bestCPU = Double.infinity
      var rows = 0
      for _ in 0..<5 {
        let start = Date()
        let startCPU = Double(clock()) / Double(CLOCKS_PER_SEC)
        let file = try ParquetFile(contentsOf: url)
        rows = 0
        for group in 0..<file.rowGroupCount { rows += try file.rows(inRowGroup: group, columns: columns).count }
        best = min(best, Date().timeIntervalSince(start))
        bestCPU = min(bestCPU, Double(clock()) / Double(CLOCKS_PER_SEC) - startCPU)
      }
      print("\(name): \(rows) rows in \(String(format: "%.3f", best)) s (CPU \(String(format: "%.3f", bestCPU)) s): "
        + "\(Int(Double(rows) / best)) rows/s, \(String(format: "%.1f", size / 1e6 / best)) MB/s")
    }
  }
}

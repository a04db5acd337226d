// PairwiseJudgementTests.swift — `orpo judge`'s tally worked by hand, and the generations.jsonl it reads.
import Foundation
import Testing
@testable import Evaluation

struct PairwiseJudgementTests {
  /// 3 wins, 2 ties, 1 loss: per-prompt scores 1, 1, 1, ½, ½, 0 → win rate 4/6 = 0.666667.
  /// Squared deviations 3·(1/3)² + 2·(1/6)² + (2/3)² = 5/6, s² = (5/6)/5 = 1/6, s = 0.408248;
  /// half-width 1.96 · 0.408248 / √6 = 0.326667 → [0.340000, 0.993333].
  @Test func winRateAndIntervalByHand() throws {
    let tally = PairwiseTally(wins: 3, ties: 2, losses: 1)
    #expect(tally.count == 6 && abs(tally.winRate - 4.0 / 6) < 1e-12)
    let interval = try #require(tally.confidenceInterval)
    #expect(abs(interval.low - 0.340000) < 1e-6 && abs(interval.high - 0.993333) < 1e-6, "\(interval)")
    // Clipped to [0, 1], and undefined below two prompts.
    #expect(PairwiseTally(wins: 2).confidenceInterval! == (1, 1))
    #expect(PairwiseTally(wins: 1).confidenceInterval == nil && PairwiseTally().winRate.isNaN)
  }

  @Test func generationsFileRoundTripsAndNamesBadLines() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-gen-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let records = [GenerationRecord(prompt: "2+2?", reference: "4", generation: "It is \"4\".\nDone."),
                   GenerationRecord(prompt: "Café?", reference: "ok", generation: "")]
    try GenerationRecord.jsonl(records).write(to: folder.appendingPathComponent("generations.jsonl"), atomically: true, encoding: .utf8)
    #expect(try GenerationRecord.read(folder.path) == records)  // a run folder: its generations.jsonl
    let bad = folder.appendingPathComponent("bad.jsonl")
    try "{\"prompt\": \"p\", \"reference\": \"r\", \"generation\": \"g\"}\n{\"prompt\": \"p\", \"reference\": 1, \"generation\": \"g\"}\n"
      .write(to: bad, atomically: true, encoding: .utf8)
    #expect(throws: TextListError.badRow(path: bad.path, line: 2, reason: "field \"reference\": expected a string")) {
      try GenerationRecord.read(bad.path)
    }
  }
}

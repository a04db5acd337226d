// SweepTable.swift — `orpo sweep`'s result: one row per value of the swept key (held-out preference accuracy, NLL,
// ROUGE when answers were generated, the doctor's findings), as a text table and as sweep.json.
import Foundation
import Support

public struct SweepRow: Equatable, Sendable {
  /// The value as given on the command line (`0.05`).
  public var value: String
  /// The run's folder.
  public var output: String
  public var scores: ModelScores
  /// `orpo doctor`'s finding ids for the run.
  public var findings: [String]

  public init(value: String, output: String, scores: ModelScores, findings: [String]) {
    self.value = value
    self.output = output
    self.scores = scores
    self.findings = findings
  }
}

public struct SweepTable: Equatable, Sendable {
  /// The swept recipe key (`beta`).
  public var key: String
  public var steps: Int
  public var rows: [SweepRow]

  public init(key: String, steps: Int, rows: [SweepRow]) {
    self.key = key
    self.steps = steps
    self.rows = rows
  }

  /// Whether any row has ROUGE (answers were generated).
  var hasROUGE: Bool { rows.contains { $0.scores.generations > 0 } }

  /// The table for people: one line per value, the best accuracy marked.
  public var text: String {
    var header = [key, "accuracy", "margin", "NLL"]
    if hasROUGE { header += ["ROUGE-1", "ROUGE-2", "ROUGE-L"] }
    header.append("findings")
    let best = rows.map(\.scores.preferenceAccuracy).max()
    var lines = [header]
    for row in rows {
      let s = row.scores
      var cells = [row.value, String(format: "%.3f", s.preferenceAccuracy) + (s.preferenceAccuracy == best ? " *" : ""),
                   String(format: "%.4f", s.rewardMargin), String(format: "%.4f", s.nll)]
      if hasROUGE { cells += [s.rouge1, s.rouge2, s.rougeL].map { $0.isFinite ? String(format: "%.4f", $0) : "-" } }
      cells.append(row.findings.isEmpty ? "-" : row.findings.joined(separator: ","))
      lines.append(cells)
    }
    let widths = header.indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
    return lines.map { cells in
      zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        .trimmingCharacters(in: .whitespaces)
    }.joined(separator: "\n")
  }

  /// sweep.json: `{"key", "steps", "rows": [{"value", "output", "preference_accuracy", "reward_margin", "nll",
  /// "rouge1", "rouge2", "rougeL" (null without generations), "pairs", "generations", "findings"}]}`.
  public var json: JSONValue {
    func number(_ x: Double) -> JSONValue { x.isFinite ? .double(x) : .null }
    return .object([
      ("key", .string(key)), ("steps", .int(steps)),
      ("rows", .array(rows.map { row in
        let s = row.scores
        return .object([("value", .string(row.value)), ("output", .string(row.output)),
                        ("preference_accuracy", number(s.preferenceAccuracy)), ("reward_margin", number(s.rewardMargin)),
                        ("nll", number(s.nll)), ("rouge1", number(s.rouge1)), ("rouge2", number(s.rouge2)),
                        ("rougeL", number(s.rougeL)), ("pairs", .int(s.pairs)), ("generations", .int(s.generations)),
                        ("findings", .array(row.findings.map { .string($0) }))])
      })),
    ])
  }
}

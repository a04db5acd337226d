// PairwiseJudgement.swift — the files `orpo judge` compares (a run's greedy answers, one JSON object per line) and
// its tally: each prompt judged in both orders, a win only when the judge prefers the answer in both, a tie when
// its preference follows the position; win rate with a 95% confidence interval.
import Foundation
import Support

/// One held-out prompt with its reference answer and a model's greedy answer (a line of generations.jsonl).
public struct GenerationRecord: Equatable, Sendable {
  public var prompt: String
  public var reference: String
  public var generation: String

  public init(prompt: String, reference: String, generation: String) {
    self.prompt = prompt
    self.reference = reference
    self.generation = generation
  }

  /// generations.jsonl: `{"prompt": …, "reference": …, "generation": …}` per line.
  public static func jsonl(_ records: [GenerationRecord]) -> String {
    records.map { record -> String in
      JSONValue.object([("prompt", .string(record.prompt)), ("reference", .string(record.reference)),
                        ("generation", .string(record.generation))]).formatted(.python(ensureASCII: false))
    }.joined(separator: "\n") + (records.isEmpty ? "" : "\n")
  }

  /// Reads generations.jsonl (or the file of that name in a run folder). A bad line names the file and line.
  public static func read(_ path: String) throws -> [GenerationRecord] {
    var isFolder: ObjCBool = false
    let file = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
      ? URL(fileURLWithPath: path).appendingPathComponent("generations.jsonl").path : path
    let text: String
    do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
      throw TextListError.unreadable(path: file, reason: "cannot read the file (\(error.localizedDescription))")
    }
    var records: [GenerationRecord] = []
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
    where !line.allSatisfy(\.isWhitespace) {
      let row: JSONValue
      do { row = try JSONValue.parse(String(line)) } catch {
        throw TextListError.badRow(path: file, line: index + 1, reason: "not valid JSON (\(error))")
      }
      func field(_ name: String) throws -> String {
        guard let value = row[last: name]?.stringValue else {
          throw TextListError.badRow(path: file, line: index + 1, reason: "field \"\(name)\": expected a string")
        }
        return value
      }
      records.append(GenerationRecord(prompt: try field("prompt"), reference: try field("reference"),
                                      generation: try field("generation")))
    }
    return records
  }
}

/// The judge's verdicts on answers A against answers B.
public struct PairwiseTally: Equatable, Sendable {
  public var wins = 0
  public var ties = 0
  public var losses = 0

  public init(wins: Int = 0, ties: Int = 0, losses: Int = 0) {
    self.wins = wins
    self.ties = ties
    self.losses = losses
  }

  public var count: Int { wins + ties + losses }

  /// A's score per prompt is 1 for a win, ½ for a tie, 0 for a loss; the win rate is their mean.
  public var winRate: Double { count > 0 ? (Double(wins) + 0.5 * Double(ties)) / Double(count) : .nan }

  /// A 95% confidence interval of the win rate: mean ± 1.96 · s / √n over the per-prompt scores (s the sample
  /// standard deviation), clipped to [0, 1]; nil below two prompts.
  public var confidenceInterval: (low: Double, high: Double)? {
    guard count >= 2 else { return nil }
    let n = Double(count), mean = winRate
    let squares = Double(wins) * pow(1 - mean, 2) + Double(ties) * pow(0.5 - mean, 2) + Double(losses) * pow(mean, 2)
    let half = 1.96 * (squares / (n - 1)).squareRoot() / n.squareRoot()
    return (Swift.max(0, mean - half), Swift.min(1, mean + half))
  }
}

// Judge.swift — `orpo judge`: a model as judge between two runs' greedy answers to the same prompts (each run's
// generations.jsonl, as `orpo compare` writes them): each prompt read in both orders, win/tie/loss and A's win rate
// with a 95% confidence interval.
import ArgumentParser
import Curation
import Foundation
import ORPOKit

struct JudgeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "judge",
    abstract: "Judge two runs' answers with a model: win/tie/loss of A against B, both orders per prompt.",
    usage: "orpo judge --a <run-or-file> --b <run-or-file> [<options>]",
    discussion: """
      A and B are run folders holding generations.jsonl (orpo compare writes one per pipeline: DIR/orpo, \
      DIR/sft_dpo, …) or such files; their prompts must match line for line. The judge reads each prompt with A's \
      answer first, then B's first, and compares its next-token scores for "1" and "2": A wins a prompt when it is \
      preferred in both orders, loses when B is, and ties when the preference follows the position. Prints one \
      JSON object with the counts, A's win rate ((wins + ties/2) / prompts) and its 95% confidence interval.
      """)

  @OptionGroup(title: "Judge model") var model: ModelOptions
  @Option(help: "Run A: a run folder with generations.jsonl, or the file.") var a: String
  @Option(help: "Run B: a run folder with generations.jsonl, or the file.") var b: String
  @Option(help: "Judge only the first N prompts.") var limit: Int?

  func validate() throws {
    if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
  }

  func run() throws {
    let answersA = try GenerationRecord.read(a), answersB = try GenerationRecord.read(b)
    guard answersA.count == answersB.count, !answersA.isEmpty else {
      throw CLIError("\(a) has \(answersA.count) answers and \(b) \(answersB.count): expected the same prompts, at least one")
    }
    if let index = answersA.indices.first(where: { answersA[$0].prompt != answersB[$0].prompt }) {
      throw CLIError("answer \(index + 1): the prompts of \(a) and \(b) differ; judge runs answering the same prompts")
    }
    let loaded = try model.load()
    guard loaded.tokenizer.chatTemplate != nil else {
      throw CLIError("\(loaded.url.path): the judge needs a chat template (give one with --chat-template)")
    }
    let judge = PairJudge(loaded: loaded, name: PairJudge.defaultName(modelURL: loaded.url))
    var tally = PairwiseTally()
    for (answerA, answerB) in zip(answersA, answersB).prefix(limit ?? .max) {
      switch try judge.verdict(prompt: answerA.prompt, a: answerA.generation, b: answerB.generation).choice {
      case .a: tally.wins += 1
      case .b: tally.losses += 1
      default: tally.ties += 1
      }
    }
    var members: [JSONMember] = [("a", .string(a)), ("b", .string(b)), ("judge", .string(judge.name)),
                                 ("prompts", .int(tally.count)), ("wins", .int(tally.wins)), ("ties", .int(tally.ties)),
                                 ("losses", .int(tally.losses)), ("win_rate", .double(tally.winRate))]
    if let interval = tally.confidenceInterval {
      members.append(("ci95", .array([.double(interval.low), .double(interval.high)])))
    }
    printJSON(.object(members))
  }
}

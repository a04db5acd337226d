// Evaluate.swift — `orpo evaluate`: ORPO loss and every TRL metric over a data set without training, as one JSON
// object with TRL's evaluation names, plus held-out preference accuracy (overall and per family), margins, NLL and
// perplexity of the chosen answers, and with --generations ROUGE of greedy answers (--samples prints some).
import ArgumentParser
import Foundation
import ORPOKit

struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "ORPO loss, TRL's metrics and preference accuracy over a data set (no training).",
    usage: "orpo evaluate [<options>]",
    discussion: """
      Without --data, the built-in held-out set (200 pairs whose questions the default run never trains on). With \
      --per-device-eval-batch-size at least the number of pairs, the numbers equal TRL's trainer.evaluate() on the \
      same model and data.
      """)

  @OptionGroup(title: "Model") var model: ModelOptions
  @OptionGroup(title: "Model") var adapter: AdapterOptions
  @OptionGroup(title: "Data") var data: DataOptions

  @Option(help: "ORPO's λ.") var beta: Double = 0.1
  @Option(help: "Pairs per forward pass.") var perDeviceEvalBatchSize: Int = 8
  @Flag(help: "Share each prompt between chosen and rejected, no padding (faster; logits/* over real tokens only).")
  var paddingFree = false
  @Option(help: "Answer this many held-out prompts greedily and score them with ROUGE against the chosen answers.")
  var generations = 0
  @Option(help: "Longest generated answer, in tokens.") var maxNewTokens = 48
  @Option(help: "Print this many of the generations beside their reference answers.") var samples = 0

  func validate() throws {
    guard beta >= 0 && beta.isFinite else { throw ValidationError("--beta must be >= 0, got \(beta.recipeText)") }
    guard perDeviceEvalBatchSize >= 1 else {
      throw ValidationError("--per-device-eval-batch-size must be at least 1, got \(perDeviceEvalBatchSize)")
    }
    guard generations >= 0, samples >= 0 else { throw ValidationError("--generations and --samples must be 0 or more") }
    guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be at least 1, got \(maxNewTokens)") }
  }

  func run() throws {
    let loaded = try model.load(adapter: adapter)
    let tokenizer = loaded.tokenizer
    guard let pad = tokenizer.padTokenID ?? tokenizer.eosTokenID else {
      throw ModelError("\(loaded.url.path): the tokenizer has neither a pad nor an eos token")
    }
    let dataset = try data.read(warn: warn)
    let maxLength = data.maxLength ?? TrainingConfiguration().maxLength
    var formatter = try TrainingRun.formatter(tokenizer: tokenizer)
    formatter?.file = model.chatTemplate
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: formatter, maxLength: maxLength)
    let (pairs, dropped) = try encoder.encodeAll(dataset)
    if dropped > 0 { warn("dropped \(dropped) rows whose prompt alone fills max_length=\(maxLength)") }
    let scorer = PairScorer(layout: paddingFree ? .packed : .padded(padTokenID: pad),
                            maxTokensPerForward: TrainingConfiguration().evalMaxTokensPerForward)
    let result = try PreferenceEvaluation.evaluate(model: loaded.model, pairs: pairs, scorer: scorer,
                                                   objective: ORPOLoss(beta: beta), batchSize: perDeviceEvalBatchSize)
    var members: [JSONMember] = result.values.map { ($0.0, .double($0.1)) } + [("eval_pairs", .int(pairs.count))]
    if !result.accuracy.families.isEmpty {
      // {"arithmetic": {"accuracy": 0.92, "pairs": 25, "wins": 23}, ...}, families sorted, as in summary.json.
      members.append(("eval_accuracy_by_family", .object(result.accuracy.families.sorted { $0.key < $1.key }.map { family, tally in
        (family, .object([("accuracy", .double(tally.accuracy)), ("pairs", .int(tally.pairs)), ("wins", .int(tally.wins))]))
      })))
    }
    // The measurements `orpo compare` reports: margin, NLL and perplexity of the chosen answers, ROUGE of greedy
    // answers (with --generations), margins per family, and sample generations beside their references (--samples).
    var settings = ModelEvaluationSettings()
    settings.maxLength = maxLength
    settings.batchSize = perDeviceEvalBatchSize
    settings.generations = Swift.max(generations, samples)
    settings.maxNewTokens = maxNewTokens
    let measured = try ModelEvaluation.run(model: loaded.model, tokenizer: tokenizer, formatter: formatter,
                                           records: Array(dataset), settings: settings)
    let s = measured.scores
    members += [("reward_margin", .double(s.rewardMargin)), ("nll", .double(s.nll)), ("perplexity", .double(s.perplexity))]
    if generations > 0 {
      // ROUGE over the first --generations answers only (more are generated when --samples asks for more).
      let rouge = generations == measured.generations.count ? (rouge1: s.rouge1, rouge2: s.rouge2, rougeL: s.rougeL)
        : ROUGEScorer().meanFMeasures(predictions: Array(measured.generations.prefix(generations)),
                                      references: Array(measured.references.prefix(generations)))
      members += [("rouge1", .double(rouge.rouge1)), ("rouge2", .double(rouge.rouge2)), ("rougeL", .double(rouge.rougeL)),
                  ("generations", .int(Swift.min(generations, measured.generations.count)))]
    }
    if !s.families.isEmpty {
      members.append(("margin_by_family", .object(s.families.sorted { $0.key < $1.key }.map { ($0.key, .double($0.value.rewardMargin)) })))
    }
    if samples > 0 {
      members.append(("samples", .array((0..<Swift.min(samples, measured.generations.count)).map {
        .object([("prompt", .string(measured.prompts[$0])), ("reference", .string(measured.references[$0])),
                 ("generation", .string(measured.generations[$0]))])
      })))
    }
    printJSON(.object(members))
  }

  func warn(_ message: String) { FileHandle.standardError.write(Data("orpo: warning: \(message)\n".utf8)) }
}

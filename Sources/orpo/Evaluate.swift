// Evaluate.swift — `orpo evaluate`: ORPO loss and every TRL metric over a data set without training, as one JSON
// object with TRL's evaluation names, plus held-out preference accuracy (overall and per family).
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

  func validate() throws {
    guard beta >= 0 && beta.isFinite else { throw ValidationError("--beta must be >= 0, got \(beta.recipeText)") }
    guard perDeviceEvalBatchSize >= 1 else {
      throw ValidationError("--per-device-eval-batch-size must be at least 1, got \(perDeviceEvalBatchSize)")
    }
  }

  func run() throws {
    let loaded = try model.load(adapter: adapter)
    let tokenizer = loaded.tokenizer
    guard let pad = tokenizer.padTokenID ?? tokenizer.eosTokenID else {
      throw ModelError("\(loaded.url.path): the tokenizer has neither a pad nor an eos token")
    }
    let dataset = try data.read(warn: warn)
    let maxLength = data.maxLength ?? TrainingConfiguration().maxLength
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: try TrainingRun.formatter(tokenizer: tokenizer),
                              maxLength: maxLength)
    let (pairs, dropped) = try encoder.encodeAll(dataset)
    if dropped > 0 { warn("dropped \(dropped) rows whose prompt alone fills max_length=\(maxLength)") }
    let scorer = PairScorer(layout: paddingFree ? .packed : .padded(padTokenID: pad))
    let result = try PreferenceEvaluation.evaluate(model: loaded.model, pairs: pairs, scorer: scorer,
                                                   objective: ORPOLoss(beta: beta), batchSize: perDeviceEvalBatchSize)
    var members: [JSONMember] = result.values.map { ($0.0, .double($0.1)) } + [("eval_pairs", .int(pairs.count))]
    if !result.accuracy.families.isEmpty {
      // {"arithmetic": {"accuracy": 0.92, "pairs": 25, "wins": 23}, ...}, families sorted, as in summary.json.
      members.append(("eval_accuracy_by_family", .object(result.accuracy.families.sorted { $0.key < $1.key }.map { family, tally in
        (family, .object([("accuracy", .double(tally.accuracy)), ("pairs", .int(tally.pairs)), ("wins", .int(tally.wins))]))
      })))
    }
    printJSON(.object(members))
  }

  func warn(_ message: String) { FileHandle.standardError.write(Data("orpo: warning: \(message)\n".utf8)) }
}

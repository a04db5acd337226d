// Evaluate.swift — `orpo evaluate`: ORPO loss and every TRL metric over a data set without training, as one JSON
// object with TRL's evaluation names, plus held-out preference accuracy (overall and per family).
import ArgumentParser
import Foundation
import ORPOKit

struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "ORPO loss, TRL's metrics and preference accuracy over a data set (no training).",
    discussion: "With --per-device-eval-batch-size at least the number of pairs, the numbers equal TRL's trainer.evaluate() on the same model and data.")

  @Option(help: "Model: a Hugging Face folder or a .gguf file (default: the default model).") var model: String?
  @Option(help: "A PEFT LoRA adapter folder to apply.") var adapter: String?
  @Option(help: "Preference data (.jsonl or .json).") var data: String
  @Option(help: "ORPO's λ.") var beta: Double = 0.1
  @Option(name: .customLong("max-length")) var maxLength: Int = 1024
  @Option(name: .customLong("per-device-eval-batch-size")) var batchSize: Int = 8
  @Option(name: .customLong("chat-template"), help: "A file holding a Jinja chat template (default: the model's).") var chatTemplate: String?
  @Flag(name: .customLong("padding-free"), help: "Share each prompt between chosen and rejected, no padding (faster; logits/* over real tokens only).")
  var paddingFree = false
  @Flag(name: .customLong("skip-invalid"), help: "Skip bad data rows (reported) instead of stopping.") var skipInvalid = false

  func validate() throws {
    guard beta >= 0 else { throw ValidationError("--beta must be >= 0") }
    guard maxLength >= 2 else { throw ValidationError("--max-length must be at least 2") }
    guard batchSize >= 1 else { throw ValidationError("--per-device-eval-batch-size must be at least 1") }
  }

  func run() throws {
    var config = TrainingConfiguration()
    config.model = model
    config.chatTemplate = chatTemplate
    config.maxLength = maxLength
    guard let path = model.map({ URL(fileURLWithPath: $0) }) ?? DefaultModel.locate() else {
      throw ValidationError("no --model given and the default model is missing (run `make setup`)")
    }
    let loaded = try ModelLoader.load(path)
    let (llm, tokenizer) = (loaded.model, loaded.tokenizer)
    if let adapter { try PEFTAdapter.load(URL(fileURLWithPath: adapter), into: llm, trainable: false) }
    let formatter = try TrainingRun.formatter(config: config, tokenizer: tokenizer)
    let (dataset, report) = try PreferenceReader(skipInvalid: skipInvalid).read(contentsOf: URL(fileURLWithPath: data))
    if report.skippedCount > 0 { FileHandle.standardError.write(Data("orpo: warning: \(report)\n".utf8)) }
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: formatter, maxLength: maxLength)
    let (pairs, dropped) = try encoder.encodeAll(dataset)
    if dropped > 0 {
      FileHandle.standardError.write(Data("orpo: warning: dropped \(dropped) rows whose prompt alone fills max_length=\(maxLength)\n".utf8))
    }
    guard let pad = tokenizer.padTokenID ?? tokenizer.eosTokenID else {
      throw ValidationError("the tokenizer has neither a pad nor an eos token")
    }
    let scorer = PairScorer(layout: paddingFree ? .packed : .padded(padTokenID: pad))
    let result = try PreferenceEvaluation.evaluate(model: llm, pairs: pairs, scorer: scorer,
                                                   objective: ORPOLoss(beta: beta), batchSize: batchSize)
    // One JSON line, as metrics.jsonl rows are written: TRL's metric names in order, then the pair count and
    // (when the data has families) the per-family tallies, keys sorted.
    var line: [JSONMember] = try result.values.map { ($0.0, try JSONValue(encoding: $0.1, nonFiniteAsStrings: true)) }
    line.append(("eval_pairs", .int(pairs.count)))
    if !result.accuracy.families.isEmpty {
      line.append(("eval_accuracy_by_family", try JSONValue(encoding: result.accuracy.families, nonFiniteAsStrings: true)))
    }
    print(JSONValue.object(line).formatted(.python(ensureASCII: false)))
  }
}

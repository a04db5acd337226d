// Evaluate.swift — `orpo evaluate`: ORPO loss and every TRL metric over a data set without training, as one JSON
// object with TRL's evaluation names, plus held-out preference accuracy (overall and per family), margins, NLL and
// perplexity of the chosen answers, and with --generations ROUGE of greedy answers (--samples prints some).
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
  @Option(help: "Answer this many held-out prompts greedily and score them with ROUGE against the chosen answers.")
  var generations = 0
  @Option(name: .customLong("max-new-tokens"), help: "Longest generated answer, in tokens.") var maxNewTokens = 48
  @Option(help: "Print this many of the generations beside their reference answers.") var samples = 0

  func validate() throws {
    guard beta >= 0 else { throw ValidationError("--beta must be >= 0") }
    guard maxLength >= 2 else { throw ValidationError("--max-length must be at least 2") }
    guard batchSize >= 1 else { throw ValidationError("--per-device-eval-batch-size must be at least 1") }
    guard generations >= 0, samples >= 0 else { throw ValidationError("--generations and --samples must be 0 or more") }
    guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be at least 1") }
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
    var line = "{"
    for (k, (name, value)) in result.values.enumerated() {
      line += (k == 0 ? "" : ", ") + "\"\(name)\": " + (value.isFinite ? "\(value)" : "\"\(value)\"")
    }
    line += ", \"eval_pairs\": \(pairs.count)"
    if !result.accuracy.families.isEmpty {
      // {"arithmetic": {"accuracy": 0.92, "pairs": 25, "wins": 23}, ...}, keys sorted, as in summary.json.
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
      encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
      line += ", \"eval_accuracy_by_family\": " + String(decoding: try encoder.encode(result.accuracy.families), as: UTF8.self)
    }
    // The measurements `orpo compare` reports: margin, NLL and perplexity of the chosen answers, ROUGE of greedy
    // answers (with --generations), per family, and sample generations beside their references (--samples).
    var settings = ModelEvaluationSettings()
    settings.maxLength = maxLength
    settings.batchSize = batchSize
    settings.generations = Swift.max(generations, samples)
    settings.maxNewTokens = maxNewTokens
    let measured = try ModelEvaluation.run(model: llm, tokenizer: tokenizer, formatter: formatter, records: Array(dataset),
                                           settings: settings)
    let s = measured.scores
    var extra: [String: Any] = ["reward_margin": s.rewardMargin, "nll": s.nll, "perplexity": s.perplexity]
    if generations > 0 {
      extra["rouge1"] = s.rouge1
      extra["rouge2"] = s.rouge2
      extra["rougeL"] = s.rougeL
      extra["generations"] = generations
    }
    if !s.families.isEmpty {
      extra["margin_by_family"] = s.families.mapValues { $0.rewardMargin }
    }
    if samples > 0 {
      extra["samples"] = (0..<Swift.min(samples, measured.generations.count)).map {
        ["prompt": measured.prompts[$0], "reference": measured.references[$0], "generation": measured.generations[$0]]
      }
    }
    let json = try JSONSerialization.data(withJSONObject: extra.mapValues { value -> Any in
      if let d = value as? Double, !d.isFinite { return "\(d)" }
      return value
    }, options: [.sortedKeys, .withoutEscapingSlashes])
    line += ", " + String(decoding: json, as: UTF8.self).dropFirst().dropLast()
    print(line + "}")
  }
}

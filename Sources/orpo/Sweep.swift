// Sweep.swift — `orpo sweep --set beta=0.05,0.1,0.2`: the same recipe trained once per value of one key, one after
// the other, each measured on the held-out pairs (accuracy, NLL, ROUGE); prints one table and writes sweep.json.
import ArgumentParser
import Foundation
import ORPOKit
import Support

struct Sweep: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train the recipe once per value of one key (--set beta=0.05,0.1,0.2) and compare them on held-out pairs.",
    usage: "orpo sweep --set KEY=V1,V2,... [--set KEY=VALUE ...] [--model M] [--max-steps N] [<options>]",
    discussion: """
      Exactly one --set lists several values, separated by commas; the other --set and flags apply to every run. \
      Runs go to OUTPUT_DIR/<key>-<value>/ (each with its metrics, adapter and summary, as orpo train writes them), \
      one after the other. Each trained model is measured on the held-out pairs: preference accuracy and margin, NLL \
      of the chosen answers, and ROUGE-1/2/L of greedy answers to the first --generations prompts (0: no ROUGE). \
      The table goes to stdout and OUTPUT_DIR/sweep.json.
      """)

  @Option(name: .customLong("config"), help: "A YAML recipe (default: the built-in default recipe).") var recipe: String?
  @Option(help: "Model: a Hugging Face folder or a .gguf file (default: the recipe's, or the default model).") var model: String?
  @Option(name: .customLong("set"), help: ArgumentHelp("A recipe key, as KEY=VALUE or KEY=V1,V2,... for the swept one (repeatable).",
                                                       valueName: "key=value"))
  var settings: [String] = []
  @Option(name: .customLong("max-steps"), help: "Optimizer steps per run (default: the recipe's).") var maxSteps: Int?
  @Option(help: "Where to train and evaluate every run: cpu, cuda or cuda:N (default: the recipe's device, cpu).")
  var device: Device?
  @Option(name: .customLong("output-dir"), help: "Where the runs and sweep.json go.") var outputDir = "runs/sweep"
  @Option(help: "Held-out prompts answered greedily for ROUGE (0: no generation).") var generations = 16
  @Option(name: .customLong("max-new-tokens"), help: "Longest generated answer, in tokens.") var maxNewTokens = 48

  /// The swept key and its values, and the single-valued settings.
  func plan() throws -> (key: String, values: [String], fixed: [String]) {
    var swept: (String, [String])?
    var fixed: [String] = []
    for setting in settings {
      guard let equals = setting.firstIndex(of: "="), equals != setting.startIndex else {
        throw ValidationError("--set expects KEY=VALUE, got \"\(setting)\"")
      }
      let key = String(setting[..<equals]), value = String(setting[setting.index(after: equals)...])
      let trimmed = value.trimmingCharacters(in: .whitespaces)
      guard value.contains(","), !trimmed.hasPrefix("["), !trimmed.hasPrefix("{") else {
        fixed.append(setting)
        continue
      }
      if let swept { throw ValidationError("--set \(setting): \(swept.0) is already swept; sweep one key at a time") }
      let values = value.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
      guard values.count >= 2, !values.contains(where: \.isEmpty) else {
        throw ValidationError("--set \(setting): expected KEY=V1,V2,... with no empty value")
      }
      guard key != "output_dir" else { throw ValidationError("--set output_dir cannot be swept; use --output-dir") }
      swept = (key, values)
    }
    guard let swept else { throw ValidationError("give the swept key as --set KEY=V1,V2,... (e.g. --set beta=0.05,0.1,0.2)") }
    return (swept.0, swept.1, fixed)
  }

  func validate() throws {
    _ = try plan()
    if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be at least 1") }
    guard generations >= 0 else { throw ValidationError("--generations must be 0 or more") }
    guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be at least 1") }
  }

  func run() throws {
    try requireUsable(device)  // before the output folder is made
    let (key, values, fixed) = try plan()
    let root = URL(fileURLWithPath: outputDir)
    // Every run's configuration first, so that a bad value stops the sweep before anything trains.
    let configs = try values.map { value -> TrainingConfiguration in
      var overrides: [ConfigurationOverride] = model.map { [.flag("--model", \.model, $0)] } ?? []
      if let device { overrides.append(.flag("--device", \.device, device)) }
      overrides += try fixed.map(ConfigurationOverride.init(setting:))
      if let maxSteps { overrides.append(.flag("--max-steps", \.maxSteps, maxSteps)) }
      overrides.append(try ConfigurationOverride(setting: "\(key)=\(value)"))
      overrides.append(.flag("--output-dir", \.outputDir, root.appendingPathComponent("\(key)-\(value)").path))
      return try DefaultRecipe.configuration(recipe: recipe, overrides: overrides)
    }
    var rows: [SweepRow] = []
    var steps = 0
    for (value, config) in zip(values, configs) {
      FileHandle.standardError.write(Data("sweep: \(key)=\(value) -> \(config.outputDir)\n".utf8))
      let prepared = try TrainCommandRunner(config: config).run()
      var settings = ModelEvaluationSettings()
      settings.maxLength = config.maxLength
      settings.batchSize = config.perDeviceEvalBatchSize
      settings.generations = generations
      settings.maxNewTokens = maxNewTokens
      let measured = try ModelEvaluation.run(model: prepared.model, tokenizer: prepared.tokenizer,
                                             formatter: try TrainingRun.formatter(tokenizer: prepared.tokenizer),
                                             records: prepared.evalData.records, settings: settings)
      let findings = try RunDoctor(folder: RunFolder(URL(fileURLWithPath: config.outputDir))).findings().map(\.id)
      rows.append(SweepRow(value: value, output: config.outputDir, scores: measured.scores, findings: findings))
      // Written after each run, so an interrupted sweep keeps what it measured.
      steps = prepared.trainer.totalSteps
      let table = SweepTable(key: key, steps: steps, rows: rows)
      try AtomicFile.write(table.json.formatted(.python(ensureASCII: false)) + "\n", to: root.appendingPathComponent("sweep.json"))
    }
    print(SweepTable(key: key, steps: steps, rows: rows).text)
    print(root.appendingPathComponent("sweep.json").path)
  }
}

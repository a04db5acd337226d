// Compare.swift — `orpo compare`: the base model, SFT, ORPO and SFT → DPO on one model and data set under the same
// step budget per stage, measured alike on held-out pairs; writes report.json, report.md and report.html.
import ArgumentParser
import Foundation
import ORPOKit

struct Compare: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Compare the base model, SFT, ORPO and SFT → DPO: accuracy, NLL, ROUGE and training cost.",
    usage: "orpo compare --output-dir <output-dir> [<options>]",
    discussion: """
      Every training stage starts from the same recipe (default: the built-in default recipe; --config FILE) with \
      the same step budget (--max-steps); SFT → DPO trains DPO's adapter on the SFT-merged weights. All models are \
      measured on the same held-out pairs: preference accuracy and margin (overall and per family), NLL of the \
      chosen answers, ROUGE-1/2/L of greedy answers against them. Writes DIR/report.json, report.md, report.html, \
      and each stage's metrics.jsonl under DIR/<stage>/.
      """)

  @Option(help: "Model: a Hugging Face folder or a .gguf file (default: the recipe's, or the default model).") var model: String?
  @Option(help: "Training preferences (.jsonl, .json, .parquet), or 'synthetic' (default: the recipe's).") var data: String?
  @Option(name: .customLong("eval-data"), help: "Held-out preferences (default: the recipe's; the built-in set has its own).")
  var evalData: String?
  @Option(name: .customLong("max-steps"), help: "Optimizer steps per training stage (SFT → DPO runs two stages).")
  var maxSteps: Int?
  @Option(name: .customLong("config"), help: "A YAML recipe for every stage (default: the built-in default recipe).")
  var recipe: String?
  @Option(name: .customLong("output-dir"), help: "Where the reports and the stages' runs go.") var outputDir: String
  @Option(help: "Held-out prompts answered greedily for ROUGE (0: no generation).") var generations = 64
  @Option(name: .customLong("max-new-tokens"), help: "Longest generated answer, in tokens.") var maxNewTokens = 48
  @Option(help: "Generations shown side by side in the report.") var samples = 6
  @Option(help: "Where to train and evaluate every stage: cpu, cuda or cuda:N (default: the recipe's device, cpu).")
  var device: Device?
  @Option(name: .customLong("set"), help: "Any recipe key, as KEY=VALUE (repeatable).") var settings: [String] = []

  func validate() throws {
    if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be at least 1") }
    guard generations >= 0, samples >= 0 else { throw ValidationError("--generations and --samples must be 0 or more") }
    guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be at least 1") }
  }

  func run() throws {
    try requireUsable(device)  // before the output folder is made
    var overrides: [ConfigurationOverride] = []
    if let model { overrides.append(.flag("--model", \.model, model)) }
    if let data { overrides.append(.flag("--data", \.dataset, data)) }
    if let evalData { overrides.append(.flag("--eval-data", \.evalDataset, evalData)) }
    if let maxSteps { overrides.append(.flag("--max-steps", \.maxSteps, maxSteps)) }
    if let device { overrides.append(.flag("--device", \.device, device)) }
    overrides += try settings.map(ConfigurationOverride.init(setting:))
    let recipeConfig = try DefaultRecipe.configuration(recipe: recipe, overrides: overrides)
    var options = CompareOptions(recipe: recipeConfig, outputDirectory: URL(fileURLWithPath: outputDir))
    options.evaluation.generations = generations
    options.evaluation.maxNewTokens = maxNewTokens
    options.evaluation.maxLength = recipeConfig.maxLength
    options.evaluation.batchSize = recipeConfig.perDeviceEvalBatchSize
    options.samples = samples
    let start = Date()
    let report = try ComparePipeline.run(options) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    try ComparePipeline.write(report, to: options.outputDirectory)
    FileHandle.standardError.write(Data(String(format: "compare: done in %.0f s\n", Date().timeIntervalSince(start)).utf8))
    print(ReportPage.markdown(report).components(separatedBy: "\n## ").first ?? "")
    for name in ["report.json", "report.md", "report.html"] { print(options.outputDirectory.appendingPathComponent(name).path) }
  }
}

// Train.swift — `orpo train`: ORPO (or baseline: --method) fine-tuning from a YAML recipe (TRL key names) with flag overrides; with no
// arguments, the default run (LoRA on the default SmolLM2 GGUF with built-in synthetic data).
import ArgumentParser
import Foundation
import ORPOKit

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Fine-tune with ORPO, or a baseline (--method), the default run when given no arguments.",
    discussion: "Recipe keys follow TRL / Hugging Face TrainingArguments. Flags override the recipe; --set KEY=VALUE reaches any key (lora.r=8).")

  @Option(name: .customLong("config"), help: "YAML recipe (default: the built-in default recipe).") var recipe: String?
  @Option(help: "Model: a Hugging Face folder or a .gguf file.") var model: String?
  @Option(help: "Training data: a .jsonl, .json or .parquet file, a dataset folder (Hub layout), or 'synthetic'.")
  var data: String?
  @Option(help: "The split of a dataset folder (Hub file names: data/train_prefs-00000-of-00001.parquet is train_prefs).")
  var split: String?
  @Option(name: .customLong("eval-data"), help: "Evaluation data.") var evalData: String?
  @Option(name: .customLong("output-dir")) var outputDir: String?
  @Option(name: .customLong("learning-rate")) var learningRate: Double?
  @Option(help: "orpo, sft, dpo, ipo, simpo, cpo or kto (the recipe's method:).") var method: TrainingMethod?
  @Option(help: "ORPO's λ; the β of DPO, IPO, SimPO, CPO and KTO.") var beta: Double?
  @Option(name: .customLong("max-steps")) var maxSteps: Int?
  @Option(name: .customLong("num-train-epochs")) var epochs: Double?
  @Option(name: .customLong("per-device-train-batch-size")) var batchSize: Int?
  @Option(name: .customLong("gradient-accumulation-steps")) var accumulation: Int?
  @Option(name: .customLong("max-length")) var maxLength: Int?
  @Option var seed: Int?
  @Option(name: .customLong("logging-steps")) var loggingSteps: Int?
  @Option(name: .customLong("save-steps")) var saveSteps: Int?
  @Option(name: .customLong("resume-from-checkpoint"), help: "A checkpoint folder, or 'latest' for the newest in output_dir.")
  var resume: String?
  @Option(help: "Compute device: cpu or cuda[:N].") var device: Device?
  @Option(name: .customLong("set"), help: "Any recipe key, as KEY=VALUE (repeatable).") var settings: [String] = []
  @Flag(name: .customLong("skip-invalid"), help: "Skip bad data rows (reported) instead of stopping.") var skipInvalid = false
  @Flag(name: .customLong("list-keys"), help: "Print every recipe key with its type, default and meaning, and exit.")
  var listKeys = false
  @Flag(name: .customLong("dry-run"),
        help: "Check the recipe against the model's config.json (no weights, no data read), print parameter counts and the estimated peak memory, and exit.")
  var dryRun = false

  func overrides() throws -> [ConfigurationOverride] {
    var o: [ConfigurationOverride] = []
    if let model { o.append(.flag("--model", \.model, model)) }
    if let data { o.append(.flag("--data", \.dataset, data)) }
    if let split { o.append(.flag("--split", \.datasetSplit, split)) }
    if let evalData { o.append(.flag("--eval-data", \.evalDataset, evalData)) }
    if let outputDir { o.append(.flag("--output-dir", \.outputDir, outputDir)) }
    if let learningRate { o.append(.flag("--learning-rate", \.learningRate, learningRate)) }
    if let method { o.append(.flag("--method", \.method, method)) }
    if let beta { o.append(.flag("--beta", \.beta, beta)) }
    if let maxSteps { o.append(.flag("--max-steps", \.maxSteps, maxSteps)) }
    if let epochs { o.append(.flag("--num-train-epochs", \.numTrainEpochs, epochs)) }
    if let batchSize { o.append(.flag("--per-device-train-batch-size", \.perDeviceTrainBatchSize, batchSize)) }
    if let accumulation { o.append(.flag("--gradient-accumulation-steps", \.gradientAccumulationSteps, accumulation)) }
    if let maxLength { o.append(.flag("--max-length", \.maxLength, maxLength)) }
    if let seed { o.append(.flag("--seed", \.seed, seed)) }
    if let loggingSteps { o.append(.flag("--logging-steps", \.loggingSteps, loggingSteps)) }
    if let saveSteps { o.append(.flag("--save-steps", \.saveSteps, saveSteps)) }
    if let resume { o.append(.flag("--resume-from-checkpoint", \.resumeFromCheckpoint, resume)) }
    if let device { o.append(.flag("--device", \.device, device)) }
    if skipInvalid { o.append(.flag("--skip-invalid", \.skipInvalid, true)) }
    return o + (try settings.map(ConfigurationOverride.init(setting:)))
  }

  func run() throws {
    if listKeys {
      print(TrainingConfiguration.keyReference, terminator: "")
      return
    }
    let config: TrainingConfiguration
    if let recipe {
      config = try TrainingConfiguration.load(recipe: URL(fileURLWithPath: recipe), overrides: try overrides())
    } else {
      config = try TrainingConfiguration.load(recipeText: DefaultRecipe.yaml, name: "built-in default recipe",
                                              overrides: try overrides())
    }
    if dryRun {
      print(try TrainingRun.dryRun(config, recipeName: recipe ?? "built-in default recipe").text, terminator: "")
      return
    }
    try TrainCommandRunner(config: config).run()
  }
}

extension TrainingMethod: ExpressibleByArgument {}

extension Device: ExpressibleByArgument {
  public init?(argument: String) { self.init(parsing: argument) }
}

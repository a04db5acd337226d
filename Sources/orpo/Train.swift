// Train.swift — `orpo train`: ORPO fine-tuning from a YAML recipe (TRL key names) with flag overrides; with no
// arguments, the default run (LoRA on the default SmolLM2 GGUF with built-in synthetic data).
import ArgumentParser
import Foundation
import ORPOKit

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Fine-tune with ORPO, or a baseline (--method), the default run when given no arguments.",
    discussion: """
      Recipe keys follow TRL / Hugging Face TrainingArguments; --list-keys prints them all. Flags override the \
      recipe, and --set KEY=VALUE (applied last, in order) reaches any key: --set lora.r=8.
      """)

  @Option(name: .customLong("config"), help: "A YAML recipe (default: the built-in default recipe).")
  var recipe: String?

  @OptionGroup(title: "Model") var model: ModelOptions
  @OptionGroup(title: "Data") var data: DataOptions

  @Option(help: .key("eval_dataset")) var evalData: String?
  @Option(help: .key("output_dir")) var outputDir: String?
  @Option(help: .key("learning_rate")) var learningRate: Double?
  @Option(help: .key("method")) var method: TrainingMethod?
  @Option(help: .key("beta")) var beta: Double?
  @Option(help: .key("max_steps")) var maxSteps: Int?
  @Option(help: .key("num_train_epochs")) var numTrainEpochs: Double?
  @Option(help: .key("per_device_train_batch_size")) var perDeviceTrainBatchSize: Int?
  @Option(help: .key("gradient_accumulation_steps")) var gradientAccumulationSteps: Int?
  @Option(help: .key("seed")) var seed: Int?
  @Option(help: .key("logging_steps")) var loggingSteps: Int?
  @Option(help: .key("save_steps")) var saveSteps: Int?
  @Option(help: .key("resume_from_checkpoint")) var resumeFromCheckpoint: String?
  @Flag(help: .key("overwrite_output_dir")) var overwriteOutputDir = false
  @Flag(help: .key("force_resume")) var forceResume = false

  @Option(name: .customLong("set"), help: ArgumentHelp("Any recipe key, as KEY=VALUE (repeatable).", valueName: "key=value"))
  var settings: [String] = []

  @Option(help: ArgumentHelp("Data parallel on this machine: start N worker processes with torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, ...); each takes its share of every batch (global batch = per-device batch × N × accumulation).", valueName: "N"))
  var nprocPerNode: Int?

  @Flag(help: "Print every recipe key with its type, default and meaning, and exit.")
  var listKeys = false
  @Flag(help: "Check the recipe against the model's config.json (no weights or data read), print parameter counts and the estimated peak memory, and exit.")
  var dryRun = false

  func validate() throws {
    if let nprocPerNode, nprocPerNode < 1 { throw ValidationError("--nproc-per-node must be at least 1, got \(nprocPerNode)") }
    for setting in settings where !setting.dropFirst().contains("=") {
      throw ValidationError("--set expects KEY=VALUE, got \"\(setting)\"")
    }
  }

  /// Flags, as typed recipe settings naming the flag that set them, then every --set.
  func overrides() throws -> [ConfigurationOverride] {
    var o = model.overrides + data.overrides
    if let evalData { o.append(.flag("--eval-data", \.evalDataset, evalData)) }
    if let outputDir { o.append(.flag("--output-dir", \.outputDir, outputDir)) }
    if let learningRate { o.append(.flag("--learning-rate", \.learningRate, learningRate)) }
    if let method { o.append(.flag("--method", \.method, method)) }
    if let beta { o.append(.flag("--beta", \.beta, beta)) }
    if let maxSteps { o.append(.flag("--max-steps", \.maxSteps, maxSteps)) }
    if let numTrainEpochs { o.append(.flag("--num-train-epochs", \.numTrainEpochs, numTrainEpochs)) }
    if let perDeviceTrainBatchSize {
      o.append(.flag("--per-device-train-batch-size", \.perDeviceTrainBatchSize, perDeviceTrainBatchSize))
    }
    if let gradientAccumulationSteps {
      o.append(.flag("--gradient-accumulation-steps", \.gradientAccumulationSteps, gradientAccumulationSteps))
    }
    if let seed { o.append(.flag("--seed", \.seed, seed)) }
    if let loggingSteps { o.append(.flag("--logging-steps", \.loggingSteps, loggingSteps)) }
    if let saveSteps { o.append(.flag("--save-steps", \.saveSteps, saveSteps)) }
    if let resumeFromCheckpoint { o.append(.flag("--resume-from-checkpoint", \.resumeFromCheckpoint, resumeFromCheckpoint)) }
    if overwriteOutputDir { o.append(.flag("--overwrite-output-dir", \.overwriteOutputDir, true)) }
    if forceResume { o.append(.flag("--force-resume", \.forceResume, true)) }
    return o + (try settings.map(ConfigurationOverride.init(setting:)))
  }

  func run() throws {
    if listKeys {
      print(TrainingConfiguration.keyReference, terminator: "")
      return
    }
    var config = try DefaultRecipe.configuration(recipe: recipe, overrides: try overrides())
    if dryRun {
      print(try TrainingRun.dryRun(config, recipeName: recipe ?? "built-in default recipe").text, terminator: "")
      return
    }
    // `--nproc-per-node N`: this process launches the workers (unless it already is one, under torchrun).
    if let n = nprocPerNode, n > 1, ProcessInfo.processInfo.environment["WORLD_SIZE"] == nil {
      let status = try LocalLaunch.run(processes: n, arguments: Array(CommandLine.arguments.dropFirst()))
      if status != 0 { throw ExitCode(status) }
      return
    }
    // A worker of torchrun or of `--nproc-per-node`: join the others before loading anything.
    var dataParallel: DataParallel?
    if let launch = try LaunchEnvironment.read(), launch.worldSize > 1 {
      LocalLaunch.joinLauncher()
      // From the start: a signal while the processes load and meet stops them all before their first step.
      Signals.catchStopSignals(announce: launch.rank == 0)
      // On GPUs each worker takes the one LOCAL_RANK names (as accelerate does) and NCCL carries the collectives.
      if config.device.isCUDA { config.device = .cuda(launch.localRank) }
      dataParallel = try DataParallel(environment: launch, timeout: Double(config.ddpTimeout), device: config.device)
    }
    try TrainCommandRunner(config: config, dataParallel: dataParallel).run()
  }
}

extension ArgumentHelp {
  /// A flag's help: the meaning of the recipe key it sets (from TrainingConfiguration.keys), and the key's name.
  static func key(_ name: String) -> ArgumentHelp {
    guard let key = TrainingConfiguration.keys.first(where: { $0.name == name }) else {
      preconditionFailure("no recipe key \(name)")
    }
    return ArgumentHelp("\(key.help) (\(name))")
  }
}

extension TrainingMethod: ExpressibleByArgument {}

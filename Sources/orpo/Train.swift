// Train.swift — `orpo train`: ORPO fine-tuning from a YAML recipe (TRL key names) with flag overrides; with no
// arguments, the default run (LoRA on the default SmolLM2 GGUF with built-in synthetic data).
import ArgumentParser
import Foundation
import ORPOKit

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Fine-tune with ORPO (the default run when given no arguments).",
    discussion: "Recipe keys follow TRL / Hugging Face TrainingArguments. Flags override the recipe; --set KEY=VALUE reaches any key (lora.r=8).")

  @Option(name: .customLong("config"), help: "YAML recipe (default: the built-in default recipe).") var recipe: String?
  @Option(help: "Model: a Hugging Face folder or a .gguf file.") var model: String?
  @Option(help: "Training data (.jsonl or .json), or 'synthetic'.") var data: String?
  @Option(name: .customLong("eval-data"), help: "Evaluation data.") var evalData: String?
  @Option(name: .customLong("output-dir")) var outputDir: String?
  @Option(name: .customLong("learning-rate")) var learningRate: Double?
  @Option(help: "ORPO's λ.") var beta: Double?
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
  @Option(help: "Compute device: cpu or cuda[:N].") var device: String?
  @Option(name: .customLong("set"), help: "Any recipe key, as KEY=VALUE (repeatable).") var settings: [String] = []
  @Flag(name: .customLong("skip-invalid"), help: "Skip bad data rows (reported) instead of stopping.") var skipInvalid = false

  func overrides() throws -> [(String, String)] {
    var o: [(String, String)] = []
    func add(_ key: String, _ value: CustomStringConvertible?) { if let value { o.append((key, "\(value)")) } }
    add("model", model.map { "\"\($0)\"" }); add("dataset", data.map { "\"\($0)\"" })
    add("eval_dataset", evalData.map { "\"\($0)\"" }); add("output_dir", outputDir.map { "\"\($0)\"" })
    add("learning_rate", learningRate); add("beta", beta); add("max_steps", maxSteps); add("num_train_epochs", epochs)
    add("per_device_train_batch_size", batchSize); add("gradient_accumulation_steps", accumulation)
    add("max_length", maxLength); add("seed", seed); add("logging_steps", loggingSteps); add("save_steps", saveSteps)
    add("resume_from_checkpoint", resume.map { "\"\($0)\"" }); add("device", device)
    if skipInvalid { add("skip_invalid", "true") }
    return o + (try keyValueSettings(settings))
  }

  func run() throws {
    let config: TrainingConfiguration
    if let recipe {
      config = try TrainingConfiguration.load(yaml: URL(fileURLWithPath: recipe), overrides: try overrides())
    } else {
      config = try TrainingConfiguration.load(yamlText: DefaultRecipe.yaml, source: "built-in default recipe",
                                              overrides: try overrides())
    }
    try TrainCommandRunner(config: config).run()
  }
}

/// `--set KEY=VALUE` options as (key, YAML text) pairs.
func keyValueSettings(_ settings: [String]) throws -> [(String, String)] {
  try settings.map { s in
    guard let eq = s.firstIndex(of: "="), eq != s.startIndex else {
      throw ValidationError("--set expects KEY=VALUE, got \"\(s)\"")
    }
    return (String(s[..<eq]), String(s[s.index(after: eq)...]))
  }
}

// main.swift — ORPOKit from another package: load a model, measure held-out preference accuracy, train a few
// ORPO steps with LoRA, measure again, save the adapter in PEFT's format.
//
//   swift run ORPOQuickstart                                   # the default SmolLM2 GGUF, built-in synthetic data
//   swift run ORPOQuickstart --model DIR --data FILE.jsonl --steps 3 --output runs/quickstart
import Foundation
import ORPOKit

var config = TrainingConfiguration()
config.model = nil              // nil: the default model (`make setup` fetched it; ORPO_MODELS_DIR may point at it)
config.dataset = nil            // nil: the built-in synthetic preference pairs
config.syntheticTrainSize = 64
config.syntheticTestSize = 32
config.method = .orpo
config.beta = 0.1
config.maxLength = 256
config.learningRate = 5e-4
config.perDeviceTrainBatchSize = 4
config.maxSteps = 10
config.loggingSteps = 1
config.reportTo = []            // no metrics files; the loss is printed below
config.outputDir = "runs/quickstart"

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("quickstart: error: \(message)\n".utf8))
  exit(1)
}

var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
  guard let value = arguments.popFirst() else { fail("\(flag) needs a value") }
  switch flag {
  case "--model": config.model = value
  case "--data":
    config.dataset = value
    config.testSize = 0.2       // hold out a fifth of the file for the accuracy check
  case "--steps":
    guard let steps = Int(value), steps > 0 else { fail("--steps needs a positive whole number, got \(value)") }
    config.maxSteps = steps
  case "--output": config.outputDir = value
  default: fail("unknown option \(flag); use --model, --data, --steps, --output")
  }
}

do {
  let run = try TrainingRun.prepare(config) { print("quickstart: \($0)") }
  let trainer = run.trainer
  let before = try trainer.evaluation().accuracy
  trainer.onLog = { log in
    let loss = log.values.first { $0.0 == "loss" }?.1 ?? .nan
    print(String(format: "quickstart: step %d loss %.4f", log.step, loss))
  }
  let summary = try trainer.train()
  let after = try trainer.evaluation().accuracy
  print(String(format: "quickstart: %d steps in %.1f s; held-out preference accuracy %.3f -> %.3f (%d pairs)",
               summary.steps, summary.seconds, before.accuracy, after.accuracy, after.overall.pairs))
  for (family, tally) in after.byFamily {
    print("quickstart:   \(family) " + String(format: "%.3f (%d pairs)", tally.accuracy, tally.pairs))
  }

  let adapter = URL(fileURLWithPath: config.outputDir).appendingPathComponent("adapter")
  try PEFTAdapter.save(run.model, configuration: config.lora, baseModel: run.modelPath.path, to: adapter)
  print("quickstart: adapter saved to \(adapter.path)")
} catch {
  fail("\(error)")
}

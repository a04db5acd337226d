// TrainCommandRunner.swift — what `orpo train` does around the trainer: held-out accuracy before and after,
// progress, metrics files, checkpoints, the final adapter, and a closing report.
import Foundation
import ORPOKit

struct TrainCommandRunner {
  let config: TrainingConfiguration

  func say(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
  }

  func run() throws {
    let wall = Date()
    let out = URL(fileURLWithPath: config.outputDir)
    let prepared = try TrainingRun.prepare(config, log: { say("orpo: \($0)") })
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    for r in prepared.readReports { say("orpo: warning: \(r)") }
    let trainer = prepared.trainer
    say("orpo: \(trainer.trainPairs.count) train pairs, \(trainer.evalPairs.count) eval pairs; \(trainer.totalSteps) steps of \(config.perDeviceTrainBatchSize * config.gradientAccumulationSteps) pairs; \(trainer.trainableParameterCount) trainable parameters (\(config.finetuningType)); \(Torch.threadCount) threads")

    let kinds = try MetricsSinkKind.resolve(config.reportTo.map(\.rawValue))
    let logDirectory = out.appendingPathComponent("tensorboard")
    let sinks = try CompositeSink(reportTo: kinds, outputDirectory: out, loggingDirectory: logDirectory)
    defer { try? sinks.close() }
    let progress = ProgressReporter()
    func write(_ log: TrainerLog) throws {
      try sinks.log(step: log.step, epoch: log.epoch, values: log.values, split: log.isEvaluation ? .eval : .train)
    }
    var lastRate = config.learningRate
    trainer.onLog = { log in
      try write(log)
      if let rate = log.values.first(where: { $0.0 == "learning_rate" })?.1 { lastRate = rate }
      if log.isEvaluation {
        let acc = log.values.first { $0.0 == "eval_accuracy" }?.1 ?? .nan
        progress.message(String(format: "orpo: step %d eval_loss %.4f eval_accuracy %.3f", log.step, log.values[0].1, acc))
      }
    }
    trainer.onStep = { step, loss, tokens, seconds in
      progress.update(step: step, loss: loss, learningRate: lastRate, tokensPerSecond: Double(tokens) / max(seconds, 1e-9))
    }
    trainer.onCheckpoint = { progress.message("orpo: checkpoint \($0.path)") }

    var resume: URL?
    if let r = config.resumeFromCheckpoint {
      resume = r == "latest" ? Trainer.latestCheckpoint(in: out) : URL(fileURLWithPath: r)
      guard resume != nil else { throw config.error("resume_from_checkpoint", "latest: no checkpoint-* folder in \(out.path)") }
      say("orpo: resuming from \(resume!.path)")
    }
    var before: Double?
    if !trainer.evalPairs.isEmpty && resume == nil {
      let t = Date()
      before = try trainer.evaluate().first { $0.0 == "eval_accuracy" }?.1
      say(String(format: "orpo: held-out preference accuracy before training: %.3f (%d pairs, %.1f s)", before!, trainer.evalPairs.count, Date().timeIntervalSince(t)))
    }
    progress.start(totalSteps: trainer.totalSteps, initialStep: trainer.state.globalStep, logEvery: config.loggingSteps)
    let summary = try trainer.train(resumingFrom: resume)
    progress.finish()
    var after: [(String, Double)] = []
    if !trainer.evalPairs.isEmpty {
      after = try trainer.evaluate()
      try write(TrainerLog(step: trainer.state.globalStep,
                           epoch: Double(trainer.state.globalStep) / Double(trainer.stepsPerEpoch),
                           values: after, isEvaluation: true))
    }
    let adapterDir = out.appendingPathComponent(config.finetuningType == .lora ? "adapter" : "model")
    if config.finetuningType == .lora {
      try PEFTAdapter.save(prepared.model, configuration: config.lora, baseModel: prepared.modelPath.path, to: adapterDir)
    } else {
      let weights = try prepared.model.parameters.map { ($0.key, try $0.value.detached().contiguous()) }
      try writeAtomically(adapterDir) { tmp in
        try SafeTensors.write(weights, metadata: ["format": "pt"], to: tmp.appendingPathComponent("model.safetensors"))
      }
    }
    let accuracyAfter = after.first { $0.0 == "eval_accuracy" }?.1
    var report: [String: Any] = [
      "steps": summary.steps, "seconds": summary.seconds, "seconds_per_step": summary.secondsPerStep,
      "pairs_per_second": summary.pairsPerSecond, "tokens_per_second": summary.tokensPerSecond,
      "final_loss": summary.finalLoss ?? Double.nan, "output": adapterDir.path, "wall_seconds": Date().timeIntervalSince(wall),
    ]
    if let before { report["eval_accuracy_before"] = before }
    if let accuracyAfter { report["eval_accuracy_after"] = accuracyAfter }
    for (k, v) in after { report[k] = v }
    let json = try JSONSerialization.data(withJSONObject: report.mapValues { v -> Any in
      if let d = v as? Double, !d.isFinite { return "\(d)" }
      return v
    }, options: [.prettyPrinted, .sortedKeys])
    try json.write(to: out.appendingPathComponent("summary.json"), options: .atomic)

    say("")
    say("orpo: done: \(summary.steps) steps in \(String(format: "%.1f", summary.seconds)) s (\(String(format: "%.2f", summary.secondsPerStep)) s/step, \(String(format: "%.2f", summary.pairsPerSecond)) pairs/s, \(String(format: "%.0f", summary.tokensPerSecond)) tokens/s)")
    if let before, let accuracyAfter {
      say(String(format: "orpo: held-out preference accuracy: %.3f before -> %.3f after", before, accuracyAfter))
    }
    say("orpo: adapter:  \(adapterDir.path)")
    say("orpo: metrics:  \(out.appendingPathComponent("metrics.jsonl").path)")
    if kinds.contains(.tensorboard) { say("orpo: tensorboard: \(logDirectory.path)") }
    say("orpo: summary:  \(out.appendingPathComponent("summary.json").path)")
  }
}


// TrainCommandRunner.swift — what `orpo train` does around the trainer: held-out accuracy before and after,
// progress, metrics files, checkpoints, the final adapter, and a closing report. In a data-parallel run every
// process trains and evaluates; only rank 0 speaks and writes.
import Foundation
import ORPOKit

struct TrainCommandRunner {
  let config: TrainingConfiguration
  /// This process's place in a data-parallel run (torchrun's environment), nil alone.
  var dataParallel: DataParallel? = nil

  var isMainProcess: Bool { dataParallel?.isMainProcess ?? true }

  func say(_ s: String) {
    guard isMainProcess else { return }
    FileHandle.standardError.write(Data((s + "\n").utf8))
  }

  /// Trains, writes the run folder and reports; returns the prepared run (its model now trained) for callers that
  /// measure it further (`orpo sweep`).
  @discardableResult
  func run() throws -> PreparedRun {
    let wall = Date()
    let out = URL(fileURLWithPath: config.outputDir)
    if let dataParallel {
      say("orpo: data parallel: \(dataParallel.worldSize) processes (gloo, store \(dataParallel.environment.masterAddress):\(dataParallel.environment.masterPort)); global batch \(config.perDeviceTrainBatchSize) per device × \(dataParallel.worldSize) × \(config.gradientAccumulationSteps) accumulation = \(config.perDeviceTrainBatchSize * dataParallel.worldSize * config.gradientAccumulationSteps) pairs")
    }
    let prepared = try TrainingRun.prepare(config, dataParallel: dataParallel, log: { say("orpo: \($0)") })
    if isMainProcess { try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true) }
    for r in prepared.readReports { say("orpo: warning: \(r)") }
    let trainer = prepared.trainer
    say("orpo: \(trainer.trainPairs.count) train pairs, \(trainer.evalPairs.count) eval pairs; \(trainer.totalSteps) steps of \(config.perDeviceTrainBatchSize * config.gradientAccumulationSteps) pairs; \(trainer.trainableParameterCount) trainable parameters (\(config.finetuningType)); \(Torch.threadCount) threads")

    if isMainProcess { try runInfo(trainer: trainer, tokenizer: prepared.tokenizer).write(to: RunFolder(out).runInfoURL) }

    let kinds = try MetricsSinkKind.resolve(config.reportTo.map(\.rawValue))
    let logDirectory = out.appendingPathComponent("tensorboard")
    let sinks = try CompositeSink(reportTo: isMainProcess ? kinds : [], outputDirectory: out, loggingDirectory: logDirectory)
    var completed = false
    defer {
      if !completed { try? sinks.mlflowRun?.finish(.failed) }  // closing would mark it finished
      try? sinks.close()
    }
    let mlflowRun = sinks.mlflowRun
    if let run = mlflowRun {
      // transformers' MLflowCallback logs the TrainingArguments as params; here every recipe key.
      let dropped = try run.logParameters(config.recipeValues.map { ($0.key, $0.value) })
      if !dropped.isEmpty { say("orpo: warning: MLflow takes params up to 6000 characters; left out: \(dropped.joined(separator: ", "))") }
      try run.setTag("orpo.method", config.method.rawValue)
    }
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
    var before: PreferenceAccuracy?
    // KTO's held-out rows are unpaired (an answer and another prompt's answer): no preference accuracy there.
    let paired = trainer.evalPairs.first?.desirable == nil
    if !trainer.evalPairs.isEmpty && resume == nil && paired {
      let t = Date()
      before = try trainer.evaluation().accuracy
      say(String(format: "orpo: held-out preference accuracy before training: %.3f (%d pairs, %.1f s)", before!.accuracy, trainer.evalPairs.count, Date().timeIntervalSince(t)))
    }
    if isMainProcess { progress.start(totalSteps: trainer.totalSteps, initialStep: trainer.state.globalStep, logEvery: config.loggingSteps) }
    let summary = try trainer.train(resumingFrom: resume)
    if isMainProcess { progress.finish() }
    var after: [(String, Double)] = []
    var accuracyAfter: PreferenceAccuracy?
    if !trainer.evalPairs.isEmpty {
      let result = try trainer.evaluation()
      (after, accuracyAfter) = (result.values, paired ? result.accuracy : nil)
      try write(TrainerLog(step: trainer.state.globalStep,
                           epoch: Double(trainer.state.globalStep) / Double(trainer.stepsPerEpoch),
                           values: after, isEvaluation: true))
    }
    let adapterDir = out.appendingPathComponent(config.finetuningType == .lora ? "adapter" : "model")
    guard isMainProcess else { return prepared }  // the others trained and evaluated with rank 0; it alone writes
    if config.finetuningType == .lora {
      // A model given by Hub id is named by it (as PEFT writes base_model_name_or_path), not by its cache folder.
      let hubID = config.model.flatMap { HubModelID($0) }.map(\.repoID)
      let baseModel = hubID != nil && !FileManager.default.fileExists(atPath: config.model!) ? hubID! : prepared.modelPath.path
      try PEFTAdapter.save(prepared.model, configuration: config.lora, baseModel: baseModel, to: adapterDir)
    } else {
      // A Hugging Face folder (config, weights, generation config, tokenizer) that from_pretrained loads.
      var isFolder: ObjCBool = false
      let fromFolder = FileManager.default.fileExists(atPath: prepared.modelPath.path, isDirectory: &isFolder) && isFolder.boolValue
      let template = try config.chatTemplate.map { try String(contentsOfFile: $0, encoding: .utf8) }
      try ModelExport.mergedModel(model: prepared.model, tokenizer: prepared.tokenizer, chatTemplate: template,
                                  dtype: prepared.model.dtype, to: adapterDir,
                                  sourceDescription: "a full ORPO fine-tune of \(prepared.modelPath.lastPathComponent) (\(summary.steps) steps)",
                                  tokenizerFolder: fromFolder ? prepared.modelPath : nil)
    }
    try RunSummary(
      steps: summary.steps, seconds: summary.seconds, secondsPerStep: summary.secondsPerStep,
      pairsPerSecond: summary.pairsPerSecond, tokensPerSecond: summary.tokensPerSecond,
      finalLoss: summary.finalLoss ?? .nan, output: adapterDir.path, wallSeconds: Date().timeIntervalSince(wall),
      accuracyBefore: before?.accuracy, accuracyAfter: accuracyAfter?.accuracy,
      familiesBefore: before?.families ?? [:], familiesAfter: accuracyAfter?.families ?? [:],
      evaluation: Dictionary(after, uniquingKeysWith: { first, _ in first })
    ).write(to: out.appendingPathComponent("summary.json"))
    try mlflowRun?.logArtifact(file: out.appendingPathComponent("summary.json"))
    completed = true

    say("")
    say("orpo: done: \(summary.steps) steps in \(String(format: "%.1f", summary.seconds)) s (\(String(format: "%.2f", summary.secondsPerStep)) s/step, \(String(format: "%.2f", summary.pairsPerSecond)) pairs/s, \(String(format: "%.0f", summary.tokensPerSecond)) tokens/s)")
    if let before, let accuracyAfter {
      say(String(format: "orpo: held-out preference accuracy: %.3f before -> %.3f after", before.accuracy, accuracyAfter.accuracy))
      for (family, tally) in accuracyAfter.byFamily {
        let was = before.families[family]?.accuracy ?? .nan
        let name = family.padding(toLength: max(12, family.count), withPad: " ", startingAt: 0)
        say("orpo:   \(name) " + String(format: "%.3f -> %.3f (%d pairs)", was, tally.accuracy, tally.pairs))
      }
    }
    say("orpo: \(config.finetuningType == .lora ? "adapter:" : "model:  ")  \(adapterDir.path)")
    say("orpo: metrics:  \(out.appendingPathComponent("metrics.jsonl").path)")
    if kinds.contains(.tensorboard) { say("orpo: tensorboard: \(logDirectory.path)") }
    if let run = mlflowRun {
      say("orpo: mlflow:   \(run.runDirectory.path) (MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri \(run.root.path))")
    }
    say("orpo: summary:  \(out.appendingPathComponent("summary.json").path)")
    if kinds.contains(.jsonl) {  // metrics.jsonl is written through, row by row
      say("")
      say("orpo doctor:")
      for line in RunDoctor.text(try RunDoctor(folder: RunFolder(out)).findings()).split(separator: "\n") {
        say("  " + line)
      }
    }
    return prepared
  }

  /// What run.json records before the first step: the settings the doctor weighs, and how many training pairs had a
  /// completion cut at max_length (a sequence of exactly max_length tokens that does not end in EOS).
  func runInfo(trainer: Trainer, tokenizer: Tokenizer) -> RunInfo {
    let eos = tokenizer.eosTokenID
    func cut(_ ids: [Int]) -> Bool { ids.count >= config.maxLength && ids.last != eos }
    let truncated = trainer.trainPairs.filter { cut($0.chosenIDs) || cut($0.rejectedIDs) }.count
    return RunInfo(method: config.method.rawValue, learningRate: config.learningRate, beta: config.beta,
                   betaEnd: config.betaEnd, maxLength: config.maxLength, maxSteps: trainer.totalSteps,
                   trainPairs: trainer.trainPairs.count, truncatedPairs: truncated)
  }
}


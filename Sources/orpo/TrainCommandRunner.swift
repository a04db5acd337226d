// TrainCommandRunner.swift — what `orpo train` does around the trainer: held-out accuracy before and after,
// progress, metrics files, checkpoints, the final adapter, and a closing report. In a data-parallel run every
// process trains and evaluates; only rank 0 speaks and writes.
import ArgumentParser
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
    if let dataParallel {
      say("orpo: data parallel: \(dataParallel.worldSize) processes (\(dataParallel.group.backend), store \(dataParallel.environment.masterAddress):\(dataParallel.environment.masterPort)); global batch \(config.perDeviceTrainBatchSize) per device × \(dataParallel.worldSize) × \(config.gradientAccumulationSteps) accumulation = \(config.perDeviceTrainBatchSize * dataParallel.worldSize * config.gradientAccumulationSteps) pairs")
    }
    // output_dir is this run's (or the run it resumes; rank 0 checks and writes it); a failure before training
    // leaves it as it was.
    let folder = isMainProcess ? try OutputFolder.claim(for: config) : nil
    let out = URL(fileURLWithPath: config.outputDir)
    let prepared: PreparedRun
    var resume: URL?
    do {
      prepared = try TrainingRun.prepare(config, dataParallel: dataParallel, log: { say("orpo: \($0)") })
      let fingerprint = RunFingerprint(config: config, trainPairs: prepared.trainer.trainPairs, modelPath: prepared.modelPath)
      prepared.trainer.fingerprint = fingerprint
      resume = try OutputFolder.resumeCheckpoint(in: out, config, fingerprint: fingerprint)
      // Restored here, before anything in the folder changes: a checkpoint that cannot be read leaves it as it was.
      if let resume { try prepared.trainer.restore(from: resume) }
      if let resume, isMainProcess { try Self.dropMetrics(in: out, after: resume) }
    } catch {
      folder?.abandon()
      throw error
    }
    folder?.commit()
    for r in prepared.readReports { say("orpo: warning: \(r)") }
    if config.fp16 && !config.device.isCUDA {
      // Measured on an AMD EPYC Zen 4 (no AVX512-FP16), 6 Dec 2026 (`orpo bench train`): a step of the default job
      // 46 s with fp16: true, 0.93 s with bf16: true; libtorch's CPU float16 matrix products take a slow generic path.
      say("orpo: warning: fp16 on the CPU: libtorch's float16 matrix products are slow on most CPUs (the default job "
          + "took ~50x bf16's time a step); bf16: true is the CPU's half precision (transformers refuses fp16 here)")
    }
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
    var lastCheckpoint: URL?
    trainer.onCheckpoint = {
      lastCheckpoint = $0
      progress.message("orpo: checkpoint \($0.path)")
    }
    trainer.onNonfiniteStep = { step, loss, norm in
      progress.message("orpo: step \(step) skipped: loss \(TrainingError.text(of: loss)), grad_norm \(TrainingError.text(of: norm)) (not finite; \(trainer.state.consecutiveNonfiniteSteps ?? 0) in a row, max_nonfinite_steps \(config.maxNonfiniteSteps))")
    }
    // Ctrl-C / SIGTERM stop after the step with a checkpoint. In a data-parallel run the processes agree on the step:
    // after each one they sum which signals any of them got (the launcher passes its signal to all, torchrun too).
    Signals.catchStopSignals(announce: isMainProcess)
    var stopSignal: Int32?
    if let dataParallel {
      trainer.shouldStop = {
        let votes = try dataParallel.sum([Signals.pending == SIGINT ? 1 : 0, Signals.pending == SIGTERM ? 1 : 0])
        stopSignal = votes[0] > 0 ? SIGINT : votes[1] > 0 ? SIGTERM : nil
        return stopSignal != nil
      }
    } else {
      trainer.shouldStop = {
        stopSignal = Signals.pending
        return stopSignal != nil
      }
    }
    if let resume { say("orpo: resuming from \(resume.path)") }
    var before: PreferenceAccuracy?
    // KTO's held-out rows are unpaired (an answer and another prompt's answer): no preference accuracy there.
    let paired = trainer.evalPairs.first?.desirable == nil
    if !trainer.evalPairs.isEmpty && resume == nil && paired {
      let t = Date()
      before = try trainer.evaluation().accuracy
      say(String(format: "orpo: held-out preference accuracy before training: %.3f (%d pairs, %.1f s)", before!.accuracy, trainer.evalPairs.count, Date().timeIntervalSince(t)))
    }
    if isMainProcess { progress.start(totalSteps: trainer.totalSteps, initialStep: trainer.state.globalStep, logEvery: config.loggingSteps) }
    let summary = try trainer.train()  // a checkpoint to resume was restored above
    if isMainProcess { progress.finish() }
    if summary.stoppedEarly, let sig = stopSignal {
      let checkpoint = lastCheckpoint ?? Trainer.latestCheckpoint(in: out)
      let when = summary.steps == 0 ? "before its first step" : "after step \(trainer.state.globalStep) of \(trainer.totalSteps)"
      say("orpo: stopped by \(Signals.name(sig)) \(when); checkpoint: \(checkpoint?.path ?? "none")")
      if let checkpoint { say("orpo: resume with: \(Self.resumeCommand(checkpoint))") }
      throw ExitCode(128 + sig)
    }
    if summary.nonfiniteSteps > 0 {
      say("orpo: warning: \(summary.nonfiniteSteps) optimizer steps were skipped for a NaN or infinite loss or gradient")
    }
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
    try trainer.checkWeightsAreFinite()
    if config.finetuningType == .lora {
      // A model given by Hub id is named by it (as PEFT writes base_model_name_or_path), not by its cache folder.
      let hubID = config.model.flatMap { HubModelID($0) }.map(\.repoID)
      let baseModel = hubID != nil && !FileManager.default.fileExists(atPath: config.model!) ? hubID! : prepared.modelPath.path
      try AtomicFolder.naming(adapterDir) {
        try PEFTAdapter.save(prepared.model, configuration: config.lora, baseModel: baseModel,
                             baseVocabularySize: prepared.baseVocabularySize, tokenizer: prepared.tokenizer, to: adapterDir)
      }
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

  /// This command line with `--resume-from-checkpoint CHECKPOINT` instead of any resume or overwrite flag, quoted
  /// for a POSIX shell.
  static func resumeCommand(_ checkpoint: URL) -> String {
    var arguments: [String] = []
    var skipNext = false
    for argument in CommandLine.arguments.dropFirst() {
      if skipNext { skipNext = false; continue }
      if argument == "--resume-from-checkpoint" { skipNext = true; continue }
      if argument.hasPrefix("--resume-from-checkpoint=") || argument == "--overwrite-output-dir" { continue }
      arguments.append(argument)
    }
    arguments += ["--resume-from-checkpoint", checkpoint.path]
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
    return (["orpo"] + arguments).map { a in
      a.allSatisfy(safe.contains) && !a.isEmpty ? a : "'" + a.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }.joined(separator: " ")
  }

  /// Resuming from `checkpoint`: metrics.jsonl keeps only the lines up to its step (the interrupted run may have
  /// logged past it), so the file reads as one run.
  static func dropMetrics(in out: URL, after checkpoint: URL) throws {
    let file = out.appendingPathComponent("metrics.jsonl")
    guard let text = try? String(contentsOf: file, encoding: .utf8),
          let state = try? JSONSerialization.jsonObject(with: Data(contentsOf: checkpoint.appendingPathComponent("trainer_state.json"))) as? [String: Any],
          let step = state["global_step"] as? Int
    else { return }
    let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
    let kept = lines.filter { line in
      let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      return (object?["step"] as? Int).map { $0 <= step } ?? true
    }
    if kept.count != lines.count {
      try AtomicFile.write(kept.map { $0 + "\n" }.joined(), to: file)
    }
  }
}

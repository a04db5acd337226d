// ComparePipeline.swift — `orpo compare`: the base model, SFT on the chosen answers, ORPO from the base, and the
// classic SFT → DPO (DPO's adapter trained on the SFT-merged weights, the SFT model as its reference), each
// training stage under the same step budget, all measured on the same held-out pairs by `ModelEvaluation`, with
// each stage's wall time, CPU time and peak memory. Writes every stage's metrics.jsonl under D/<stage>/ and returns the
// report (written by the caller as report.json / .md / .html).
import Data
import Evaluation
import Foundation
import RunMetrics
import Models
import NN
import Support
import Tokenization
import Torch
import Training

public struct CompareOptions {
  /// The recipe every stage starts from (model, data, step budget, optimiser, LoRA); `method` and `output_dir` are
  /// set per stage. Keys of one method are left out of the stages of another (their defaults apply there).
  public var recipe: TrainingConfiguration
  public var outputDirectory: URL
  public var evaluation = ModelEvaluationSettings()
  /// Held-out prompts shown side by side in the report.
  public var samples = 6

  public init(recipe: TrainingConfiguration, outputDirectory: URL) {
    self.recipe = recipe
    self.outputDirectory = outputDirectory
  }
}

public enum ComparePipeline {
  public static func run(_ options: CompareOptions, log: @escaping (String) -> Void) throws -> CompareReport {
    let root = options.outputDirectory
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    var methods: [String: MethodResult] = [:]
    var curves: [String: [String: [[Double]]]] = [:]
    var answers: [String: ModelEvaluationResult] = [:]
    var evalRecords: [PreferenceRecord] = []
    var settings: [String: String] = [:]

    func evaluate(_ name: String, _ model: any CausalLanguageModel, _ tokenizer: Tokenizer, stages: [StageCost],
                  loadedPeak: Double = 0) throws
    {
      let start = Date()
      log("compare: evaluating \(CompareReport.label(name)) on \(evalRecords.count) held-out pairs, "
            + "\(Swift.min(options.evaluation.generations, evalRecords.count)) greedy answers")
      let formatter = try TrainingRun.formatter(tokenizer: tokenizer)
      let result = try ModelEvaluation.run(model: model, tokenizer: tokenizer, formatter: formatter, records: evalRecords,
                                           settings: options.evaluation)
      answers[name] = result
      // The greedy answers, for `orpo judge D/orpo D/sft_dpo`.
      let folder = root.appendingPathComponent(name)
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      try AtomicFile.write(GenerationRecord.jsonl(result.generations.indices.map {
        GenerationRecord(prompt: result.prompts[$0], reference: result.references[$0], generation: result.generations[$0])
      }), to: folder.appendingPathComponent("generations.jsonl"))
      methods[name] = MethodResult(scores: result.scores, stages: stages, evalSeconds: Date().timeIntervalSince(start),
                                   baselinePeakRSSMiB: loadedPeak)
      let s = result.scores
      log(String(format: "compare: %@: accuracy %.3f, margin %.4f, NLL %.4f, ROUGE-L %.4f", CompareReport.label(name),
                 s.preferenceAccuracy, s.rewardMargin, s.nll, s.rougeL))
    }

    /// One training stage: prepare (load or reuse the model, read and encode the data, attach LoRA), train, with
    /// its metrics in D/<folder>/metrics.jsonl and its curves under `curveName` from step `stepOffset` on.
    func stage(_ method: TrainingMethod, folder: String, curveName: String, stepOffset: Int = 0,
               reusing: (model: any CausalLanguageModel, tokenizer: Tokenizer)? = nil) throws -> (PreparedRun, StageCost)
    {
      var config = options.recipe
      config.method = method
      config.outputDir = root.appendingPathComponent(folder).path
      config.evalStrategy = .no
      config.saveSteps = nil
      config.reportTo = [.jsonl]
      ProcessMemory.resetPeak()
      let start = Date(), cpuStart = ProcessTime.cpuSeconds()
      log("compare: \(folder): training \(method.rawValue)")
      let prepared = try TrainingRun.prepare(config, reusing: reusing, log: { log("compare: \(folder): \($0)") })
      let sinks = try CompositeSink(reportTo: [.jsonl], outputDirectory: URL(fileURLWithPath: config.outputDir))
      defer { try? sinks.close() }
      prepared.trainer.onLog = { entry in
        try sinks.log(step: entry.step, epoch: entry.epoch, values: entry.values, split: entry.isEvaluation ? .eval : .train)
        guard !entry.isEvaluation else { return }
        for (name, value) in entry.values where ReportPage.curveMetrics.contains(name) {
          curves[curveName, default: [:]][name, default: []].append([Double(entry.step + stepOffset), value])
        }
        let loss = entry.values.first { $0.0 == "loss" }?.1 ?? .nan
        log(String(format: "compare: %@: step %d/%d loss %.4f", folder, entry.step, prepared.trainer.totalSteps, loss))
      }
      let summary = try prepared.trainer.train()
      let cost = StageCost(method: method.rawValue, trainSteps: summary.steps, wallSeconds: Date().timeIntervalSince(start),
                           cpuSeconds: ProcessTime.cpuSeconds() - cpuStart, peakRSSMiB: ProcessMemory.peakMiB())
      return (prepared, cost)
    }

    // The base model: loaded, not trained. Its folder holds the data the stages read (the built-in set is written
    // once per stage folder, identically).
    do {
      ProcessMemory.resetPeak()
      var config = options.recipe
      config.outputDir = root.appendingPathComponent("base").path
      // A fresh LoRA adapter is zero (B = 0): the outputs are the base model's, and no optimiser state for every
      // weight is allocated, as full fine-tuning's would be. Nothing is trained.
      config.finetuningType = .lora
      let prepared = try TrainingRun.prepare(config, log: { log("compare: base: \($0)") })
      evalRecords = Array(prepared.evalData)
      guard !evalRecords.isEmpty else {
        throw ConfigurationError("orpo compare needs held-out pairs: give --eval-data, or use the built-in data")
      }
      settings = [
        "model": prepared.modelPath.lastPathComponent, "train_pairs": String(prepared.trainRecords),
        "eval_pairs": String(evalRecords.count),
        "batch_pairs": String(options.recipe.perDeviceTrainBatchSize * options.recipe.gradientAccumulationSteps),
        "learning_rate": String(options.recipe.learningRate), "beta": String(options.recipe.beta),
        "finetuning": options.recipe.finetuningType == .lora ? "LoRA r \(options.recipe.lora.rank)" : "full",
        "generations": String(Swift.min(options.evaluation.generations, evalRecords.count)),
        "max_new_tokens": String(options.evaluation.maxNewTokens), "threads": String(Torch.threadCount),
      ]
      try evaluate("base", prepared.model, prepared.tokenizer, stages: [], loadedPeak: ProcessMemory.peakMiB())
    }

    // SFT, then DPO on the SFT-merged weights with a fresh adapter (its reference: the SFT model).
    do {
      let (sft, sftCost) = try stage(.sft, folder: "sft", curveName: "sft")
      settings["steps_per_stage"] = String(sftCost.trainSteps)
      try evaluate("sft", sft.model, sft.tokenizer, stages: [sftCost])
      curves["sft_dpo"] = curves["sft"]
      if options.recipe.finetuningType == .lora { try sft.model.mergeLoRA() }
      let (dpo, dpoCost) = try stage(.dpo, folder: "sft_dpo", curveName: "sft_dpo", stepOffset: sftCost.trainSteps,
                                     reusing: (sft.model, sft.tokenizer))
      try evaluate("sft_dpo", dpo.model, dpo.tokenizer, stages: [sftCost, dpoCost])
    }
    // ORPO from the base model.
    do {
      let (orpo, orpoCost) = try stage(.orpo, folder: "orpo", curveName: "orpo")
      try evaluate("orpo", orpo.model, orpo.tokenizer, stages: [orpoCost])
    }

    let base = answers["base"]!
    let samples = (0..<Swift.min(options.samples, base.prompts.count)).map { i in
      SampleGeneration(prompt: base.prompts[i], reference: base.references[i],
                       generations: answers.mapValues { $0.generations.indices.contains(i) ? $0.generations[i] : "" })
    }
    return CompareReport(methods: methods, order: CompareReport.pipelines, settings: settings, curves: curves,
                         samples: samples)
  }

  /// report.json, report.md and report.html in `directory`, each written atomically.
  public static func write(_ report: CompareReport, to directory: URL) throws {
    try AtomicFile.write(report.json(), to: directory.appendingPathComponent("report.json"))
    try AtomicFile.write(ReportPage.markdown(report), to: directory.appendingPathComponent("report.md"))
    try AtomicFile.write(ReportPage.html(report), to: directory.appendingPathComponent("report.html"))
  }
}

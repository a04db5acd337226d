// Bench.swift — `orpo bench`: measured speed, side by side with what the reference tools do on the same machine.
import ArgumentParser
import Foundation
import ORPOKit

struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Benchmarks (matmul throughput through the Swift API; ORPO steps on the default workload).",
    subcommands: [Matmul.self, Train.self, Memory.self])

  struct Matmul: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "fp32 (or bf16) square matmul GFLOP/s through the Swift Tensor API.")
    @Option(help: "Matrix size n (n×n · n×n).") var size = 2048
    @Option(help: "Timed repetitions (the median and the fastest are reported).") var repeats = 10
    @Option(help: "The matrices' dtype (default float32).") var dtype: DType?
    @Option(help: "Where to compute: cpu, cuda or cuda:N (default cpu).") var device: Device?

    func validate() throws {
      guard size >= 1, repeats >= 1 else { throw ValidationError("--size and --repeats must be at least 1") }
    }

    func run() throws {
      let (dtype, device) = (dtype ?? .float32, device ?? .cpu)
      try requireUsable(device)
      let (median, best) = try Training.SelfTest.matmulSeconds(size: size, dtype: dtype, device: device, repeats: repeats)
      let gflops = 2 * pow(Double(size), 3) / median / 1e9
      printJSON(.object([
        ("bench", .string("matmul")), ("n", .int(size)), ("dtype", .string(dtype.recipeText)),
        ("device", .string(device.description)), ("threads", .int(Torch.threadCount)),
        ("median_seconds", .rounded(median, places: 6)), ("gflops", .rounded(gflops, places: 1)),
        ("best_seconds", .rounded(best, places: 6)), ("peak_gflops", .rounded(2 * pow(Double(size), 3) / best / 1e9, places: 1)),
      ]))
    }
  }

  struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Seconds per ORPO step, pairs/s, tokens/s, FLOPs and MFU on the default workload (no files; evaluation with --eval-pairs).",
      usage: "orpo bench train [<options>]",
      discussion: """
        FLOPs are the matmul work of the positions the layout computes (each prompt once with prompt sharing, every \
        padded position with --padded) and the causal attention they need, forward and backward, without gradient \
        checkpointing's recomputation. MFU divides their rate by the matmul peak measured in the same process (the \
        faster of a measurement before the timed steps and one after them, so that a slow moment does not inflate it). \
        The run logs nothing, saves nothing and scores no probe pairs (probe_pairs: 0): it times the training work \
        TRL's trainer does.
        """)
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Data") var data: DataOptions
    @Option(help: "Pairs per forward pass (default: the recipe's).") var perDeviceTrainBatchSize: Int?
    @Option(help: "LoRA rank (default: the recipe's).") var loraR: Int?
    @Option(help: "Timed steps (after warm-up).") var steps = 10
    @Option(help: "Warm-up steps excluded from the timing.") var warmup = 2
    @Flag(help: "TRL's padded batch instead of prompt sharing.") var padded = false
    @Option(help: ArgumentHelp("Then evaluate this many held-out pairs (the recipe's evaluation, per_device_eval_batch_size pairs a forward) and print its tokens/s beside training's (0: no evaluation).",
                               valueName: "pairs"))
    var evalPairs = 0
    @Option(name: .customLong("set"), help: ArgumentHelp("Any recipe key, as KEY=VALUE (repeatable).", valueName: "key=value"))
    var settings: [String] = []
    @Option(name: .customLong("random-weights"),
            help: ArgumentHelp("Train a model of this config.json's shape (a file or its folder) with random weights, with the recipe model's tokenizer.",
                               valueName: "config"))
    var randomWeights: String?
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Also list the operators that took the timed steps' time: seconds per step in each (self, without the operators it called; total) and calls per step.")
    var profile = false
    @Flag(help: "--profile with matrix products told apart by their operands' shapes (recording them slows the run).")
    var profileShapes = false
    @Option(name: .customLong("profile-rows"),
            help: ArgumentHelp("Operators --profile lists, for the timed steps and for the evaluation alike.", valueName: "n"))
    var profileRows = 40
    @Option(name: .customLong("compare-trl"),
            help: ArgumentHelp("Then run TRL's ORPO trainer on the same workload with this Python (reference/trl_bench.py; TRL, peft and transformers installed) and print the ratios.",
                               valueName: "python"))
    var compareTRL: String?
    @Option(help: ArgumentHelp("With --compare-trl: time ours and TRL's this many times, alternating, and give each round's pairs/s ratio and their median (a fresh run of ours each round).",
                               valueName: "n"))
    var rounds = 1

    func validate() throws {
      guard steps >= 1, warmup >= 1 else { throw ValidationError("--steps and --warmup must be at least 1") }
      guard profileRows >= 1 else { throw ValidationError("--profile-rows must be at least 1") }
      guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1, got \(rounds)") }
      if rounds > 1, compareTRL == nil { throw ValidationError("--rounds \(rounds) needs --compare-trl (the rounds alternate ours and TRL's)") }
      if compareTRL != nil, randomWeights != nil {
        throw ValidationError("--compare-trl needs a model with weights TRL can load, not --random-weights")
      }
      if evalPairs < 0 { throw ValidationError("--eval-pairs must be at least 0, got \(evalPairs)") }
      if let n = perDeviceTrainBatchSize, n < 1 { throw ValidationError("--per-device-train-batch-size must be at least 1, got \(n)") }
      if let r = loraR, r < 1 { throw ValidationError("--lora-r must be at least 1, got \(r)") }
      for setting in settings where !setting.dropFirst().contains("=") {
        throw ValidationError("--set expects KEY=VALUE, got \"\(setting)\"")
      }
    }

    func run() throws {
      let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-bench").path
      let verb = "orpo bench train"  // the settings the benchmark itself makes
      var overrides: [ConfigurationOverride] = [
        .flag("--steps", \.maxSteps, steps + warmup), .flag(verb, \.reportTo, [.none]), .flag(verb, \.saveSteps, nil),
        .flag(verb, \.probePairs, 0),
        .flag(verb, \.syntheticTestSize, max(evalPairs, 1)), .flag("--padded", \.paddingFree, !padded), .flag(verb, \.outputDir, scratch),
      ] + model.overrides + data.overrides
      if let n = perDeviceTrainBatchSize { overrides.append(.flag("--per-device-train-batch-size", \.perDeviceTrainBatchSize, n)) }
      if let r = loraR { overrides.append(.flag("--lora-r", \.lora.rank, r)) }
      overrides += try settings.map(ConfigurationOverride.init(setting:))
      let config = try DefaultRecipe.configuration(overrides: overrides)
      let shape = try randomWeights.map { path -> LlamaConfiguration in
        let url = URL(fileURLWithPath: path)
        return try LlamaConfiguration.load(url.pathExtension == "json" ? url : url.appendingPathComponent("config.json"))
      }
      let run = try TrainingRun.prepare(config, randomWeights: shape)
      if evalPairs > 0, run.trainer.evalPairs.isEmpty {
        throw CLIError("--eval-pairs \(evalPairs): the data has no held-out pairs (set eval_dataset, or use the built-in synthetic data)")
      }
      // The peak the FLOPs are measured against: a square matmul in the compute dtype, in this process, before and
      // after the timed steps, the faster of the two (on a shared host one measurement can fall in a slow moment).
      let peakDType: DType = config.adapterComputeDType ?? config.baseDType
      func measurePeak() throws -> Double {
        try Training.SelfTest.matmulGFLOPs(size: config.device.isCUDA ? 8192 : 2048,
                                           dtype: peakDType == .float16 && !config.device.isCUDA ? .float32 : peakDType,
                                           device: config.device)
      }
      let peakBefore = try measurePeak()
      if config.device.isCUDA { try CUDA.resetPeakMemoryStats(device: config.device.index) }
      let timing = try time(run, profiling: profile || profileShapes)
      let peak = Swift.max(peakBefore, try measurePeak())
      let (summary, operators, profiling, perStep) = (timing.summary, timing.operators, timing.profiling, timing.secondsPerStep)
      let pairs = Double(config.perDeviceTrainBatchSize * config.gradientAccumulationSteps)
      let achieved = timing.flopsPerStep / perStep / 1e9
      var report: [JSONMember] = [
        ("bench", .string("train")), ("mode", .string(padded ? "padded" : "padding_free")),
        ("device", .string(config.device.description)), ("dtype", .string(config.baseDType.recipeText)),
        ("batch_size", .int(config.perDeviceTrainBatchSize)), ("max_length", .int(config.maxLength)),
        ("lora_r", .int(config.lora.rank)),
        ("steps", .int(timing.steps)), ("seconds_per_step", .rounded(perStep, places: 3)),
        ("pairs_per_second", .rounded(pairs / perStep, places: 3)),
        ("tokens_per_second", .rounded(timing.tokensPerSecond, places: 1)),
        ("computed_positions_per_second", .rounded(timing.positionsPerSecond, places: 1)),
        ("flops_per_step", .rounded(timing.flopsPerStep, places: 0)),
        ("achieved_gflops", .rounded(achieved, places: 1)),
        ("matmul_peak_gflops", .rounded(peak, places: 1)), ("mfu", .rounded(achieved / peak, places: 3)),
        ("threads", .int(Torch.threadCount)), ("peak_rss_mib", .rounded(peakRSSMiB(), places: 0)),
      ]
      if config.device.isCUDA {
        let stats = try CUDA.memoryStats(device: config.device.index)
        report.append(("peak_device_mib", .rounded(Double(stats.peakAllocated) / 1_048_576, places: 0)))
      }
      report.append(("final_loss", .rounded(summary.finalLoss ?? .nan, places: 4)))
      var evalOperators: [OperatorProfile.Row] = []
      if evalPairs > 0 {
        // The trained model over the held-out pairs, as the trainer evaluates (no graph, prompts shared like training).
        let pairs = Array(run.trainer.evalPairs.prefix(evalPairs))
        if profiling { try OperatorProfile.begin(shapes: profileShapes) }
        let started = Date()
        _ = try run.trainer.evaluation(pairs)
        if config.device.isCUDA { try CUDA.synchronize() }
        let seconds = Date().timeIntervalSince(started)
        evalOperators = profiling ? try OperatorProfile.end(limit: profileRows) : []
        let evalTokensPerSecond = Double(pairs.reduce(0) { $0 + $1.tokenCount }) / seconds
        report += [("eval_pairs", .int(pairs.count)), ("eval_batch_size", .int(config.perDeviceEvalBatchSize)),
                   ("eval_seconds", .rounded(seconds, places: 2)),
                   ("eval_tokens_per_second", .rounded(evalTokensPerSecond, places: 1)),
                   ("eval_to_train_tokens_per_second", .rounded(evalTokensPerSecond / timing.tokensPerSecond, places: 2))]
      }
      if let python = compareTRL {
        // Round 1 is the run above; later rounds train a fresh run of the same recipe and run TRL again, alternating,
        // so that a machine whose speed drifts (a shared host) weighs on both sides alike.
        _ = try Self.trlScript()  // a missing script is said before the model is converted for it
        let modelFolder = try trlModelFolder(run: run)
        // TRL trains on the same GPU: what our caching allocator holds beyond the live tensors goes back first.
        func releaseDeviceCache() throws { if config.device.isCUDA { try CUDA.emptyCache() } }
        try releaseDeviceCache()
        var trls = [try runTRL(python: python, run: run, modelFolder: modelFolder)]
        var ours = [(pairs: pairs / perStep, tokens: timing.tokensPerSecond)]
        for _ in 1..<rounds {
          let again = try time(try TrainingRun.prepare(config, randomWeights: shape), profiling: false)
          ours.append((pairs / again.secondsPerStep, again.tokensPerSecond))
          try releaseDeviceCache()
          trls.append(try runTRL(python: python, run: run, modelFolder: modelFolder))
        }
        report.append(("trl", trls[0]))
        func ratios(_ key: String) -> [Double] {
          zip(ours, trls).map { mine, trl in
            (key == "pairs_per_second" ? mine.pairs : mine.tokens) / (trl[first: key]?.doubleValue ?? .nan)
          }
        }
        if rounds > 1 {
          report.append(("rounds", .array(zip(zip(ours, trls), ratios("pairs_per_second")).map { round, ratio in
            .object([("pairs_per_second", .rounded(round.0.pairs, places: 3)),
                     ("trl_pairs_per_second", .rounded(round.1[first: "pairs_per_second"]?.doubleValue ?? .nan, places: 3)),
                     ("pairs_per_second_ratio", .rounded(ratio, places: 3))])
          })))
        }
        // Throughput ratios: the median over the rounds (round 1's alone with one round); memory: round 1's.
        for key in ["pairs_per_second", "tokens_per_second", "peak_rss_mib", "peak_device_mib"] {
          guard let mine = report.first(where: { $0.key == key })?.value.doubleValue,
                let theirs = trls[0][first: key]?.doubleValue, theirs > 0 else { continue }
          let ratio = key.hasSuffix("_per_second") ? Self.median(ratios(key)) : mine / theirs
          report.append(("\(key)_ratio", .rounded(ratio, places: 3)))
        }
      }
      let timedSteps = Double(max(timing.steps, 1))
      if profiling, json {
        report.append(("operators", .array(operators.map { row in
          .object([("name", .string(row.name)), ("self_seconds_per_step", .rounded(row.selfSeconds / timedSteps, places: 4)),
                   ("total_seconds_per_step", .rounded(row.totalSeconds / timedSteps, places: 4)),
                   ("calls_per_step", .rounded(Double(row.calls) / timedSteps, places: 1))])
        })))
        if !evalOperators.isEmpty {
          report.append(("eval_operators", .array(evalOperators.map { row in
            .object([("name", .string(row.name)), ("self_seconds", .rounded(row.selfSeconds, places: 4)),
                     ("total_seconds", .rounded(row.totalSeconds, places: 4)), ("calls", .int(row.calls))])
          })))
        }
      }
      if json {
        printJSON(.object(report))
        return
      }
      let width = report.map(\.key.count).max() ?? 0
      for (key, value) in report {
        print(key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + (value.stringValue ?? value.formatted(.serdeCompact)))
      }
      if profiling {
        print("\n  self s/step  total s/step  calls/step  operator")
        for row in operators {
          print(String(format: "%13.4f %13.4f %11.1f  ", row.selfSeconds / timedSteps, row.totalSeconds / timedSteps,
                       Double(row.calls) / timedSteps) + row.name)
        }
      }
      if !evalOperators.isEmpty {
        print("\n  evaluation: self s  total s       calls  operator")
        for row in evalOperators {
          print(String(format: "%13.4f %13.4f %11d  ", row.selfSeconds, row.totalSeconds, row.calls) + row.name)
        }
      }
    }

    /// One timed training run: its steps after the warm-up, the tokens and computed positions they took, the FLOPs
    /// they counted, and (when `profiling`) the operators that took their time.
    struct Timing {
      var summary: TrainingSummary
      var steps: Int
      var secondsPerStep: Double
      var tokensPerSecond: Double
      var positionsPerSecond: Double
      var flopsPerStep: Double
      var profiling: Bool
      var operators: [OperatorProfile.Row]
    }

    func time(_ run: PreparedRun, profiling wanted: Bool) throws -> Timing {
      let config = run.config
      let counter = StepFLOPs(model: run.model, trainsBase: config.finetuningType == .full)
      var stepWork: [(positions: Int, attended: Int)] = []
      var pending = (positions: 0, attended: 0)
      run.trainer.onMicroBatch = { pairs in
        let w = StepFLOPs.work(of: pairs, packed: config.paddingFree)
        pending = (pending.positions + w.positions, pending.attended + w.attended)
      }
      var marks: [(seconds: Double, tokens: Int)] = []
      var profiling = false
      run.trainer.onStep = { _, _, tokens, seconds in
        marks.append((seconds, tokens))
        stepWork.append(pending)
        pending = (0, 0)
        if wanted, marks.count == warmup, !profiling {
          profiling = (try? OperatorProfile.begin(shapes: profileShapes)) != nil
        }
      }
      let summary = try run.trainer.train()
      let operators = profiling ? try OperatorProfile.end(limit: profileRows) : []
      guard marks.count > warmup else {
        throw CLIError("the run stopped after \(marks.count) steps, not more than the \(warmup) warm-up steps")
      }
      let (t0, k0) = marks[warmup - 1]
      let (t1, k1) = marks[marks.count - 1]
      let timed = stepWork[warmup...]
      let positions = timed.reduce(0) { $0 + $1.positions }
      let flops = timed.reduce(0.0) { $0 + counter.training(positions: $1.positions, attended: $1.attended) }
      return Timing(summary: summary, steps: marks.count - warmup, secondsPerStep: (t1 - t0) / Double(marks.count - warmup),
                    tokensPerSecond: Double(k1 - k0) / (t1 - t0), positionsPerSecond: Double(positions) / (t1 - t0),
                    flopsPerStep: flops / Double(timed.count), profiling: profiling, operators: operators)
    }

    static func median(_ values: [Double]) -> Double {
      let sorted = values.sorted()
      return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Where TRL's side works: the converted model and TRL's output folder.
    static let trlWork = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-bench-trl")

    /// The run's model as a folder TRL loads: the folder itself, or a .gguf file converted once into `trlWork`.
    func trlModelFolder(run: PreparedRun) throws -> URL {
      let work = Self.trlWork
      try? FileManager.default.removeItem(at: work)
      try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
      if FileManager.default.fileExists(atPath: run.modelPath.appendingPathComponent("config.json").path) { return run.modelPath }
      let folder = work.appendingPathComponent("model")
      let (shape, parameters, _) = try Checkpoint.load(run.modelPath)
      let base = try LlamaForCausalLM(config: shape, parameters: parameters)
      try ModelExport.mergedModel(model: base, tokenizer: run.tokenizer, chatTemplate: try model.chatTemplateText(),
                                  dtype: .float32, to: folder, sourceDescription: run.modelPath.lastPathComponent)
      return folder
    }

    /// reference/trl_bench.py under `python`, on the same model (`modelFolder`: `trlModelFolder(run:)`'s),
    /// the same training rows and settings; its last stdout line, one JSON object.
    func runTRL(python: String, run: PreparedRun, modelFolder: URL) throws -> JSONValue {
      let config = run.config
      let script = try Self.trlScript()
      let work = Self.trlWork
      try? FileManager.default.removeItem(at: work.appendingPathComponent("out"))
      let rows: URL
      if let dir = run.dataDirectory {
        rows = dir.appendingPathComponent("train.jsonl")
      } else if let file = config.dataset, ["jsonl", "json"].contains(URL(fileURLWithPath: file).pathExtension.lowercased()) {
        rows = URL(fileURLWithPath: file)
      } else {
        throw CLIError("--compare-trl: the training rows must be the built-in set or a .jsonl/.json file TRL can read")
      }
      var arguments = [script.path, "--model", modelFolder.path, "--train", rows.path, "--steps", "\(steps)",
                       "--warmup", "\(warmup)", "--batch-size", "\(config.perDeviceTrainBatchSize)",
                       "--gradient-accumulation-steps", "\(config.gradientAccumulationSteps)",
                       "--max-length", "\(config.maxLength)", "--lora-r", "\(config.lora.rank)",
                       "--lora-alpha", "\(config.lora.alpha)", "--lora-dropout", "\(config.lora.dropout)",
                       "--beta", "\(config.beta)", "--learning-rate", "\(config.learningRate)", "--seed", "\(config.seed)",
                       "--threads", "\(Torch.threadCount)", "--device", config.device.isCUDA ? "cuda" : "cpu",
                       "--output-dir", work.appendingPathComponent("out").path]
      if case .names(let names) = config.lora.targetModules { arguments += ["--target-modules", names.joined(separator: ",")] }
      if config.bf16 { arguments.append("--bf16") }
      if config.fp16 { arguments.append("--fp16") }
      if config.gradientCheckpointing { arguments.append("--gradient-checkpointing") }
      let process = Process()
      process.executableURL = URL(fileURLWithPath: python.contains("/") ? python : "/usr/bin/env")
      process.arguments = python.contains("/") ? arguments : [python] + arguments
      let output = Pipe()
      process.standardOutput = output
      process.standardError = FileHandle.standardError
      try process.run()
      let bytes = output.fileHandleForReading.readDataToEndOfFile()
      process.waitUntilExit()
      guard process.terminationStatus == 0 else {
        throw CLIError("--compare-trl: \(python) \(script.lastPathComponent) exited with status \(process.terminationStatus)")
      }
      let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
      guard let last = lines.last, let value = try? JSONValue.parse(Data(last.utf8)), value.objectValue != nil else {
        throw CLIError("--compare-trl: \(script.lastPathComponent) printed no JSON object on its last line")
      }
      return value
    }

    /// reference/trl_bench.py in the working directory's repository, else in the one this binary was built from; an
    /// error naming where it looked when neither holds it.
    static func trlScript(file: String = #filePath) throws -> URL {
      let here = URL(fileURLWithPath: "reference/trl_bench.py")
      if FileManager.default.fileExists(atPath: here.path) { return here }
      let script = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("reference/trl_bench.py")
      guard FileManager.default.fileExists(atPath: script.path) else {
        throw CLIError("--compare-trl: \(script.path) is missing (run from the repository, which holds reference/trl_bench.py)")
      }
      return script
    }
  }
}

/// Peak resident memory of this process (VmHWM), in MiB.
func peakRSSMiB() -> Double {
  guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
  for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
    let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
    return kb / 1024
  }
  return .nan
}

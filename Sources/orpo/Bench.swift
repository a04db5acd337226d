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
    @Option(help: "Timed repetitions (the median is reported).") var repeats = 10
    @Option(help: "The matrices' dtype (default float32).") var dtype: DType?
    @Option(help: "Where to compute: cpu, cuda or cuda:N (default cpu).") var device: Device?

    func validate() throws {
      guard size >= 1, repeats >= 1 else { throw ValidationError("--size and --repeats must be at least 1") }
    }

    func run() throws {
      let (dtype, device) = (dtype ?? .float32, device ?? .cpu)
      if device.isCUDA, !CUDA.load().available { throw CLIError("--device \(device): CUDA is not usable here") }
      let g = try Generator(seed: 0)
      let a = try Tensor.randn([size, size], generator: g).to(dtype: dtype, device: device)
      let b = try Tensor.randn([size, size], generator: g).to(dtype: dtype, device: device)
      _ = try withNoGrad { try a.matmul(b) }  // warm-up
      var times: [Double] = []
      for _ in 0..<repeats {
        if device.isCUDA { try CUDA.synchronize() }
        let t = Date()
        _ = try withNoGrad { try a.matmul(b) }
        if device.isCUDA { try CUDA.synchronize() }
        times.append(Date().timeIntervalSince(t))
      }
      let median = times.sorted()[times.count / 2]
      let gflops = 2 * pow(Double(size), 3) / median / 1e9
      printJSON(.object([
        ("bench", .string("matmul")), ("n", .int(size)), ("dtype", .string(dtype.recipeText)),
        ("device", .string(device.description)), ("threads", .int(Torch.threadCount)),
        ("median_seconds", .rounded(median, places: 6)), ("gflops", .rounded(gflops, places: 1)),
      ]))
    }
  }

  struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Seconds per ORPO step, pairs/s and tokens/s on the default workload (no evaluation, no files).",
      usage: "orpo bench train [<options>]")
    @OptionGroup(title: "Model") var model: ModelOptions
    @Option(help: "Timed steps (after warm-up).") var steps = 10
    @Option(help: "Warm-up steps excluded from the timing.") var warmup = 2
    @Flag(help: "TRL's padded batch instead of prompt sharing.") var padded = false
    @Option(name: .customLong("set"), help: ArgumentHelp("Any recipe key, as KEY=VALUE (repeatable).", valueName: "key=value"))
    var settings: [String] = []
    @Option(name: .customLong("random-weights"),
            help: ArgumentHelp("Train a model of this config.json's shape (a file or its folder) with random weights, with the recipe model's tokenizer.",
                               valueName: "config"))
    var randomWeights: String?

    func validate() throws {
      guard steps >= 1, warmup >= 1 else { throw ValidationError("--steps and --warmup must be at least 1") }
      for setting in settings where !setting.dropFirst().contains("=") {
        throw ValidationError("--set expects KEY=VALUE, got \"\(setting)\"")
      }
    }

    func run() throws {
      let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-bench").path
      let verb = "orpo bench train"  // the settings the benchmark itself makes
      let overrides: [ConfigurationOverride] = [
        .flag("--steps", \.maxSteps, steps + warmup), .flag(verb, \.reportTo, [.none]), .flag(verb, \.saveSteps, nil),
        .flag(verb, \.syntheticTestSize, 1), .flag("--padded", \.paddingFree, !padded), .flag(verb, \.outputDir, scratch),
      ] + model.overrides + (try settings.map(ConfigurationOverride.init(setting:)))
      let config = try TrainingConfiguration.load(recipeText: DefaultRecipe.yaml, name: "built-in default recipe",
                                                  overrides: overrides)
      let shape = try randomWeights.map { path -> LlamaConfiguration in
        let url = URL(fileURLWithPath: path)
        return try LlamaConfiguration.load(url.pathExtension == "json" ? url : url.appendingPathComponent("config.json"))
      }
      let run = try TrainingRun.prepare(config, randomWeights: shape)
      var marks: [(seconds: Double, tokens: Int)] = []
      run.trainer.onStep = { _, _, tokens, seconds in marks.append((seconds, tokens)) }
      let summary = try run.trainer.train()
      guard marks.count > warmup else {
        throw CLIError("the run stopped after \(marks.count) steps, not more than the \(warmup) warm-up steps")
      }
      let (t0, k0) = marks[warmup - 1]
      let (t1, k1) = marks[marks.count - 1]
      let perStep = (t1 - t0) / Double(marks.count - warmup)
      let pairs = Double(config.perDeviceTrainBatchSize * config.gradientAccumulationSteps)
      var devicePeak: [JSONMember] = []
      if case .cuda(let index) = config.device {
        devicePeak = [("peak_device_mib", .rounded(Double(try CUDA.memoryStats(device: index).peakAllocated) / 1_048_576, places: 0))]
      }
      printJSON(.object([
        ("bench", .string("train")), ("mode", .string(padded ? "padded" : "padding_free")),
        ("steps", .int(marks.count - warmup)), ("seconds_per_step", .rounded(perStep, places: 3)),
        ("pairs_per_second", .rounded(pairs / perStep, places: 3)),
        ("tokens_per_second", .rounded(Double(k1 - k0) / (t1 - t0), places: 1)), ("threads", .int(Torch.threadCount)),
        ("peak_rss_mib", .rounded(peakRSSMiB(), places: 0)), ("final_loss", .rounded(summary.finalLoss ?? .nan, places: 4)),
      ] + devicePeak))
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

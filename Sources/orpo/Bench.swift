// Bench.swift — `orpo bench`: measured speed, side by side with what the reference tools do on the same machine.
import ArgumentParser
import Foundation
import ORPOKit

struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Benchmarks (matmul throughput through the Swift API; ORPO steps on the default workload).",
    subcommands: [Matmul.self, Train.self])

  struct Matmul: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "fp32 (or bf16) square matmul GFLOP/s through the Swift Tensor API.")
    @Option(help: "Matrix size n (n×n · n×n).") var size = 2048
    @Option(help: "Timed repetitions (the median is reported).") var repeats = 10
    @Option(help: "f32, bf16 or f16.") var dtype = "f32"
    @Option(help: "cpu or cuda[:N].") var device = "cpu"

    func run() throws {
      guard let dt = DType(name: dtype), dt.isFloatingPoint else { throw ValidationError("--dtype must be f32, bf16 or f16") }
      guard let dev = Device(parsing: device) else { throw ValidationError("--device must be cpu or cuda[:N]") }
      if dev.isCUDA, !CUDA.load().available { throw ValidationError("CUDA is not usable here") }
      let g = try Generator(seed: 0)
      let a = try Tensor.randn([size, size], generator: g).to(dtype: dt, device: dev)
      let b = try Tensor.randn([size, size], generator: g).to(dtype: dt, device: dev)
      _ = try withNoGrad { try a.matmul(b) }  // warm-up
      var times: [Double] = []
      for _ in 0..<repeats {
        if dev.isCUDA { try CUDA.synchronize() }
        let t = Date()
        _ = try withNoGrad { try a.matmul(b) }
        if dev.isCUDA { try CUDA.synchronize() }
        times.append(Date().timeIntervalSince(t))
      }
      let median = times.sorted()[times.count / 2]
      let gflops = 2 * pow(Double(size), 3) / median / 1e9
      print(String(format: "{\"bench\": \"matmul\", \"n\": %d, \"dtype\": \"%@\", \"device\": \"%@\", \"threads\": %d, \"median_seconds\": %.6f, \"gflops\": %.1f}",
                   size, dt.description, dev.description, Torch.threadCount, median, gflops))
    }
  }

  struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Seconds per ORPO step, pairs/s and tokens/s on the default workload (no evaluation, no files).")
    @Option(help: "Timed steps (after warm-up).") var steps = 10
    @Option(help: "Warm-up steps excluded from the timing.") var warmup = 2
    @Flag(name: .customLong("padded"), help: "TRL's padded batch instead of prompt sharing.") var padded = false
    @Option(name: .customLong("set"), help: "Any recipe key, as KEY=VALUE (repeatable).") var settings: [String] = []
    @Option(name: .customLong("random-weights"),
            help: "A model folder's config.json (or the folder): train a model of that shape with random weights, with the recipe model's tokenizer.")
    var randomWeights: String?

    func validate() throws {
      guard steps >= 1, warmup >= 1 else { throw ValidationError("--steps and --warmup must be at least 1") }
    }

    func run() throws {
      let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-bench").path
      let verb = "orpo bench train"  // the settings the benchmark itself makes
      let overrides: [ConfigurationOverride] = [
        .flag("--steps", \.maxSteps, steps + warmup), .flag(verb, \.reportTo, [.none]), .flag(verb, \.saveSteps, nil),
        .flag(verb, \.syntheticTestSize, 1), .flag("--padded", \.paddingFree, !padded), .flag(verb, \.outputDir, scratch),
      ] + (try settings.map(ConfigurationOverride.init(setting:)))
      let config = try TrainingConfiguration.load(recipeText: DefaultRecipe.yaml, name: "built-in default recipe",
                                                  overrides: overrides)
      let shape = try randomWeights.map { path -> LlamaConfiguration in
        let url = URL(fileURLWithPath: path)
        return try LlamaConfiguration.load(url.pathExtension == "json" ? url : url.appendingPathComponent("config.json"))
      }
      let run = try TrainingRun.prepare(config, randomWeights: shape)
      var marks: [(Double, Int)] = []
      run.trainer.onStep = { _, _, tokens, seconds in marks.append((seconds, tokens)) }
      let summary = try run.trainer.train()
      guard marks.count > warmup else { throw ValidationError("too few steps") }
      let (t0, k0) = marks[warmup - 1 < 0 ? 0 : warmup - 1]
      let (t1, k1) = marks[marks.count - 1]
      let timed = Double(marks.count - warmup)
      let perStep = (t1 - t0) / timed
      let pairs = Double(config.perDeviceTrainBatchSize * config.gradientAccumulationSteps)
      print(String(format: "{\"bench\": \"train\", \"mode\": \"%@\", \"steps\": %d, \"seconds_per_step\": %.3f, \"pairs_per_second\": %.3f, \"tokens_per_second\": %.1f, \"threads\": %d, \"peak_rss_mib\": %.0f, \"final_loss\": %.4f}",
                   padded ? "padded" : "padding_free", marks.count - warmup, perStep, pairs / perStep, Double(k1 - k0) / (t1 - t0),
                   Torch.threadCount, peakRSSMiB(), summary.finalLoss ?? .nan))
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

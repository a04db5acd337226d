// BenchMemory.swift — `orpo bench memory`: peak resident memory (and peak CUDA memory on a GPU) and seconds per step
// of the memory-saving set-ups, each run as `orpo bench train` in its own child process (this same binary), so that
// one set-up's high-water mark never hides another's.
import ArgumentParser
import Foundation
import ORPOKit

extension Bench {
  struct Memory: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Peak memory and s/step of f32 LoRA, bf16 LoRA, QLoRA, QLoRA + 8-bit AdamW + checkpointing and GaLore, each in its own process.",
      usage: "orpo bench memory [--model PATH] [--data FILE] [--steps N] [--json]")

    /// One set-up: its name in the output and the recipe keys it sets on top of the default recipe.
    struct Setup {
      let name: String
      let settings: [String]
    }

    static let qlora = ["quantization.load_in_4bit=true", "quantization.bnb_4bit_quant_type=nf4",
                        "quantization.bnb_4bit_use_double_quant=true", "quantization.bnb_4bit_compute_dtype=bfloat16"]
    /// The set-ups, in the order they run. The 8-bit AdamW and GaLore rows name TRL's `optim` values; a build
    /// without those optimizers reports the child's error in their row.
    static let setups: [Setup] = [
      Setup(name: "f32_lora", settings: ["torch_dtype=float32"]),
      Setup(name: "bf16_lora", settings: ["torch_dtype=bfloat16"]),
      Setup(name: "qlora", settings: qlora),
      Setup(name: "qlora_8bit_checkpointing",
            settings: qlora + ["gradient_checkpointing=true", "optim=paged_adamw_8bit"]),
      // The same on a .gguf model's own quantized blocks (`quantization: gguf`; an error row for other models).
      Setup(name: "gguf_8bit_checkpointing",
            settings: ["quantization=gguf", "gradient_checkpointing=true", "optim=paged_adamw_8bit"]),
      Setup(name: "galore", settings: ["finetuning_type=full", "torch_dtype=float32", "optim=galore_adamw",
                                       #"optim_target_modules=[".*self_attn.*", ".*mlp.*"]"#,
                                       "optim_args=rank=128,update_proj_gap=200,scale=0.25"]),
      Setup(name: "galore_8bit", settings: ["finetuning_type=full", "torch_dtype=float32", "optim=galore_adamw_8bit",
                                            #"optim_target_modules=[".*self_attn.*", ".*mlp.*"]"#,
                                            "optim_args=rank=128,update_proj_gap=200,scale=0.25",
                                            "weight_decay=0.01"]),  // GaLoreAdamW8bit's own; the default recipe says 0
    ]

    @Option(help: "A Hugging Face model folder or a .gguf file (default: SmolLM2-135M-Instruct from `make setup`).")
    var model: String?
    @Option(help: "Preference data (a file or a dataset folder; default: the built-in synthetic pairs).")
    var data: String?
    @Option(help: "Timed steps per set-up (after one warm-up step).") var steps = 3
    @Option(help: "Where to compute: cpu, cuda or cuda:N (default cpu).") var device: Device?
    @Option(help: ArgumentHelp("Run only these set-ups (comma-separated names).", valueName: "names"))
    var only: String?
    @Option(name: .customLong("set"), help: ArgumentHelp("A recipe key for every set-up, as KEY=VALUE (repeatable).", valueName: "key=value"))
    var settings: [String] = []
    @Flag(help: "Print one JSON object {set-up: {peak_rss_mib, s_per_step, …} or {error}}.") var json = false

    func validate() throws {
      guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
      for setting in settings where !setting.dropFirst().contains("=") {
        throw ValidationError("--set expects KEY=VALUE, got \"\(setting)\"")
      }
      let known = Set(Self.setups.map(\.name))
      for name in chosenNames where !known.contains(name) {
        throw ValidationError("--only: unknown set-up \"\(name)\" (expected some of \(Self.setups.map(\.name).joined(separator: ", ")))")
      }
    }

    var chosenNames: [String] {
      guard let only else { return Self.setups.map(\.name) }
      return only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    func run() throws {
      let names = Set(chosenNames)
      var rows: [JSONMember] = []
      for setup in Self.setups where names.contains(setup.name) {
        if !json { FileHandle.standardError.write(Data("bench memory: \(setup.name) …\n".utf8)) }
        rows.append((setup.name, measure(setup)))
      }
      if json {
        printJSON(.object(rows))
        return
      }
      print("set-up                      peak RSS MiB   s/step   peak device MiB")
      for (name, row) in rows {
        let label = name.padding(toLength: 28, withPad: " ", startingAt: 0)
        if let error = row[last: "error"]?.stringValue {
          print(label + "error: " + error)
          continue
        }
        func text(_ key: String, _ format: String) -> String {
          row[last: key]?.numberValue.map { String(format: format, $0.double) } ?? "-"
        }
        print(label + text("peak_rss_mib", "%.0f").leftPadded(12) + text("s_per_step", "%.2f").leftPadded(9)
              + text("peak_device_mib", "%.0f").leftPadded(18))
      }
    }

    /// Runs `orpo bench train` for `setup` in a child process and reads its JSON line.
    func measure(_ setup: Setup) -> JSONValue {
      var arguments = ["bench", "train", "--json", "--steps", String(steps), "--warmup", "1"]
      if let model { arguments += ["--model", model] }
      if let device { arguments += ["--device", device.description] }
      if let data { arguments += ["--set", "dataset=\(data)"] }
      for setting in setup.settings + settings { arguments += ["--set", setting] }
      do {
        let (status, output, errors) = try runChild(arguments)
        guard status == 0 else {
          let reason = errors.split(separator: "\n").last { $0.hasPrefix("Error:") || $0.contains("error") }
            ?? errors.split(separator: "\n").last ?? "exit status \(status)"
          return .object([("error", .string(reason.hasPrefix("Error: ") ? String(reason.dropFirst(7)) : String(reason)))])
        }
        guard let line = output.split(separator: "\n").last, let value = try? JSONValue.parse(String(line)),
              value.objectValue != nil
        else { return .object([("error", .string("the child printed no JSON object"))]) }
        var row: [JSONMember] = [("peak_rss_mib", value[last: "peak_rss_mib"] ?? .null),
                                 ("s_per_step", value[last: "seconds_per_step"] ?? .null)]
        if let peak = value[last: "peak_device_mib"] { row.append(("peak_device_mib", peak)) }
        return .object(row)
      } catch {
        return .object([("error", .string("\(error)"))])
      }
    }

    /// This executable with `arguments`; its exit status, standard output and standard error.
    func runChild(_ arguments: [String]) throws -> (Int32, String, String) {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
      process.arguments = arguments
      let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-bench-memory-\(getpid())")
      try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(at: scratch) }
      let out = scratch.appendingPathComponent("stdout"), err = scratch.appendingPathComponent("stderr")
      FileManager.default.createFile(atPath: out.path, contents: nil)
      FileManager.default.createFile(atPath: err.path, contents: nil)
      let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
      process.standardOutput = outHandle
      process.standardError = errHandle
      process.standardInput = FileHandle.nullDevice
      try process.run()
      process.waitUntilExit()
      try outHandle.close()
      try errHandle.close()
      return (process.terminationStatus, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
    }
  }
}

extension String {
  fileprivate func leftPadded(_ width: Int) -> String {
    count >= width ? self : String(repeating: " ", count: width - count) + self
  }
}

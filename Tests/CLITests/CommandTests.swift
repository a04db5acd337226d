// CommandTests.swift — the `orpo` command as a user meets it: version and env, data synthesis, models and adapters,
// and bad input. A usage mistake prints the message and the usage (exit status 64); a runtime failure prints one
// "Error: …" line naming the file, key, flag or --set argument at fault, without the usage (exit status 1).
import Foundation
import Testing

@Suite(.serialized, .enabled(if: OrpoProcess.executable != nil, "the orpo executable is not built beside the tests"))
struct CommandTests {
  let llama3Fixture = repositoryRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/llama3")
  let orpoFixture = repositoryRoot.appendingPathComponent("Tests/TrainingTests/Fixtures/orpo")

  func temporaryFolder(_ name: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-cli-\(name)-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }

  /// A runtime failure: exit status 1 and exactly `message` on stderr, no usage.
  func expectFailure(_ arguments: [String], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let run = try OrpoProcess.run(arguments)
    #expect(run.status == 1, "\(arguments)", sourceLocation: sourceLocation)
    #expect(run.errors == "Error: \(message)\n", sourceLocation: sourceLocation)
    #expect(run.output.isEmpty, sourceLocation: sourceLocation)
  }

  /// A usage mistake: exit status 64, `message` first, then the usage.
  func expectUsageError(_ arguments: [String], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let run = try OrpoProcess.run(arguments)
    #expect(run.status == 64, "\(arguments)", sourceLocation: sourceLocation)
    #expect(run.errors.hasPrefix("Error: \(message)\n"), "\(run.errors)", sourceLocation: sourceLocation)
    #expect(run.errors.contains("Usage: orpo \(arguments[0])"), sourceLocation: sourceLocation)
  }

  @Test func versionAndEnvironment() throws {
    let version = try OrpoProcess.run(["--version"])
    #expect(version.status == 0 && version.output == "0.1.0\n")
    let env = try OrpoProcess.run(["env", "--json"])
    #expect(env.status == 0 && env.errors.isEmpty)
    let info = try #require(try JSONSerialization.jsonObject(with: Data(env.output.utf8)) as? [String: Any])
    #expect((info["libtorch"] as? String)?.hasPrefix("2.") == true)
    #expect((info["threads"] as? Int ?? 0) >= 1)
    #expect(info["cuda_available"] is Bool && info["cuda_devices"] is Int)
    #expect(env.output.hasPrefix("{\"orpo\": \"0.1.0\", \"libtorch\": "), "keys in order, json.dumps spacing")
    #expect(info["cpu_attention_kernels"] as? [String] == ["math", "flash"])
    if info["cuda_available"] as? Bool == false {  // a CPU-only machine says so in one line, and lists no device
      #expect((info["cuda_note"] as? String)?.hasPrefix("no CUDA device (") == true)
      #expect(info["cuda:0"] == nil)
    }
  }

  /// `orpo selftest --device cpu` passes every check here (the CPU-vs-device checks compare the CPU with itself:
  /// exactly 0), in one JSON object with the checks in order.
  @Test func selftestPassesOnTheCPU() throws {
    let run = try OrpoProcess.run(["selftest", "--device", "cpu", "--json"])
    #expect(run.status == 0, "\(run.output)\(run.errors)")
    let report = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
    #expect(report["device"] as? String == "cpu" && report["passed"] as? Bool == true)
    let checks = try #require(report["checks"] as? [[String: Any]])
    #expect(checks.compactMap { $0["name"] as? String } == [
      "logits", "loss_and_gradients_fp32", "bf16_loss", "checkpointing_with_dropout", "attention_kernel", "block_attention",
      "resume_bit_identical", "gradient_all_reduce", "matmul_peak",
    ])
    #expect(checks.allSatisfy { $0["passed"] as? Bool == true })
    #expect((checks[0]["detail"] as? String)?.hasPrefix("max relative |Δ| 0 (cpu vs cpu") == true)
  }

  @Test(.enabled(if: !FileManager.default.fileExists(atPath: "/dev/nvidia0"))) func selftestOnCUDAWithoutOneFailsCleanly() throws {
    let run = try OrpoProcess.run(["selftest", "--device", "cuda"])
    #expect(run.status == 1 && run.output.isEmpty)
    #expect(run.errors.hasPrefix("Error: --device cuda:0: CUDA is not usable here ("), "\(run.errors)")
  }

  /// Every verb that runs a model takes --device; where CUDA does not start, each refuses it by that flag, and those
  /// that write a folder refuse before they make it.
  @Test(.enabled(if: !FileManager.default.fileExists(atPath: "/dev/nvidia0")))
  func aDeviceThatDoesNotStartIsRefusedBeforeAnythingIsWritten() throws {
    let dir = try temporaryFolder("device")
    defer { try? FileManager.default.removeItem(at: dir) }
    for (verb, extra) in [("train", [String]()), ("compare", []), ("sweep", ["--set", "beta=0.1,0.2"])] {
      let out = dir.appendingPathComponent(verb)
      let run = try OrpoProcess.run([verb, "--device", "cuda:1", "--max-steps", "1", "--output-dir", out.path] + extra)
      #expect(run.status == 1 && run.output.isEmpty, "\(verb): \(run.output)")
      #expect(run.errors.hasPrefix("Error: --device") && run.errors.contains(": CUDA is not usable here ("),
              "\(verb): \(run.errors)")
      #expect(!FileManager.default.fileExists(atPath: out.path), "\(verb) made \(out.path)")
    }
    for arguments in [["evaluate", "--data", "synthetic"], ["generate", "--prompt", "Hi"]] {
      let run = try OrpoProcess.run(arguments + ["--device", "cuda"])
      #expect(run.status == 1 && run.output.isEmpty, "\(arguments): \(run.output)")
      #expect(run.errors.hasPrefix("Error: --device cuda:0: CUDA is not usable here ("), "\(arguments): \(run.errors)")
    }
  }

  /// README.md's Commands block names exactly the verbs `orpo --help` lists.
  @Test func readmeListsEveryVerb() throws {
    let help = try OrpoProcess.run(["--help"]).output
    let listed = help.components(separatedBy: "SUBCOMMANDS:\n")[1].split(separator: "\n")
      .filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") && !$0.contains("See 'orpo help") }
      .map { String($0.split(separator: " ")[0]) }
    let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
    let commands = try #require(readme.components(separatedBy: "## Commands\n").dropFirst().first)
    let block = try #require(commands.components(separatedBy: "```").dropFirst().first)
    var documented: [String] = []
    for line in block.split(separator: "\n") where line.hasPrefix("orpo ") {
      let verb = String(line.split(separator: " ")[1])
      if !documented.contains(verb) { documented.append(verb) }
    }
    #expect(documented == listed, "README: \(documented), orpo --help: \(listed)")
  }

  @Test func dataSynthWritesTheSplits() throws {
    let dir = try temporaryFolder("synth")
    defer { try? FileManager.default.removeItem(at: dir) }
    let run = try OrpoProcess.run(["data", "synth", "--out", dir.path, "--train", "20", "--test", "5"])
    #expect(run.status == 0, "\(run.errors)")
    let train = try String(contentsOf: dir.appendingPathComponent("train.jsonl"), encoding: .utf8)
    let test = try String(contentsOf: dir.appendingPathComponent("test.jsonl"), encoding: .utf8)
    #expect(train.split(separator: "\n").count == 20 && test.split(separator: "\n").count == 5)
    let check = try OrpoProcess.run(["data", "check", dir.appendingPathComponent("train.jsonl").path])
    #expect(check.status == 0 && check.output.contains("20 valid rows"))
  }

  @Test func inspectPrintsTheFixtureFolder() throws {
    let text = try OrpoProcess.run(["inspect", llama3Fixture.path])
    #expect(text.status == 0)
    #expect(text.output.contains("architecture     LlamaForCausalLM (model_type llama)"))
    #expect(text.output.contains("parameters       21,664 (21.7K)"))
    let json = try OrpoProcess.run(["inspect", llama3Fixture.path, "--json"])
    let report = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
    #expect(report["architecture"] as? String == "LlamaForCausalLM" && report["parameters"] as? Int == 21_664)
  }

  /// `orpo export` builds the architecture config.json names (Qwen3, Phi-3, Gemma 3): the adapter is written again as the
  /// library writes it, the merge gives the weights transformers loaded (Fixtures/export_architectures,
  /// reference/check_architecture_export.py).
  @Test(arguments: ["qwen3", "phi3", "gemma3"])
  func exportEveryArchitecture(family: String) throws {
    let dir = try temporaryFolder("export-\(family)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let fixtures = repositoryRoot.appendingPathComponent("Tests/ModelsTests/Fixtures")
    let committed = fixtures.appendingPathComponent("export_architectures/\(family)")
    // The base model, with the tiny tokenizer of the committed merged folder (the fixture has none).
    let base = dir.appendingPathComponent("base")
    try FileManager.default.copyItem(at: fixtures.appendingPathComponent(family), to: base)
    for name in ["tokenizer.json", "tokenizer_config.json"] {
      try FileManager.default.copyItem(at: committed.appendingPathComponent("merged/\(name)"), to: base.appendingPathComponent(name))
    }
    let adapter = committed.appendingPathComponent("adapter")
    let out = dir.appendingPathComponent("adapter-out")
    let exported = try OrpoProcess.run(["export", "--model", base.path, "--adapter", adapter.path, "--out", out.path])
    #expect(exported.status == 0, "\(exported.errors)")
    #expect(try Data(contentsOf: out.appendingPathComponent("adapter_model.safetensors"))
              == Data(contentsOf: adapter.appendingPathComponent("adapter_model.safetensors")))
    let mergedOut = dir.appendingPathComponent("merged-out")
    let merged = try OrpoProcess.run(["export", "--model", base.path, "--adapter", adapter.path, "--merge", "--out", mergedOut.path])
    #expect(merged.status == 0, "\(merged.errors)")
    for name in ["model.safetensors", "config.json", "tokenizer.json"] {
      #expect(try Data(contentsOf: mergedOut.appendingPathComponent(name))
                == Data(contentsOf: committed.appendingPathComponent("merged/\(name)")), "\(family): \(name)")
    }
  }

  /// `orpo inspect org/name` reads the model from the Hugging Face cache (offline here).
  @Test func inspectTakesAHubID() throws {
    let dir = try temporaryFolder("inspect-hub")
    defer { try? FileManager.default.removeItem(at: dir) }
    let commit = String(repeating: "ab", count: 20)
    let repo = dir.appendingPathComponent("models--tiny-org--qwen3")
    try FileManager.default.createDirectory(at: repo.appendingPathComponent("refs"), withIntermediateDirectories: true)
    try commit.write(to: repo.appendingPathComponent("refs/main"), atomically: true, encoding: .utf8)
    try FileManager.default.createDirectory(at: repo.appendingPathComponent("snapshots"), withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/qwen3"),
                                     to: repo.appendingPathComponent("snapshots/\(commit)"))
    let environment = ["HF_HUB_CACHE": dir.path, "HF_HUB_OFFLINE": "1"]
    let text = try OrpoProcess.run(["inspect", "tiny-org/qwen3"], environment: environment)
    #expect(text.status == 0, "\(text.errors)")
    #expect(text.output.contains("architecture     Qwen3ForCausalLM (model_type qwen3)"))
    #expect(text.output.contains("path             \(repo.path)/snapshots/\(commit)"))
    let missing = try OrpoProcess.run(["inspect", "tiny-org/absent"], environment: environment)
    #expect(missing.status == 1 && missing.errors.contains("HF_HUB_OFFLINE is set"))
  }

  /// fp16 on the CPU trains, with a warning that it is slow there and that bf16 is the CPU's half precision.
  @Test func fp16OnTheCPUWarns() throws {
    let dir = try temporaryFolder("fp16")
    defer { try? FileManager.default.removeItem(at: dir) }
    let common = ["train", "--model", orpoFixture.path, "--data", orpoFixture.appendingPathComponent("data.jsonl").path,
                  "--max-steps", "1", "--per-device-train-batch-size", "2", "--set", "max_length=64",
                  "--set", "report_to=jsonl"]
    let fp16 = try OrpoProcess.run(common + ["--output-dir", dir.appendingPathComponent("fp16").path, "--set", "fp16=true"])
    #expect(fp16.status == 0, "\(fp16.errors)")
    #expect(fp16.errors.contains("orpo: warning: fp16 on the CPU: libtorch's float16 matrix products are slow"))
    let bf16 = try OrpoProcess.run(common + ["--output-dir", dir.appendingPathComponent("bf16").path, "--set", "bf16=true"])
    #expect(bf16.status == 0 && !bf16.errors.contains("warning: fp16"), "\(bf16.errors)")
  }

  /// Flags, `--set` and recipe files: the error names the one that set the bad value.
  @Test func configurationErrorsNameTheirSource() throws {
    let dir = try temporaryFolder("config")
    defer { try? FileManager.default.removeItem(at: dir) }
    try expectFailure(["train", "--beta=-1"], "--beta: must be >= 0, got -1")
    try expectFailure(["train", "--set", "learning_rat=1"],
                      "--set learning_rat=1: unknown key \"learning_rat\" (did you mean \"learning_rate\"?)")
    try expectFailure(["train", "--set", "device=cuda:O"], "--set device=cuda:O: expected cpu, cuda or cuda:N, found \"cuda:O\"")
    let recipe = dir.appendingPathComponent("recipe.yaml")
    try "seed: 3\nmax_steps: many\n".write(to: recipe, atomically: true, encoding: .utf8)
    try expectFailure(["train", "--config", recipe.path], "\(recipe.path):2: key \"max_steps\": expected a whole number, found \"many\"")
    try "device: cuda:O\n".write(to: recipe, atomically: true, encoding: .utf8)
    try expectFailure(["train", "--config", recipe.path], "\(recipe.path):1: key \"device\": expected cpu, cuda or cuda:N, found \"cuda:O\"")
    try expectUsageError(["train", "--device", "cuda:O"], "The value 'cuda:O' is invalid for '--device <device>'")
    try expectUsageError(["train", "--set", "beta"], "--set expects KEY=VALUE, got \"beta\"")
    let keys = try OrpoProcess.run(["train", "--list-keys"])
    #expect(keys.status == 0 && keys.output.contains("\nbeta ") && keys.output.contains("a number; must be >= 0; default 0.1"))
  }

  @Test func usageMistakesShowTheUsage() throws {
    try expectUsageError(["generate", "--prompt", "a", "--chat", "b"], "give exactly one of --prompt TEXT or --chat TEXT")
    try expectUsageError(["evaluate", "--beta=-1"], "--beta must be >= 0, got -1")
    try expectUsageError(["evaluate", "--max-length", "1"], "--max-length must be at least 2, got 1")
    try expectUsageError(["export", "--out", "/tmp/x"], "--adapter is required unless --merge is given (a plain conversion)")
    try expectUsageError(["export", "--out", "/tmp/x.gguf", "--format", "gguf", "--adapter", "/tmp/a"],
                         "--format gguf writes a merged model: add --merge")
    try expectUsageError(["export", "--out", "/tmp/x", "--merge", "--quant", "q8_0"], "--quant applies to --format gguf")
    try expectUsageError(["export", "--out", "/tmp/x.gguf", "--merge", "--format", "gguf", "--dtype", "float16"],
                         "--dtype applies to --format hf; GGUF takes --quant")
    try expectUsageError(["export", "--out", "/tmp/x.gguf", "--merge", "--format", "gguf", "--quant", "q2_k"],
                         "The value 'q2_k' is invalid for '--quant <quant>'. Please provide one of the following:\n  - f32\n  - f16\n  - bf16\n  - q8_0\n  - q4_0\n  - q4_k_m")
    try expectUsageError(["bench", "matmul", "--dtype", "int8"],
                         "The value 'int8' is invalid for '--dtype <dtype>'. Please provide one of 'float32', 'bfloat16' or 'float16'.")
  }

  @Test func runtimeFailuresAreOneLine() throws {
    let dir = try temporaryFolder("bad")
    defer { try? FileManager.default.removeItem(at: dir) }
    try expectFailure(["generate", "--model", "/nonexistent/model.gguf", "--prompt", "hi"],
                      "/nonexistent/model.gguf: no such file or folder")
    try expectFailure(["generate", "--model", llama3Fixture.path, "--prompt", "hi"],
                      "\(llama3Fixture.path): no tokenizer.json (a model folder needs its tokenizer to generate text)")
    let config = llama3Fixture.appendingPathComponent("config.json").path
    try expectFailure(["inspect", config], "\(config): expected a Hugging Face model folder or a .gguf file")
    let data = dir.appendingPathComponent("bad.jsonl")
    try "{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"b\"}\n{\"prompt\": \"q\", \"chosen\": [1], \"rejected\": \"b\"}\n"
      .write(to: data, atomically: true, encoding: .utf8)
    let row = try OrpoProcess.run(["data", "check", data.path])
    #expect(row.status == 1 && row.errors.hasPrefix("Error: bad.jsonl:2: ") && row.errors.contains("chosen"))
    #expect(!row.errors.contains("Usage"))
    let skipped = try OrpoProcess.run(["data", "check", data.path, "--skip-invalid"])
    #expect(skipped.status == 0 && skipped.output.contains("1 valid rows"))
    let none = dir.appendingPathComponent("none.jsonl").path
    try expectFailure(["evaluate", "--model", orpoFixture.path, "--data", none], "\(none): no such file or folder")
    let out = dir.appendingPathComponent("run")
    let model = try OrpoProcess.run(["train", "--model", dir.appendingPathComponent("nope.gguf").path, "--output-dir", out.path])
    #expect(model.status == 1 && model.errors.hasSuffix("Error: \(dir.path)/nope.gguf: no such file or folder\n"))
    #expect(!FileManager.default.fileExists(atPath: out.path), "a failed run leaves no output folder")
  }

  /// `orpo evaluate` on the TRL fixture model: one JSON object with TRL's metric names, in TRL's order.
  @Test func evaluatePrintsOneJSONObject() throws {
    let run = try OrpoProcess.run(["evaluate", "--model", orpoFixture.path, "--data", orpoFixture.appendingPathComponent("data.jsonl").path,
                                   "--max-length", "64"])
    #expect(run.status == 0, "\(run.errors)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
    #expect(object["eval_pairs"] as? Int ?? 0 > 0 && object["eval_loss"] is Double)
    #expect(run.output.hasPrefix("{\"eval_loss\": "))
  }

  /// `orpo bench train --eval-pairs N --profile --json` on the tiny fixture model: the evaluation's tokens/s beside
  /// training's, and the operators of the timed steps and of the evaluation; without held-out pairs it stops before
  /// training, saying so.
  @Test func benchTrainTimesEvaluationAndProfiles() throws {
    let data = orpoFixture.appendingPathComponent("data.jsonl").path
    let common = ["bench", "train", "--model", orpoFixture.path, "--data", data, "--steps", "1", "--warmup", "1",
                  "--eval-pairs", "4", "--set", "per_device_train_batch_size=2", "--set", "max_length=64"]
    let run = try OrpoProcess.run(common + ["--set", "eval_dataset=\(data)", "--profile", "--json"])
    #expect(run.status == 0, "\(run.errors)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
    #expect(object["eval_pairs"] as? Int == 4)
    #expect((object["eval_tokens_per_second"] as? Double ?? 0) > 0 && (object["eval_to_train_tokens_per_second"] as? Double ?? 0) > 0)
    for key in ["operators", "eval_operators"] {
      let rows = try #require(object[key] as? [[String: Any]], "\(key)")
      #expect(rows.contains { ($0["name"] as? String) == "aten::mm" }, "\(key)")
    }
    // Told apart by shape, the matrix products add up to the same calls (the gate/up projections, [tokens, 32] by
    // [32, 64]ᵀ, among them): none is lost to a failed read of its operands.
    let shaped = try OrpoProcess.run(common + ["--set", "eval_dataset=\(data)", "--profile-shapes", "--profile-rows", "1000", "--json"])
    #expect(shaped.status == 0, "\(shaped.errors)")
    let shapedObject = try #require(try JSONSerialization.jsonObject(with: Data(shaped.output.utf8)) as? [String: Any])
    for key in ["operators", "eval_operators"] {
      let plain = try #require(object[key] as? [[String: Any]]), rows = try #require(shapedObject[key] as? [[String: Any]])
      func calls(_ rows: [[String: Any]], _ match: (String) -> Bool) -> Double {
        rows.filter { match($0["name"] as? String ?? "") }
          .reduce(0) { $0 + (($1["calls"] ?? $1["calls_per_step"]) as? NSNumber)!.doubleValue }
      }
      let mm = calls(plain) { $0 == "aten::mm" }
      #expect(mm > 0 && calls(rows) { $0.hasPrefix("aten::mm [") } == mm, "\(key)")
      #expect(rows.contains { ($0["name"] as? String ?? "").hasSuffix("[32, 64]t") }, "\(key)")
    }
    let refused = try OrpoProcess.run(common)
    #expect(refused.status != 0)
    #expect(refused.errors.contains("--eval-pairs 4: the data has no held-out pairs"), "\(refused.errors)")
  }

  /// `orpo bench train --compare-trl PYTHON --rounds 3`: ours and TRL's reference script alternate three times (a
  /// stand-in script here, answering 1, 2 and 4 pairs/s and noting each call), each round's ratio is listed and the
  /// reported ratio is their median; memory's ratio is round 1's. `--rounds` without `--compare-trl` is refused.
  @Test func benchTrainComparesWithTRLInAlternatingRounds() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-rounds-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let calls = folder.appendingPathComponent("calls"), python = folder.appendingPathComponent("python")
    try """
      #!/bin/sh
      echo "$*" >> '\(calls.path)'
      n=$(wc -l < '\(calls.path)')
      echo "TRL's own output"
      echo "{\\"pairs_per_second\\": $((1 << (n - 1))), \\"tokens_per_second\\": 100, \\"peak_rss_mib\\": 4096}"
      """.write(to: python, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: python.path)
    let data = orpoFixture.appendingPathComponent("data.jsonl").path
    let run = try OrpoProcess.run(["bench", "train", "--model", orpoFixture.path, "--data", data, "--steps", "1",
                                   "--warmup", "1", "--set", "per_device_train_batch_size=2", "--set", "max_length=64",
                                   "--compare-trl", python.path, "--rounds", "3", "--json"])
    #expect(run.status == 0, "\(run.errors)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
    let rounds = try #require(object["rounds"] as? [[String: Any]])
    #expect(rounds.map { $0["trl_pairs_per_second"] as? Double } == [1, 2, 4])
    let ratios = rounds.compactMap { $0["pairs_per_second_ratio"] as? Double }
    #expect(ratios.count == 3 && object["pairs_per_second_ratio"] as? Double == ratios.sorted()[1], "\(object)")
    for round in rounds {
      let ours = try #require(round["pairs_per_second"] as? Double), theirs = try #require(round["trl_pairs_per_second"] as? Double)
      #expect(abs(try #require(round["pairs_per_second_ratio"] as? Double) - ours / theirs) < 0.002 * ours / theirs)
    }
    let rss = try #require(object["peak_rss_mib"] as? Double)
    #expect(abs(try #require(object["peak_rss_mib_ratio"] as? Double) - rss / 4096) < 0.001)
    let invocations = try String(contentsOf: calls, encoding: .utf8).split(separator: "\n")
    #expect(invocations.count == 3 && Set(invocations).count == 1 && invocations[0].contains("--steps 1 --warmup 1 --batch-size 2"),
            "\(invocations)")
    try expectUsageError(["bench", "train", "--rounds", "2"], "--rounds 2 needs --compare-trl (the rounds alternate ours and TRL's)")
  }

  /// `orpo bench memory --json` on the tiny fixture model: one object, one member per set-up asked for, in order,
  /// each with its child process's peak RSS and s/step — or an error when the set-up cannot run in this build.
  @Test func benchMemoryPrintsOneObjectPerSetUp() throws {
    let run = try OrpoProcess.run(["bench", "memory", "--model", orpoFixture.path, "--steps", "1", "--json",
                                   "--data", orpoFixture.appendingPathComponent("data.jsonl").path,
                                   "--only", "f32_lora,qlora,galore", "--set", "per_device_train_batch_size=2",
                                   "--set", "max_length=64"])
    #expect(run.status == 0, "\(run.errors)")
    #expect(run.output.hasPrefix("{\"f32_lora\": {\"peak_rss_mib\": ") && run.output.split(separator: "\n").count == 1)
    let object = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: [String: Any]])
    #expect(Set(object.keys) == ["f32_lora", "qlora", "galore"])
    for name in ["f32_lora", "qlora"] {
      let row = try #require(object[name])
      #expect((row["peak_rss_mib"] as? Double ?? 0) > 50 && (row["s_per_step"] as? Double ?? 0) > 0, "\(name): \(row)")
    }
    let galore = try #require(object["galore"])
    #expect(galore["error"] is String || galore["peak_rss_mib"] is Double, "\(galore)")
    try expectUsageError(["bench", "memory", "--only", "f32"],
                         "--only: unknown set-up \"f32\" (expected some of f32_lora, bf16_lora, qlora, qlora_8bit_checkpointing, gguf_8bit_checkpointing, galore, galore_8bit)")
  }

  /// With --generations and --samples, evaluate adds the measurements orpo compare reports. On the fixture's first 8
  /// rows with its initial adapter in one batch, the numbers are TRL 1.16's trainer.evaluate() (expected.json's
  /// `eval`): loss, NLL, accuracy, and the margin as the difference of average log-probs (ModelEvaluationTests checks
  /// the chosen answers' NLL against a forward pass over TRL's tokenized rows).
  @Test func evaluateMeasuresGenerations() throws {
    let dir = try temporaryFolder("evaluate")
    defer { try? FileManager.default.removeItem(at: dir) }
    let rows = try String(contentsOf: orpoFixture.appendingPathComponent("data.jsonl"), encoding: .utf8)
      .split(separator: "\n").prefix(8)
    let data = dir.appendingPathComponent("eight.jsonl")
    try (rows.joined(separator: "\n") + "\n").write(to: data, atomically: true, encoding: .utf8)
    let run = try OrpoProcess.run(["evaluate", "--model", orpoFixture.path, "--adapter", orpoFixture.appendingPathComponent("adapter_init").path,
                                   "--data", data.path, "--max-length", "64", "--per-device-eval-batch-size", "8",
                                   "--generations", "2", "--samples", "3", "--max-new-tokens", "4"])
    #expect(run.status == 0, "\(run.errors)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
    let expected = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: orpoFixture.appendingPathComponent("expected.json")))
      as? [String: Any])
    let trl = try #require(expected["eval"] as? [String: Double])
    func value(_ key: String) -> Double { (object[key] as? NSNumber)?.doubleValue ?? .nan }
    #expect(abs(value("eval_loss") - trl["eval_loss"]!) <= 1e-5 * trl["eval_loss"]!, "eval_loss \(value("eval_loss"))")
    #expect(abs(value("eval_nll_loss") - trl["eval_nll_loss"]!) <= 1e-5 * trl["eval_nll_loss"]!)
    // The margin is TRL's rewards/margins over β, the same log-probs measured by the compare path (ModelEvaluation);
    // TRL's evaluate() kernels differ from ours by ~1e-5 relative in the log-probs, ~1e-4 absolute in their difference.
    #expect(abs(value("reward_margin") - value("eval_rewards/margins") / 0.1) < 1e-6)
    #expect(abs(value("reward_margin") - (trl["eval_logps/chosen"]! - trl["eval_logps/rejected"]!)) < 2e-4)
    // NLL of the chosen answers' completion tokens (TRL's eval_nll_loss also counts the prompt's), per token.
    #expect(value("nll") > 0 && abs(value("perplexity") - exp(value("nll"))) <= 1e-9 * value("perplexity"))
    #expect(value("eval_accuracy") == trl["eval_rewards/accuracies"] && object["eval_pairs"] as? Int == 8)
    for key in ["rouge1", "rouge2", "rougeL"] { #expect((0...1).contains(value(key)), "\(key)") }
    // ROUGE over the 2 asked-for answers; 3 samples shown beside their references (the chosen answers).
    #expect(object["generations"] as? Int == 2)
    let samples = try #require(object["samples"] as? [[String: String]])
    #expect(samples.map { $0["reference"] } == ["10 plus 38 is 48.", "8 plus 59 is 67.", "24 plus 16 is 40."])
    #expect(samples.first?["prompt"]?.hasPrefix("What is 10 plus 38?") == true && samples.allSatisfy { $0["generation"] != nil })
  }

  /// judge: two runs' answers to the same prompts, each read in both orders; prompts that differ are refused.
  @Test func judgeTalliesTwoRuns() throws {
    let dir = try temporaryFolder("judge")
    defer { try? FileManager.default.removeItem(at: dir) }
    func answers(_ name: String, _ rows: [(String, String)]) throws -> String {
      let file = dir.appendingPathComponent(name)
      let lines = try rows.map { prompt, answer in
        String(decoding: try JSONSerialization.data(withJSONObject: ["prompt": prompt, "reference": "", "generation": answer],
                                                     options: [.sortedKeys]), as: UTF8.self)
      }
      try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
      return file.path
    }
    let a = try answers("a.jsonl", [("What is 1 plus 2?", "1 plus 2 is 3."), ("What is 2 plus 2?", "2 plus 2 is 4."),
                                    ("What is 3 plus 4?", "3 plus 4 is 7.")])
    let b = try answers("b.jsonl", [("What is 1 plus 2?", "blue cat"), ("What is 2 plus 2?", "the mat"),
                                    ("What is 3 plus 4?", "sum of red")])
    let template = dir.appendingPathComponent("template.jinja")
    try "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"
      .write(to: template, atomically: true, encoding: .utf8)
    let run = try OrpoProcess.run(["judge", "--model", orpoFixture.path, "--chat-template", template.path, "--a", a, "--b", b])
    #expect(run.status == 0, "\(run.errors)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
    let counts = ["wins", "ties", "losses"].map { object[$0] as? Int ?? -1 }
    #expect(counts.allSatisfy { $0 >= 0 } && counts.reduce(0, +) == 3 && object["prompts"] as? Int == 3)
    let rate = try #require(object["win_rate"] as? Double)
    #expect(abs(rate - (Double(counts[0]) + 0.5 * Double(counts[1])) / 3) < 1e-12)
    #expect((object["ci95"] as? [Double])?.count == 2)
    let other = try answers("c.jsonl", [("What is 9 plus 9?", "18"), ("What is 2 plus 2?", "4"), ("What is 3 plus 4?", "7")])
    try expectFailure(["judge", "--model", orpoFixture.path, "--chat-template", template.path, "--a", a, "--b", other],
                      "answer 1: the prompts of \(a) and \(other) differ; judge runs answering the same prompts")
  }

  /// generate, evaluate and export read adapters through the same loader: a DoRA adapter is refused by all three
  /// with the same message.
  @Test func everyVerbRefusesADoRAAdapter() throws {
    let dir = try temporaryFolder("dora")
    defer { try? FileManager.default.removeItem(at: dir) }
    let dora = dir.appendingPathComponent("dora")
    try FileManager.default.createDirectory(at: dora, withIntermediateDirectories: true)
    let config = orpoFixture.appendingPathComponent("adapter_init/adapter_config.json")
    var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: config)) as? [String: Any])
    object["use_dora"] = true
    try JSONSerialization.data(withJSONObject: object).write(to: dora.appendingPathComponent("adapter_config.json"))
    try FileManager.default.copyItem(at: orpoFixture.appendingPathComponent("adapter_final.safetensors"),
                                     to: dora.appendingPathComponent("adapter_model.safetensors"))
    let message = "\(dora.appendingPathComponent("adapter_config.json").path): use_dora: true asks for DoRA, which orpo-swift cannot apply"
    let base = orpoFixture.path
    try expectFailure(["generate", "--model", base, "--adapter", dora.path, "--prompt", "What is 2 plus 3?", "--max-new-tokens", "2"], message)
    try expectFailure(["evaluate", "--model", base, "--adapter", dora.path, "--data", orpoFixture.appendingPathComponent("data.jsonl").path], message)
    try expectFailure(["export", "--model", base, "--adapter", dora.path, "--out", dir.appendingPathComponent("out").path], message)
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
  }

  @Test(.enabled(if: defaultModelURL() != nil, "the default model is missing: run `make setup`"))
  func greedyChatAnswersTheQuestion() throws {
    let run = try OrpoProcess.run(["generate", "--model", defaultModelURL()!.path, "--chat", "What is the capital of France?",
                                   "--temperature", "0", "--max-new-tokens", "16"])
    #expect(run.status == 0)
    #expect(run.output == "The capital of France is Paris.\n")
    #expect(run.errors.contains("tokens/s"))
  }
}

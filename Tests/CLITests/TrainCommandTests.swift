// TrainCommandTests.swift — what `orpo train` leaves behind, read back with the library: a full fine-tune is a
// Hugging Face folder (the same writer as `orpo export --merge`), with trained weights.
import Foundation
import Models
import Testing
import Torch

@Suite(.serialized, .enabled(if: OrpoProcess.executable != nil, "the orpo executable is not built beside the tests"))
struct TrainCommandTests {
  let base = repositoryRoot.appendingPathComponent("Tests/TrainingTests/Fixtures/orpo")

  func listing(_ folder: URL) -> [String] {
    (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String] ?? []).sorted()
  }

  /// `finetuning_type: full` saves the trained model as a Hugging Face folder (which reference/check_export.py loads
  /// with AutoModelForCausalLM), not a bare safetensors file.
  @Test func fullFineTuneIsSavedAsAHuggingFaceFolder() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-full-ft-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("run")
    let run = try OrpoProcess.run(["train", "--model", base.path, "--data", base.appendingPathComponent("data.jsonl").path,
                                   "--output-dir", out.path, "--set", "finetuning_type=full", "--set", "max_steps=2",
                                   "--set", "per_device_train_batch_size=2", "--set", "learning_rate=1e-3",
                                   "--set", "report_to=none", "--set", "max_length=64"])
    #expect(run.status == 0, "\(run.errors)")
    let folder = out.appendingPathComponent("model")
    #expect(listing(folder) == ["README.md", "config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                                "tokenizer_config.json"])
    for name in ["tokenizer.json", "tokenizer_config.json"] {
      #expect(try Data(contentsOf: folder.appendingPathComponent(name)) == Data(contentsOf: base.appendingPathComponent(name)))
    }
    let config = try LlamaConfiguration.load(folder.appendingPathComponent("config.json"))
    #expect(config.architectures == ["LlamaForCausalLM"] && config.torchDtype == "float32" && !config.tiesEmbeddings)
    let card = try String(contentsOf: folder.appendingPathComponent("README.md"), encoding: .utf8)
    #expect(card.contains("a full ORPO fine-tune of orpo (2 steps)") && !card.contains("LoRA"))
    // The trained weights, not the base ones.
    let trained = try ModelLoader.load(folder)
    let (baseConfig, parameters, _) = try Checkpoint.load(base)
    let baseModel = try LlamaForCausalLM(config: baseConfig, parameters: parameters)
    let ids = try Tensor([1, 17, 230, 5] as [Int64], shape: [1, 4])
    let change = try withNoGrad {
      try (trained.model(ids).to(dtype: .float64) - baseModel(ids).to(dtype: .float64)).abs().max().item()
    }
    #expect(change > 1e-4)
  }

  /// `orpo train` records run.json and ends with the doctor's findings; `orpo doctor --json` reads the folder back;
  /// `orpo sweep` trains once per value and writes one row per value to sweep.json.
  @Test func doctorAndSweepReadTheRunFolders() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-doctor-cli-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let data = base.appendingPathComponent("data.jsonl").path
    let common = ["--model", base.path, "--set", "max_steps=3", "--set", "per_device_train_batch_size=2",
                  "--set", "report_to=jsonl", "--set", "max_length=64", "--set", "logging_steps=1", "--set", "probe_pairs=2"]
    let out = dir.appendingPathComponent("run")
    let run = try OrpoProcess.run(["train", "--data", data, "--output-dir", out.path, "--set", "beta=0.001"] + common)
    #expect(run.status == 0, "\(run.errors)")
    #expect(run.errors.contains("orpo doctor:\n  [warning] weak_preference_term: odds_ratio_share below 0.03 in 3 of 3"))
    let info = try String(contentsOf: out.appendingPathComponent("run.json"), encoding: .utf8)
    #expect(info.contains("\"beta\" : 0.001") && info.contains("\"max_length\" : 64") && info.contains("\"train_pairs\" : "))
    let metrics = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
    #expect(metrics.contains("\"odds_ratio_share\": ") && metrics.contains("\"rejected_gained\": "))
    let doctor = try OrpoProcess.run(["doctor", out.path, "--json"])
    #expect(doctor.status == 0 && doctor.output.hasPrefix("{\"findings\": [{\"id\": \"weak_preference_term\""))
    let missing = try OrpoProcess.run(["doctor", dir.appendingPathComponent("nothing").path])
    #expect(missing.status == 1 && missing.errors.contains("no metrics.jsonl"))

    let sweepDir = dir.appendingPathComponent("sweep")
    let sweep = try OrpoProcess.run(["sweep", "--set", "beta=0.05,0.5", "--set", "dataset=\(data)", "--set", "eval_dataset=\(data)",
                                     "--output-dir", sweepDir.path, "--generations", "2", "--max-new-tokens", "4"] + common)
    #expect(sweep.status == 0, "\(sweep.errors)")
    let lines = sweep.output.split(separator: "\n")
    #expect(lines.first?.hasPrefix("beta  accuracy  margin") == true && lines.count == 4)
    #expect(lines[1].hasPrefix("0.05 ") && lines[2].hasPrefix("0.5 "))
    let table = try String(contentsOf: sweepDir.appendingPathComponent("sweep.json"), encoding: .utf8)
    #expect(table.hasPrefix("{\"key\": \"beta\", \"steps\": 3, \"rows\": [{\"value\": \"0.05\""))
    #expect(FileManager.default.fileExists(atPath: sweepDir.appendingPathComponent("beta-0.5/metrics.jsonl").path))
    let twice = try OrpoProcess.run(["sweep", "--set", "beta=0.1,0.2", "--set", "seed=1,2"])
    #expect(twice.status == 64 && twice.errors.contains("beta is already swept"))
  }

  /// `report_to: mlflow` leaves a run in the file store MLFLOW_TRACKING_URI names: every recipe key as a param, the
  /// loss per logging step, FINISHED in meta.yaml, summary.json as an artifact (layout: RunMetricsTests' MLflowTests).
  @Test func mlflowRunIsWrittenBesideJSONL() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-mlflow-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("run")
    let mlruns = dir.appendingPathComponent("mlruns")
    let run = try OrpoProcess.run(["train", "--model", base.path, "--data", base.appendingPathComponent("data.jsonl").path,
                                   "--output-dir", out.path, "--set", "max_steps=2", "--set", "logging_steps=1",
                                   "--set", "per_device_train_batch_size=2", "--set", "report_to=[jsonl, mlflow]",
                                   "--set", "max_length=64"],
                                  environment: ["MLFLOW_TRACKING_URI": mlruns.absoluteString, "MLFLOW_EXPERIMENT_NAME": "cli"])
    #expect(run.status == 0, "\(run.errors)")
    let experiments = try FileManager.default.contentsOfDirectory(atPath: mlruns.path).filter { !$0.hasPrefix(".") && $0 != "0" }
    try #require(experiments.count == 1)
    let experiment = mlruns.appendingPathComponent(experiments[0])
    #expect(try String(contentsOf: experiment.appendingPathComponent("meta.yaml"), encoding: .utf8).contains("\nname: cli\n"))
    let runs = try FileManager.default.contentsOfDirectory(atPath: experiment.path).filter { $0 != "meta.yaml" }
    try #require(runs.count == 1)
    let runFolder = experiment.appendingPathComponent(runs[0])
    func text(_ path: String) throws -> String { try String(contentsOf: runFolder.appendingPathComponent(path), encoding: .utf8) }
    #expect(try text("meta.yaml").contains("\nstatus: 3\n"))
    #expect(try text("params/max_steps") == "2" && text("params/report_to") == "[jsonl, mlflow]")
    #expect(try text("tags/mlflow.runName") == out.path && text("tags/orpo.method") == "orpo")
    let losses = try text("metrics/loss").split(separator: "\n").map { $0.split(separator: " ") }
    #expect(losses.map { $0[2] } == ["1", "2"])
    // The same numbers as metrics.jsonl's train rows.
    let rows = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
      .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
      .filter { $0["split"] as? String == "train" && $0["loss"] != nil }
    #expect(rows.map { ($0["loss"] as? Double) ?? .nan } == losses.map { Double(String($0[1])) ?? 0 })
    #expect(FileManager.default.fileExists(atPath: runFolder.appendingPathComponent("artifacts/summary.json").path))
  }

  @Test func wandbIsExplainedNotIgnored() throws {
    let run = try OrpoProcess.run(["train", "--set", "report_to=wandb", "--dry-run"])
    #expect(run.status != 0)
    #expect(run.errors.contains("wandb sync --sync-tensorboard <output_dir>/tensorboard"), "\(run.errors)")
  }

  /// `--model org/name` trains from a Hugging Face cache (blobs, refs/main, snapshot links, as HubTests checks
  /// against huggingface_hub's own layout) with HF_HUB_OFFLINE=1; a model missing from it is one `Error:` line.
  @Test func modelByHubIDFromTheCache() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-hub-cli-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: dir) }
    let fm = FileManager.default
    let repo = dir.appendingPathComponent("hub/models--tiny-org--tiny-llama")
    let commit = String(repeating: "ab", count: 20)
    let snapshot = repo.appendingPathComponent("snapshots/\(commit)")
    try fm.createDirectory(at: snapshot, withIntermediateDirectories: true)
    try fm.createDirectory(at: repo.appendingPathComponent("blobs"), withIntermediateDirectories: true)
    try fm.createDirectory(at: repo.appendingPathComponent("refs"), withIntermediateDirectories: true)
    try commit.write(to: repo.appendingPathComponent("refs/main"), atomically: true, encoding: .utf8)
    for (index, name) in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"].enumerated() {
      let blob = String(format: "%040x", index + 1)
      try fm.copyItem(at: base.appendingPathComponent(name), to: repo.appendingPathComponent("blobs/\(blob)"))
      try fm.createSymbolicLink(atPath: snapshot.appendingPathComponent(name).path, withDestinationPath: "../../blobs/\(blob)")
    }
    let environment = ["HF_HOME": dir.path, "HF_HUB_OFFLINE": "1"]
    let out = dir.appendingPathComponent("run")
    let run = try OrpoProcess.run(["train", "--model", "tiny-org/tiny-llama", "--data", base.appendingPathComponent("data.jsonl").path,
                                   "--output-dir", out.path, "--set", "max_steps=1", "--set", "per_device_train_batch_size=2",
                                   "--set", "report_to=none", "--set", "max_length=64"], environment: environment)
    #expect(run.status == 0, "\(run.errors)")
    #expect(run.errors.contains("model: \(snapshot.path)"), "\(run.errors)")
    #expect(fm.fileExists(atPath: out.appendingPathComponent("adapter/adapter_model.safetensors").path))
    let adapterConfig = try String(contentsOf: out.appendingPathComponent("adapter/adapter_config.json"), encoding: .utf8)
    let adapterJSON = try JSONSerialization.jsonObject(with: Data(adapterConfig.utf8)) as? [String: Any]
    #expect(adapterJSON?["base_model_name_or_path"] as? String == "tiny-org/tiny-llama", "\(adapterConfig)")
    let missing = try OrpoProcess.run(["train", "--model", "tiny-org/absent@v2", "--dry-run"], environment: environment)
    #expect(missing.status == 1)
    #expect(missing.errors.contains("tiny-org/absent@v2 is not in the Hugging Face cache (\(dir.path)/hub/models--tiny-org--absent)"),
            "\(missing.errors)")
  }
}

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
}

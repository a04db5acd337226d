// Checkpoints.swift — output_dir/checkpoint-<step>/, written atomically by the main process and read back for a
// bit-identical resume: trainable.safetensors (weights), optimizer.safetensors (the optimizer's state),
// rng_state.safetensors (libtorch's CPU generator, and the CUDA one on CUDA), trainer_state.json (TrainerState), and adapter/ (PEFT) for LoRA.
import Foundation
import Models
import NN
import Support
import Torch

extension TrainerState {
  /// A log line of a window whose steps were all skipped holds NaN: written as Python's json writes it.
  static let nonFiniteNumbers = JSONEncoder.NonConformingFloatEncodingStrategy.convertToString(
    positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
  static let nonFiniteDecoding = JSONDecoder.NonConformingFloatDecodingStrategy.convertFromString(
    positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
}

extension Trainer {
  public var outputDirectory: URL { URL(fileURLWithPath: config.outputDir) }

  /// Writes checkpoint-<step>/ and removes older checkpoints beyond save_total_limit. Other processes than the main
  /// one write nothing (and get nil).
  @discardableResult
  public func saveCheckpoint() throws -> URL? {
    try readPendingMetrics()  // the window's sums go into trainer_state.json
    guard isMainProcess else { return nil }
    let folder = outputDirectory.appendingPathComponent("checkpoint-\(state.globalStep)")
    try withContext("writing \(folder.path)") {
      try checkWeightsAreFinite()
      try AtomicFolder.naming(folder) { try AtomicFolder.write(to: folder) { tmp in
        try fingerprint?.write(into: tmp)
        let weights = try trainable.map { ($0.key, try $0.tensor.detached().to(device: .cpu).contiguous()) }
        try SafeTensors.write(weights, metadata: ["format": "pt", "finetuning_type": config.finetuningType.rawValue],
                              to: tmp.appendingPathComponent("trainable.safetensors"))
        let optimizerState = try optimizer.state()
        try SafeTensors.write(try optimizerState.tensors.map { ($0.name, try $0.tensor.to(device: .cpu)) },
                              metadata: optimizerState.metadata, to: tmp.appendingPathComponent("optimizer.safetensors"))
        var rng = [("cpu", try Torch.rngState())]
        if config.device.isCUDA { rng.append(("cuda", try Torch.rngState(device: config.device))) }
        try SafeTensors.write(rng, metadata: nil, to: tmp.appendingPathComponent("rng_state.safetensors"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = TrainerState.nonFiniteNumbers
        try encoder.encode(state).write(to: tmp.appendingPathComponent("trainer_state.json"))
        if config.finetuningType == .lora {
          try PEFTAdapter.save(model, configuration: config.lora, baseModel: config.model,
                               baseVocabularySize: resizedVocabulary?.baseSize, tokenizer: resizedVocabulary?.tokenizer,
                               to: tmp.appendingPathComponent("adapter"))
        }
      } }
    }
    try pruneCheckpoints()
    onCheckpoint?(folder)
    return folder
  }

  /// Throws when a trainable weight holds a NaN or an infinity, naming it: such weights are never saved.
  public func checkWeightsAreFinite() throws {
    try withNoGrad {
      for (key, tensor) in trainable where !(try tensor.abs().max().item()).isFinite {
        throw TrainingError("\(key) holds NaN or infinite values after step \(state.globalStep); nothing was saved (lower learning_rate)")
      }
    }
  }

  private func pruneCheckpoints() throws {
    guard let limit = config.saveTotalLimit else { return }
    for step in Self.checkpointSteps(in: outputDirectory).dropLast(limit) {
      try? FileManager.default.removeItem(at: outputDirectory.appendingPathComponent("checkpoint-\(step)"))
    }
  }

  /// The steps of the checkpoint-<step> folders in `outputDir`, ascending.
  static func checkpointSteps(in outputDir: URL) -> [Int] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: outputDir.path)) ?? []
    return names.compactMap { $0.hasPrefix("checkpoint-") ? Int($0.dropFirst("checkpoint-".count)) : nil }.sorted()
  }

  /// The newest checkpoint-<step> folder in output_dir, if any.
  public static func latestCheckpoint(in outputDir: URL) -> URL? {
    checkpointSteps(in: outputDir).last.map { outputDir.appendingPathComponent("checkpoint-\($0)") }
  }

  /// Restores weights, optimizer, RNG and loop position from a checkpoint folder. Errors name the folder, the file
  /// and what did not fit.
  public func restore(from folder: URL) throws {
    try withContext("resuming from \(folder.path)") {
      func file(_ name: String) throws -> URL {
        let f = folder.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: f.path) else {
          throw TrainingError("not a checkpoint (no \(name))")
        }
        return f
      }
      let weights = try SafeTensorsFile(url: try file("trainable.safetensors"))
      try withNoGrad {
        for (key, tensor) in trainable {
          guard weights.names.contains(key) else {
            throw TrainingError("trainable.safetensors has no weight \"\(key)\" (was it written with another finetuning_type or LoRA configuration?)")
          }
          let saved = try weights.tensor(key, copy: true)
          guard saved.shape == tensor.shape else {
            throw TrainingError("trainable.safetensors: \"\(key)\" has shape \(saved.shape), the model needs \(tensor.shape)")
          }
          try tensor.copy_(saved)
        }
      }
      let saved = try SafeTensorsFile(url: try file("optimizer.safetensors"))
      try withContext("optimizer.safetensors") {
        try optimizer.restore(OptimizerState(tensors: try saved.names.map { ($0, try saved.tensor($0, copy: true)) },
                                             metadata: saved.metadata))
      }
      let rng = try SafeTensorsFile(url: try file("rng_state.safetensors"))
      try Torch.setRNGState(try rng.tensor("cpu", copy: true))
      if config.device.isCUDA, rng.names.contains("cuda") {  // a checkpoint of a CPU run has none: CUDA keeps its seed
        try Torch.setRNGState(try rng.tensor("cuda", copy: true), device: config.device)
      }
      state = try withContext("trainer_state.json") {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = TrainerState.nonFiniteDecoding
        return try decoder.decode(TrainerState.self, from: Data(contentsOf: try file("trainer_state.json")))
      }
    }
  }
}

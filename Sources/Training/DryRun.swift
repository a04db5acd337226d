// DryRun.swift — `orpo train --dry-run`: a recipe checked against its model's shape without loading weights or data
// (config.json of a model folder, or a .gguf file's header), with the parameter counts and the memory estimate.
import Foundation
import Hub
import GGUF
import Models
import NN
import Torch

public struct DryRunReport {
  public let modelPath: URL
  public let model: LlamaConfiguration
  public let counts: ParameterCounts
  public let memory: MemoryEstimate
  /// Files the recipe names that are not here (data, templates): fine for a dry run, needed for the real one.
  public let missingFiles: [String]
  public let text: String
}

extension TrainingRun {
  /// Checks `config` against its model's shape (reading config.json, or a .gguf file's header, only) and estimates
  /// the run's peak memory.
  public static func dryRun(_ config: TrainingConfiguration, recipeName: String) throws -> DryRunReport {
    let hubModel = try config.model.map { text in
      do { return try HubModelResolver().locate(text, configOnly: true) } catch let error as HubError {
        throw config.error("model", error.description)
      }
    }
    guard let modelPath = hubModel ?? DefaultModel.locate() else {
      throw config.error("model", "the default model \(DefaultModel.fileName) is missing: run `make setup`, or give a model (a folder with its config.json is enough for --dry-run)")
    }
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: modelPath.path, isDirectory: &isFolder) else {
      throw config.error("model", "\(modelPath.path): no such file or folder")
    }
    var model: LlamaConfiguration
    var blockBytes: [String: Int] = [:]
    let source: String
    if isFolder.boolValue {
      let url = modelPath.appendingPathComponent("config.json")
      model = try LlamaConfiguration.load(url)
      source = url.path
      if config.weightQuantization == WeightQuantization.gguf {
        throw config.error("quantization.quant_method", "gguf keeps a .gguf model's own blocks; \(modelPath.path) is a model folder (use load_in_4bit: true)")
      }
    } else {
      let file = try GGUFFile(url: modelPath)  // the header and tensor table; no weight is read
      model = try Checkpoint.configuration(fromGGUF: file)
      for info in file.tensors {
        if let key = Checkpoint.huggingFaceName(forGGUF: info.name, architecture: file.metadata["general.architecture"]?.string) { blockBytes[key] = info.byteCount }
      }
      source = modelPath.path
    }
    if config.setupChatFormat { model.vocabSize += 2 }  // <|im_start|>, <|im_end|> (rounded up by the real run)
    if config.cloneChatTemplate != nil { model.vocabSize = (model.vocabSize + 63) / 64 * 64 }  // about: the source's tokens are unread

    if config.finetuningType == .lora {
      let paths = model.linearShapes.map(\.path)
      guard try paths.contains(where: { try config.lora.targetModules.matches(path: $0) }) else {
        throw config.error("lora.target_modules", "\(config.lora.targetModules) match no linear layer of \(source) (layers are named like \(paths.first ?? "?"))")
      }
    }
    let (memory, counts) = try MemoryEstimate.estimate(config: config, model: model, blockBytes: blockBytes)

    var missing: [String] = []
    let named = [config.dataset == "synthetic" ? nil : config.dataset, config.evalDataset, config.chatTemplate]
      + config.datasets.map(\.path)
    for case let path? in named where !FileManager.default.fileExists(atPath: path) { missing.append(path) }

    let tokens = 2 * config.perDeviceTrainBatchSize * config.maxLength
    let percent = counts.total > 0 ? 100 * Double(counts.trainable) / Double(counts.total) : 0
    let trainable = config.finetuningType == .lora
      ? "LoRA r \(config.lora.rank) on \(config.lora.targetModules)" : "every weight"
    let adapters = config.finetuningType == .lora ? ", adapters float32" : ""
    let checkpointing = config.gradientCheckpointing ? "on" : "off"
    let place = config.device.isCUDA ? "\(config.device) memory" : "resident memory on the CPU"
    var lines: [String] = []
    lines.append("recipe: \(recipeName): valid (method \(config.method.rawValue), finetuning_type \(config.finetuningType.rawValue))")
    lines.append("model: \(source): \(model.architecture), \(model.numHiddenLayers) layers, hidden \(model.hiddenSize), "
                 + "vocabulary \(grouped(model.vocabSize))")
    lines.append("parameters: \(grouped(counts.total)) total, \(grouped(counts.trainable)) trainable ("
                 + String(format: "%.2f%%", percent) + ", \(trainable))")
    lines.append("precision: base \(config.baseDType.recipeText), quantization \(config.weightQuantization)\(adapters)")
    lines.append("optimizer: \(config.optimizerDescription); batch \(config.perDeviceTrainBatchSize) pairs × max_length "
                 + "\(config.maxLength) (\(grouped(tokens)) tokens a forward), gradient accumulation "
                 + "\(config.gradientAccumulationSteps), gradient checkpointing \(checkpointing)")
    lines.append("estimated peak memory (\(place), every sequence at max_length):")
    lines.append(memory.table)
    for path in missing { lines.append("note: \(path) is not here (the real run reads it)") }
    return DryRunReport(modelPath: modelPath, model: model, counts: counts, memory: memory, missingFiles: missing,
                        text: lines.joined(separator: "\n") + "\n")
  }
}

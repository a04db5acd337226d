// TrainingRun.swift — everything between a configuration and a ready trainer: load the model, tokenizer and chat
// template, read or generate the data, encode pairs as TRL does, attach LoRA, and build the Trainer.
import ChatTemplates
import Data
import Foundation
import Hub
import Models
import NN
import Tokenization
import Torch

public struct PreparedRun {
  public let config: TrainingConfiguration
  public let modelPath: URL
  public let model: any CausalLanguageModel
  public let tokenizer: Tokenizer
  public let trainer: Trainer
  public let trainRecords: Int
  public let evalRecords: Int
  /// The held-out records, as read (before encoding).
  public let evalData: PreferenceDataset
  /// Rows dropped because their prompt alone fills max_length.
  public let droppedForLength: Int
  public let readReports: [String]
  public let dataDirectory: URL?
  /// The model's embedding rows before clone_chat_template / setup_chat_format (equal to its vocabulary size when
  /// neither resized it): the adapter carries the embeddings when they differ, as PEFT's does.
  public let baseVocabularySize: Int
}

public enum TrainingRun {
  /// The encoder's formatter for the tokenizer's chat template (nil when it has none: plain-text pairs only).
  public static func formatter(tokenizer: Tokenizer) throws -> TemplateFormatter? {
    guard let source = tokenizer.chatTemplate else { return nil }
    return TemplateFormatter(template: try ChatTemplate(source), bosToken: tokenizer.bosToken, eosToken: tokenizer.eosToken)
  }

  /// `reusing`: a model already in memory (with its tokenizer) to train further instead of loading `config.model`
  /// — SFT → DPO trains DPO's adapter on the SFT-merged weights. It must not carry adapters.
  /// With `randomWeights`, the model is that shape with random weights (the configured model gives only its
  /// tokenizer): memory and speed checks at a size one has no weights for.
  /// With `dataParallel`, this process trains its DistributedSampler share and the trainer is attached to the group
  /// (gradients averaged, metrics combined, rank 0 writing).
  public static func prepare(_ config: TrainingConfiguration,
                             reusing loadedModel: (model: any CausalLanguageModel, tokenizer: Tokenizer)? = nil,
                             randomWeights: LlamaConfiguration? = nil,
                             dataParallel: DataParallel? = nil,
                             log: (String) -> Void = { _ in }) throws -> PreparedRun
  {
    if let threads = config.threads { Torch.threadCount = threads }
    // Before seeding: the seed reaches CUDA's generators only once CUDA is loaded.
    if let problem = CUDA.problem(with: config.device) { throw config.error("device", problem) }
    Torch.manualSeed(UInt64(config.seed))
    if config.tf32 { Torch.allowTF32 = true }
    // A folder, a .gguf file, or `org/name[@revision]` from the Hugging Face cache (downloaded there when missing).
    let hubModel = try config.model.map { text in
      do { return try HubModelResolver().locate(text) } catch let error as HubError {
        throw config.error("model", error.description)
      }
    }
    guard let modelPath = hubModel ?? DefaultModel.locate() else {
      throw config.error("model", "the default model \(DefaultModel.fileName) is missing: run `make setup`, or give a model")
    }
    let model: any CausalLanguageModel, tokenizer: Tokenizer
    let quantization = config.weightQuantization
    if let loadedModel {
      (model, tokenizer) = loadedModel
      log("model: \(modelPath.path), as trained so far")
    } else {
      log("model: \(modelPath.path)")
      if quantization == .gguf && (randomWeights != nil || modelPath.pathExtension.lowercased() != "gguf") {
        throw config.error("quantization.quant_method", "gguf keeps a .gguf model's own blocks; \(modelPath.path) is no .gguf file (use load_in_4bit: true)")
      }
      let loaded: LoadedModel
      if let shape = randomWeights {
        loaded = try ModelLoader.load(randomWeights: shape, seed: UInt64(config.seed), tokenizerFrom: modelPath,
                                      dtype: config.baseDType, device: config.device, quantization: quantization)
        log("model: random weights in the shape of \(shape.architecture) (\(shape.parameterCount) parameters), tokenizer of \(modelPath.lastPathComponent)")
      } else {
        loaded = try ModelLoader.load(modelPath, dtype: config.baseDType, device: config.device, quantization: quantization)
      }
      (model, tokenizer) = (loaded.model, loaded.tokenizer)
    }
    if quantization.isQuantized {
      let layers = model.quantizedLayers
      let held = layers.reduce(0) { $0 + $1.weight.byteCount }
      let dense = layers.reduce(0) { $0 + $1.inFeatures * $1.outFeatures } * config.baseDType.byteCount
      let formats = Set(layers.map(\.weight.format)).sorted().joined(separator: ", ")
      log(String(format: "quantization: %@: %d projections (%@) in %.0f MiB (%.0f MiB dense in %@)", quantization.description,
                 layers.count, formats, Double(held) / 1_048_576, Double(dense) / 1_048_576, config.baseDType.recipeText))
    }
    let baseVocabularySize = model.config.vocabSize
    if config.setupChatFormat && loadedModel == nil {
      try model.setUpChatFormat(tokenizer: tokenizer)
      log("setup_chat_format: added ChatML tokens, vocabulary now \(model.config.vocabSize)")
    }
    if let name = config.cloneChatTemplate, loadedModel == nil {
      let source: Tokenizer
      do {
        source = try Tokenizer(folder: try HubModelResolver().locate(name, tokenizerOnly: true))
      } catch let error as HubError {
        throw config.error("clone_chat_template", error.description)
      } catch let error as TokenizerError {
        throw config.error("clone_chat_template", "\(error)")
      }
      let added = try model.cloneChatTemplate(tokenizer: tokenizer, from: source, sourceName: name)
      log("clone_chat_template: \(name)'s template and eos \(tokenizer.eosToken ?? "-"), \(added.count) tokens added, "
            + "vocabulary now \(model.config.vocabSize)")
    }
    if let file = config.chatTemplate {
      do { tokenizer.setChatTemplate(try String(contentsOfFile: file, encoding: .utf8)) } catch {
        throw config.error("chat_template", "cannot read \(file) (\(error.localizedDescription))")
      }
    }
    var formatter: TemplateFormatter?
    do { formatter = try TrainingRun.formatter(tokenizer: tokenizer) } catch let error as ChatTemplateError {
      guard let file = config.chatTemplate else { throw error }
      throw config.error("chat_template", "\(file): \(error)")
    }
    formatter?.file = config.chatTemplate
    guard let pad = tokenizer.padTokenID ?? tokenizer.eosTokenID else {
      throw ModelError("\(modelPath.path): the tokenizer has neither a pad nor an eos token")
    }

    // Data: a file (with an eval file or a split), or the built-in synthetic preferences.
    var reports: [String] = []
    var train: PreferenceDataset
    var eval: PreferenceDataset
    var dataDirectory: URL?
    if config.datasets.isEmpty && (config.dataset == nil || config.dataset == "synthetic") {
      // Every process generates the same data; only rank 0 keeps it in the run folder.
      let main = dataParallel?.isMainProcess ?? true
      let dir = main ? URL(fileURLWithPath: config.outputDir).appendingPathComponent("data")
        : FileManager.default.temporaryDirectory.appendingPathComponent("orpo-data-rank\(dataParallel!.rank)-\(UUID().uuidString)")
      defer { if !main { try? FileManager.default.removeItem(at: dir) } }
      try SyntheticPreferences.write(to: dir, trainCount: config.syntheticTrainSize, testCount: config.syntheticTestSize)
      train = try PreferenceDataset(contentsOf: dir.appendingPathComponent("train.jsonl"))
      eval = try PreferenceDataset(contentsOf: dir.appendingPathComponent("test.jsonl"))
      dataDirectory = main ? dir : nil
      log("data: built-in synthetic preferences, \(train.count) train / \(eval.count) test pairs (written to \(dir.path))")
    } else {
      (train, reports) = try Self.trainingData(config)
      if let e = config.evalDataset {
        let source = DatasetSource(path: e, split: config.evalDatasetSplit, columnMapping: config.columnMapping)
        let (ev, r) = try source.readAll(skipInvalid: config.skipInvalid, defaultSplit: "test")
        if r.skippedCount > 0 { reports.append("\(ev.sourceName): \(r)") }
        eval = ev
      } else if let size = config.testSize {
        (train, eval) = size < 1 ? try train.trainTestSplit(testFraction: size, seed: config.seed)
                                 : try train.trainTestSplit(testCount: Int(size), seed: config.seed)
      } else {
        eval = PreferenceDataset(records: [])
      }
      log("data: \(train.count) train / \(eval.count) eval pairs from \(train.sourceName)")
    }

    // Each method tokenizes as the TRL trainer it is pinned to; KTO unpairs the pairs into desirable and undesirable
    // rows (read in order: the KL term pairs each row with its batch neighbour's answer).
    var (trainPairs, evalPairs, dropped) = ([EncodedPair](), [EncodedPair](), 0)
    var sampler: (any EpochSampler)? = nil
    if config.method == .kto {
      let encoder = PairEncoder(tokenizer: tokenizer, formatter: formatter, maxLength: Int.max, tokenization: .sft)
      let t = KTOLoss.unpair(try encoder.encodeAll(train).pairs, maxLength: config.maxLength,
                             batchSize: config.perDeviceTrainBatchSize)
      let e = KTOLoss.unpair(try encoder.encodeAll(eval).pairs, maxLength: config.maxLength,
                             batchSize: config.perDeviceEvalBatchSize)
      (trainPairs, evalPairs, dropped) = (t.rows, e.rows, t.dropped + e.dropped)
      sampler = SequentialSampler()
      log("kto: \(trainPairs.count) unpaired training rows (desirable, then undesirable), read in order")
    } else {
      let encoder = PairEncoder(tokenizer: tokenizer, formatter: formatter, maxLength: config.maxLength,
                                tokenization: config.method.tokenization)
      let (t, droppedTrain) = try encoder.encodeAll(train)
      let (e, droppedEval) = try encoder.encodeAll(eval)
      (trainPairs, evalPairs, dropped) = (t, e, droppedTrain + droppedEval)
      if t.isEmpty && droppedTrain > 0 {
        throw config.error("max_length", "every one of the \(droppedTrain) training rows has a prompt that alone fills "
                             + "max_length=\(config.maxLength) tokens, leaving no room for an answer; raise max_length")
      }
    }
    if dropped > 0 {
      reports.append("dropped \(dropped) rows whose prompt alone fills max_length=\(config.maxLength) (TRL would train them to NaN)")
    }

    // The reference of DPO, IPO and KTO: the policy with its adapters disabled (LoRA), or — full fine-tuning — a
    // frozen copy of the starting weights, a second model in memory, unless the reference is precomputed.
    var referenceModel: (any CausalLanguageModel)? = nil
    if config.method.needsReference && config.finetuningType == .full && !config.precomputeRefLogProbs {
      let copy = try ModelLoader.load(modelPath, dtype: config.baseDType, device: config.device).model
      if copy.config.vocabSize != model.config.vocabSize { try copy.resizeTokenEmbeddings(to: model.config.vocabSize) }
      let weights = model.parameters
      try withNoGrad { for (key, tensor) in copy.parameters { if let w = weights[key] { try tensor.copy_(w) } } }
      referenceModel = copy
      let bytes = copy.parameters.values.reduce(0) { $0 + $1.elementCount * $1.dtype.byteCount }
      log(String(format: "reference model: a frozen copy of the base weights (%.0f MiB more memory; precompute_ref_log_probs: true avoids it)",
                 Double(bytes) / 1_048_576))
    }

    if config.finetuningType == .lora {
      try model.attachLoRA(config.lora, generator: try Generator(seed: UInt64(config.seed)))
      for layer in model.loraLayers { layer.computeDType = config.adapterComputeDType }
    }
    if let dataParallel {
      let base = sampler ?? (config.shuffle ? SeededRandomSampler(seed: config.seed) : SequentialSampler())
      sampler = DistributedSampler(base: base, rank: dataParallel.rank, worldSize: dataParallel.worldSize)
    }
    let trainer = try Trainer(config: config, model: model, padTokenID: pad, trainPairs: trainPairs, evalPairs: evalPairs,
                              objectives: config.objectiveSchedule, sampler: sampler)
    trainer.referenceModel = referenceModel
    if model.config.vocabSize != baseVocabularySize {
      // The adapter will carry the tokenizer: find out now, not after training, if it cannot be written.
      do { _ = try tokenizer.tokenizerJSON() } catch {
        throw TrainingError("the vocabulary was resized, so the adapter must carry the tokenizer, but it cannot be written as tokenizer.json: \(error)")
      }
      trainer.resizedVocabulary = (baseVocabularySize, tokenizer)
    }
    if let dataParallel {
      try dataParallel.attach(to: trainer)
      if let buckets = dataParallel.buckets {
        log("data parallel: gradients of \(buckets.parameters.count) tensors in \(buckets.bucketCount) bucket\(buckets.bucketCount == 1 ? "" : "s") (\(config.ddpBucketCapMB.map { "\($0) MiB" } ?? "1 MiB, then 25 MiB")), all-reduced during the last backward of each step")
      }
    }
    return PreparedRun(config: config, modelPath: modelPath, model: model, tokenizer: tokenizer, trainer: trainer,
                       trainRecords: train.count, evalRecords: eval.count, evalData: eval, droppedForLength: dropped,
                       readReports: reports, dataDirectory: dataDirectory, baseVocabularySize: baseVocabularySize)
  }

  /// The training rows a recipe names: `dataset` (a file or folder split, optionally shuffled and cut to
  /// `dataset_num_rows`, as datasets' `shuffle(seed).select(range(n))`), or the `datasets` mixture; with the read
  /// reports of sets that had rows skipped.
  static func trainingData(_ config: TrainingConfiguration) throws -> (PreferenceDataset, [String]) {
    if !config.datasets.isEmpty {
      let (mixed, reports) = try DatasetSource.mix(config.datasets, total: config.datasetNumRows,
                                                   skipInvalid: config.skipInvalid)
      return (mixed, reports.filter { $0.report.skippedCount > 0 }.map { "\($0.source): \($0.report)" })
    }
    let source = DatasetSource(path: config.dataset!, split: config.datasetSplit, columnMapping: config.columnMapping,
                               shuffleSeed: config.datasetShuffleSeed, rowCount: config.datasetNumRows)
    let (dataset, report) = try source.load(skipInvalid: config.skipInvalid)
    if dataset.count == 0, let first = report.examples.first {
      throw TrainingError("\(dataset.sourceName): no valid rows: skip_invalid skipped all \(report.skippedCount) (the first: \(first))")
    }
    if dataset.count == 0 {
      throw TrainingError("\(dataset.sourceName): no rows; expected preference rows (prompt, chosen, rejected)")
    }
    return (dataset, report.skippedCount > 0 ? ["\(dataset.sourceName): \(report)"] : [])
  }
}

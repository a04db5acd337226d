// Export.swift — writing what training produced in Hugging Face's formats: a checked, normalised PEFT adapter
// folder, or a merged model folder (config.json, safetensors weights, generation_config.json, tokenizer files)
// that transformers' `AutoModelForCausalLM`/`AutoTokenizer.from_pretrained` load as they are.
import ChatTemplates
import Foundation
import NN
import Support
import Tokenization
import Torch

public enum ModelExport {
  /// Weights go into numbered shards (with model.safetensors.index.json) above this many bytes, as transformers'
  /// `save_pretrained(max_shard_size="5GB")` does.
  public static let defaultMaximumShardBytes = 5_000_000_000

  /// The tokenizer files copied as they are from a Hugging Face source folder.
  public static let tokenizerFileNames = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                          "chat_template.jinja"]

  // MARK: Adapters

  /// Reads the PEFT LoRA adapter in `folder` with the one strict loader (`PEFTAdapter.load`) and attaches it to
  /// `model` (replacing its adapters).
  @discardableResult
  public static func loadAdapter(from folder: URL, into model: some CausalLanguageModel) throws -> LoRAConfiguration {
    try PEFTAdapter.load(folder, into: model, trainable: false)
  }

  /// Writes `model`'s LoRA adapters as a PEFT folder (adapter_config.json naming `baseModel`,
  /// adapter_model.safetensors with PEFT's key names, weights in `dtype`), atomically; with the whole embeddings
  /// and `tokenizer` when the model's vocabulary differs from `baseVocabularySize` (see `PEFTAdapter.save`).
  public static func adapter(model: some CausalLanguageModel, configuration: LoRAConfiguration, baseModel: String,
                             dtype: DType = .float32, baseVocabularySize: Int? = nil, tokenizer: Tokenizer? = nil,
                             to folder: URL) throws {
    try checkDestination(folder, marker: PEFTAdapter.configFileName)
    try wrapWriteErrors(folder) {
      try PEFTAdapter.save(model, configuration: configuration, baseModel: baseModel, dtype: dtype,
                           baseVocabularySize: baseVocabularySize, tokenizer: tokenizer, to: folder)
    }
  }

  /// Reads and checks the adapter in `source` (see `PEFTAdapter.load`), attaches it to `model`, and writes it again
  /// normalised (our adapter_config.json, PEFT key names without ".default") into `folder`; an adapter that resized
  /// the vocabulary keeps its embeddings and the tokenizer saved beside it.
  @discardableResult
  public static func adapter(from source: URL, model: some CausalLanguageModel, baseModel: String,
                             dtype: DType = .float32, to folder: URL) throws -> LoRAConfiguration {
    try checkDestination(folder, marker: PEFTAdapter.configFileName, sources: [source])
    let baseVocabularySize = model.config.vocabSize
    let configuration = try PEFTAdapter.load(source, into: model, trainable: false)
    try adapter(model: model, configuration: configuration, baseModel: baseModel, dtype: dtype,
                baseVocabularySize: baseVocabularySize, tokenizer: try PEFTAdapter.savedTokenizer(in: source), to: folder)
    return configuration
  }

  // MARK: Merged models

  /// Writes a Hugging Face model folder with every LoRA adapter of `model` merged into its base weight
  /// (W + scaling·B·A computed in float32 as new tensors; `model` itself is left as it was) — or, for a model
  /// without adapters (a full fine-tune, a GGUF conversion), its weights as they are:
  /// config.json (HF keys, `architectures`, `dtype`/`torch_dtype`; no `transformers_version`), model.safetensors
  /// (HF key names; a tied lm_head is not stored; shards + model.safetensors.index.json above
  /// `maximumShardBytes`), generation_config.json (bos/eos/pad), README.md naming `sourceDescription`, and the
  /// tokenizer: the files of `tokenizerFolder` copied verbatim when the model came from a Hugging Face folder,
  /// otherwise tokenizer.json + tokenizer_config.json written from `tokenizer` (e.g. one built from GGUF).
  /// A `chatTemplate` that differs from the tokenizer's own is written to chat_template.jinja (which
  /// transformers prefers). Everything is built in a temporary folder and renamed into place.
  public static func mergedModel(model: some CausalLanguageModel, tokenizer: Tokenizer, chatTemplate: String?, dtype: DType,
                                 to folder: URL, sourceDescription: String, tokenizerFolder: URL? = nil,
                                 maximumShardBytes: Int = defaultMaximumShardBytes) throws {
    guard dtype.isFloatingPoint, [DType.float32, .bfloat16, .float16].contains(dtype) else {
      throw ModelError("dtype \(dtype): a merged model is written in float32, bfloat16 or float16")
    }
    try checkDestination(folder, marker: "config.json", sources: tokenizerFolder.map { [$0] } ?? [])
    if let chatTemplate {
      do { _ = try ChatTemplate(chatTemplate) } catch {
        throw ModelError("the chat template does not parse: \(error)")
      }
    }
    var sourceTokenizerFiles: [URL] = []
    if let tokenizerFolder {
      sourceTokenizerFiles = tokenizerFileNames.map { tokenizerFolder.appendingPathComponent($0) }
        .filter { FileManager.default.fileExists(atPath: $0.path) }
      guard sourceTokenizerFiles.contains(where: { $0.lastPathComponent == "tokenizer.json" }) else {
        throw ModelError("\(tokenizerFolder.path): no tokenizer.json to copy")
      }
      // A tokenizer that gained tokens since it was read (e.g. ChatML markers) no longer matches the files.
      let original = try Tokenizer(folder: tokenizerFolder)
      if original.vocabularySize != tokenizer.vocabularySize || original.addedTokens.count != tokenizer.addedTokens.count {
        sourceTokenizerFiles = []
      }
    }
    guard tokenizer.vocabularySize <= model.config.vocabSize else {
      throw ModelError("the tokenizer has \(tokenizer.vocabularySize) ids but the model only \(model.config.vocabSize) embedding rows")
    }

    let plan = try mergedWeights(model)
    let merged = !model.loraLayers.isEmpty
    var config = model.config.exported(tiedEmbeddings: plan.tied, dtype: dtypeName(dtype))
    config.bosTokenId = config.bosTokenId ?? tokenizer.bosTokenID
    config.eosTokenId = config.eosTokenId ?? tokenizer.eosTokenID.map { .one($0) }
    config.padTokenId = config.padTokenId ?? tokenizer.padTokenID

    try wrapWriteErrors(folder) {
      try AtomicFolder.write(to: folder) { tmp in
        try jsonData(ExportedConfiguration(configuration: config, dtype: dtypeName(dtype)))
          .write(to: tmp.appendingPathComponent("config.json"))
        try jsonData(GenerationConfiguration(bosTokenId: config.bosTokenId, eosTokenId: config.eosTokenId,
                                             padTokenId: config.padTokenId))
          .write(to: tmp.appendingPathComponent("generation_config.json"))
        try writeWeights(plan.entries, dtype: dtype, maximumShardBytes: maximumShardBytes, to: tmp)
        if sourceTokenizerFiles.isEmpty {
          try tokenizer.tokenizerJSON().write(to: tmp.appendingPathComponent("tokenizer.json"))
          try tokenizer.tokenizerConfigJSON(modelMaxLength: config.maxPositionEmbeddings, chatTemplate: chatTemplate)
            .write(to: tmp.appendingPathComponent("tokenizer_config.json"))
        } else {
          for file in sourceTokenizerFiles {
            try FileManager.default.copyItem(at: file, to: tmp.appendingPathComponent(file.lastPathComponent))
          }
          if let chatTemplate, chatTemplate != tokenizer.chatTemplate {
            try Data(chatTemplate.utf8).write(to: tmp.appendingPathComponent("chat_template.jinja"))
          }
        }
        let summary = merged ? """
          # Merged model

          Exported by orpo-swift from \(sourceDescription): LoRA adapters merged into the base weights \
          (W + scaling·B·A), weights in \(dtypeName(dtype)).
          """ : """
          # Model

          Exported by orpo-swift from \(sourceDescription), weights in \(dtypeName(dtype)).
          """
        let card = """
          ---
          library_name: transformers
          tags:
          - orpo
          - orpo-swift
          ---
          \(summary)

          """
        try Data(card.utf8).write(to: tmp.appendingPathComponent("README.md"))
      }
    }
  }

  // MARK: Weights

  /// One tensor of the merged checkpoint, produced when its shard is written.
  struct PlannedTensor {
    let name: String
    let shape: [Int]
    let produce: () throws -> Tensor
  }

  /// The merged model's tensors by checkpoint key (lm_head left out while it stays tied to the embedding): each
  /// adapted layer's weight is W + scaling·B·A computed in float32 when its shard is written.
  static func mergedWeights(_ model: some CausalLanguageModel) throws -> (entries: [PlannedTensor], tied: Bool) {
    var parameters = model.parameters
    var merged: [String: LoRALinear] = [:]
    for adapter in model.loraLayers { merged["\(adapter.path).weight"] = adapter }
    // An adapter on a tied lm_head gives it weights of its own.
    let tiedHead = model.config.tiesEmbeddings ? model.lmHead as? LoRALinear : nil
    if let tiedHead { parameters["\(tiedHead.path).weight"] = try tiedHead.base.denseWeight() }
    let tied = model.config.tiesEmbeddings && tiedHead == nil
    var entries = parameters.keys.map { name in
      let weight = parameters[name]!
      guard let adapter = merged[name] else { return PlannedTensor(name: name, shape: weight.shape) { weight } }
      return PlannedTensor(name: name, shape: weight.shape) { try adapter.denseWeight() }
    }
    // Quantized projections hold no weight tensor: dequantized (and merged) when written.
    for layer in model.quantizedLayers {
      let name = "\(layer.path).weight"
      entries.append(PlannedTensor(name: name, shape: [layer.outFeatures, layer.inFeatures]) {
        try merged[name]?.denseWeight() ?? layer.denseWeight()
      })
    }
    return (entries.sorted { $0.name < $1.name }, tied)
  }

  static func writeWeights(_ entries: [PlannedTensor], dtype: DType, maximumShardBytes: Int, to folder: URL) throws {
    let bytes = { (entry: PlannedTensor) in entry.shape.reduce(1, *) * dtype.byteCount }
    var shards: [[PlannedTensor]] = [[]]
    var shardBytes = 0
    for entry in entries {
      if !shards[shards.count - 1].isEmpty && shardBytes + bytes(entry) > maximumShardBytes {
        shards.append([])
        shardBytes = 0
      }
      shards[shards.count - 1].append(entry)
      shardBytes += bytes(entry)
    }
    let names = shards.count == 1 ? ["model.safetensors"]
      : (1...shards.count).map { String(format: "model-%05d-of-%05d.safetensors", $0, shards.count) }
    for (shard, name) in zip(shards, names) {
      let tensors = try withNoGrad {
        try shard.map { ($0.name, try $0.produce().detached().to(dtype: dtype, device: .cpu).contiguous()) }
      }
      try SafeTensors.write(tensors, metadata: ["format": "pt"], to: folder.appendingPathComponent(name))
    }
    if shards.count > 1 {
      var weightMap: [String: String] = [:]
      for (shard, name) in zip(shards, names) { for entry in shard { weightMap[entry.name] = name } }
      try jsonData(ShardIndex(metadata: .init(totalSize: entries.map(bytes).reduce(0, +)), weightMap: weightMap))
        .write(to: folder.appendingPathComponent("model.safetensors.index.json"))
    }
  }

  // MARK: Helpers

  /// transformers' name for a dtype ("float32", "bfloat16", "float16").
  public static func dtypeName(_ dtype: DType) -> String {
    switch dtype {
    case .bfloat16: return "bfloat16"
    case .float16: return "float16"
    case .float64: return "float64"
    default: return "float32"
    }
  }

  /// The output may be new, an empty folder, or an earlier export of the same kind (holding `marker`), which is
  /// replaced; never a file, a folder with other content, or one of the inputs.
  static func checkDestination(_ folder: URL, marker: String, sources: [URL] = []) throws {
    let path = folder.standardizedFileURL.resolvingSymlinksInPath().path
    for source in sources where source.standardizedFileURL.resolvingSymlinksInPath().path == path {
      throw ModelError("\(folder.path): the output folder is also an input; choose another path")
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) else {
      var parent = folder.standardizedFileURL.deletingLastPathComponent()
      while parent.path != "/" && !FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDirectory) {
        parent = parent.deletingLastPathComponent()
      }
      guard isDirectory.boolValue else {
        throw ModelError("\(folder.path): \(parent.path) is a file, so the output folder cannot be created there")
      }
      return
    }
    guard isDirectory.boolValue else {
      throw ModelError("\(folder.path): exists and is a file; the output must be a folder path")
    }
    let contents = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    guard contents.isEmpty || contents.contains(marker) else {
      throw ModelError("\(folder.path): exists and holds other files (no \(marker)); refusing to replace it, choose a new path")
    }
  }

  /// File-system failures (a parent that is a file, no permission, a full disk) named with the output path.
  static func wrapWriteErrors(_ folder: URL, _ body: () throws -> Void) throws {
    do { try body() } catch let error as ModelError { throw error } catch let error as SafeTensorsError {
      throw ModelError("\(folder.path): cannot write the export (\(error))")
    } catch {
      let reason = error is CocoaError || type(of: error) is NSError.Type ? error.localizedDescription : "\(error)"
      throw ModelError("\(folder.path): cannot write the export (\(reason))")
    }
  }

  static func jsonData<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(value) + Data("\n".utf8)
  }
}

/// config.json: the model's configuration plus transformers 5's `dtype` key (torch_dtype is kept for 4.x).
private struct ExportedConfiguration<Configuration: ModelConfiguration>: Encodable {
  let configuration: Configuration
  let dtype: String
  struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }
  func encode(to encoder: Encoder) throws {
    try configuration.encode(to: encoder)
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(dtype, forKey: Key(stringValue: "dtype"))
  }
}

/// generation_config.json: the ids generation needs.
private struct GenerationConfiguration: Encodable {
  let bosTokenId: Int?
  let eosTokenId: TokenIDs?
  let padTokenId: Int?
  enum CodingKeys: String, CodingKey { case bosTokenId = "bos_token_id", eosTokenId = "eos_token_id", padTokenId = "pad_token_id" }
}

/// model.safetensors.index.json of a sharded checkpoint.
private struct ShardIndex: Encodable {
  struct Metadata: Encodable {
    let totalSize: Int
    enum CodingKeys: String, CodingKey { case totalSize = "total_size" }
  }
  let metadata: Metadata
  let weightMap: [String: String]
  enum CodingKeys: String, CodingKey { case metadata, weightMap = "weight_map" }
}

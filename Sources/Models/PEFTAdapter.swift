// PEFTAdapter.swift — LoRA adapters in PEFT's folder format (adapter_config.json + adapter_model.safetensors with
// PEFT's key names, plus the whole embed_tokens/lm_head when the vocabulary was resized): the one writer, and the one
// strict loader every verb uses (generate, evaluate, export), which refuses what it would apply differently from
// PEFT, naming the file and the field.
import Foundation
import NN
import Support
import Tokenization
import Torch

public enum PEFTAdapter {
  public static let configFileName = "adapter_config.json"
  public static let weightsFileName = "adapter_model.safetensors"
  /// The keys under which PEFT (`get_peft_model_state_dict`, save_embedding_layers "auto") stores the whole input
  /// and output embeddings when the vocabulary differs from the base model's: both, also when they are tied (the
  /// second a copy: safetensors allows no aliasing).
  public static let embeddingKey = "base_model.model.model.embed_tokens.weight"
  public static let outputEmbeddingKey = "base_model.model.lm_head.weight"

  // MARK: Writing

  /// Writes `model`'s adapters as adapter_config.json (`configuration` with PEFT's envelope, naming `baseModel`)
  /// and adapter_model.safetensors (PEFT key names, weights in `dtype`), into `folder` atomically.
  ///
  /// `baseVocabularySize`: the embedding rows of the base model the adapter is for. When the model has another
  /// number (clone_chat_template / setup_chat_format resized it), the whole embed_tokens and lm_head are saved too,
  /// as PEFT's save_embedding_layers "auto" does, and `tokenizer` (the one with the added tokens, if given) is
  /// written beside them (tokenizer.json, tokenizer_config.json), as TRL's `save_model` puts it in the same folder.
  public static func save(_ model: some CausalLanguageModel, configuration: LoRAConfiguration, baseModel: String?,
                          dtype: DType = .float32, baseVocabularySize: Int? = nil, tokenizer: Tokenizer? = nil,
                          to folder: URL) throws
  {
    let tensors = model.loraParameters
    guard !tensors.isEmpty else { throw ModelError("\(folder.path): the model has no LoRA adapters to save") }
    let resized = baseVocabularySize.map { $0 != model.config.vocabSize } ?? false
    var converted = try withNoGrad {
      try tensors.map { ($0.key, try $0.tensor.detached().to(dtype: dtype, device: .cpu).contiguous()) }
    }
    if resized {
      guard let head = model.lmHead as? Linear else {
        throw ModelError("\(folder.path): the vocabulary was resized but lm_head is a \(type(of: model.lmHead)); only a plain lm_head can be saved")
      }
      try withNoGrad {
        // Separate copies even when tied: safetensors allows no aliasing (peft clones the second name too).
        converted.append((embeddingKey, try model.embedTokens.weight.detached().to(dtype: dtype, device: .cpu).clone()))
        converted.append((outputEmbeddingKey, try head.weight.detached().to(dtype: dtype, device: .cpu).clone()))
      }
    }
    try AtomicFolder.write(to: folder) { tmp in
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      try encoder.encode(ConfigFile(lora: configuration, baseModel: baseModel))
        .write(to: tmp.appendingPathComponent(configFileName))
      try SafeTensors.write(converted, metadata: ["format": "pt"], to: tmp.appendingPathComponent(weightsFileName))
      if resized, let tokenizer {
        try tokenizer.tokenizerJSON().write(to: tmp.appendingPathComponent("tokenizer.json"))
        try tokenizer.tokenizerConfigJSON(modelMaxLength: model.config.maxPositionEmbeddings,
                                          chatTemplate: tokenizer.chatTemplate)
          .write(to: tmp.appendingPathComponent("tokenizer_config.json"))
      }
    }
  }

  /// The tokenizer saved beside a resized adapter (tokenizer.json in `folder`), or nil when there is none.
  public static func savedTokenizer(in folder: URL) throws -> Tokenizer? {
    guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path) else { return nil }
    return try Tokenizer(folder: folder)
  }

  /// adapter_config.json as written: the LoRA keys plus the fields PEFT needs to load it.
  struct ConfigFile: Encodable {
    let lora: LoRAConfiguration
    let baseModel: String?
    enum CodingKeys: String, CodingKey {
      case peftType = "peft_type", taskType = "task_type", bias, fanInFanOut = "fan_in_fan_out"
      case inferenceMode = "inference_mode", baseModelNameOrPath = "base_model_name_or_path"
      case initLoraWeights = "init_lora_weights", modulesToSave = "modules_to_save"
    }
    func encode(to encoder: Encoder) throws {
      try lora.encode(to: encoder)
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode("LORA", forKey: .peftType)
      try c.encode("CAUSAL_LM", forKey: .taskType)
      try c.encode("none", forKey: .bias)
      try c.encode(false, forKey: .fanInFanOut)
      try c.encode(true, forKey: .inferenceMode)
      try c.encode(baseModel, forKey: .baseModelNameOrPath)
      try c.encode(true, forKey: .initLoraWeights)
      try c.encodeNil(forKey: .modulesToSave)
    }
  }

  // MARK: Reading

  /// Reads the PEFT LoRA adapter in `folder`, checks that it applies to `model` exactly as PEFT would apply it, and
  /// attaches it (replacing any adapters the model had). Refused, with the file and field named: a missing file,
  /// a `peft_type` other than LORA, options that change what LoRA computes (DoRA, per-layer rank or alpha
  /// patterns, trained biases, `modules_to_save`, …), `target_modules` that match no layer, tensors that are not
  /// LoRA weights of a linear layer of `model`, and shapes that do not fit `r` and the layer.
  /// `trainable` (the default) makes the weights require gradients, to train further; inference passes false.
  @discardableResult
  public static func load(_ folder: URL, into model: some CausalLanguageModel, trainable: Bool = true) throws
    -> LoRAConfiguration
  {
    let configURL = try checkFolder(folder)
    let configuration = try readConfiguration(configURL)
    let weightsURL = folder.appendingPathComponent(weightsFileName)
    let file: SafeTensorsFile
    do { file = try SafeTensorsFile(url: weightsURL) } catch let error as SafeTensorsError {
      throw ModelError("\(error)")
    }

    // Every tensor is lora_A or lora_B of one linear layer of the model, or a whole resized embedding.
    let layers = Dictionary(model.linearLayers.map { ($0.path, $0.layer) }, uniquingKeysWith: { first, _ in first })
    var pairs: [String: (a: String?, b: String?)] = [:]
    var embeddings: [String: Tensor] = [:]
    for name in file.names {
      if name == embeddingKey || name == outputEmbeddingKey {
        embeddings[name] = try ModelError.context(weightsURL.path) {
          try file.tensor(name, copy: true).to(dtype: model.embedTokens.weight.dtype, device: model.device)
        }
        continue
      }
      guard let (path, matrix) = loraKey(name) else {
        throw ModelError("\(weightsURL.path): tensor \"\(name)\" is not a LoRA weight (base_model.model.<module>.lora_A.weight or lora_B.weight); orpo-swift applies plain LoRA only")
      }
      guard layers[path] != nil else {
        throw ModelError("\(weightsURL.path): tensor \"\(name)\" matches no layer of the model (is the adapter for another model?)")
      }
      if matrix == "A" { pairs[path, default: (nil, nil)].a = name } else { pairs[path, default: (nil, nil)].b = name }
    }
    guard !pairs.isEmpty else { throw ModelError("\(weightsURL.path): holds no LoRA weights") }
    let vocabulary = try resizedVocabulary(embeddings, model: model, file: weightsURL)

    // target_modules and the weights name the same layers.
    let targeted = try ModelError.context(configURL.path) {
      try model.linearLayers.map(\.path).filter { try configuration.targetModules.matches(path: $0) }
    }
    guard !targeted.isEmpty else {
      throw ModelError("\(configURL.path): target_modules \(configuration.targetModules) match no linear layer of the model (layers are named like \(model.linearLayers.first?.path ?? "?"))")
    }
    for path in pairs.keys.sorted() where !targeted.contains(path) {
      throw ModelError("\(configURL.path): target_modules \(configuration.targetModules) does not name \(path), but \(weightsFileName) has weights for it")
    }
    for path in targeted where pairs[path] == nil {
      throw ModelError("\(weightsURL.path): no LoRA weights for \(path), which target_modules \(configuration.targetModules) names")
    }

    var adapters: [String: LoRALinear] = [:]
    for path in targeted where path == "lm_head" && vocabulary != nil {
      throw ModelError("\(weightsURL.path): LoRA on lm_head together with a resized vocabulary is not supported")
    }
    for path in targeted {  // model order: the first bad layer is the one reported
      let names = pairs[path]!
      guard let nameA = names.a, let nameB = names.b else {
        throw ModelError("\(weightsURL.path): \(path) has \(names.a == nil ? "lora_B" : "lora_A") but no \(names.a == nil ? "lora_A" : "lora_B") weight")
      }
      let layer = layers[path]!
      let a = try ModelError.context(weightsURL.path) {
        try file.tensor(nameA, copy: true).to(dtype: .float32, device: layer.device)
      }
      let b = try ModelError.context(weightsURL.path) {
        try file.tensor(nameB, copy: true).to(dtype: .float32, device: layer.device)
      }
      let (r, inFeatures, outFeatures) = (configuration.rank, layer.inFeatures, layer.outFeatures)
      guard a.shape == [r, inFeatures], b.shape == [outFeatures, r] else {
        throw ModelError("\(folder.path): \(nameA) has shape \(a.shape) and \(nameB) \(b.shape); with r = \(r) (\(configFileName)) the model's \(path) needs [\(r), \(inFeatures)] and [\(outFeatures), \(r)]")
      }
      if trainable {
        try a.requiringGrad()
        try b.requiringGrad()
      }
      adapters[path] = LoRALinear(base: layer, a: a, b: b, scaling: configuration.scaling, dropout: configuration.dropout)
    }
    // Attach only once everything checked out: the resized embeddings first (lm_head must be plain to resize).
    model.removeLoRA()
    if let vocabulary {
      try model.resizeTokenEmbeddings(to: vocabulary)
      try withNoGrad {
        // PEFT loads both names into a tied weight, the output one last: it is the one that stays.
        if let input = embeddings[embeddingKey] { try model.embedTokens.weight.copy_(input) }
        if let output = embeddings[outputEmbeddingKey], let head = model.lmHead as? Linear { try head.weight.copy_(output) }
      }
    }
    for slot in model.linearSlots { if let adapter = adapters[slot.wrappedValue.path] { slot.wrappedValue = adapter } }
    return configuration
  }

  /// The number of embedding rows a resized adapter's embed_tokens/lm_head carry (nil when it has neither), after
  /// checking their shapes: [rows, hidden], the same rows for both, and an lm_head that can take them.
  static func resizedVocabulary(_ embeddings: [String: Tensor], model: some CausalLanguageModel, file: URL) throws -> Int? {
    guard !embeddings.isEmpty else { return nil }
    let hidden = model.config.hiddenSize
    var rows: Int?
    for name in [embeddingKey, outputEmbeddingKey] {
      guard let tensor = embeddings[name] else { continue }
      guard tensor.shape.count == 2, tensor.shape[1] == hidden, tensor.shape[0] > 0 else {
        throw ModelError("\(file.path): \(name) has shape \(tensor.shape); the model needs [rows, \(hidden)]")
      }
      if let rows, rows != tensor.shape[0] {
        throw ModelError("\(file.path): \(embeddingKey) and \(outputEmbeddingKey) have \(rows) and \(tensor.shape[0]) rows; they must agree")
      }
      rows = tensor.shape[0]
    }
    let head = (model.lmHead as? LoRALinear)?.base ?? model.lmHead
    guard head is Linear else {
      throw ModelError("\(file.path): carries a resized vocabulary, but the model's lm_head is a \(type(of: head)) (a quantized model cannot be resized)")
    }
    return rows
  }

  /// `base_model.model.<path>.lora_A.weight` (or PEFT's older `.lora_A.default.weight`) -> (path, "A").
  static func loraKey(_ name: String) -> (path: String, matrix: String)? {
    let prefix = "base_model.model."
    guard name.hasPrefix(prefix) else { return nil }
    for matrix in ["A", "B"] {
      for suffix in [".lora_\(matrix).weight", ".lora_\(matrix).default.weight"] where name.hasSuffix(suffix) {
        let path = String(name.dropFirst(prefix.count).dropLast(suffix.count))
        return path.isEmpty ? nil : (path, matrix)
      }
    }
    return nil
  }

  /// The adapter folder's config URL, after checking the folder holds both files.
  static func checkFolder(_ folder: URL) throws -> URL {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) else {
      throw ModelError("\(folder.path): no such adapter folder")
    }
    guard isDirectory.boolValue else {
      throw ModelError("\(folder.path): is a file; an adapter is a folder holding \(configFileName) and \(weightsFileName)")
    }
    let configURL = folder.appendingPathComponent(configFileName)
    guard FileManager.default.fileExists(atPath: configURL.path) else {
      throw ModelError("\(folder.path): no \(configFileName) (a PEFT adapter folder holds \(configFileName) and \(weightsFileName))")
    }
    guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(weightsFileName).path) else {
      if FileManager.default.fileExists(atPath: folder.appendingPathComponent("adapter_model.bin").path) {
        throw ModelError("\(folder.path): only adapter_model.bin (a pickle) is there; save the adapter with safe_serialization=True to get \(weightsFileName)")
      }
      throw ModelError("\(folder.path): no \(weightsFileName)")
    }
    return configURL
  }

  /// PEFT options that change what the adapter computes; an adapter using one would load silently wrong.
  static let unsupportedOptions: [(key: String, what: String)] = [
    ("use_dora", "DoRA"), ("rank_pattern", "per-layer ranks"), ("alpha_pattern", "per-layer alphas"),
    ("modules_to_save", "fully trained extra modules"), ("bias", "trained biases"),
    ("fan_in_fan_out", "transposed (Conv1D) weights"), ("layers_to_transform", "a subset of layers"),
    ("layers_pattern", "a subset of layers"), ("exclude_modules", "excluded modules"),
    ("layer_replication", "layer replication"), ("trainable_token_indices", "trainable token rows"),
    ("lora_bias", "LoRA biases"), ("target_parameters", "LoRA on parameters"),
    ("alora_invocation_tokens", "activated LoRA"), ("arrow_config", "Arrow routing"), ("use_qalora", "QALoRA"),
    ("use_bdlora", "BD-LoRA"), ("kasa_config", "KaSA"), ("velora_config", "VeLoRA"),
    ("monteclora_config", "MonteCLoRA"), ("megatron_config", "Megatron layers"),
  ]

  /// adapter_config.json read strictly: a LoRA adapter for a causal LM with nothing this toolkit would apply
  /// differently from PEFT. Keys are looked up as peft's `json.load` reads them: a repeated key keeps its last value.
  public static func readConfiguration(_ url: URL) throws -> LoRAConfiguration {
    let file: MappedFile
    do { file = try MappedFile(url: url) } catch let error as FileError {
      throw ModelError("\(url.path): cannot read (\(error.reason))")
    }
    let object: JSONValue
    do { object = try JSONValue.parse(file.utf8) } catch let error as JSONSyntaxError {
      throw ModelError("\(url.path): not valid JSON (\(error.located(in: file.utf8)))")
    }
    guard case .object = object else { throw ModelError("\(url.path): expected a JSON object") }
    func fail(_ key: String, _ what: String) -> ModelError { ModelError("\(url.path): \(key): \(what)") }
    func value(_ key: String) -> JSONValue? { object[last: key] }

    guard let type = value("peft_type") else { throw fail("peft_type", "missing (expected \"LORA\")") }
    guard type.stringValue == "LORA" else { throw fail("peft_type", "\(show(type)) is not supported (only \"LORA\")") }
    if let task = value("task_type"), !task.isNull, task.stringValue != "CAUSAL_LM" {
      throw fail("task_type", "\(show(task)) is not supported (only \"CAUSAL_LM\")")
    }
    for (key, what) in unsupportedOptions {
      if let option = value(key), isSet(key, option) {
        throw fail(key, "\(show(option)) asks for \(what), which orpo-swift cannot apply")
      }
    }
    for key in ["r", "lora_alpha", "target_modules"] where value(key)?.isNull ?? true { throw fail(key, "missing") }
    guard let r = value("r")?.intValue else { throw fail("r", "expected a whole number, found \(show(value("r")!))") }
    guard let alpha = value("lora_alpha")?.doubleValue else {
      throw fail("lora_alpha", "expected a number, found \(show(value("lora_alpha")!))")
    }
    var configuration = LoRAConfiguration(rank: r, alpha: alpha)
    switch value("lora_dropout") {
    case nil, .null?: configuration.dropout = 0
    case .number(let d)?: configuration.dropout = d.double
    case let other?: throw fail("lora_dropout", "expected a number, found \(show(other))")
    }
    switch value("target_modules") {
    case .array(let list)?:
      let names = list.compactMap(\.stringValue)
      guard names.count == list.count else {
        throw fail("target_modules", "expected module names, found \(show(.array(list)))")
      }
      configuration.targetModules = names == ["all-linear"] ? .allLinear : .names(names)
    case .string(let text)?:
      configuration.targetModules = text == "all-linear" ? .allLinear : .pattern(text)
    case let other?: throw fail("target_modules", "expected a list of names or a regular expression, found \(show(other))")
    case nil: break
    }
    switch value("use_rslora") {
    case nil, .null?: break
    case .bool(let flag)?: configuration.useRSLoRA = flag
    case let other?: throw fail("use_rslora", "expected true or false, found \(show(other))")
    }
    do { try configuration.validate() } catch let error as NNError { throw ModelError("\(url.path): \(error.description)") }
    return configuration
  }

  /// Whether an option is in use: true, a non-empty list/object/string, a number; `bias` other than "none".
  static func isSet(_ key: String, _ value: JSONValue) -> Bool {
    switch value {
    case .null: return false
    case .bool(let flag): return flag
    case .number: return true
    case .object(let members): return !members.isEmpty
    case .array(let elements): return !elements.isEmpty
    case .string(let text): return key == "bias" ? text != "none" : !text.isEmpty
    }
  }

  /// A value for a message: a string in quotes, anything else as compact JSON with sorted keys.
  static func show(_ value: JSONValue) -> String {
    if case .string(let text) = value { return "\"\(text)\"" }
    return value.formatted(JSONStyle(itemSeparator: ",", keySeparator: ":", sortsKeys: true))
  }
}

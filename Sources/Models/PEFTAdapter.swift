// PEFTAdapter.swift — LoRA adapters on a model: attach (PEFT's initialisation), and read/write the PEFT folder
// format (adapter_config.json + adapter_model.safetensors with PEFT's key names) so Python peft loads our adapters
// and we load theirs.
import Foundation
import NN
import Support
import Torch

extension LlamaForCausalLM {
  /// Adds LoRA adapters to every Linear layer `configuration` targets; returns their module paths.
  @discardableResult
  public func attachLoRA(_ configuration: LoRAConfiguration, generator: Generator? = nil) throws -> [String] {
    var attached: [String] = []
    for (path, linear) in linearLayers where try configuration.targets.matches(path: path) {
      linear.lora = try LoRAAdapter(inFeatures: linear.inFeatures, outFeatures: linear.outFeatures,
                                    rank: configuration.rank, alpha: configuration.alpha,
                                    dropout: configuration.dropout, useRSLoRA: configuration.useRSLoRA,
                                    device: linear.weight.device, generator: generator)
      attached.append(path)
    }
    guard !attached.isEmpty else {
      throw ModelError("LoRA target_modules \(configuration.targetPattern ?? configuration.targetModules.joined(separator: ", ")) match no Linear layer (layers are named like \(linearLayers.first?.path ?? "?"))")
    }
    return attached
  }

  /// The trainable adapter weights by PEFT key (`base_model.model.<path>.lora_A.weight`), in a stable order.
  public var loraParameters: [(key: String, tensor: Tensor)] {
    linearLayers.compactMap { path, linear in linear.lora.map { (path, $0) } }.flatMap { path, lora in
      [("base_model.model.\(path).lora_A.weight", lora.a), ("base_model.model.\(path).lora_B.weight", lora.b)]
    }
  }

  /// Folds every adapter into its base weight (W += scaling·B·A) and removes the adapters.
  public func mergeLoRA() throws {
    try withNoGrad {
      for (_, linear) in linearLayers {
        guard let lora = linear.lora else { continue }
        linear.weight = try (linear.weight.to(dtype: .float32) + lora.delta().to(dtype: .float32)).to(dtype: linear.weight.dtype)
        linear.lora = nil
      }
    }
  }
}

/// adapter_config.json as PEFT writes it (the fields PEFT needs to load a LoRA adapter).
public struct PEFTAdapterConfig: Codable, Equatable {
  public var peftType = "LORA"
  public var taskType: String? = "CAUSAL_LM"
  public var r: Int
  public var loraAlpha: Double
  public var loraDropout: Double
  public var targetModules: [String]?
  public var targetModulesPattern: String?
  public var useRslora: Bool
  public var bias = "none"
  public var fanInFanOut = false
  public var inferenceMode = true
  public var baseModelNameOrPath: String?
  public var initLoraWeights = true
  public var modulesToSave: [String]? = nil

  enum CodingKeys: String, CodingKey {
    case peftType = "peft_type", taskType = "task_type", r, loraAlpha = "lora_alpha", loraDropout = "lora_dropout"
    case targetModules = "target_modules", useRslora = "use_rslora", bias, fanInFanOut = "fan_in_fan_out"
    case inferenceMode = "inference_mode", baseModelNameOrPath = "base_model_name_or_path"
    case initLoraWeights = "init_lora_weights", modulesToSave = "modules_to_save"
    case targetModulesPattern = "target_modules_pattern"
  }

  public init(_ c: LoRAConfiguration, baseModel: String?) {
    r = c.rank
    loraAlpha = c.alpha
    loraDropout = c.dropout
    targetModules = c.targetPattern == nil ? c.targetModules : nil
    targetModulesPattern = c.targetPattern
    useRslora = c.useRSLoRA
    baseModelNameOrPath = baseModel
  }

  public init(from decoder: Decoder) throws {
    let k = try decoder.container(keyedBy: CodingKeys.self)
    peftType = try k.decodeIfPresent(String.self, forKey: .peftType) ?? "LORA"
    taskType = try k.decodeIfPresent(String.self, forKey: .taskType)
    r = try k.decode(Int.self, forKey: .r)
    loraAlpha = try k.decode(Double.self, forKey: .loraAlpha)
    loraDropout = try k.decodeIfPresent(Double.self, forKey: .loraDropout) ?? 0
    // PEFT writes target_modules as a list, or as one regex string.
    if let list = try? k.decodeIfPresent([String].self, forKey: .targetModules) {
      targetModules = list
    } else if let pattern = try? k.decodeIfPresent(String.self, forKey: .targetModules) {
      targetModulesPattern = pattern
    }
    useRslora = try k.decodeIfPresent(Bool.self, forKey: .useRslora) ?? false
    bias = try k.decodeIfPresent(String.self, forKey: .bias) ?? "none"
    fanInFanOut = try k.decodeIfPresent(Bool.self, forKey: .fanInFanOut) ?? false
    inferenceMode = try k.decodeIfPresent(Bool.self, forKey: .inferenceMode) ?? true
    baseModelNameOrPath = try k.decodeIfPresent(String.self, forKey: .baseModelNameOrPath)
  }

  public func encode(to encoder: Encoder) throws {
    var k = encoder.container(keyedBy: CodingKeys.self)
    try k.encode(peftType, forKey: .peftType)
    try k.encode(taskType, forKey: .taskType)
    try k.encode(r, forKey: .r)
    try k.encode(loraAlpha, forKey: .loraAlpha)
    try k.encode(loraDropout, forKey: .loraDropout)
    if let targetModulesPattern { try k.encode(targetModulesPattern, forKey: .targetModules) } else {
      try k.encode(targetModules ?? [], forKey: .targetModules)
    }
    try k.encode(useRslora, forKey: .useRslora)
    try k.encode(bias, forKey: .bias)
    try k.encode(fanInFanOut, forKey: .fanInFanOut)
    try k.encode(inferenceMode, forKey: .inferenceMode)
    try k.encode(baseModelNameOrPath, forKey: .baseModelNameOrPath)
    try k.encode(initLoraWeights, forKey: .initLoraWeights)
    try k.encode(modulesToSave, forKey: .modulesToSave)
  }

  public var loraConfiguration: LoRAConfiguration {
    var c = LoRAConfiguration()
    c.rank = r
    c.alpha = loraAlpha
    c.dropout = loraDropout
    if let targetModules { c.targetModules = targetModules }
    c.targetPattern = targetModulesPattern
    c.useRSLoRA = useRslora
    return c
  }
}

public enum PEFTAdapter {
  /// Writes adapter_config.json and adapter_model.safetensors into `folder` atomically (a temporary folder
  /// renamed into place).
  public static func save(_ model: LlamaForCausalLM, configuration: LoRAConfiguration, baseModel: String?,
                          to folder: URL) throws
  {
    let tensors = model.loraParameters
    guard !tensors.isEmpty else { throw ModelError("the model has no LoRA adapters to save") }
    try AtomicFolder.write(to: folder) { tmp in
      let enc = JSONEncoder()
      enc.outputFormatting = [.prettyPrinted, .sortedKeys]
      try enc.encode(PEFTAdapterConfig(configuration, baseModel: baseModel))
        .write(to: tmp.appendingPathComponent("adapter_config.json"))
      let cpu = try tensors.map { ($0.key, try $0.tensor.detached().to(device: .cpu).contiguous()) }
      try SafeTensors.write(cpu, metadata: ["format": "pt"], to: tmp.appendingPathComponent("adapter_model.safetensors"))
    }
  }

  /// Reads a PEFT LoRA adapter folder and attaches it to `model` (replacing any adapters it had).
  @discardableResult
  public static func load(_ folder: URL, into model: LlamaForCausalLM, trainable: Bool = true) throws -> LoRAConfiguration {
    let configURL = folder.appendingPathComponent("adapter_config.json")
    let config: PEFTAdapterConfig
    do { config = try JSONDecoder().decode(PEFTAdapterConfig.self, from: Data(contentsOf: configURL)) } catch {
      throw ModelError("\(configURL.path): not a PEFT adapter config (\(error))")
    }
    guard config.peftType == "LORA" else {
      throw ModelError("\(configURL.path): peft_type \"\(config.peftType)\" is not supported (only LORA)")
    }
    let lora = config.loraConfiguration
    let file = try SafeTensorsFile(url: folder.appendingPathComponent("adapter_model.safetensors"))
    var loaded = 0
    for (path, linear) in model.linearLayers {
      let prefix = "base_model.model.\(path)"
      let keysA = ["\(prefix).lora_A.weight", "\(prefix).lora_A.default.weight"]
      let keysB = ["\(prefix).lora_B.weight", "\(prefix).lora_B.default.weight"]
      guard let ka = keysA.first(where: file.names.contains), let kb = keysB.first(where: file.names.contains) else {
        linear.lora = nil
        continue
      }
      let a = try file.tensor(ka, copy: true).to(dtype: .float32, device: linear.weight.device)
      let b = try file.tensor(kb, copy: true).to(dtype: .float32, device: linear.weight.device)
      guard a.shape == [config.r, linear.inFeatures], b.shape == [linear.outFeatures, config.r] else {
        throw ModelError("\(folder.path): \(ka) has shape \(a.shape) and \(kb) \(b.shape); the model's \(path) needs [\(config.r), \(linear.inFeatures)] and [\(linear.outFeatures), \(config.r)]")
      }
      if trainable {
        try a.requiringGrad()
        try b.requiringGrad()
      }
      linear.lora = LoRAAdapter(a: a, b: b, scaling: LoRAAdapter.scaling(alpha: config.loraAlpha, rank: config.r, useRSLoRA: config.useRslora),
                                dropout: config.loraDropout)
      loaded += 1
    }
    guard loaded > 0 else { throw ModelError("\(folder.path): no LoRA weight in the adapter matches this model's layers") }
    return lora
  }
}

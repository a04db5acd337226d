// OptimizerChoice.swift — the recipe's `optim`, `optim_target_modules` and `optim_args` under TRL / transformers'
// names, and the optimizer they build for the trainable parameters, as transformers' Trainer.create_optimizer does
// (trainer_optimizer.py, 5.23).
import Foundation
import Support
import Torch

/// `optim:` — which optimizer updates the trainable weights (transformers' `OptimizerNames` values).
public enum OptimizerName: String, ConfigurationChoice, Sendable {
  /// torch.optim.AdamW(fused=True) (AdamW.swift): PyTorch's fused kernel, one call for every parameter. What
  /// transformers (5.x, with torch >= 2.8) and so TRL train with when `optim` is not set, and the default here too.
  case adamwTorchFused = "adamw_torch_fused"
  /// torch.optim.AdamW with its single-tensor arithmetic (AdamW.swift).
  case adamwTorch = "adamw_torch"
  /// bitsandbytes' AdamW with 8-bit block-wise states (BitsAndBytesAdamW.swift).
  case adamw8bit = "adamw_8bit"
  /// The same with paged buffers: CUDA unified memory on a GPU; on the CPU the plain 8-bit optimizer.
  case pagedAdamw8bit = "paged_adamw_8bit"
  /// bitsandbytes' AdamW with float32 states, paged on a GPU; its own 32-bit arithmetic.
  case pagedAdamw32bit = "paged_adamw_32bit"
  /// GaLore (GaLoreAdamW.swift): Adam on the target matrices' gradients projected to rank r; full fine-tuning.
  case galoreAdamw = "galore_adamw"
  /// GaLore with bitsandbytes' 8-bit block-wise moments (GaLoreAdamW8bit.swift).
  case galoreAdamw8bit = "galore_adamw_8bit"

  /// Whether the optimizer projects `optim_target_modules`' gradients (GaLore).
  public var isGaLore: Bool { self == .galoreAdamw || self == .galoreAdamw8bit }

  /// What galore-torch's class uses for β₁, β₂, ε and weight decay, transformers passing it only the learning rate.
  var galoreConstants: AdamConstants? {
    switch self {
    case .galoreAdamw: return AdamConstants(beta1: 0.9, beta2: 0.999, epsilon: 1e-6, weightDecay: 0)
    case .galoreAdamw8bit: return AdamConstants(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 1e-2)
    default: return nil
    }
  }

  /// bitsandbytes' state width, or nil for torch's AdamW.
  var bitsAndBytesStateBits: Int? {
    switch self {
    case .adamwTorchFused, .adamwTorch, .galoreAdamw, .galoreAdamw8bit: return nil
    case .adamw8bit, .pagedAdamw8bit: return 8
    case .pagedAdamw32bit: return 32
    }
  }
}

/// `optim_target_modules:` — the linear layers GaLore projects, matched as transformers' check_target_module_exists
/// matches module paths: one string is a regular expression over the whole path (or all-linear); in a list, a name
/// matches a path equal to it, containing it, or matching it whole as a regular expression.
public enum OptimizerTargets: Equatable, Sendable {
  case pattern(String)
  case names([String])
  /// Every linear layer (lm_head included, as transformers counts nn.Linear modules).
  case allLinear

  /// Whether the linear layer at `path` (`model.layers.0.self_attn.q_proj`) is a target.
  public func matches(path: String) throws -> Bool {
    switch self {
    case .allLinear: return true
    case .pattern(let pattern): return try Self.fullMatch(pattern, path)
    case .names(let names):
      if names.contains(where: { path.contains($0) }) { return true }  // equal, or a substring
      return try names.contains { try Self.fullMatch($0, path) }
    }
  }

  static func fullMatch(_ pattern: String, _ text: String) throws -> Bool {
    let regex: NSRegularExpression
    do { regex = try RegexCache.regex("^(?:" + pattern + ")$") } catch {
      throw TrainingError("optim_target_modules: \"\(pattern)\" is not a regular expression")
    }
    return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
  }
}

extension OptimizerTargets: ConfigurationValue {
  public static var expectation: String { "a regular expression, all-linear, or a list of module names or expressions" }
  public init?(recipe node: RecipeNode) {
    switch node {
    case .list:
      guard let names = [String](recipe: node), !names.isEmpty else { return nil }
      self = .names(names)
    case .scalar:
      guard let text = String(recipe: node), !text.isEmpty else { return nil }
      self = text.replacingOccurrences(of: "_", with: "-") == "all-linear" ? .allLinear : .pattern(text)
    case .mapping:
      return nil
    }
  }
  public var recipeText: String {
    switch self {
    case .pattern(let pattern): return pattern
    case .names(let names): return names.recipeText
    case .allLinear: return "all-linear"
    }
  }
}

extension TrainingConfiguration {
  /// transformers' `_parse_optim_args`: `key=value` pairs separated by commas, spaces ignored.
  public func optimArguments() throws -> [(key: String, value: String)] {
    guard let text = optimArgs, !text.isEmpty else { return [] }
    return try text.replacingOccurrences(of: " ", with: "").split(separator: ",", omittingEmptySubsequences: false).map { pair in
      let parts = pair.split(separator: "=", omittingEmptySubsequences: false)
      guard parts.count == 2, !parts[0].isEmpty else {
        throw error("optim_args", "\"\(pair)\" is not key=value (optim_args is \"rank=128,update_proj_gap=200,scale=0.25,proj_type=std\" style)")
      }
      return (String(parts[0]), String(parts[1]))
    }
  }

  /// GaLore's settings from `optim_args`, with transformers' defaults for what it leaves out.
  public func galoreSettings() throws -> GaLoreSettings {
    var settings = GaLoreSettings()
    for (key, value) in try optimArguments() {
      func bad(_ expected: String) -> ConfigurationError { error("optim_args", "\(key)=\(value): expected \(expected)") }
      switch key {
      case "rank": guard let v = Int(value), v >= 1 else { throw bad("a whole number of at least 1") }; settings.rank = v
      case "update_proj_gap":
        guard let v = Int(value), v >= 1 else { throw bad("a whole number of at least 1") }; settings.updateProjectionGap = v
      case "scale": guard let v = Double(value), v.isFinite else { throw bad("a number") }; settings.scale = v
      case "proj_type":
        guard let v = GaLoreSettings.ProjectionType(rawValue: value) else {
          throw bad("one of " + GaLoreSettings.ProjectionType.allCases.map(\.rawValue).joined(separator: ", "))
        }
        settings.projectionType = v
      default:
        throw error("optim_args", "\(key) is not a GaLore argument (GaLore takes rank, update_proj_gap, scale, proj_type)")
      }
    }
    return settings
  }

  /// The `optim*` keys' rules across keys.
  func optimizerProblem() -> (key: String, problem: String)? {
    if optim.bitsAndBytesStateBits != nil || optim == .galoreAdamw8bit, finetuningType == .full, torchDtype != .float32 {
      return ("optim", "\(optim.rawValue) updates float32 weights here; full fine-tuning with torch_dtype \(torchDtype.recipeText) would train \(torchDtype.recipeText) weights (set torch_dtype: float32)")
    }
    if optim.isGaLore {
      if optimTargetModules == nil {
        return ("optim", "\(optim.rawValue) needs optim_target_modules, the linear layers whose gradients it projects (a regular expression, all-linear, or a list)")
      }
      if finetuningType != .full {
        return ("optim", "\(optim.rawValue) trains every weight, projecting the targets' gradients (set finetuning_type: full)")
      }
      do { _ = try galoreSettings() } catch let e as ConfigurationError { return ("optim_args", e.problem) } catch { return ("optim_args", "\(error)") }
      // transformers hands GaLore only the learning rate: β, ε and weight decay are galore-torch's defaults.
      let c = optim.galoreConstants!
      let defaults: [(String, Double, Double)] = [("adam_beta1", adamBeta1, c.beta1), ("adam_beta2", adamBeta2, c.beta2),
                                                  ("adam_epsilon", adamEpsilon, c.epsilon), ("weight_decay", weightDecay, c.weightDecay)]
      for (key, value, used) in defaults where source(of: key) != .builtInDefault && value != used {
        return (key, "\(optim.rawValue) runs with \(used.recipeText) (transformers passes GaLore only the learning rate); remove \(key) or set it to \(used.recipeText)")
      }
    } else {
      if optimTargetModules != nil { return ("optim_target_modules", "applies to the GaLore optimizers (optim is \(optim.rawValue))") }
      if optimArgs != nil { return ("optim_args", "applies to the GaLore optimizers (optim is \(optim.rawValue))") }
    }
    return nil
  }

  /// The optimizer `optim` names over `trainable` (sorted parameter paths and tensors), with the recipe's learning
  /// rate, betas, ε and weight decay. Under an 8-bit bitsandbytes optimizer, embedding weights keep 32-bit states
  /// (transformers' `register_module_override(module, "weight", {"optim_bits": 32})` for every nn.Embedding).
  /// With GaLore, `linearLayers` (module paths) name the layers `optim_target_modules` can match; their weights among
  /// `trainable` are projected, the rest take GaLore's plain Adam.
  public func makeOptimizer(for trainable: [(key: String, tensor: Tensor)], linearLayers: [String] = []) throws -> any Optimizer {
    let tensors = trainable.map(\.tensor)
    if optim.isGaLore {
      guard let targets = optimTargetModules else { throw error("optim_target_modules", "is needed by \(optim.rawValue)") }
      let weights = Set(try linearLayers.filter { try targets.matches(path: $0) }.map { $0 + ".weight" })
      let indices = Set(trainable.indices.filter { weights.contains(trainable[$0].key) && trainable[$0].tensor.shape.count == 2 })
      guard !indices.isEmpty else {
        throw error("optim_target_modules", "\(targets.recipeText) matches no trainable linear layer of the model (its layers: "
                      + linearLayers.prefix(8).joined(separator: ", ") + (linearLayers.count > 8 ? ", …" : "") + ")")
      }
      if optim == .galoreAdamw8bit {
        return try GaLoreAdamW8bit(parameters: tensors, targets: indices, settings: try galoreSettings(), learningRate: learningRate)
      }
      return try GaLoreAdamW(parameters: tensors, targets: indices, settings: try galoreSettings(), learningRate: learningRate)
    }
    if let bits = optim.bitsAndBytesStateBits {
      let embeddings = Set(trainable.indices.filter { trainable[$0].key.split(separator: ".").contains("embed_tokens") })
      return try BitsAndBytesAdamW(parameters: tensors, learningRate: learningRate, beta1: adamBeta1, beta2: adamBeta2,
                                   epsilon: adamEpsilon, weightDecay: weightDecay, stateBits: bits,
                                   fullPrecision: bits == 8 ? embeddings : [])
    }
    return try AdamW(parameters: tensors, learningRate: learningRate, beta1: adamBeta1, beta2: adamBeta2,
                     epsilon: adamEpsilon, weightDecay: weightDecay, fused: optim == .adamwTorchFused)
  }
}

extension TrainingConfiguration {
  /// Bytes the optimizer `optim` keeps for trainable tensors of these shapes (`linearPath`: the linear layer a weight
  /// belongs to, for GaLore's targets): AdamW two float32 moments; 8-bit bitsandbytes 2 bytes a weight and two
  /// float32 scales a block of 256 (float32 under 4,096 elements and for embeddings); GaLore float32 moments in the
  /// projected shape and the projection matrix; GaLore 8-bit the same with bitsandbytes' moments (8-bit from 4,096
  /// projected elements; every other weight 8-bit from 4,096 elements, embeddings included).
  public func optimizerStateBytes(_ tensors: [(key: String, shape: [Int], linearPath: String?)]) throws -> Int {
    let settings = optim.isGaLore ? try galoreSettings() : nil
    return try tensors.reduce(0) { total, t in
      let n = t.shape.reduce(1, *)
      if optim.bitsAndBytesStateBits == 8, n >= BitsAndBytesAdamW.minimum8BitSize,
         !t.key.split(separator: ".").contains("embed_tokens")
      {
        return total + 2 * n + 8 * ((n + BitsAndBytesAdamW.blockSize - 1) / BitsAndBytesAdamW.blockSize)
      }
      if let settings, t.shape.count == 2, let path = t.linearPath, t.key == path + ".weight",
         try optimTargetModules?.matches(path: path) == true
      {
        let (m, columns) = (t.shape[0], t.shape[1])
        let k = Swift.min(m, columns, settings.rank)
        let right = GaLoreAdamW.projectsFromRight(t.shape, settings.projectionType)
        let moments = right ? m * k : k * columns     // R: [m, k] or [k, n]
        let projection = right ? k * columns : m * k  // P: [k, n] or [m, k]
        let momentBytes = optim == .galoreAdamw8bit ? BitsAndBytesMoments.byteCount(elements: moments, eightBit: true) : 8 * moments
        return total + momentBytes + 4 * projection
      }
      if optim == .galoreAdamw8bit { return total + BitsAndBytesMoments.byteCount(elements: n, eightBit: true) }
      return total + 8 * n
    }
  }

  /// How `orpo train --dry-run` names the optimizer and its state.
  var optimizerDescription: String {
    switch optim {
    case .adamwTorchFused: return "AdamW (adamw_torch_fused: PyTorch's fused kernel, float32 moments)"
    case .adamwTorch: return "AdamW (adamw_torch: float32 moments)"
    case .adamw8bit, .pagedAdamw8bit: return "bitsandbytes AdamW (\(optim.rawValue): 8-bit block-wise moments)"
    case .pagedAdamw32bit: return "bitsandbytes AdamW (paged_adamw_32bit: float32 moments)"
    case .galoreAdamw: return "GaLore AdamW (galore_adamw: moments at rank \((try? galoreSettings().rank) ?? 0) on \(optimTargetModules?.recipeText ?? "?"))"
    case .galoreAdamw8bit:
      return "GaLore AdamW 8-bit (galore_adamw_8bit: 8-bit block-wise moments at rank \((try? galoreSettings().rank) ?? 0) on \(optimTargetModules?.recipeText ?? "?"))"
    }
  }
}

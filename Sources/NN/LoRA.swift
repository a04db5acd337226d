// LoRA.swift — low-rank adapters (Hu et al. 2021) as a wrapper around any linear layer, with PEFT's
// initialisation, scaling and merge rule; the one LoRA configuration (PEFT's key names) recipes and adapters share.
import Foundation
import Support
import Torch

/// `y = base(x) + scaling · B(A(dropout(x)))` around any linear layer (dense or quantized), with A [r, in] and
/// B [out, r]; `scaling = alpha / r` (alpha/√r with rsLoRA). With `enabled` off it is exactly the base layer.
public final class LoRALinear: LinearLayer {
  public let base: any LinearLayer
  public let a: Tensor  // lora_A.weight [r, in]
  public let b: Tensor  // lora_B.weight [out, r]
  public let scaling: Double
  public let dropout: Double
  /// Off: the layer computes `base(x)` alone (a DPO reference is the policy with its adapters off).
  public var enabled = true
  /// Mixed precision (bf16 / fp16): the adapter's matmuls in this dtype, as autocast runs linear layers (A and B
  /// stay float32 and get float32 gradients through the cast). nil: in the adapter's own dtype.
  public var computeDType: DType?

  public init(base: any LinearLayer, a: Tensor, b: Tensor, scaling: Double, dropout: Double) {
    self.base = base
    self.a = a
    self.b = b
    self.scaling = scaling
    self.dropout = dropout
  }

  /// PEFT's default init: A ~ kaiming_uniform(a=√5) = U(−1/√in, 1/√in), B = 0 (so the adapter starts as a no-op).
  /// Draws exactly one [r, in] uniform from `generator`, as PEFT does per layer, on the generator's device (PEFT
  /// initialises on the CPU and then moves the adapter beside its base layer: a CPU generator gives CUDA the same A).
  public convenience init(base: any LinearLayer, rank: Int, alpha: Double, dropout: Double, useRSLoRA: Bool = false,
                          dtype: DType = .float32, generator: Generator? = nil) throws
  {
    let bound = 1.0 / Double(base.inFeatures).squareRoot()
    let drawn = try Tensor.uniform([rank, base.inFeatures], low: -bound, high: bound, dtype: dtype,
                                   device: generator?.device ?? base.device, generator: generator)
    let a = drawn.device == base.device ? drawn : try drawn.to(device: base.device)
    let b = try Tensor.zeros([base.outFeatures, rank], dtype: dtype, device: base.device)
    try a.requiringGrad()
    try b.requiringGrad()
    self.init(base: base, a: a, b: b, scaling: Self.scaling(alpha: alpha, rank: rank, useRSLoRA: useRSLoRA),
              dropout: dropout)
  }

  /// PEFT's scaling: alpha / r, or alpha / √r with rsLoRA.
  public static func scaling(alpha: Double, rank: Int, useRSLoRA: Bool) -> Double {
    useRSLoRA ? alpha / Double(rank).squareRoot() : alpha / Double(rank)
  }

  public var path: String { base.path }
  public var rank: Int { a.size(0) }
  public var inFeatures: Int { base.inFeatures }
  public var outFeatures: Int { base.outFeatures }
  public var bias: Tensor? { base.bias }
  public var dtype: DType { base.dtype }
  public var device: Device { base.device }

  /// The adapter's own weights under PEFT's local names (`<path>.lora_A.weight`, `<path>.lora_B.weight`).
  public var adapterParameters: [(key: String, tensor: Tensor)] {
    [("\(path).lora_A.weight", a), ("\(path).lora_B.weight", b)]
  }

  // [*, in] -> [*, out]
  public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
    guard enabled else { return try base(x, training: training) }
    // A frozen dense base in the dtype the adapter computes in (its own, or the mixed-precision one: A and B are
    // then cast inside): one autograd node for the whole layer (Functional.loraLinear).
    if let dense = base as? Linear, !dense.weight.requiresGrad, x.dtype == dense.weight.dtype,
       x.dtype == computeDType ?? a.dtype, a.dtype == b.dtype
    {
      let dropped = dropout > 0 && training ? try Functional.dropout(x, probability: dropout, training: true) : nil
      return try Functional.loraLinear(x, droppedOut: dropped, weight: dense.weight, bias: dense.bias, a: a, b: b,
                                       scaling: scaling)
    }
    let y = try base(x, training: training)
    let compute = computeDType ?? a.dtype
    let input = x.dtype == compute ? x : try x.to(dtype: compute)
    let (wa, wb) = compute == a.dtype ? (a, b) : (try a.to(dtype: compute), try b.to(dtype: compute))
    let dropped = try Functional.dropout(input, probability: dropout, training: training)
    let h = try dropped.linear(weight: wa)  // [*, in] -> [*, r]
    // y + scaling · h·Bᵀ as one GEMM when the dtypes agree (PEFT: result + lora_B(lora_A(x)) * scaling).
    if h.dtype == y.dtype { return try y.addingScaledLinear(h, weight: wb, scaling: scaling) }
    return try y + (h.linear(weight: wb) * scaling).to(dtype: y.dtype)  // [*, r] -> [*, out]
  }

  /// The dense update scaling · B·A, [out, in].
  public func delta() throws -> Tensor { try b.matmul(a) * scaling }

  /// W + scaling·B·A in float32 (whether or not the adapter is enabled), [out, in].
  public func denseWeight() throws -> Tensor {
    try base.denseWeight().to(dtype: .float32) + delta().to(dtype: .float32)
  }

  /// A dense layer with the adapter folded into the base weight, in the base's dtype.
  public func fused() throws -> Linear {
    try withNoGrad {
      Linear(path: path, weight: try denseWeight().to(dtype: base.dtype), bias: base.bias)
    }
  }
}

/// Which linear layers get adapters: module names matching a path or its end after a dot (`q_proj`,
/// `self_attn.q_proj`), one regular expression matched
/// against the whole module path (`model.layers.0.self_attn.q_proj`), or every linear layer but the output one,
/// as PEFT's `target_modules` accepts (a list, a string, or "all-linear").
public enum LoRATargets: Equatable, Sendable, Codable, CustomStringConvertible {
  case names([String])
  case pattern(String)
  case allLinear

  public func matches(path: String) throws -> Bool {
    switch self {
    case .names(let names):
      return names.contains { path == $0 || path.hasSuffix(".\($0)") }
    case .pattern(let p):
      let re: NSRegularExpression
      do { re = try RegexCache.regex("^(?:\(p))$") } catch {
        throw NNError("target_modules \"\(p)\" is not a valid regular expression")
      }
      return re.firstMatch(in: path, range: NSRange(path.startIndex..., in: path)) != nil
    case .allLinear:
      return !path.hasSuffix("lm_head")
    }
  }

  /// As written in recipes and adapter_config.json.
  public var description: String {
    switch self {
    case .names(let names): return names.joined(separator: ", ")
    case .pattern(let p): return p
    case .allLinear: return "all-linear"
    }
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let list = try? c.decode([String].self) {
      self = list == ["all-linear"] ? .allLinear : .names(list)
    } else {
      let text = try c.decode(String.self)
      self = text == "all-linear" ? .allLinear : .pattern(text)
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .names(let names): try c.encode(names)
    case .pattern(let p): try c.encode(p)
    case .allLinear: try c.encode("all-linear")
    }
  }
}

/// The one LoRA configuration: a recipe's `lora:` section and the LoRA part of a PEFT adapter_config.json, with
/// PEFT's key names and defaults as this toolkit's recipes set them.
public struct LoRAConfiguration: Codable, Equatable, Sendable {
  public var rank: Int = 16
  public var alpha: Double = 32
  public var dropout: Double = 0.05
  public var targetModules: LoRATargets = .names(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
  public var useRSLoRA: Bool = false

  public enum CodingKeys: String, CodingKey, CaseIterable {
    case rank = "r", alpha = "lora_alpha", dropout = "lora_dropout", targetModules = "target_modules"
    case useRSLoRA = "use_rslora"
  }

  public init(rank: Int = 16, alpha: Double = 32, dropout: Double = 0.05, targetModules: LoRATargets? = nil,
              useRSLoRA: Bool = false)
  {
    self.rank = rank
    self.alpha = alpha
    self.dropout = dropout
    if let targetModules { self.targetModules = targetModules }
    self.useRSLoRA = useRSLoRA
  }

  /// Keys left out keep their defaults.
  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    rank = try c.decodeIfPresent(Int.self, forKey: .rank) ?? rank
    alpha = try c.decodeIfPresent(Double.self, forKey: .alpha) ?? alpha
    dropout = try c.decodeIfPresent(Double.self, forKey: .dropout) ?? dropout
    targetModules = try c.decodeIfPresent(LoRATargets.self, forKey: .targetModules) ?? targetModules
    useRSLoRA = try c.decodeIfPresent(Bool.self, forKey: .useRSLoRA) ?? useRSLoRA
  }

  public var scaling: Double { LoRALinear.scaling(alpha: alpha, rank: rank, useRSLoRA: useRSLoRA) }

  /// The first value out of range, named by its key.
  public func validate() throws {
    guard rank >= 1 else { throw NNError("r must be at least 1, got \(rank)") }
    guard alpha.isFinite else { throw NNError("lora_alpha must be a finite number, got \(alpha)") }
    guard dropout >= 0 && dropout < 1 else { throw NNError("lora_dropout must be in [0, 1), got \(dropout)") }
    if case .names(let names) = targetModules, names.isEmpty {
      throw NNError("target_modules is empty")
    }
  }
}

extension Module {
  /// Every LoRA wrapper under this module, in declaration order.
  public var loraLayers: [LoRALinear] { linearSlots.compactMap { $0.wrappedValue as? LoRALinear } }

  /// Wraps every linear layer `configuration` targets in a freshly initialised `LoRALinear` (PEFT's init, one
  /// uniform draw per layer in declaration order from `generator`), replacing adapters already there; returns the
  /// adapted paths. Targets that match nothing are an error.
  @discardableResult
  public func attachLoRA(_ configuration: LoRAConfiguration, generator: Generator? = nil) throws -> [String] {
    try configuration.validate()
    var attached: [String] = []
    for slot in linearSlots {
      let layer = (slot.wrappedValue as? LoRALinear)?.base ?? slot.wrappedValue
      guard try configuration.targetModules.matches(path: layer.path) else { continue }
      slot.wrappedValue = try LoRALinear(base: layer, rank: configuration.rank, alpha: configuration.alpha,
                                         dropout: configuration.dropout, useRSLoRA: configuration.useRSLoRA,
                                         generator: generator)
      attached.append(layer.path)
    }
    guard !attached.isEmpty else {
      throw NNError("LoRA target_modules \(configuration.targetModules.description) match no linear layer (layers are named like \(linearLayers.first?.path ?? "?"))")
    }
    return attached
  }

  /// Removes every adapter, leaving the base layers as they were.
  public func removeLoRA() {
    for slot in linearSlots { if let lora = slot.wrappedValue as? LoRALinear { slot.wrappedValue = lora.base } }
  }

  /// Folds every adapter into its base weight (W += scaling·B·A, computed in float32) and removes the wrappers.
  public func mergeLoRA() throws {
    for slot in linearSlots { if let lora = slot.wrappedValue as? LoRALinear { slot.wrappedValue = try lora.fused() } }
  }

  /// Runs `body` with every adapter switched off (the model computes as its base), then restores each adapter's
  /// switch as it was, also when `body` throws. torchtune's `disable_adapter`: a reference model for free.
  public func withAdaptersDisabled<R>(_ body: () throws -> R) rethrows -> R {
    let adapters = loraLayers
    let saved = adapters.map(\.enabled)
    for adapter in adapters { adapter.enabled = false }
    defer { for (adapter, enabled) in zip(adapters, saved) { adapter.enabled = enabled } }
    return try body()
  }
}

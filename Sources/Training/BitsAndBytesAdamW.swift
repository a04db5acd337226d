// BitsAndBytesAdamW.swift — bitsandbytes' AdamW (TRL's optim adamw_8bit, paged_adamw_8bit, paged_adamw_32bit):
// with 8-bit states, both moments held as block-wise dynamic 8-bit codes (Dettmers et al. 2022, "8-bit Optimizers via
// Block-wise Quantization"), op for op as bitsandbytes 0.50.2's CPU kernels (backends/cpu/ops.py).
import Foundation
import Torch

/// bitsandbytes' `Optimizer2State("adam")`. With `stateBits` 8, every parameter of at least `minimum8BitSize`
/// elements keeps exp_avg as uint8 codes in the signed dynamic map and exp_avg_sq in the unsigned one, each with a
/// float32 absmax per block of 256; an update dequantizes both, runs Adam in float32 and quantizes them again
/// (`_optimizer_update_8bit_blockwise_cpu`). Smaller parameters, those in `fullPrecision`, and every parameter with
/// `stateBits` 32 keep float32 states and take bitsandbytes' 32-bit update (`_optimizer_update_32bit_cpu`, whose
/// arithmetic differs from torch.optim.AdamW's: ε is scaled by √(1 − β₂ᵗ)).
/// "Paged" buffers live in CUDA unified memory so the driver can evict them to host RAM under pressure; on the CPU
/// bitsandbytes falls back to ordinary buffers, and so does this type: paged and plain are the same arithmetic.
public final class BitsAndBytesAdamW: AdamFamily {
  public static let blockSize = BitsAndBytesMoments.blockSize
  public static let minimum8BitSize = BitsAndBytesMoments.minimum8BitSize

  public var learningRate: Double
  public let constants: AdamConstants
  public let stateBits: Int
  public let parameters: [Tensor]
  public private(set) var step = 0
  /// One per parameter.
  var states: [BitsAndBytesMoments]
  private let maps = DynamicMaps()
  /// Elements an 8-bit update takes at a time (tests lower it to cross chunk boundaries on small tensors).
  var chunkElements = BitsAndBytesMoments.defaultChunkElements

  /// `fullPrecision`: indices of parameters that keep 32-bit states whatever their size (transformers registers
  /// that override for every nn.Embedding's weight under an 8-bit bitsandbytes optimizer).
  public init(parameters: [Tensor], learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999,
              epsilon: Double = 1e-8, weightDecay: Double = 1e-2, stateBits: Int = 8, fullPrecision: Set<Int> = []) throws
  {
    guard stateBits == 8 || stateBits == 32 else { throw TrainingError("bitsandbytes AdamW keeps 8- or 32-bit states, not \(stateBits)") }
    self.parameters = parameters
    self.learningRate = learningRate
    constants = AdamConstants(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
    self.stateBits = stateBits
    states = try parameters.enumerated().map { k, p in
      try BitsAndBytesMoments(shape: p.shape, device: p.device, eightBit: stateBits == 8 && !fullPrecision.contains(k))
    }
  }

  /// Whether parameter k's moments are 8-bit codes.
  public func isEightBit(_ k: Int) -> Bool { states[k].isEightBit }

  /// Bytes the moments take (codes, absmax and float32 states).
  public var stateBytes: Int { states.reduce(0) { $0 + $1.byteCount } }

  public func update() throws {
    step += 1
    try withNoGrad {
      for (k, p) in parameters.enumerated() {
        guard let g = p.grad else { continue }
        guard p.dtype == .float32 else { throw TrainingError("bitsandbytes AdamW here updates float32 parameters; parameter \(k) is \(p.dtype)") }
        try states[k].update(p, g.dtype == .float32 ? g : g.to(dtype: .float32), step: step, learningRate: learningRate,
                             constants: constants, maps: maps, chunkElements: chunkElements)
      }
    }
  }

  /// Per parameter k: `state1.<k>`/`state2.<k>` (exp_avg, exp_avg_sq: uint8 codes or float32), and for 8-bit
  /// states `absmax1.<k>`/`absmax2.<k>`; the step and state bits as metadata.
  public func state() throws -> OptimizerState {
    OptimizerState(tensors: states.enumerated().flatMap { k, state in state.namedTensors(k) },
                   metadata: ["step": String(step), "optimizer": "bitsandbytes_adamw", "state_bits": String(stateBits)])
  }

  public func restore(_ saved: OptimizerState) throws {
    guard let stepText = saved.metadata["step"], let savedStep = Int(stepText), savedStep >= 0 else {
      throw TrainingError("bitsandbytes AdamW state: metadata \"step\" is \(saved.metadata["step"].map { "\"\($0)\"" } ?? "missing"), expected a whole number")
    }
    guard saved.metadata["optimizer"] == "bitsandbytes_adamw", saved.metadata["state_bits"] == String(stateBits) else {
      throw TrainingError("the checkpoint's optimizer state is \(saved.metadata["optimizer"] ?? "AdamW (adamw_torch or adamw_torch_fused)")"
                            + (saved.metadata["state_bits"].map { " with \($0)-bit states" } ?? "")
                            + ", this run's optim is bitsandbytes AdamW with \(stateBits)-bit states; resume with the optim it was saved with")
    }
    let pairs = try states.enumerated().flatMap { k, state in try state.pairs(restoringFrom: saved, k, owner: "bitsandbytes AdamW") }
    guard saved.tensors.count == pairs.count else {
      throw TrainingError("bitsandbytes AdamW state holds \(saved.tensors.count) tensors, expected \(pairs.count) for \(parameters.count) trainable parameters")
    }
    step = savedStep
    try withNoGrad { for (ours, theirs) in pairs { try ours.copy_(theirs) } }
  }
}

/// One tensor's bitsandbytes Adam moments (`Optimizer2State("adam")`'s state1/state2) and the update that advances
/// them with the tensor: BitsAndBytesAdamW keeps one per parameter, GaLoreAdamW8bit one per projected gradient.
/// With 8-bit states a tensor of at least `minimum8BitSize` elements keeps exp_avg as uint8 codes in the signed
/// dynamic map and exp_avg_sq in the unsigned one, each with a float32 absmax per block of 256; smaller tensors keep
/// float32 moments and take bitsandbytes' 32-bit update.
enum BitsAndBytesMoments {
  static let blockSize = 256
  static let minimum8BitSize = 4096
  /// Elements an 8-bit update dequantizes at a time (4,096 blocks): every op is element-wise or per block, so a large
  /// tensor's update goes chunk by chunk with the whole-tensor kernel's bytes, and its float32 temporaries stay at
  /// 4 MiB each instead of 4 bytes × 4 a weight (which made a full fine-tune's 8-bit peak higher than float32's).
  static let defaultChunkElements = 4096 * blockSize

  /// float32 exp_avg and exp_avg_sq, shaped like the tensor.
  case float(first: Tensor, second: Tensor)
  /// uint8 codes shaped like the tensor, float32 absmax [⌈n/256⌉] each.
  case blockwise(first: Tensor, firstAbsmax: Tensor, second: Tensor, secondAbsmax: Tensor)

  /// Zero moments for a tensor of `shape`: 8-bit codes when `eightBit` and it has at least 4,096 elements
  /// (bitsandbytes' `init_state`).
  init(shape: [Int], device: Device, eightBit: Bool) throws {
    let n = shape.reduce(1, *)
    if eightBit && n >= Self.minimum8BitSize {
      let blocks = (n + Self.blockSize - 1) / Self.blockSize
      self = .blockwise(first: try Tensor.zeros(shape, dtype: .uint8, device: device),
                        firstAbsmax: try Tensor.zeros([blocks], device: device),
                        second: try Tensor.zeros(shape, dtype: .uint8, device: device),
                        secondAbsmax: try Tensor.zeros([blocks], device: device))
    } else {
      self = .float(first: try Tensor.zeros(shape, device: device), second: try Tensor.zeros(shape, device: device))
    }
  }

  var isEightBit: Bool {
    if case .blockwise = self { return true }
    return false
  }

  /// Bytes the moments take (codes, absmax and float32 states).
  var byteCount: Int {
    switch self {
    case .float(let m, let v): return 4 * (m.elementCount + v.elementCount)
    case .blockwise(let m, let ma, let v, let va): return m.elementCount + v.elementCount + 4 * (ma.elementCount + va.elementCount)
    }
  }

  /// Bytes of 8-bit-capable moments for a tensor of n elements (what `init` would allocate).
  static func byteCount(elements n: Int, eightBit: Bool) -> Int {
    eightBit && n >= minimum8BitSize ? 2 * n + 8 * ((n + blockSize - 1) / blockSize) : 8 * n
  }

  /// One Adam step at bitsandbytes step `step` (counted from 1) on the float32 tensor `p` with gradient `g`:
  /// `_optimizer_update_8bit_blockwise_cpu` (dequantize, update in float32, quantize again; `chunkElements` at a time,
  /// a multiple of 256) or `_optimizer_update_32bit_cpu`, optimizer "adam", no update-norm clipping (max_unorm 0).
  func update(_ p: Tensor, _ g: Tensor, step: Int, learningRate: Double, constants: AdamConstants, maps: DynamicMaps,
              chunkElements: Int = defaultChunkElements) throws
  {
    switch self {
    case .float(let m, let v):
      try Self.update32Bit(p, g, m, v, step: step, learningRate: learningRate, constants)
    case .blockwise(let codes1, let absmax1, let codes2, let absmax2):
      let signed = try maps.map(signed: true, p.device), unsigned = try maps.map(signed: false, p.device)
      func run(_ p: Tensor, _ g: Tensor, _ codes1: Tensor, _ absmax1: Tensor, _ codes2: Tensor, _ absmax2: Tensor) throws {
        let m = try BlockQuantization.dequantizeBlockwise(codes: codes1, absmax: absmax1, code: signed, blockSize: Self.blockSize)
        let v = try BlockQuantization.dequantizeBlockwise(codes: codes2, absmax: absmax2, code: unsigned, blockSize: Self.blockSize)
        try Self.update8Bit(p, g, m, v, step: step, learningRate: learningRate, constants)
        let (q1, a1) = try BlockQuantization.quantizeBlockwise(m, code: signed, blockSize: Self.blockSize)
        let (q2, a2) = try BlockQuantization.quantizeBlockwise(v, code: unsigned, blockSize: Self.blockSize)
        try codes1.copy_(q1); try absmax1.copy_(a1)
        try codes2.copy_(q2); try absmax2.copy_(a2)
      }
      let n = p.elementCount
      precondition(chunkElements > 0 && chunkElements % Self.blockSize == 0, "chunks hold whole blocks")
      guard n > chunkElements, p.isContiguous, codes1.isContiguous, codes2.isContiguous else {
        return try run(p, g, codes1, absmax1, codes2, absmax2)
      }
      // 1-D views of the weight and codes (writes land in them), blocks [start/256, …) of the absmax.
      let (p1, g1) = (try p.view([n]), try g.reshape([n]))
      let (c1, c2) = (try codes1.view([n]), try codes2.view([n]))
      for start in stride(from: 0, to: n, by: chunkElements) {
        let end = Swift.min(start + chunkElements, n)
        let blocks = (start / Self.blockSize, (end + Self.blockSize - 1) / Self.blockSize)
        try run(p1.slice(0, start, end), g1.slice(0, start, end), c1.slice(0, start, end),
                absmax1.slice(0, blocks.0, blocks.1), c2.slice(0, start, end), absmax2.slice(0, blocks.0, blocks.1))
      }
    }
  }

  /// `_optimizer_update_8bit_blockwise_cpu`, optimizer "adam", on the dequantized moments.
  private static func update8Bit(_ p: Tensor, _ g: Tensor, _ m: Tensor, _ v: Tensor, step: Int, learningRate: Double,
                                 _ c: AdamConstants) throws
  {
    try m.mul_(c.beta1); try m.add_(g, alpha: 1 - c.beta1)                  // m ← β₁m + (1 − β₁)g
    try v.mul_(c.beta2); try v.addcmul_(g, g, value: 1 - c.beta2)           // v ← β₂v + (1 − β₂)g²
    let correction1 = 1 - Foundation.pow(c.beta1, Double(step))
    let correction2 = (1 - Foundation.pow(c.beta2, Double(step))).squareRoot()
    let denom = try v.sqrt() / correction2
    try denom.add_(c.epsilon)                                                // √v̂ + ε
    if c.weightDecay > 0 { try p.mul_(1 - learningRate * c.weightDecay) }   // θ ← θ(1 − ηλ)
    try p.addcdiv_(m, denom, value: -learningRate / correction1)             // θ ← θ − η m̂ / (√v̂ + ε)
  }

  /// `_optimizer_update_32bit_cpu`, optimizer "adam" (no update-norm clipping: max_unorm 0).
  private static func update32Bit(_ p: Tensor, _ g: Tensor, _ m: Tensor, _ v: Tensor, step: Int, learningRate: Double,
                                  _ c: AdamConstants) throws
  {
    try m.mul_(c.beta1); try m.add_(g, alpha: 1 - c.beta1)
    try v.mul_(c.beta2); try v.addcmul_(g, g, value: 1 - c.beta2)
    let correction1 = 1 - Foundation.pow(c.beta1, Double(step))
    let correction2 = (1 - Foundation.pow(c.beta2, Double(step))).squareRoot()
    let stepSize = -learningRate * correction2 / correction1
    if c.weightDecay > 0 { try p.mul_(1 - learningRate * c.weightDecay) }
    let update = try m / (v.sqrt() + c.epsilon * correction2)                // m / (√v + ε√(1 − β₂ᵗ))
    try p.add_(update, alpha: stepSize)
  }

  /// `state1.<k>`/`state2.<k>` (uint8 codes or float32), and for 8-bit moments `absmax1.<k>`/`absmax2.<k>`.
  func namedTensors(_ k: Int) -> [(name: String, tensor: Tensor)] {
    switch self {
    case .float(let m, let v): return [("state1.\(k)", m), ("state2.\(k)", v)]
    case .blockwise(let m, let ma, let v, let va): return [("state1.\(k)", m), ("absmax1.\(k)", ma), ("state2.\(k)", v), ("absmax2.\(k)", va)]
    }
  }

  /// (ours, saved) for every tensor of `namedTensors(k)`; a missing tensor, or one of another dtype or shape, is an
  /// error naming `owner`.
  func pairs(restoringFrom saved: OptimizerState, _ k: Int, owner: String) throws -> [(Tensor, Tensor)] {
    try namedTensors(k).map { name, ours in
      let theirs = try saved.tensor(name)
      guard ours.shape == theirs.shape, ours.dtype == theirs.dtype else {
        throw TrainingError("\(owner) state: \(name) is \(theirs.dtype) \(theirs.shape), expected \(ours.dtype) \(ours.shape)")
      }
      return (ours, theirs)
    }
  }
}

/// bitsandbytes' signed and unsigned dynamic maps, made once per device for one optimizer.
final class DynamicMaps {
  private var maps: [String: Tensor] = [:]

  func map(signed: Bool, _ device: Device) throws -> Tensor {
    let key = "\(signed)/\(device)"
    if let t = maps[key] { return t }
    let t = try Tensor(signed ? BlockQuantization.dynamicMap : BlockQuantization.unsignedDynamicMap).to(device: device)
    maps[key] = t
    return t
  }
}

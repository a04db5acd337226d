// GaLoreAdamW8bit.swift — GaLore with bitsandbytes' 8-bit Adam states (TRL's optim galore_adamw_8bit): galore-torch
// 1.0's GaLoreAdamW8bit (galore_torch/adamw8bit.py), with the projection of GaLoreAdamW.swift and the block-wise
// moments of BitsAndBytesAdamW.swift.
import Foundation
import Torch

/// galore-torch's `AdamW8bit`, a bitsandbytes `Optimizer2State("adam", optim_bits=8)` whose step projects each
/// target's gradient G [m, n] to rank r (GaLoreAdamW's projector: P refreshed from the SVD of G when the parameter's
/// step count before the update is a multiple of update_proj_gap), runs bitsandbytes' Adam update on a zeroed stand-in
/// of the projected shape — so the moments are 8-bit codes when the projected gradient has at least 4,096 elements,
/// float32 otherwise — and adds the stand-in's result, projected back and times `scale`, to the weight; the weight
/// decay of the targets comes after that (θ ← θ − ηλθ). Every other parameter takes bitsandbytes' 8-bit AdamW as it is
/// (decay θ(1 − ηλ) first; embeddings included: transformers' 32-bit override does not reach galore-torch's class).
/// transformers passes only the learning rate, so β = (0.9, 0.999), ε = 1e-8 and λ = 0.01, galore-torch's defaults.
///
/// This is the arithmetic galore-torch means. Under bitsandbytes ≥ 0.50 its positional constructor arguments land on
/// `max_unorm=100, skip_zeros=True` (bitsandbytes dropped `percentile_clipping` and `block_wise`), which clips every
/// 32-bit update against the zeroed stand-in's norm, so small targets take only the weight decay; bitsandbytes ≤ 0.49
/// has no CPU 8-bit update. reference/make_galore8bit_fixtures.py pins the intended arithmetic, no clipping and no zero skipping.
public final class GaLoreAdamW8bit: AdamFamily {
  public var learningRate: Double
  public let constants: AdamConstants
  public let settings: GaLoreSettings
  public let parameters: [Tensor]
  /// Indices of the parameters that are projected (2-D weights of the target linear layers).
  public let targets: Set<Int>
  /// Per parameter: updates it has had (bitsandbytes' `state["step"]`, counted per parameter).
  public private(set) var steps: [Int]
  /// Per parameter: the moments, in the projected shape for targets.
  var moments: [BitsAndBytesMoments]
  /// Per target: the projection matrix (contiguous), nil until its first step.
  var projections: [Int: Tensor] = [:]
  private let maps = DynamicMaps()
  /// Elements an 8-bit update takes at a time (tests lower it to cross chunk boundaries on small tensors).
  var chunkElements = BitsAndBytesMoments.defaultChunkElements

  public init(parameters: [Tensor], targets: Set<Int>, settings: GaLoreSettings, learningRate: Double,
              beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 1e-2) throws
  {
    for k in targets.sorted() {
      guard parameters.indices.contains(k), parameters[k].shape.count == 2 else {
        throw TrainingError("GaLore projects matrices; target parameter \(k) is not a 2-D trainable parameter")
      }
    }
    guard settings.rank >= 1, settings.updateProjectionGap >= 1 else {
      throw TrainingError("GaLore needs rank and update_proj_gap of at least 1 (got \(settings.rank), \(settings.updateProjectionGap))")
    }
    for (k, p) in parameters.enumerated() where p.dtype != .float32 {
      throw TrainingError("galore_adamw_8bit here updates float32 parameters; parameter \(k) is \(p.dtype)")
    }
    self.parameters = parameters
    self.targets = targets
    self.settings = settings
    self.learningRate = learningRate
    constants = AdamConstants(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
    steps = Array(repeating: 0, count: parameters.count)
    moments = try parameters.enumerated().map { k, p in
      let shape = targets.contains(k) ? GaLoreAdamW.projectedShape(p.shape, settings) : p.shape
      return try BitsAndBytesMoments(shape: shape, device: p.device, eightBit: true)
    }
  }

  /// Whether parameter k's moments are 8-bit codes.
  public func isEightBit(_ k: Int) -> Bool { moments[k].isEightBit }

  /// Bytes of the moments (codes, absmax, float32 moments) and projection matrices.
  public var stateBytes: Int {
    moments.reduce(0) { $0 + $1.byteCount } + projections.values.reduce(0) { $0 + $1.elementCount * $1.dtype.byteCount }
  }

  public func update() throws {
    try withNoGrad {
      for (k, p) in parameters.enumerated() {
        guard let grad = p.grad else { continue }
        let g = grad.dtype == .float32 ? grad : try grad.to(dtype: .float32)
        guard targets.contains(k) else {
          steps[k] += 1
          try moments[k].update(p, g, step: steps[k], learningRate: learningRate, constants: constants, maps: maps,
                                chunkElements: chunkElements)
          continue
        }
        let low = try GaLoreAdamW.project(g, &projections[k], step: steps[k], settings)  // [m, n] -> [m, r] or [r, n]
        steps[k] += 1
        // galore-torch swaps the weight for zeros of the projected shape and lets bitsandbytes update those with the
        // group's weight decay set to 0: the stand-in ends as Δ = −η m̂ / (√v̂ + ε).
        let delta = try Tensor.zeros(low.shape, device: p.device)
        var undecayed = constants
        undecayed.weightDecay = 0
        try moments[k].update(delta, low.contiguous(), step: steps[k], learningRate: learningRate, constants: undecayed,
                              maps: maps, chunkElements: chunkElements)
        try p.add_(try GaLoreAdamW.projectBack(delta, projections[k]!, settings))       // θ ← θ + scale · back(Δ)
        if weightDecay > 0 { try p.add_(p, alpha: -learningRate * weightDecay) }       // θ ← θ − ηλθ
      }
    }
  }

  /// Per parameter k the moments as bitsandbytes names them (`state1.<k>`, `state2.<k>`, and `absmax1.<k>`,
  /// `absmax2.<k>` for 8-bit ones), `projection.<k>` per target that has one; per-parameter step counts and the
  /// GaLore settings as metadata.
  public func state() throws -> OptimizerState {
    var tensors: [(name: String, tensor: Tensor)] = []
    for k in parameters.indices {
      tensors += moments[k].namedTensors(k)
      if let P = projections[k] { tensors.append(("projection.\(k)", P)) }
    }
    return OptimizerState(tensors: tensors, metadata: GaLoreCheckpoint.metadata(
      optimizer: "galore_adamw_8bit", steps: steps, settings: settings, targets: targets))
  }

  public func restore(_ saved: OptimizerState) throws {
    let (savedSteps, restored) = try GaLoreCheckpoint.restore(saved, optimizer: "galore_adamw_8bit", owner: "GaLore 8-bit",
                                                              settings: settings, targets: targets, parameters: parameters)
    var pairs: [(Tensor, Tensor)] = []
    for k in parameters.indices { pairs += try moments[k].pairs(restoringFrom: saved, k, owner: "GaLore 8-bit") }
    guard saved.tensors.count == pairs.count + restored.count else {
      throw TrainingError("GaLore 8-bit state holds \(saved.tensors.count) tensors, expected \(pairs.count + restored.count)")
    }
    steps = savedSteps
    projections = restored
    try withNoGrad { for (ours, theirs) in pairs { try ours.copy_(theirs) } }
  }
}

// GaLoreAdamW.swift — GaLore (Zhao et al. 2024, "GaLore: Memory-Efficient LLM Training by Gradient Low-Rank
// Projection"): Adam on target matrices' gradients projected to rank r, as galore-torch 1.0's GaLoreAdamW
// (galore_torch/adamw.py, galore_projector.py) does it for TRL's optim galore_adamw.
import Foundation
import Torch

/// GaLore's `optim_args`: rank, update_proj_gap, scale and proj_type (transformers' defaults 128, 200, 0.25, std).
public struct GaLoreSettings: Equatable, Sendable {
  /// How the projection sits against a gradient [m, n] (galore-torch's `proj_type`).
  public enum ProjectionType: String, CaseIterable, Sendable {
    /// On the smaller side: Vh's first r rows on the right when m ≥ n, U's first r columns on the left otherwise.
    case std
    /// The other side from std.
    case reverseStd = "reverse_std"
    /// Always Vh's rows, on the right.
    case right
    /// Always U's columns, on the left.
    case left
  }

  public var rank = 128
  public var updateProjectionGap = 200
  public var scale = 0.25
  public var projectionType = ProjectionType.std

  public init(rank: Int = 128, updateProjectionGap: Int = 200, scale: Double = 0.25, projectionType: ProjectionType = .std) {
    self.rank = rank
    self.updateProjectionGap = updateProjectionGap
    self.scale = scale
    self.projectionType = projectionType
  }

  /// As checkpoints record it (`galore` in the optimizer state's metadata).
  var text: String {
    "rank=\(rank),update_proj_gap=\(updateProjectionGap),scale=\(scale),proj_type=\(projectionType.rawValue)"
  }
}

/// What a GaLore optimizer's checkpoint holds beside its moments, shared by galore_adamw and galore_adamw_8bit:
/// metadata (optimizer, per-parameter step counts, settings, targets) and `projection.<k>` per target that has one.
enum GaLoreCheckpoint {
  static func metadata(optimizer: String, steps: [Int], settings: GaLoreSettings, targets: Set<Int>) -> [String: String] {
    ["optimizer": optimizer, "steps": steps.map(String.init).joined(separator: ","), "step": String(steps.max() ?? 0),
     "galore": settings.text, "targets": targets.sorted().map(String.init).joined(separator: ",")]
  }

  /// The step counts and projections of `saved`, refused unless it was saved by `optimizer` with these settings and
  /// targets, with one step count per parameter and each projection of the shape this run's would have.
  /// `owner` names the state in errors ("GaLore", "GaLore 8-bit").
  static func restore(_ saved: OptimizerState, optimizer: String, owner: String, settings: GaLoreSettings,
                      targets: Set<Int>, parameters: [Tensor]) throws -> (steps: [Int], projections: [Int: Tensor])
  {
    guard saved.metadata["optimizer"] == optimizer else {
      throw TrainingError("the checkpoint's optimizer state is \(saved.metadata["optimizer"] ?? "AdamW (adamw_torch or adamw_torch_fused)"), this run's optim is \(optimizer); resume with the optim it was saved with")
    }
    let expected = metadata(optimizer: optimizer, steps: [], settings: settings, targets: targets)
    guard saved.metadata["galore"] == expected["galore"], saved.metadata["targets"] == expected["targets"] else {
      throw TrainingError("the checkpoint's GaLore state was saved with \(saved.metadata["galore"] ?? "?") on parameters \(saved.metadata["targets"] ?? "?"); this run has \(settings.text) on \(targets.sorted())")
    }
    let steps = (saved.metadata["steps"] ?? "").split(separator: ",").compactMap { Int($0) }
    guard steps.count == parameters.count, steps.allSatisfy({ $0 >= 0 }) else {
      throw TrainingError("\(owner) state: metadata \"steps\" must hold \(parameters.count) whole numbers, one per trainable parameter")
    }
    var projections: [Int: Tensor] = [:]
    for k in parameters.indices {
      guard let P = saved.tensors.first(where: { $0.name == "projection.\(k)" })?.tensor else { continue }
      guard targets.contains(k) else { throw TrainingError("\(owner) state: parameter \(k) is not a target but has a projection") }
      let shape = parameters[k].shape, r = Swift.min(shape[0], shape[1], settings.rank)
      let expectedShape = GaLoreAdamW.projectsFromRight(shape, settings.projectionType) ? [r, shape[1]] : [shape[0], r]
      guard P.shape == expectedShape else {
        throw TrainingError("\(owner) state: projection.\(k) has shape \(P.shape), expected \(expectedShape)")
      }
      projections[k] = try P.to(dtype: parameters[k].dtype, device: parameters[k].device).contiguous()
    }
    return (steps, projections)
  }
}

/// galore-torch's AdamW (transformers' old AdamW with a GaLore projection per target): for a target's gradient
/// G [m, n], every `updateProjectionGap` steps (counted before the step, from 0) P is refreshed from the SVD of G;
/// R = GPᵀ or PᵀG (rank r); Adam's moments live in R's shape; the normalised update m̂/(√v̂ + ε) — here with
/// transformers' bias correction, step size η√(1 − β₂ᵗ)/(1 − β₁ᵗ) and ε outside the correction — goes back through
/// P and is multiplied by `scale`. Other parameters take the same Adam unprojected. Decoupled weight decay comes last
/// (θ ← θ − ηλθ). transformers passes only the learning rate, so β = (0.9, 0.999), ε = 1e-6, λ = 0 in TRL's runs.
public final class GaLoreAdamW: AdamFamily {
  public var learningRate: Double
  public let constants: AdamConstants
  public let settings: GaLoreSettings
  public let parameters: [Tensor]
  /// Indices of the parameters that are projected (2-D weights of the target linear layers).
  public let targets: Set<Int>
  /// Per parameter: updates it has had (galore-torch counts per parameter; a parameter without a gradient waits).
  public private(set) var steps: [Int]
  var firstMoments: [Tensor]   // exp_avg, in the projected shape for targets
  var secondMoments: [Tensor]  // exp_avg_sq
  /// Per target: the projection matrix (contiguous), nil until its first step.
  var projections: [Int: Tensor] = [:]

  public init(parameters: [Tensor], targets: Set<Int>, settings: GaLoreSettings, learningRate: Double,
              beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-6, weightDecay: Double = 0) throws
  {
    for k in targets.sorted() {
      guard parameters.indices.contains(k), parameters[k].shape.count == 2 else {
        throw TrainingError("GaLore projects matrices; target parameter \(k) is not a 2-D trainable parameter")
      }
    }
    guard settings.rank >= 1, settings.updateProjectionGap >= 1 else {
      throw TrainingError("GaLore needs rank and update_proj_gap of at least 1 (got \(settings.rank), \(settings.updateProjectionGap))")
    }
    self.parameters = parameters
    self.targets = targets
    self.settings = settings
    self.learningRate = learningRate
    constants = AdamConstants(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
    steps = Array(repeating: 0, count: parameters.count)
    let shapes = parameters.enumerated().map { k, p in targets.contains(k) ? Self.projectedShape(p.shape, settings) : p.shape }
    firstMoments = try zip(parameters, shapes).map { try Tensor.zeros($1, dtype: $0.dtype, device: $0.device) }
    secondMoments = try zip(parameters, shapes).map { try Tensor.zeros($1, dtype: $0.dtype, device: $0.device) }
  }

  /// Whether a gradient [m, n] is projected from the right (R = G Pᵀ, P = Vh[:r]) rather than the left (R = Pᵀ G).
  static func projectsFromRight(_ shape: [Int], _ type: GaLoreSettings.ProjectionType) -> Bool {
    switch type {
    case .std: return shape[0] >= shape[1]
    case .reverseStd: return shape[0] < shape[1]
    case .right: return true
    case .left: return false
    }
  }

  /// The shape of a projected gradient: [m, min(r, n)] from the right, [min(r, m), n] from the left.
  static func projectedShape(_ shape: [Int], _ settings: GaLoreSettings) -> [Int] {
    let k = Swift.min(shape[0], shape[1], settings.rank)
    return projectsFromRight(shape, settings.projectionType) ? [shape[0], k] : [k, shape[1]]
  }

  /// Bytes of the moments and projection matrices.
  public var stateBytes: Int {
    (firstMoments + secondMoments + Array(projections.values)).reduce(0) { $0 + $1.elementCount * $1.dtype.byteCount }
  }

  public func update() throws {
    try withNoGrad {
      for (k, p) in parameters.enumerated() {
        guard var g = p.grad else { continue }
        if targets.contains(k) { g = try Self.project(g, &projections[k], step: steps[k], settings) }  // [m, n] -> [m, r] or [r, n]
        steps[k] += 1
        let m = firstMoments[k], v = secondMoments[k]
        try m.mul_(beta1); try m.add_(g, alpha: 1 - beta1)              // m ← β₁m + (1 − β₁)g
        try v.mul_(beta2); try v.addcmul_(g, g, value: 1 - beta2)       // v ← β₂v + (1 − β₂)g²
        let denom = try v.sqrt()
        try denom.add_(epsilon)
        let bias1 = 1 - Foundation.pow(beta1, Double(steps[k]))
        let bias2 = 1 - Foundation.pow(beta2, Double(steps[k]))
        let stepSize = learningRate * bias2.squareRoot() / bias1
        var normalised = try m / denom
        if targets.contains(k) { normalised = try Self.projectBack(normalised, projections[k]!, settings) }  // -> [m, n]
        try p.add_(normalised, alpha: -stepSize)                         // θ ← θ − η' · update
        if weightDecay > 0 { try p.add_(p, alpha: -learningRate * weightDecay) }
      }
    }
  }

  /// galore_projector.project: a target's gradient [m, n] -> [m, r] (G Pᵀ) or [r, n] (Pᵀ G), with `projection`
  /// refreshed from the gradient's SVD first when there is none yet or `step` (updates so far) is a multiple of
  /// update_proj_gap. Shared with GaLoreAdamW8bit.
  static func project(_ g: Tensor, _ projection: inout Tensor?, step: Int, _ settings: GaLoreSettings) throws -> Tensor {
    let fromRight = projectsFromRight(g.shape, settings.projectionType)
    if projection == nil || step % settings.updateProjectionGap == 0 {
      projection = try orthogonalMatrix(g, rank: settings.rank, fromRight: fromRight)
    }
    let P = projection!
    return fromRight ? try g.matmul(try P.transposed(0, 1)) : try P.transposed(0, 1).matmul(g)
  }

  /// galore_projector.project_back: [m, r] or [r, n] -> [m, n], times scale; galore-torch picks the side from the
  /// low-rank tensor's shape.
  static func projectBack(_ low: Tensor, _ P: Tensor, _ settings: GaLoreSettings) throws -> Tensor {
    let right: Bool
    switch settings.projectionType {
    case .std: right = low.shape[0] >= low.shape[1]
    case .reverseStd: right = !(low.shape[0] <= low.shape[1])
    case .right: right = true
    case .left: right = false
    }
    return try (right ? low.matmul(P) : P.matmul(low)) * settings.scale
  }

  /// galore_projector.get_orthogonal_matrix: from the right Vh[:r, :] [r, n]; from the left U[:, :r] [m, r]
  /// (float32 SVD, then the gradient's dtype).
  private static func orthogonalMatrix(_ g: Tensor, rank: Int, fromRight: Bool) throws -> Tensor {
    let matrix = g.dtype == .float32 ? g : try g.to(dtype: .float32)
    let (u, _, vh) = try matrix.singularValueDecomposition()
    let r = Swift.min(rank, vh.size(0))
    let P = fromRight ? try vh.slice(0, 0, r) : try u.slice(1, 0, r)
    return try P.to(dtype: g.dtype).contiguous()
  }

  /// `exp_avg.<k>`, `exp_avg_sq.<k>` per parameter, `projection.<k>` per target that has one; per-parameter step
  /// counts and the GaLore settings as metadata.
  public func state() throws -> OptimizerState {
    var tensors: [(name: String, tensor: Tensor)] = []
    for k in parameters.indices {
      tensors += [("exp_avg.\(k)", firstMoments[k]), ("exp_avg_sq.\(k)", secondMoments[k])]
      if let P = projections[k] { tensors.append(("projection.\(k)", P)) }
    }
    return OptimizerState(tensors: tensors, metadata: GaLoreCheckpoint.metadata(
      optimizer: "galore_adamw", steps: steps, settings: settings, targets: targets))
  }

  public func restore(_ saved: OptimizerState) throws {
    let (savedSteps, restored) = try GaLoreCheckpoint.restore(saved, optimizer: "galore_adamw", owner: "GaLore",
                                                              settings: settings, targets: targets, parameters: parameters)
    var pairs: [(Tensor, Tensor)] = []
    for k in parameters.indices {
      pairs += [(firstMoments[k], try saved.tensor("exp_avg.\(k)")), (secondMoments[k], try saved.tensor("exp_avg_sq.\(k)"))]
    }
    guard saved.tensors.count == pairs.count + restored.count else {
      throw TrainingError("GaLore state holds \(saved.tensors.count) tensors, expected \(pairs.count + restored.count)")
    }
    for (ours, theirs) in pairs where ours.shape != theirs.shape {
      throw TrainingError("GaLore state: a saved moment has shape \(theirs.shape), expected \(ours.shape)")
    }
    steps = savedSteps
    projections = restored
    try withNoGrad { for (ours, theirs) in pairs { try ours.copy_(theirs) } }
  }
}

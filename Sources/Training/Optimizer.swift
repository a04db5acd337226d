// Optimizer.swift — what the trainer needs from an optimizer: one update from the parameters' gradients, a learning
// rate set before each step, and a state that a checkpoint saves and restores bit for bit (AdamW.swift is the first);
// and gradient-norm clipping as torch.nn.utils.clip_grad_norm_ computes it.
import Torch

public protocol Optimizer: AnyObject {
  /// The parameters it updates, in a fixed order (state tensors are numbered by it).
  var parameters: [Tensor] { get }
  /// Set by the trainer before every step (the schedule's rate for that step).
  var learningRate: Double { get set }
  /// One update from the parameters' `.grad` (parameters without a gradient are skipped, as in PyTorch).
  func update() throws
  func zeroGradients() throws
  /// Everything a resumed run needs to continue bit-identically.
  func state() throws -> OptimizerState
  /// Puts back a state taken from an optimizer over the same parameters; wrong names or shapes are an error.
  func restore(_ state: OptimizerState) throws
}

extension Optimizer {
  public func zeroGradients() throws {
    for p in parameters { try p.setGrad(nil) }
  }
}

/// Named tensors and string metadata: what `optimizer.safetensors` holds in a checkpoint.
public struct OptimizerState {
  public var tensors: [(name: String, tensor: Tensor)]
  public var metadata: [String: String]

  public init(tensors: [(name: String, tensor: Tensor)], metadata: [String: String]) {
    self.tensors = tensors
    self.metadata = metadata
  }

  /// The tensor saved under `name`, or an error naming it.
  public func tensor(_ name: String) throws -> Tensor {
    guard let t = tensors.first(where: { $0.name == name })?.tensor else {
      throw TrainingError("optimizer state has no tensor \"\(name)\"")
    }
    return t
  }
}

/// Scales gradients so that their global L2 norm is at most `maxNorm`; returns the norm before clipping
/// (what the Hugging Face Trainer logs as grad_norm). Same arithmetic as clip_grad_norm_: the norm of the
/// per-tensor norms, coef = maxNorm / (norm + 1e-6) clamped to 1, multiplied in unconditionally.
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Double) throws -> Double {
  try clipGradientNorm(parameters, maxNorm: maxNorm, reading: []).norm
}

/// `clipGradientNorm`, reading `scalars` (one-element tensors, e.g. the step's losses) back in the same copy as the
/// norm: on a GPU, the training step's one wait for the device.
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Double, reading scalars: [Tensor]) throws
  -> (norm: Double, scalars: [Double])
{
  try withNoGrad {
    func read(_ norm: Tensor?) throws -> (norm: Double, scalars: [Double]) {
      let all = (norm.map { [$0] } ?? []) + scalars
      guard !all.isEmpty else { return (0, []) }
      let numbers = try Tensor.stack(try all.map { try $0.reshape([]).to(dtype: .float64) }).scalars(as: Double.self)
      return norm == nil ? (0, numbers) : (numbers[0], Array(numbers.dropFirst()))
    }
    let grads = parameters.compactMap(\.grad)
    guard !grads.isEmpty else { return try read(nil) }
    let norms = try Tensor.stack(grads.map { try $0.norm() })
    let total = try norms.norm()
    if maxNorm > 0, maxNorm.isFinite {
      // PyTorch's `max_norm / t` is `t.reciprocal() * max_norm`.
      let coef = try (1.0 / (total + 1e-6) * maxNorm).clamped(max: 1.0)
      for g in grads { try g.mul_(coef) }
    }
    return try read(total)
  }
}

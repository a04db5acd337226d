// AdamW.swift — torch.optim.AdamW (Loshchilov & Hutter 2019, decoupled weight decay), either way PyTorch computes it,
// so that runs match TRL's step for step: `fused` (optim adamw_torch_fused, transformers' default with torch >= 2.8,
// so TRL's) is PyTorch's own fused kernel (`torch._fused_adamw_`, one call for every parameter); otherwise
// (adamw_torch) the single-tensor arithmetic op for op (torch/optim/adam.py `_single_tensor_adam`). PyTorch's own
// single-tensor loop ends a few values a step an ulp away from the fused kernel's (its CPU square root is MKL's);
// ours, with the IEEE square root, gave the fused kernel's values wherever we compared them.
import Foundation
import Torch

/// Adam's constants under torch.optim.AdamW's names (`betas`, `eps`, `weight_decay`), kept the same way by every
/// Adam variant (AdamW, BitsAndBytesAdamW, GaLoreAdamW).
public struct AdamConstants: Equatable, Sendable {
  public var beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double
}

/// An optimizer of the Adam family: β₁, β₂, ε and the weight decay λ come from its `constants`.
public protocol AdamFamily: Optimizer {
  var constants: AdamConstants { get }
}

extension AdamFamily {
  public var beta1: Double { constants.beta1 }
  public var beta2: Double { constants.beta2 }
  public var epsilon: Double { constants.epsilon }
  public var weightDecay: Double { constants.weightDecay }
}

public final class AdamW: AdamFamily {
  public var learningRate: Double
  public let constants: AdamConstants
  public let parameters: [Tensor]
  public private(set) var step = 0
  /// torch.optim.AdamW(fused=True): PyTorch's fused kernel instead of the single-tensor ops.
  public let fused: Bool
  var firstMoments: [Tensor]   // exp_avg
  var secondMoments: [Tensor]  // exp_avg_sq

  public init(parameters: [Tensor], learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999,
              epsilon: Double = 1e-8, weightDecay: Double = 0, fused: Bool = false) throws
  {
    self.parameters = parameters
    self.learningRate = learningRate
    self.fused = fused
    constants = AdamConstants(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
    firstMoments = try parameters.map { try Tensor.zeros($0.shape, dtype: $0.dtype, device: $0.device) }
    secondMoments = try parameters.map { try Tensor.zeros($0.shape, dtype: $0.dtype, device: $0.device) }
  }

  public func update() throws {
    step += 1
    if fused { return try fusedUpdate() }
    let bias1 = 1 - Foundation.pow(beta1, Double(step))
    let bias2Sqrt = (1 - Foundation.pow(beta2, Double(step))).squareRoot()
    let stepSize = learningRate / bias1
    try withNoGrad {
      for (k, p) in parameters.enumerated() {
        guard let g = p.grad else { continue }
        if weightDecay != 0 { try p.mul_(1 - learningRate * weightDecay) }  // θ ← θ(1 − ηλ)
        let m = firstMoments[k], v = secondMoments[k]
        try m.lerp_(g, weight: 1 - beta1)                                     // m ← β₁m + (1 − β₁)g
        try v.mul_(beta2)
        try v.addcmul_(g, g, value: 1 - beta2)                                // v ← β₂v + (1 − β₂)g²
        let denom = try v.sqrt() / bias2Sqrt + epsilon                        // √v̂ + ε
        try p.addcdiv_(m, denom, value: -stepSize)                            // θ ← θ − η m̂ / (√v̂ + ε)
      }
    }
  }

  /// The fused kernel over the parameters that have a gradient, each given the step count as torch keeps it (a
  /// float32 scalar on the parameter's device, here one per device); the bias corrections are the kernel's own.
  private func fusedUpdate() throws {
    let updated = parameters.indices.compactMap { k in parameters[k].grad.map { (k, $0) } }
    var byDevice: [Device: [(Int, Tensor)]] = [:]
    for (k, g) in updated { byDevice[parameters[k].device, default: []].append((k, g)) }
    try withNoGrad {
      for (device, group) in byDevice.sorted(by: { $0.key.description < $1.key.description }) {
        let count = try Tensor([Float(step)], on: device).view([])
        try Tensor.fusedAdamW_(parameters: group.map { parameters[$0.0] }, gradients: group.map(\.1),
                               firstMoments: group.map { firstMoments[$0.0] },
                               secondMoments: group.map { secondMoments[$0.0] },
                               steps: Array(repeating: count, count: group.count), learningRate: learningRate,
                               beta1: beta1, beta2: beta2, weightDecay: weightDecay, epsilon: epsilon)
      }
    }
  }

  /// `exp_avg.<k>` and `exp_avg_sq.<k>` for parameter k, and the step count as metadata.
  public func state() throws -> OptimizerState {
    var tensors: [(name: String, tensor: Tensor)] = []
    for k in parameters.indices {
      tensors.append(("exp_avg.\(k)", firstMoments[k]))
      tensors.append(("exp_avg_sq.\(k)", secondMoments[k]))
    }
    return OptimizerState(tensors: tensors, metadata: ["step": String(step)])
  }

  public func restore(_ state: OptimizerState) throws {
    guard let stepText = state.metadata["step"], let savedStep = Int(stepText), savedStep >= 0 else {
      throw TrainingError("AdamW state: metadata \"step\" is \(state.metadata["step"].map { "\"\($0)\"" } ?? "missing"), expected a whole number")
    }
    if let other = state.metadata["optimizer"] {
      throw TrainingError("the checkpoint's optimizer state is \(other), this run's optim is \(fused ? "adamw_torch_fused" : "adamw_torch"); resume with the optim it was saved with")
    }
    let first = try parameters.indices.map { try state.tensor("exp_avg.\($0)") }
    let second = try parameters.indices.map { try state.tensor("exp_avg_sq.\($0)") }
    let expected = 2 * parameters.count
    guard state.tensors.count == expected else {
      throw TrainingError("AdamW state holds \(state.tensors.count) tensors, expected \(expected) (2 for each of \(parameters.count) trainable parameters)")
    }
    for (k, p) in parameters.enumerated() {
      for (name, t) in [("exp_avg", first[k]), ("exp_avg_sq", second[k])] where t.shape != p.shape {
        throw TrainingError("AdamW state: \(name).\(k) has shape \(t.shape), parameter \(k) has \(p.shape)")
      }
    }
    step = savedStep
    try withNoGrad {
      for k in parameters.indices {
        try firstMoments[k].copy_(first[k])
        try secondMoments[k].copy_(second[k])
      }
    }
  }
}

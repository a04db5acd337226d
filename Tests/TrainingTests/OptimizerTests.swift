// OptimizerTests.swift — AdamW and gradient clipping against torch.optim.AdamW and torch.nn.utils.clip_grad_norm_
// (fixtures from reference/make_optimizer_fixtures.py), and an AdamW state that survives a save and restore.
import Foundation
import Testing
import Torch
@testable import Training

private struct OptimizerFixture: Decodable {
  struct AdamWCase: Decodable {
    struct Step: Decodable {
      let lr: Double
      let grads: [[Double]]
      let params: [[Double]]
    }
    let shapes: [[Int]]
    let betas: [Double]
    let eps: Double
    let weight_decay: Double
    let initial: [[Double]]
    let steps: [Step]
    let exp_avg: [[Double]]
    let exp_avg_sq: [[Double]]
    let step: Int
  }
  struct ClipCase: Decodable {
    let max_norm: Double
    let shapes: [[Int]]
    let grads: [[Double]]
    let total_norm: Double
    let clipped: [[Double]]
  }
  let adamw: AdamWCase
  let adamw_fused: AdamWCase
  let clip: [ClipCase]

  static func load() throws -> OptimizerFixture {
    let url = Bundle.module.url(forResource: "Fixtures/optimizer", withExtension: nil)!.appendingPathComponent("expected.json")
    return try JSONDecoder().decode(OptimizerFixture.self, from: Data(contentsOf: url))
  }
}

private func tensor(_ values: [Double], _ shape: [Int]) throws -> Tensor {
  try Tensor(values.map(Float.init), shape: shape)
}

/// Largest |ours − PyTorch's| relative to PyTorch's magnitude (float32 arithmetic: a few ulps at most).
private func maxRelativeError(_ ours: Tensor, _ theirs: [Double]) throws -> Double {
  zip(try ours.scalars(as: Float.self), theirs).map { Swift.abs(Double($0) - $1) / Swift.max(Swift.abs($1), 1e-6) }.max() ?? 0
}

@Suite(.serialized) struct OptimizerTests {
  @Test func adamWStepsMatchPyTorch() throws {
    let f = try OptimizerFixture.load().adamw
    let params = try zip(f.initial, f.shapes).map { try tensor($0, $1).requiringGrad() }
    let adamw = try AdamW(parameters: params, learningRate: 1, beta1: f.betas[0], beta2: f.betas[1], epsilon: f.eps,
                          weightDecay: f.weight_decay)
    for (k, step) in f.steps.enumerated() {
      for (p, (g, shape)) in zip(params, zip(step.grads, f.shapes)) { try p.setGrad(tensor(g, shape)) }
      adamw.learningRate = step.lr
      try adamw.update()
      for (i, p) in params.enumerated() {
        let error = try maxRelativeError(p, step.params[i])
        #expect(error < 1e-6, "step \(k + 1), parameter \(i): relative error \(error)")
      }
    }
    let state = try adamw.state()
    #expect(state.metadata["step"] == String(f.step))
    for i in params.indices {
      #expect(try maxRelativeError(state.tensor("exp_avg.\(i)"), f.exp_avg[i]) < 1e-6)
      #expect(try maxRelativeError(state.tensor("exp_avg_sq.\(i)"), f.exp_avg_sq[i]) < 1e-6)
    }
  }

  /// adamw_torch_fused is PyTorch's fused kernel itself: bit for bit the same parameters after every step and the same
  /// moments (the fixture's values are those of torch 2.13 and 2.15 alike, with AVX2 or AVX-512), one kernel call a
  /// step. (PyTorch's own single-tensor loop ends a few of these values an ulp away, through MKL's square root; ours,
  /// with the IEEE square root, gives the fused kernel's values here.)
  @Test func fusedAdamWMatchesPyTorchBitForBit() throws {
    let f = try OptimizerFixture.load().adamw_fused
    func run(fused: Bool) throws -> (steps: [[[Float]]], state: OptimizerState) {
      let params = try zip(f.initial, f.shapes).map { try tensor($0, $1).requiringGrad() }
      let adamw = try AdamW(parameters: params, learningRate: 1, beta1: f.betas[0], beta2: f.betas[1], epsilon: f.eps,
                            weightDecay: f.weight_decay, fused: fused)
      var steps: [[[Float]]] = []
      for step in f.steps {
        for (p, (g, shape)) in zip(params, zip(step.grads, f.shapes)) { try p.setGrad(tensor(g, shape)) }
        adamw.learningRate = step.lr
        try adamw.update()
        steps.append(try params.map { try $0.scalars(as: Float.self) })
      }
      return (steps, try adamw.state())
    }
    let fused = try run(fused: true)
    for (k, step) in f.steps.enumerated() {
      for i in f.shapes.indices {
        #expect(fused.steps[k][i] == step.params[i].map(Float.init), "step \(k + 1), parameter \(i)")
      }
    }
    #expect(fused.state.metadata["step"] == String(f.step))
    for i in f.shapes.indices {
      #expect(try fused.state.tensor("exp_avg.\(i)").scalars(as: Float.self) == f.exp_avg[i].map(Float.init))
      #expect(try fused.state.tensor("exp_avg_sq.\(i)").scalars(as: Float.self) == f.exp_avg_sq[i].map(Float.init))
    }
    // Which path ran: one fused call a step, none of the single-tensor ops.
    func operators(fused: Bool) throws -> [String: Int] {
      let p = try Tensor.ones([3]).requiringGrad()
      let adamw = try AdamW(parameters: [p, try Tensor.ones([2]).requiringGrad()], learningRate: 0.1, fused: fused)
      for q in adamw.parameters { try q.setGrad(try Tensor.ones(q.shape)) }
      try OperatorProfile.begin()
      try adamw.update()
      return Dictionary(try OperatorProfile.end(limit: 100).map { ($0.name, $0.calls) }, uniquingKeysWith: +)
    }
    let (fusedCalls, singleCalls) = (try operators(fused: true), try operators(fused: false))
    #expect(fusedCalls["aten::_fused_adamw_"] == 1 && fusedCalls["aten::addcdiv_"] == nil, "\(fusedCalls)")
    #expect(singleCalls["aten::_fused_adamw_"] == nil && singleCalls["aten::addcdiv_"] == 2, "\(singleCalls)")
  }

  @Test(arguments: [0, 1]) func clippingMatchesPyTorch(index: Int) throws {
    let c = try OptimizerFixture.load().clip[index]
    let params = try zip(c.grads, c.shapes).map { g, shape in
      let p = try Tensor.zeros(shape).requiringGrad()
      try p.setGrad(tensor(g, shape))
      return p
    }
    let total = try clipGradientNorm(params, maxNorm: c.max_norm)
    #expect(Swift.abs(total - c.total_norm) <= 1e-6 * c.total_norm, "total norm \(total), PyTorch \(c.total_norm)")
    for (i, p) in params.enumerated() {
      let error = try maxRelativeError(try #require(p.grad), c.clipped[i])
      #expect(error < 1e-6, "max_norm \(c.max_norm), gradient \(i): relative error \(error)")
    }
  }

  /// A restored AdamW continues exactly as the original; a state for other parameters is refused with the reason.
  @Test func adamWStateRestoresExactlyAndRefusesAMismatch() throws {
    func make() throws -> (AdamW, Tensor) {
      let p = try Tensor([Float(1), -2, 3]).requiringGrad()
      return (try AdamW(parameters: [p], learningRate: 0.1, weightDecay: 0.01), p)
    }
    let (a, pa) = try make()
    try pa.setGrad(Tensor([Float(0.5), -1, 2]))
    try a.update()
    let (b, pb) = try make()
    try withNoGrad { try pb.copy_(pa) }
    try b.restore(a.state())
    for (opt, p) in [(a, pa), (b, pb)] {
      try p.setGrad(Tensor([Float(-0.25), 0.75, 1]))
      try opt.update()
    }
    #expect(try pa.bytes() == pb.bytes())

    let other = try AdamW(parameters: [try Tensor([Float(1), 2]).requiringGrad()], learningRate: 0.1)
    #expect(throws: TrainingError.self) { try other.restore(a.state()) }
    do { try other.restore(a.state()) } catch let e as TrainingError {
      #expect(e.description.contains("exp_avg.0 has shape [3], parameter 0 has [2]"), "\(e)")
    }
  }
}

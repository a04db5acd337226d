// Support.swift — shared test helpers: finite-difference gradient checks and approximate comparisons.
import Testing
@testable import Torch

func approxEqual(_ a: [Double], _ b: [Double], tolerance: Double = 1e-6) -> Bool {
  a.count == b.count && zip(a, b).allSatisfy { Swift.abs($0 - $1) <= tolerance * Swift.max(1, Swift.abs($1)) }
}

func values(_ t: Tensor) throws -> [Double] { try t.to(dtype: .float64).scalars(as: Double.self) }

/// Checks `f`'s analytic gradients against central finite differences (float64), like torch.autograd.gradcheck.
/// `inputs` are (values, shape); `f` maps input tensors to a scalar tensor.
func gradcheck(_ inputs: [([Double], [Int])], epsilon: Double = 1e-6, tolerance: Double = 1e-5,
               _ f: ([Tensor]) throws -> Tensor, sourceLocation: SourceLocation = #_sourceLocation) throws
{
  let tensors = try inputs.map { try Tensor($0.0, shape: $0.1).requiringGrad() }
  try f(tensors).backward()
  for (k, input) in inputs.enumerated() {
    let analytic = try tensors[k].grad.map(values) ?? [Double](repeating: 0, count: input.0.count)
    var numeric: [Double] = []
    for i in 0..<input.0.count {
      func evaluate(_ delta: Double) throws -> Double {
        let shifted = try inputs.enumerated().map { j, inp -> Tensor in
          var v = inp.0
          if j == k { v[i] += delta }
          return try Tensor(v, shape: inp.1)
        }
        return try withNoGrad { try f(shifted).item() }
      }
      numeric.append((try evaluate(epsilon) - evaluate(-epsilon)) / (2 * epsilon))
    }
    #expect(approxEqual(analytic, numeric, tolerance: tolerance),
            "input \(k): analytic \(analytic) vs numeric \(numeric)", sourceLocation: sourceLocation)
  }
}

/// Deterministic pseudo-random doubles in [-1, 1) for test inputs (no libtorch RNG involved).
func sample(_ n: Int, seed: UInt64) -> [Double] {
  var state = seed &+ 0x9E37_79B9_7F4A_7C15
  return (0..<n).map { _ in
    state = state &* 6364136223846793005 &+ 1442695040888963407
    return Double(state >> 11) / Double(1 << 53) * 2 - 1
  }
}

// NNTests.swift — LoRA initialisation and targeting, RoPE frequencies, RMSNorm in reduced precision.
import Foundation
import Testing
@testable import NN
import Torch

@Suite struct NNTests {
  @Test func loraStartsAsANoOpWithPEFTBounds() throws {
    let lora = try LoRAAdapter(inFeatures: 64, outFeatures: 8, rank: 4, alpha: 8, dropout: 0, generator: Generator(seed: 1))
    #expect(lora.scaling == 2)
    #expect(try lora.b.abs().max().item() == 0)
    let bound = 1 / 8.0  // 1/sqrt(in) from kaiming_uniform(a=sqrt(5))
    #expect(try lora.a.abs().max().item() <= bound)
    #expect(try lora.a.abs().max().item() > 0.9 * bound)
    let linear = Linear(weight: try Tensor.randn([8, 64], generator: Generator(seed: 2)))
    let x = try Tensor.randn([3, 64], generator: Generator(seed: 3))
    let before = try linear(x)
    linear.lora = lora
    #expect(try linear(x).equals(before))
    let rs = try LoRAAdapter(inFeatures: 4, outFeatures: 4, rank: 16, alpha: 8, dropout: 0, useRSLoRA: true)
    #expect(rs.scaling == 2)  // alpha / sqrt(r)
  }

  @Test func loraDeltaIsScaledBA() throws {
    let a = try Tensor([1, 2, 3, 4] as [Float], shape: [1, 4])
    let b = try Tensor([1, -1] as [Float], shape: [2, 1])
    let lora = LoRAAdapter(a: a, b: b, scaling: 0.5, dropout: 0)
    #expect(try lora.delta().scalars(as: Float.self) == [0.5, 1, 1.5, 2, -0.5, -1, -1.5, -2])
    let x = try Tensor([1, 0, 0, 1] as [Float], shape: [1, 4])
    #expect(try lora(x, training: false).scalars(as: Float.self) == [2.5, -2.5])
  }

  @Test func targetMatching() throws {
    #expect(try LoRATargets.names(["q_proj", "v_proj"]).matches(path: "model.layers.3.self_attn.q_proj"))
    #expect(try !LoRATargets.names(["q_proj"]).matches(path: "model.layers.3.self_attn.k_proj"))
    #expect(try LoRATargets.pattern(#".*\.(q|v)_proj"#).matches(path: "model.layers.0.self_attn.v_proj"))
    #expect(try !LoRATargets.pattern(#".*\.(q|v)_proj"#).matches(path: "model.layers.0.mlp.up_proj"))
    #expect(try LoRATargets.allLinear.matches(path: "model.layers.0.mlp.up_proj"))
    #expect(try !LoRATargets.allLinear.matches(path: "lm_head"))
  }

  @Test func ropeFrequenciesAndLlama3Scaling() throws {
    let plain = try RotaryEmbedding(headDim: 8, theta: 10000, scaling: nil)
    let want = (0..<4).map { 1 / Foundation.pow(10000.0, Double(2 * $0) / 8) }
    #expect(approx(try plain.inverseFrequencies.to(dtype: .float64).scalars(as: Double.self), want, 1e-6))
    // llama3: wavelengths above original/low are divided by factor, below original/high kept, smooth between.
    let s = RopeScaling(ropeType: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 16)
    let scaled = try RotaryEmbedding(headDim: 8, theta: 500000, scaling: s).inverseFrequencies.to(dtype: .float64).scalars(as: Double.self)
    let base = (0..<4).map { 1 / Foundation.pow(500000.0, Double(2 * $0) / 8) }
    let expected = base.map { f -> Double in
      let wavelen = 2 * Double.pi / f
      if wavelen < 16.0 / 4 { return f }
      if wavelen > 16.0 / 1 { return f / 8 }
      let smooth = (16 / wavelen - 1) / (4 - 1)
      return (1 - smooth) * f / 8 + smooth * f
    }
    #expect(approx(scaled, expected, 1e-5))
    #expect(throws: RoPEError.self) { try RotaryEmbedding(headDim: 8, theta: 1, scaling: RopeScaling(ropeType: "yarn")) }
  }

  @Test func rmsNormReducedPrecisionNormalisesInFloat32() throws {
    let x = try Tensor([1, 2, 3, 4] as [Float], shape: [1, 4])
    let w = try Tensor([1, 1, 2, 2] as [Float])
    let f32 = try RMSNorm(weight: w, epsilon: 1e-6)(x)
    let bf16 = try RMSNorm(weight: w.to(dtype: .bfloat16), epsilon: 1e-6)(x.to(dtype: .bfloat16))
    #expect(bf16.dtype == .bfloat16)
    #expect(try bf16.to(dtype: .float32).isClose(to: f32, relativeTolerance: 1e-2, absoluteTolerance: 1e-2))
  }
}

func approx(_ a: [Double], _ b: [Double], _ tol: Double) -> Bool {
  a.count == b.count && zip(a, b).allSatisfy { Swift.abs($0 - $1) <= tol * Swift.max(1, Swift.abs($1)) }
}

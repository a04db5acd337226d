// NNTests.swift — modules (paths written once), the LoRA wrapper (PEFT init, enable switch, merge, disabled scope),
// targeting and configuration, RoPE frequencies, RMSNorm in reduced precision.
import Foundation
import Testing
@testable import NN
import Torch

@Suite struct NNTests {
  @Test func loraStartsAsANoOpWithPEFTBounds() throws {
    let linear = Linear(path: "proj", weight: try Tensor.randn([8, 64], generator: Generator(seed: 2)))
    let lora = try LoRALinear(base: linear, rank: 4, alpha: 8, dropout: 0, generator: Generator(seed: 1))
    #expect(lora.scaling == 2 && lora.rank == 4 && lora.path == "proj")
    #expect(try lora.b.abs().max().item() == 0)
    let bound = 1 / 8.0  // 1/sqrt(in) from kaiming_uniform(a=sqrt(5))
    #expect(try lora.a.abs().max().item() <= bound)
    #expect(try lora.a.abs().max().item() > 0.9 * bound)
    // PEFT draws A as one uniform [r, in] from the generator.
    #expect(try lora.a.equals(Tensor.uniform([4, 64], low: -bound, high: bound, generator: Generator(seed: 1))))
    let x = try Tensor.randn([3, 64], generator: Generator(seed: 3))
    #expect(try lora(x).equals(linear(x)))
    let rs = try LoRALinear(base: Linear(weight: Tensor.zeros([4, 4])), rank: 16, alpha: 8, dropout: 0, useRSLoRA: true)
    #expect(rs.scaling == 2)  // alpha / sqrt(r)
  }

  @Test func loraDeltaIsScaledBA() throws {
    let a = try Tensor([1, 2, 3, 4] as [Float], shape: [1, 4])
    let b = try Tensor([1, -1] as [Float], shape: [2, 1])
    let base = Linear(weight: try Tensor.zeros([2, 4]))
    let lora = LoRALinear(base: base, a: a, b: b, scaling: 0.5, dropout: 0)
    #expect(try lora.delta().scalars(as: Float.self) == [0.5, 1, 1.5, 2, -0.5, -1, -1.5, -2])
    let x = try Tensor([1, 0, 0, 1] as [Float], shape: [1, 4])
    // x·Aᵀ = 1 + 4 = 5; ·Bᵀ = [5, -5]; · 0.5
    #expect(try lora(x).scalars(as: Float.self) == [2.5, -2.5])
    #expect(try lora.denseWeight().scalars(as: Float.self) == [0.5, 1, 1.5, 2, -0.5, -1, -1.5, -2])
  }

  @Test func disabledAdapterIsExactlyTheBase() throws {
    let base = Linear(weight: try Tensor.randn([6, 5], generator: Generator(seed: 4)),
                      bias: try Tensor.randn([6], generator: Generator(seed: 5)))
    let lora = LoRALinear(base: base, a: try Tensor.randn([2, 5], generator: Generator(seed: 6)),
                          b: try Tensor.randn([6, 2], generator: Generator(seed: 7)), scaling: 2, dropout: 0.5)
    let x = try Tensor.randn([3, 5], generator: Generator(seed: 8))
    let plain = try base(x)
    #expect(try !lora(x).equals(plain))
    lora.enabled = false
    #expect(try lora(x, training: true).equals(plain))  // no dropout, no adapter: bit for bit the base
    lora.enabled = true
    let fused = try lora.fused()
    #expect(try fused(x).isClose(to: lora(x), relativeTolerance: 1e-5, absoluteTolerance: 1e-5))
    #expect(fused.path == base.path && fused.bias === base.bias)
  }

  @Test func parameterPathsAreWrittenOnceWhereLayersAreBuilt() throws {
    let model = try TinyModel(ParameterSource(TinyModel.checkpoint()))
    // Keys equal the checkpoint's, in declaration order; the tied head is listed once (under the embedding).
    #expect(model.namedParameters().map(\.key) == ["embed.weight", "blocks.0.norm.weight", "blocks.0.proj.weight",
                                                    "blocks.0.proj.bias", "blocks.1.norm.weight", "blocks.1.proj.weight",
                                                    "blocks.1.proj.bias"])
    #expect(try Set(model.parameters.keys) == Set(TinyModel.checkpoint().keys).subtracting(["head.weight"]))
    #expect(model.linearLayers.map(\.path) == ["blocks.0.proj", "blocks.1.proj", "head"])
    #expect(model.modules.map(\.path) == ["", "embed", "blocks.0", "blocks.0.norm", "blocks.0.proj", "blocks.1",
                                          "blocks.1.norm", "blocks.1.proj", "head"])
    #expect(throws: NNError("checkpoint has no tensor \"blocks.1.proj.bias\"")) {
      var partial = try TinyModel.checkpoint()
      partial["blocks.1.proj.bias"] = nil
      _ = try TinyModel(ParameterSource(partial))
    }
    #expect(throws: NNError("tensor \"embed.weight\" has shape [10, 4], expected [10, 3]")) {
      _ = try Embedding(ParameterSource(TinyModel.checkpoint())["embed"], shape: [10, 3])
    }
  }

  @Test func attachLoRAWrapsTargetsInOrderAndLeavesNamesAlone() throws {
    let model = try TinyModel(ParameterSource(TinyModel.checkpoint()))
    let keys = model.namedParameters().map(\.key)
    let attached = try model.attachLoRA(LoRAConfiguration(rank: 2, alpha: 4, dropout: 0, targetModules: .names(["proj"])),
                                        generator: Generator(seed: 9))
    #expect(attached == ["blocks.0.proj", "blocks.1.proj"])
    #expect(model.namedParameters().map(\.key) == keys)
    #expect(model.loraLayers.flatMap { $0.adapterParameters.map(\.key) }
              == ["blocks.0.proj.lora_A.weight", "blocks.0.proj.lora_B.weight", "blocks.1.proj.lora_A.weight",
                  "blocks.1.proj.lora_B.weight"])
    // One uniform draw per layer, in declaration order, from the one generator.
    let generator = try Generator(seed: 9)
    for lora in model.loraLayers {
      #expect(try lora.a.equals(Tensor.uniform([2, 4], low: -0.5, high: 0.5, generator: generator)))
    }
    #expect(model.blocks[0].proj is LoRALinear && model.head is Linear)
    #expect(throws: NNError("LoRA target_modules nothing match no linear layer (layers are named like blocks.0.proj)")) {
      try TinyModel(ParameterSource(TinyModel.checkpoint())).attachLoRA(LoRAConfiguration(targetModules: .names(["nothing"])))
    }
    try model.mergeLoRA()
    #expect(model.loraLayers.isEmpty && model.blocks[0].proj is Linear)
  }

  @Test func withAdaptersDisabledRestoresEachSwitchEvenWhenTheBodyThrows() throws {
    let model = try TinyModel(ParameterSource(TinyModel.checkpoint()))
    try model.attachLoRA(LoRAConfiguration(rank: 2, alpha: 4, dropout: 0, targetModules: .allLinear),
                         generator: Generator(seed: 10))
    for lora in model.loraLayers { try withNoGrad { try lora.b.copy_(Tensor.ones(lora.b.shape)) } }
    let x = try Tensor.randn([2, 4], generator: Generator(seed: 11))
    let adapted = try model.blocks[1].proj(x)
    let base = try (model.blocks[1].proj as! LoRALinear).base(x)
    model.loraLayers[0].enabled = false  // one switch already off stays off
    struct Boom: Error {}
    #expect(throws: Boom.self) {
      try model.withAdaptersDisabled {
        #expect(model.loraLayers.allSatisfy { !$0.enabled })
        #expect(try model.blocks[1].proj(x).equals(base))
        throw Boom()
      }
    }
    #expect(model.loraLayers.map(\.enabled) == [false, true, true])
    #expect(try model.blocks[1].proj(x).equals(adapted))
    let inside = try model.withAdaptersDisabled { try model.blocks[1].proj(x) }
    #expect(try inside.equals(base) && model.loraLayers.map(\.enabled) == [false, true, true])
  }

  @Test func targetMatching() throws {
    #expect(try LoRATargets.names(["q_proj", "v_proj"]).matches(path: "model.layers.3.self_attn.q_proj"))
    #expect(try !LoRATargets.names(["q_proj"]).matches(path: "model.layers.3.self_attn.k_proj"))
    // PEFT: a name matches the whole path or its end after a dot.
    #expect(try LoRATargets.names(["self_attn.q_proj"]).matches(path: "model.layers.3.self_attn.q_proj"))
    #expect(try !LoRATargets.names(["proj"]).matches(path: "model.layers.3.self_attn.q_proj"))
    #expect(try LoRATargets.pattern(#".*\.(q|v)_proj"#).matches(path: "model.layers.0.self_attn.v_proj"))
    #expect(try !LoRATargets.pattern(#".*\.(q|v)_proj"#).matches(path: "model.layers.0.mlp.up_proj"))
    #expect(try LoRATargets.allLinear.matches(path: "model.layers.0.mlp.up_proj"))
    #expect(try !LoRATargets.allLinear.matches(path: "lm_head"))
    #expect(throws: NNError("target_modules \"(q\" is not a valid regular expression")) {
      try LoRATargets.pattern("(q").matches(path: "q")
    }
  }

  @Test func loraConfigurationReadsPEFTKeys() throws {
    func decode(_ json: String) throws -> LoRAConfiguration {
      try JSONDecoder().decode(LoRAConfiguration.self, from: Data(json.utf8))
    }
    let c = try decode(#"{"r": 8, "lora_alpha": 16, "lora_dropout": 0.1, "target_modules": ["q_proj"], "use_rslora": true}"#)
    #expect(c == LoRAConfiguration(rank: 8, alpha: 16, dropout: 0.1, targetModules: .names(["q_proj"]), useRSLoRA: true))
    #expect(c.scaling == 16 / 8.0.squareRoot())
    #expect(try decode(#"{"target_modules": ".*q_proj"}"#).targetModules == .pattern(".*q_proj"))
    #expect(try decode(#"{"target_modules": "all-linear"}"#).targetModules == .allLinear)
    #expect(try decode(#"{"target_modules": ["all-linear"]}"#).targetModules == .allLinear)
    #expect(try decode("{}") == LoRAConfiguration())  // defaults: r 16, alpha 32, dropout 0.05, all projections
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let text = String(decoding: try encoder.encode(LoRAConfiguration(rank: 4, alpha: 8, dropout: 0, targetModules: .allLinear)), as: UTF8.self)
    #expect(text == #"{"lora_alpha":8,"lora_dropout":0,"r":4,"target_modules":"all-linear","use_rslora":false}"#)
    #expect(throws: NNError("r must be at least 1, got 0")) { try LoRAConfiguration(rank: 0).validate() }
    #expect(throws: NNError("lora_dropout must be in [0, 1), got 1.0")) { try LoRAConfiguration(dropout: 1).validate() }
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
    #expect(throws: NNError("unsupported rope_scaling type 'yarn' (supported: default, linear, llama3)")) {
      try RotaryEmbedding(headDim: 8, theta: 1, scaling: RopeScaling(ropeType: "yarn"))
    }
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

/// A two-block model with a tied head: the smallest tree that exercises children, arrays, slots and sharing.
final class TinyBlock: Module {
  let path: String
  let norm: RMSNorm
  @LinearSlot var proj: any LinearLayer
  init(_ weights: ParameterSource) throws {
    path = weights.path
    norm = try RMSNorm(weights["norm"], epsilon: 1e-6)
    proj = try Linear(weights["proj"], shape: [4, 4], bias: true)
  }
}

final class TinyModel: Module {
  let path = ""
  let embed: Embedding
  let blocks: [TinyBlock]
  @LinearSlot var head: any LinearLayer
  let notAModule = 3
  init(_ weights: ParameterSource) throws {
    embed = try Embedding(weights["embed"], shape: [10, 4])
    blocks = try (0..<2).map { try TinyBlock(weights["blocks"][$0]) }
    head = Linear(path: weights["head"].path, weight: embed.weight)
  }

  static func checkpoint() throws -> ParameterStore {
    var p: ParameterStore = ["embed.weight": try Tensor.randn([10, 4], generator: Generator(seed: 1))]
    for i in 0..<2 {
      p["blocks.\(i).norm.weight"] = try Tensor.ones([4])
      p["blocks.\(i).proj.weight"] = try Tensor.randn([4, 4], generator: Generator(seed: UInt64(2 + i)))
      p["blocks.\(i).proj.bias"] = try Tensor.zeros([4])
    }
    p["head.weight"] = p["embed.weight"]
    return p
  }
}

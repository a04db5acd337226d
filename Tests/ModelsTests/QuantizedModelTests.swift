// QuantizedModelTests.swift — models with quantized projections: QLoRA loading against transformers + bitsandbytes
// (Fixtures/qlora, reference/make_nf4_fixtures.py), LoRA on the default GGUF's own blocks against dequantizing it up
// front, and gradient checkpointing with LoRA dropout giving the plain path's gradients.
import Foundation
import GGUF
import Testing
@testable import Models
import NN
import Torch

struct QLoRAExpectation: Decodable {
  struct DownProj: Decodable {
    let codes: [UInt8]
    let absmax_codes: [UInt8]
    let absmax_absmax: [Float]
    let offset: Float
  }
  let input_ids: [[Int64]]
  let shape: [Int]
  let logits_dense: [Float]
  let logits_nf4_double_quant: [Float]
  let logits_fp4: [Float]
  let max_abs_error_nf4: Double
  let max_abs_error_fp4: Double
  let quantized_modules: [String]
  let down: DownProj

  enum CodingKeys: String, CodingKey {
    case input_ids, shape, logits_dense, logits_nf4_double_quant, logits_fp4, max_abs_error_nf4, max_abs_error_fp4
    case quantized_modules, down = "layers.1.mlp.down_proj"
  }
}

@Suite(.serialized) struct QuantizedModelTests {
  let expected: QLoRAExpectation
  let reader: CheckpointReader

  init() throws {
    expected = try JSONDecoder().decode(QLoRAExpectation.self, from: Data(contentsOf: try fixtureURL("qlora/expected.json")))
    reader = try Checkpoint.open(try fixtureURL("qlora"))
  }

  func model(_ quantization: WeightQuantization, dtype: DType = .float32) throws -> LlamaForCausalLM {
    try LlamaForCausalLM(config: reader.config, weights: reader.parameterSource(dtype: dtype, device: .cpu, quantization: quantization))
  }

  func logits(_ model: LlamaForCausalLM) throws -> Tensor {
    let ids = try Tensor(expected.input_ids.flatMap { $0 }, shape: [expected.input_ids.count, expected.input_ids[0].count])
    return try withNoGrad { try model(ids) }
  }

  /// bitsandbytes' logits (same codes, dequantized and multiplied in float32), and an error against the dense model
  /// no larger than bitsandbytes' own.
  @Test func qloraLogitsMatchTransformersWithBitsandbytes() throws {
    let dense = try Tensor(expected.logits_dense, shape: expected.shape)
    #expect(try maxAbsDifference(logits(model(.none)), dense) < 1e-4)
    let cases: [(FourBitConfiguration, [Float], Double)] = [
      (FourBitConfiguration(type: .nf4, doubleQuantization: true), expected.logits_nf4_double_quant, expected.max_abs_error_nf4),
      (FourBitConfiguration(type: .fp4), expected.logits_fp4, expected.max_abs_error_fp4),
    ]
    for (configuration, want, bitsandbytesError) in cases {
      let quantized = try model(.fourBit(configuration))
      let ours = try logits(quantized)
      #expect(try maxAbsDifference(ours, Tensor(want, shape: expected.shape)) < 1e-4, "\(configuration.type)")
      #expect(try maxAbsDifference(ours, dense) <= bitsandbytesError + 1e-4, "\(configuration.type)")
    }
  }

  @Test func everyProjectionButLmHeadIsQuantizedAsBitsandbytesStoresIt() throws {
    let quantized = try model(.fourBit(FourBitConfiguration(type: .nf4, doubleQuantization: true)))
    #expect(quantized.quantizedLayers.map(\.path).sorted() == expected.quantized_modules)
    #expect(quantized.lmHead is Linear)
    let down = try #require(quantized.layers[1].mlp.downProj as? QuantizedLinear)
    let weight = try #require(down.weight as? FourBitWeight)
    #expect(try weight.codes.scalars(as: UInt8.self) == expected.down.codes)
    guard case .nested(let codes, let absmax, let offset) = weight.scales else {
      Issue.record("expected double quantization")
      return
    }
    #expect(try codes.scalars(as: UInt8.self) == expected.down.absmax_codes)
    #expect(try absmax.scalars(as: Float.self) == expected.down.absmax_absmax)
    #expect(try offset.item() == Double(expected.down.offset))
  }

  /// prepare_model_for_kbit_training: with a bf16 base everything that stays dense is float32.
  @Test func denseWeightsAreFloat32UnderQLoRA() throws {
    let quantized = try model(.fourBit(FourBitConfiguration(type: .nf4, computeDType: .bfloat16)), dtype: .bfloat16)
    #expect(quantized.parameters.values.allSatisfy { $0.dtype == .float32 })
    #expect(quantized.quantizedLayers.allSatisfy { $0.computeDType == .bfloat16 })
    #expect(try logits(quantized).dtype == .float32)
  }

  @Test func ggufQuantizationNeedsAGGUFFile() throws {
    #expect(throws: ModelError.self) { try model(.gguf) }
  }

  /// Reentrant checkpointing replays the RNG, so LoRA dropout draws the same masks in the recompute: the same loss
  /// and the same adapter gradients as the plain path, dense and 4-bit.
  @Test func checkpointingWithLoRADropoutGivesThePlainGradients() throws {
    let ids = try Tensor(expected.input_ids.flatMap { $0 }, shape: [expected.input_ids.count, expected.input_ids[0].count])
    for quantization in [WeightQuantization.none, .fourBit(FourBitConfiguration(type: .nf4, doubleQuantization: true))] {
      var results: [(Double, [Tensor])] = []
      for checkpointing in [false, true] {
        let m = try model(quantization)
        try m.attachLoRA(LoRAConfiguration(rank: 4, alpha: 8, dropout: 0.3, targetModules: .allLinear),
                         generator: Generator(seed: 3))
        for lora in m.loraLayers { try withNoGrad { try lora.b.copy_(Tensor.randn(lora.b.shape, generator: Generator(seed: 4)) * 0.1) } }
        m.training = true
        m.gradientCheckpointing = checkpointing
        Torch.manualSeed(11)
        let loss = try m(ids).logSoftmax(dim: -1).mean()
        try loss.backward()
        results.append((try loss.item(), m.loraLayers.flatMap { [$0.a.grad!, $0.b.grad!] }))
      }
      #expect(results[0].0 == results[1].0, "\(quantization)")
      for (plain, recomputed) in zip(results[0].1, results[1].1) {
        #expect(try plain.isClose(to: recomputed, relativeTolerance: 1e-5, absoluteTolerance: 1e-7), "\(quantization)")
      }
    }
  }
}

@Suite(.serialized) struct GGUFBlockModelTests {
  /// The default model's projections kept as its own Q4_1 (…) blocks compute exactly what the model dequantized up
  /// front computes, forward and (through LoRA, with dropout) backward, in a fraction of the memory; checkpointing
  /// the block model gives the same gradients again.
  @Test func ggufBlocksMatchDequantizingUpFront() throws {
    let url = try #require(defaultModelURL(), "the default model is missing: run `make setup`")
    let reader = try Checkpoint.open(url)
    let runs: [(WeightQuantization, Bool)] = [(.none, false), (.gguf, false), (.gguf, true)]
    var grads: [[Tensor]] = []
    var outputs: [Tensor] = []
    let ids = try Tensor([1, 504, 3437, 314, 253, 2569, 30, 2] as [Int64], shape: [1, 8])
    for (quantization, checkpointing) in runs {
      let m = try LlamaForCausalLM(config: reader.config,
                                   weights: reader.parameterSource(dtype: .float32, device: .cpu, quantization: quantization))
      try m.attachLoRA(LoRAConfiguration(rank: 4, alpha: 8, dropout: 0.2, targetModules: .names(["q_proj", "down_proj"])),
                       generator: Generator(seed: 5))
      for lora in m.loraLayers { try withNoGrad { try lora.b.copy_(Tensor.ones(lora.b.shape) * 0.01) } }
      if quantization == .gguf {
        let blocks = m.quantizedLayers
        #expect(blocks.count == 30 * 7)
        let held = blocks.reduce(0) { $0 + $1.weight.byteCount }
        let dense = blocks.reduce(0) { $0 + 4 * $1.inFeatures * $1.outFeatures }
        #expect(held * 6 < dense)  // Q4_1: 5 bits a weight against 32
      }
      m.training = true
      m.gradientCheckpointing = checkpointing
      Torch.manualSeed(7)
      let logits = try m(ids)
      try logits.logSoftmax(dim: -1).mean().backward()
      outputs.append(try logits.detached())
      grads.append(m.loraLayers.flatMap { [$0.a.grad!, $0.b.grad!] })
    }
    #expect(try outputs[0].equals(outputs[1]) && outputs[1].equals(outputs[2]))
    for k in 1..<runs.count {
      // The dense model's adapters are one fused node (Functional.loraLinear), the block model's linear + addmm:
      // the same gradients up to the order of additions (float32 rounding, carried through 30 layers).
      for (a, b) in zip(grads[0], grads[k]) {
        let error = try (a - b).norm().item() / (try b.norm().item())
        #expect(error < 1e-4, "relative gradient error \(error)")  // float32 rounding through 30 layers
      }
    }
  }
}

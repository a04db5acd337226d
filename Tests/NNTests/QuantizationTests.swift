// QuantizationTests.swift — bitsandbytes' 4-bit quantization (codes, nibble order, absmax, double quantization)
// against its own output (Fixtures/nf4, reference/make_nf4_fixtures.py), and the quantized layer's forward and
// backward: the weight rebuilt once per pass, gradients equal to the dense layer's, LoRA wrapping it unchanged.
import Foundation
import Testing
@testable import NN
import Torch

@Suite struct QuantizationTests {
  static let fixture: SafeTensorsFile? = {
    guard let url = Bundle.module.url(forResource: "Fixtures/nf4/quantized", withExtension: "safetensors") else { return nil }
    return try? SafeTensorsFile(url: url)
  }()

  func tensor(_ name: String) throws -> Tensor {
    guard let file = Self.fixture else { throw NNError("Fixtures/nf4/quantized.safetensors is missing") }
    return try file.tensor(name, copy: true)
  }

  @Test func dynamicMapIsBitsandbytes() throws {
    #expect(try Tensor(BlockQuantization.dynamicMap).equals(tensor("dynamic_map")))
  }

  @Test func eightBitBlockwiseCodesAreBitsandbytes() throws {
    let map = try Tensor(BlockQuantization.dynamicMap)
    let (codes, absmax) = try BlockQuantization.quantizeBlockwise(tensor("blockwise.input"), code: map, blockSize: 256)
    #expect(try codes.equals(tensor("blockwise.codes")))
    #expect(try absmax.equals(tensor("blockwise.absmax")))
    let back = try BlockQuantization.dequantizeBlockwise(codes: codes, absmax: absmax, code: map, blockSize: 256)
    #expect(try back.equals(tensor("blockwise.dequantized")))
  }

  /// Every weight (an all-zero block; full and partial 256-blocks of absmax; bf16 input; an odd element count) in
  /// NF4 and FP4, with and without double quantization: the same bytes, scales and dequantized values.
  @Test(arguments: ["a", "b", "c", "d"]) func fourBitStateIsBitsandbytes(_ name: String) throws {
    let w = try tensor("\(name).weight")
    for type in FourBitType.allCases {
      for nested in [false, true] {
        let tag = "\(name).\(type)\(nested ? ".nested" : "")"
        let q = try FourBitWeight(quantizing: w, type: type, doubleQuantization: nested)
        #expect(try q.codes.equals(tensor("\(tag).codes")), "\(tag) codes")
        switch q.scales {
        case .plain(let absmax):
          #expect(try absmax.equals(tensor("\(tag).absmax")), "\(tag) absmax")
        case .nested(let codes, let absmax, let offset):
          #expect(try codes.equals(tensor("\(tag).absmax_codes")), "\(tag) absmax codes")
          #expect(try absmax.equals(tensor("\(tag).absmax_absmax")), "\(tag) absmax of absmax")
          #expect(try offset.reshape([1]).equals(tensor("\(tag).offset")), "\(tag) offset")
        }
        if let expected = try? tensor("\(tag).dequantized") {
          // bitsandbytes dequantizes to the weight's own dtype.
          #expect(try q.dequantized(dtype: w.dtype).to(dtype: .float32).equals(expected), "\(tag) dequantized")
        }
      }
    }
  }

  @Test func nibbleOrderPutsTheFirstElementHigh() throws {
    // NF4 codes: -1 → 0, 1 → 15, 0 → 7 (and the padding after an odd count, a 0, → 7). Block absmax 1.
    let q = try FourBitWeight(quantizing: Tensor([-1, 1, 0] as [Float], shape: [1, 3]), type: .nf4)
    #expect(try q.codes.scalars(as: UInt8.self) == [0x0F, 0x77])
    #expect(try q.dequantized(dtype: .float32).scalars(as: Float.self) == [-1, 1, 0])
  }

  /// Counts how often the dense weight is built.
  final class CountingWeight: QuantizedWeight {
    let inner: FourBitWeight
    var builds = 0
    init(_ inner: FourBitWeight) { self.inner = inner }
    var shape: [Int] { inner.shape }
    var device: Device { inner.device }
    var byteCount: Int { inner.byteCount }
    var format: String { inner.format }
    func dequantized(dtype: DType) throws -> Tensor {
      builds += 1
      return try inner.dequantized(dtype: dtype)
    }
  }

  @Test func quantizedLinearRebuildsTheWeightOncePerPassAndMatchesTheDenseGradient() throws {
    let w = try Tensor.randn([48, 64], generator: Generator(seed: 1)) * 0.05
    let weight = CountingWeight(try FourBitWeight(quantizing: w, type: .nf4, doubleQuantization: true))
    let bias = try Tensor.randn([48], generator: Generator(seed: 2))
    let layer = QuantizedLinear(path: "proj", weight: weight, bias: bias, computeDType: .float32)
    let dense = Linear(path: "proj", weight: try weight.inner.dequantized(dtype: .float32), bias: bias)
    #expect(layer.inFeatures == 64 && layer.outFeatures == 48 && layer.localParameters.map(\.name) == ["bias"])

    let x = try Tensor.randn([2, 3, 64], generator: Generator(seed: 3)).requiringGrad()
    let y = try layer(x)
    #expect(weight.builds == 1)
    let x2 = try x.detached().requiringGrad()
    let expected = try dense(x2)
    #expect(try y.isClose(to: expected, relativeTolerance: 1e-5, absoluteTolerance: 1e-6))
    let g = try Tensor.randn([2, 3, 48], generator: Generator(seed: 4))
    try (y * g).sum().backward()
    #expect(weight.builds == 2)  // rebuilt once for dx, nothing kept from the forward
    try (expected * g).sum().backward()
    #expect(try x.grad!.isClose(to: x2.grad!, relativeTolerance: 1e-5, absoluteTolerance: 1e-6))

    // An input that needs no gradient: one build, no graph.
    _ = try layer(Tensor.randn([1, 64], generator: Generator(seed: 5)))
    #expect(weight.builds == 3)
    // bf16 compute: the input is cast in and the output back (bitsandbytes' Linear4bit).
    let half = QuantizedLinear(path: "p", weight: weight.inner, computeDType: .bfloat16)
    let out = try half(Tensor.randn([2, 64], generator: Generator(seed: 6)))
    #expect(out.dtype == .float32)
  }

  @Test func loraWrapsAQuantizedLayerAsItWrapsADenseOne() throws {
    let q = try FourBitWeight(quantizing: Tensor.randn([32, 40], generator: Generator(seed: 7)), type: .nf4)
    let quantized = QuantizedLinear(path: "model.layers.0.mlp.up_proj", weight: q, computeDType: .float32)
    let dense = Linear(path: quantized.path, weight: try q.dequantized(dtype: .float32))
    let bases: [any LinearLayer] = [quantized, dense]
    let loras = try bases.map { (base: any LinearLayer) throws -> LoRALinear in
      let lora = try LoRALinear(base: base, rank: 4, alpha: 8, dropout: 0, generator: Generator(seed: 8))
      try withNoGrad { try lora.b.copy_(Tensor.randn(lora.b.shape, generator: Generator(seed: 9))) }
      return lora
    }
    let x = try Tensor.randn([5, 40], generator: Generator(seed: 10)).requiringGrad()
    let ys = try loras.map { try $0(x, training: true) }
    #expect(try ys[0].isClose(to: ys[1], relativeTolerance: 1e-5, absoluteTolerance: 1e-6))
    for y in ys { try y.square().sum().backward() }
    #expect(try loras[0].a.grad!.isClose(to: loras[1].a.grad!, relativeTolerance: 1e-4, absoluteTolerance: 1e-6))
    #expect(try loras[0].b.grad!.isClose(to: loras[1].b.grad!, relativeTolerance: 1e-4, absoluteTolerance: 1e-6))
    // Merging folds the adapter into the dequantized weight.
    #expect(try loras[0].denseWeight().isClose(to: loras[1].denseWeight(), relativeTolerance: 1e-6, absoluteTolerance: 1e-7))
  }
}

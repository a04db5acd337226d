// WeightQuantization.swift — how a model's frozen base weights are held while adapters train on them: dense, 4-bit
// as bitsandbytes quantizes them (QLoRA), or a GGUF file's own blocks; and how loading builds each projection that
// way, tensor by tensor as the checkpoint is read, so the dense model never sits in memory whole.
import GGUF
import NN
import Torch

public enum WeightQuantization: Equatable, Sendable, CustomStringConvertible {
  /// Every weight dense, in the loading dtype.
  case none
  /// QLoRA: the projections (every linear layer but lm_head) as bitsandbytes' 4-bit blocks, computed in
  /// `computeDType`; everything else float32 (`prepare_model_for_kbit_training`).
  case fourBit(FourBitConfiguration)
  /// The projections kept as a .gguf file's own quantized blocks, dequantized per layer on use, computed in the
  /// loading dtype; everything else dense in that dtype.
  case gguf

  public var description: String {
    switch self {
    case .none: return "none"
    case .fourBit(let c):
      return "4-bit \(c.type.rawValue)\(c.doubleQuantization ? ", double quantization" : ""), compute \(ModelExport.dtypeName(c.computeDType))"
    case .gguf: return "the GGUF file's own blocks"
    }
  }

  public var isQuantized: Bool { self != .none }
}

extension CheckpointReader {
  /// What a model is built from: each tensor read when its layer is built, floating-point weights in `dtype` on
  /// `device`, the projections quantized as `quantization` says.
  ///
  /// 4-bit, as transformers + peft do it: a projection's weight is read in `dtype`, quantized on `device` and
  /// dropped; every other weight (embeddings, norms, lm_head, biases) is read in `dtype` and kept in float32.
  /// GGUF blocks: a projection keeps its blocks from the file; other weights are dequantized to `dtype`.
  public func parameterSource(dtype: DType, device: Device, quantization: WeightQuantization = .none) throws
    -> ParameterSource
  {
    func place(_ t: Tensor) throws -> Tensor { device == .cpu ? t : try t.to(device: device) }
    switch quantization {
    case .none:
      return ParameterSource(lookup: { key in try tensor(key, dtype: dtype).map(place) })

    case .fourBit(let c):
      // Own copies: nothing keeps the checkpoint's memory map (and its pages) alive once the model is built.
      let dense: (String) throws -> Tensor? = { key in
        try tensor(key, dtype: dtype, ownCopy: true).map { try place($0.dtype.isFloatingPoint ? $0.to(dtype: .float32) : $0) }
      }
      return ParameterSource(lookup: dense) { source, shape, hasBias in
        let key = "\(source.path).weight"
        guard let w = try tensor(key, dtype: dtype) else { throw NNError("checkpoint has no tensor \"\(key)\"") }
        if let shape, w.shape != shape { throw NNError("tensor \"\(key)\" has shape \(w.shape), expected \(shape)") }
        let weight = try FourBitWeight(quantizing: place(w), type: c.type, doubleQuantization: c.doubleQuantization,
                                       blockSize: c.blockSize)
        return QuantizedLinear(path: source.path, weight: weight, bias: hasBias ? try source.tensor("bias") : nil,
                               computeDType: c.computeDType)
      }

    case .gguf:
      guard let file = gguf else {
        throw ModelError("\(url.path): quantization gguf keeps a .gguf file's own blocks; this is a \(format.rawValue) (use load_in_4bit, or no quantization)")
      }
      let dense: (String) throws -> Tensor? = { key in try tensor(key, dtype: dtype).map(place) }
      return ParameterSource(lookup: dense) { source, shape, hasBias in
        let key = "\(source.path).weight"
        guard let info = ggufTensors[key] else { throw NNError("checkpoint has no tensor \"\(key)\"") }
        if let shape, info.rowMajorShape != shape {
          throw NNError("tensor \"\(key)\" has shape \(info.rowMajorShape), expected \(shape)")
        }
        let weight = try GGUFBlockWeight(file: file, info: info,
                                         permutedHeads: Checkpoint.permutedHeads(key, config: config, file: file),
                                         device: device)
        return QuantizedLinear(path: source.path, weight: weight, bias: hasBias ? try source.tensor("bias") : nil,
                               computeDType: dtype)
      }
    }
  }
}

extension Module {
  /// Every quantized projection under this module (under its adapter, if it has one).
  public var quantizedLayers: [QuantizedLinear] {
    linearSlots.compactMap { (($0.wrappedValue as? LoRALinear)?.base ?? $0.wrappedValue) as? QuantizedLinear }
  }
}

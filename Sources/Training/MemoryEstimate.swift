// MemoryEstimate.swift — what a training run will hold at its peak, from config.json and the recipe alone (no
// weights read): base weights in their precision or quantization, adapters with gradients and optimizer state,
// saved activations (with or without checkpointing), the logits and loss, and the runtime. `orpo train --dry-run`
// prints it; the README compares it with measured peaks.
import Foundation
import Models
import NN
import Torch

/// Parameter counts of a model under a recipe.
public struct ParameterCounts: Equatable, Sendable {
  public var total: Int
  public var trainable: Int
  /// Elements of the projections that quantization stores in blocks (0 when dense).
  public var quantized: Int
}

public struct MemoryEstimate: Sendable {
  public struct Part: Sendable {
    public let name: String
    public let bytes: Int
    public let detail: String
  }

  public var parts: [Part]
  public var total: Int { parts.reduce(0) { $0 + $1.bytes } }

  /// The trainable tensors' keys and shapes (LoRA's A [r, in] and B [out, r] per target, or every weight), with the
  /// linear layer each weight belongs to: what the optimizer's state is sized by.
  static func trainableShapes(config: TrainingConfiguration, model: LlamaConfiguration,
                              loraTargets: [(path: String, outFeatures: Int, inFeatures: Int)])
    -> [(key: String, shape: [Int], linearPath: String?)]
  {
    if config.finetuningType == .full { return model.weightShapes.map { ($0.key, $0.shape, $0.linearPath) } }
    return loraTargets.flatMap { t in
      [("\(t.path).lora_A.weight", [config.lora.rank, t.inFeatures], nil as String?),
       ("\(t.path).lora_B.weight", [t.outFeatures, config.lora.rank], nil)]
    }
  }

  /// Copies of the [tokens, vocabulary] float32 logits alive at the loss's peak. The fused loss holds two of one
  /// chunk of `loss_chunk_size` tokens: the logits and one temporary of their log-sum-exp, in forward (through a frozen
  /// output layer backward needs none of them, `Functional.headTokenLogProbabilities`; a trained one recomputes
  /// them there and turns them into their own gradient in place, `Functional.tokenLogProbabilities`); measured,
  /// default workload: 24 MiB over the step's other tensors for 64 × 49,152 (a frozen float32 output layer, taken
  /// 8,192 ids at a time, holds less: an upper bound there). Without it: the logits, their float32 log-softmax and
  /// the gradient flowing back.
  static func logitCopies(_ config: TrainingConfiguration) -> Int { config.scoringChunkSize == nil ? 3 : 2 }

  /// Resident memory of the process before any model (Swift runtime, libtorch and its thread pools), measured on
  /// this project's CPU machines.
  static let runtimeBytes = 220 << 20

  /// The estimate for `config` on a model shaped as `model`; `blockBytes` (a .gguf model's bytes per weight key)
  /// gives the real block sizes under `quantization: gguf`.
  public static func estimate(config: TrainingConfiguration, model: LlamaConfiguration,
                              blockBytes: [String: Int] = [:]) throws -> (MemoryEstimate, ParameterCounts)
  {
    let quantization = config.weightQuantization
    let linears = model.linearShapes
    let projections = linears.filter { $0.path != "lm_head" }
    let projectionElements = projections.reduce(0) { $0 + $1.outFeatures * $1.inFeatures }
    let total = model.parameterCount
    let loraTargets = config.finetuningType == .lora
      ? try linears.filter { try config.lora.targetModules.matches(path: $0.path) } : []
    let trainable = config.finetuningType == .full ? total
      : loraTargets.reduce(0) { $0 + config.lora.rank * ($1.inFeatures + $1.outFeatures) }
    var parts: [Part] = []
    let dtypeBytes = config.baseDType.byteCount

    // Base weights
    var quantizedElements = 0
    switch quantization {
    case .none:
      parts.append(Part(name: "base weights", bytes: total * dtypeBytes,
                        detail: "\(grouped(total)) parameters in \(config.baseDType.recipeText)"))
    case .fourBit(let c):
      quantizedElements = projectionElements
      let packed = Int((Double(projectionElements) * c.bytesPerElement).rounded(.up))
      parts.append(Part(name: "base weights", bytes: packed + (total - projectionElements) * 4,
                        detail: String(format: "%d projections in 4-bit %@ (%.3f bytes a weight), the other %@ in float32",
                                       projections.count, c.type.rawValue, c.bytesPerElement, grouped(total - projectionElements))))
    case .gguf:
      quantizedElements = projectionElements
      var blocks = 0
      for p in projections {
        blocks += blockBytes["\(p.path).weight"] ?? p.outFeatures * p.inFeatures * dtypeBytes
      }
      parts.append(Part(name: "base weights", bytes: blocks + (total - projectionElements) * dtypeBytes,
                        detail: "\(projections.count) projections as the file's blocks, the other \(grouped(total - projectionElements)) in \(config.baseDType.recipeText)"))
    }

    // Trainable weights, gradients, optimizer state
    let trainableBytes = config.finetuningType == .full ? 0 : trainable * 4  // full: already counted in the base
    let stateBytes = try config.optimizerStateBytes(trainableShapes(config: config, model: model, loraTargets: loraTargets))
    parts.append(Part(name: "trainable + grads + optimizer", bytes: trainableBytes + trainable * 4 + stateBytes,
                      detail: "\(grouped(trainable)) float32 parameters, their gradients, \(config.optim.rawValue) state "
                        + "(\(Self.mebibytes(stateBytes).trimmingCharacters(in: .whitespaces)))"))

    // Activations: tokens in one forward at full max_length (chosen and rejected of every pair)
    let tokens = 2 * config.perDeviceTrainBatchSize * config.maxLength
    let a = quantization == .none ? dtypeBytes : 4  // QLoRA keeps the residual stream in float32
    let (c, hd, i) = (model.hiddenSize, model.numAttentionHeads * model.resolvedHeadDim, model.intermediateSize)
    let kvd = model.kvHeads * model.resolvedHeadDim
    let dropout = config.finetuningType == .lora && config.lora.dropout > 0
    // Tensors autograd keeps per token and layer (RMSNorm inputs and outputs; attention's q, its grouped k and v,
    // its output and o_proj's input; the MLP's gate, up and product, its activation recomputed in backward; LoRA's
    // dropped inputs and masks when lora_dropout > 0); frozen projections keep nothing of their own.
    let perToken = dropout ? 10.25 * Double(c) + 4.25 * Double(hd) + 2 * Double(kvd) + 4.25 * Double(i)
                           : 4 * Double(c) + 3 * Double(hd) + 2 * Double(kvd) + 3 * Double(i)
    let layerBytes = Int(perToken * Double(tokens * a))
    let layers = model.numHiddenLayers
    if config.gradientCheckpointing {
      parts.append(Part(name: "activations", bytes: layers * tokens * c * a + 2 * layerBytes,
                        detail: "\(grouped(tokens)) tokens: each layer's input, one layer recomputed (checkpointing)"))
    } else {
      parts.append(Part(name: "activations", bytes: layers * layerBytes,
                        detail: "\(grouped(tokens)) tokens × \(layers) layers kept for backward"))
    }
    // The largest projection dequantized inside its forward or backward (float32 while dequantizing, then compute dtype).
    if quantization.isQuantized, let largest = projections.map({ $0.outFeatures * $0.inFeatures }).max() {
      parts.append(Part(name: "dequantized layer", bytes: largest * 8, detail: "the largest projection, one at a time"))
    }
    let copies = logitCopies(config)
    let logitRows = config.scoringChunkSize.map { Swift.min($0, tokens) } ?? tokens
    parts.append(Part(name: "logits and loss", bytes: copies * logitRows * model.vocabSize * 4,
                      detail: "\(copies) float32 copies of [\(grouped(logitRows)), \(grouped(model.vocabSize))]"
                        + (config.scoringChunkSize == nil ? "" : " (one chunk of the fused loss)")))
    if !config.device.isCUDA {
      parts.append(Part(name: "runtime", bytes: runtimeBytes, detail: "Swift, libtorch and its threads"))
    }
    return (MemoryEstimate(parts: parts), ParameterCounts(total: total, trainable: trainable, quantized: quantizedElements))
  }

  /// The table `orpo train --dry-run` prints.
  public var table: String {
    let width = parts.map(\.name.count).max() ?? 0
    var lines = parts.map { p in
      "  " + p.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + Self.mebibytes(p.bytes) + "  " + p.detail
    }
    var last = "  " + "total".padding(toLength: width, withPad: " ", startingAt: 0) + "  " + Self.mebibytes(total)
    while last.hasSuffix(" ") { last.removeLast() }
    lines.append(last)
    return lines.joined(separator: "\n")
  }

  static func mebibytes(_ bytes: Int) -> String {
    let text = bytes >= 10 << 30 ? String(format: "%.1f GiB", Double(bytes) / Double(1 << 30))
                                 : String(format: "%.0f MiB", Double(bytes) / Double(1 << 20))
    return text.padding(toLength: 10, withPad: " ", startingAt: 0)
  }
}

/// 1234567 -> "1,234,567".
func grouped(_ n: Int) -> String {
  let digits = String(n)
  var out = ""
  for (k, ch) in digits.reversed().enumerated() {
    if k > 0 && k % 3 == 0 { out.append(",") }
    out.append(ch)
  }
  return String(out.reversed())
}

// SelfTest.swift — `orpo selftest`: the checks a new machine (a GPU one above all) must pass before a real run, on a
// tiny random Llama built in-process from seeds, so the carried binary needs no fixture files.
import Data
import Foundation
import Models
import NN
import Torch

/// Checks one device against the CPU and against itself: logits, ORPO loss and gradients in fp32, bf16 within
/// tolerance, gradient checkpointing with dropout equal to the plain path, the attention kernel SDPA selects, a
/// 10-step run equal to 5 steps + resume, data parallel's gradient all-reduce (gloo, or NCCL on a GPU), and the
/// matmul peak. On `.cpu` the CPU-vs-device checks compare the CPU
/// with itself (they must give exactly 0).
public struct SelfTest {
  public struct Check: Sendable {
    public var name: String
    public var passed: Bool
    public var detail: String
    public var seconds: Double
  }

  public let device: Device
  /// The tiny model: GQA (4 query heads over 2 key/value heads), two layers, a vocabulary of 256.
  public let shape = LlamaConfiguration(vocabSize: 256, hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 2,
                                        numAttentionHeads: 4, numKeyValueHeads: 2)
  /// Tolerances: fp32 CPU vs device (different kernels and summation order), bf16 vs fp32 loss (relative).
  public var fp32Tolerance = 1e-4
  public var bf16Tolerance = 3e-2
  /// The matmul peak's size (n×n · n×n).
  public var matmulSize: Int

  public init(device: Device) {
    self.device = device
    matmulSize = device.isCUDA ? 8192 : 1024
  }

  /// Runs every check in order, calling `report` as each finishes.
  public func run(report: (Check) -> Void = { _ in }) -> [Check] {
    let checks: [(String, () throws -> (Bool, String))] = [
      ("logits", logits),
      ("loss_and_gradients_fp32", lossAndGradients),
      ("bf16_loss", bf16Loss),
      ("checkpointing_with_dropout", checkpointingWithDropout),
      ("attention_kernel", attentionKernel),
      ("block_attention", blockAttention),
      ("resume_bit_identical", resumeBitIdentical),
      ("gradient_all_reduce", gradientAllReduce),
      ("matmul_peak", matmulPeak),
    ]
    return checks.map { name, body in
      let start = Date()
      let check: Check
      do {
        let (passed, detail) = try body()
        check = Check(name: name, passed: passed, detail: detail, seconds: Date().timeIntervalSince(start))
      } catch {
        check = Check(name: name, passed: false, detail: "error: \(error)", seconds: Date().timeIntervalSince(start))
      }
      report(check)
      return check
    }
  }

  // MARK: - the tiny model and its data

  func model(on device: Device, dtype: DType = .float32, lora: LoRAConfiguration? = nil) throws -> LlamaForCausalLM {
    let weights = try CheckpointReader.randomWeights(shape, seed: 0).parameterSource(dtype: dtype, device: device)
    let model = try LlamaForCausalLM(config: shape, weights: weights)
    if let lora {
      try model.attachLoRA(lora, generator: try Generator(seed: 1))
      // B starts at 0 (PEFT); non-zero B makes the adapter's gradients depend on A as well.
      let g = try Generator(seed: 2)
      try withNoGrad {
        for layer in model.loraLayers { try layer.b.copy_(try Tensor.randn(layer.b.shape, generator: g) * 0.05) }
      }
    }
    return model
  }

  /// Eight preference pairs of random token ids (prompts 6–13 tokens, answers 3–10), from a fixed LCG.
  func pairs() -> [EncodedPair] {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next(_ n: Int) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((state >> 33) % UInt64(n))
    }
    return (0..<8).map { _ in
      let prompt = (0..<(6 + next(8))).map { _ in 1 + next(shape.vocabSize - 1) }
      let chosen = (0..<(3 + next(8))).map { _ in 1 + next(shape.vocabSize - 1) }
      let rejected = (0..<(3 + next(8))).map { _ in 1 + next(shape.vocabSize - 1) }
      let masked = [Int](repeating: -100, count: prompt.count)
      return EncodedPair(chosenIDs: prompt + chosen, chosenLabels: masked + chosen, rejectedIDs: prompt + rejected,
                         rejectedLabels: masked + rejected, chosenPromptLength: prompt.count,
                         rejectedPromptLength: prompt.count)
    }
  }

  func configuration(outputDir: String = "/tmp/orpo-selftest-unused") -> TrainingConfiguration {
    var c = TrainingConfiguration()
    c.device = device
    c.perDeviceTrainBatchSize = 2
    c.maxSteps = 10
    c.learningRate = 1e-3
    c.lora = LoRAConfiguration(rank: 4, alpha: 8, dropout: 0)
    c.maxLength = 64
    c.loggingSteps = 1000
    c.seed = 0
    c.reportTo = [.none]
    c.outputDir = outputDir
    return c
  }

  func trainer(_ model: LlamaForCausalLM, _ config: TrainingConfiguration) throws -> Trainer {
    try Trainer(config: config, model: model, padTokenID: 0, trainPairs: pairs(), evalPairs: [],
                objectives: config.objectiveSchedule, sampler: nil)
  }

  /// ORPO loss and the LoRA gradients (as CPU fp32 tensors) of the first four pairs.
  func lossAndGradients(_ model: LlamaForCausalLM, _ config: TrainingConfiguration) throws -> (Double, [Tensor]) {
    let t = try trainer(model, config)
    let output = try t.forward(Array(pairs().prefix(4)), objective: t.objective(at: 0))
    try output.loss.backward()
    let grads = try t.trainable.map { try ($0.tensor.grad ?? Tensor.zeros($0.tensor.shape)).to(dtype: .float32, device: .cpu) }
    return (try output.loss.item(), grads)
  }

  /// max |a − b| / max(max |b|, 1e-12) over paired tensors (CPU fp32).
  static func relativeDifference(_ a: [Tensor], _ b: [Tensor]) throws -> Double {
    var diff = 0.0, scale = 0.0
    for (x, y) in zip(a, b) {
      diff = Swift.max(diff, try (x - y).abs().max().item())
      scale = Swift.max(scale, try y.abs().max().item())
    }
    return diff / Swift.max(scale, 1e-12)
  }

  static func format(_ x: Double) -> String { x == 0 ? "0" : String(format: "%.2e", x) }

  // MARK: - the checks

  /// Data parallel's collectives on this device, in a one-process group (gloo on the CPU, NCCL on a GPU): the LoRA
  /// gradients of one backward, in 8 KiB buckets (so several) sent from autograd hooks while backward runs, then
  /// averaged. Alone, the average is the gradient itself, exactly.
  func gradientAllReduce() throws -> (Bool, String) {
    let config = configuration()
    let t = try trainer(try model(on: device, lora: config.lora), config)
    let group = try ProcessGroup(.init(for: device), at: "127.0.0.1", port: ProcessGroup.unusedLoopbackPort(), rank: 0, worldSize: 1,
                                 hostsStore: true, timeout: 120)
    let parameters = t.trainable.map(\.tensor)
    let buckets = try GradientBuckets(parameters, group: group, firstBucketBytes: 8 << 10, bucketBytes: 8 << 10)
    try buckets.arm()
    let output = try t.forward(Array(pairs().prefix(4)), objective: t.objective(at: 0))
    try output.loss.backward()
    let local = try parameters.map { try $0.grad!.to(dtype: .float32, device: .cpu, copy: true) }  // hooks only read
    let sent = try buckets.finish()
    let averaged = try parameters.map { try $0.grad!.to(dtype: .float32, device: .cpu) }
    let d = try Self.relativeDifference(averaged, local)
    return (d == 0 && sent == buckets.bucketCount,
            "\(group.backend): \(sent) of \(buckets.bucketCount) buckets sent during backward, max relative |Δ| \(Self.format(d))")
  }

  func logits() throws -> (Bool, String) {
    let ids = try Tensor(pairs().prefix(2).flatMap { Array($0.chosenIDs.prefix(8)) }.map(Int64.init), shape: [2, 8])
    let cpu = try withNoGrad { try model(on: .cpu)(ids) }
    let here = try withNoGrad { try model(on: device)(ids.to(device: device)).to(device: .cpu) }
    let d = try Self.relativeDifference([here], [cpu])
    return (d <= fp32Tolerance, "max relative |Δ| \(Self.format(d)) (\(device) vs cpu, fp32; tolerance \(Self.format(fp32Tolerance)))")
  }

  func lossAndGradients() throws -> (Bool, String) {
    let lora = configuration().lora
    var cpuConfig = configuration()
    cpuConfig.device = .cpu
    let (cpuLoss, cpuGrads) = try lossAndGradients(try model(on: .cpu, lora: lora), cpuConfig)
    let (loss, grads) = try lossAndGradients(try model(on: device, lora: lora), configuration())
    let dl = Swift.abs(loss - cpuLoss) / Swift.max(Swift.abs(cpuLoss), 1e-12)
    let dg = try Self.relativeDifference(grads, cpuGrads)
    return (dl <= fp32Tolerance && dg <= fp32Tolerance && !grads.isEmpty,
            "loss \(String(format: "%.6f", loss)) vs cpu \(String(format: "%.6f", cpuLoss)) (relative \(Self.format(dl))); gradients of \(grads.count) LoRA tensors: max relative |Δ| \(Self.format(dg))")
  }

  func bf16Loss() throws -> (Bool, String) {
    let lora = configuration().lora
    let (full, _) = try lossAndGradients(try model(on: device, lora: lora), configuration())
    var config = configuration()
    config.torchDtype = .bfloat16
    let (low, _) = try lossAndGradients(try model(on: device, dtype: .bfloat16, lora: lora), config)
    let d = Swift.abs(low - full) / Swift.max(Swift.abs(full), 1e-12)
    return (d <= bf16Tolerance, "bf16 base loss \(String(format: "%.5f", low)) vs fp32 \(String(format: "%.5f", full)): relative \(Self.format(d)) (tolerance \(Self.format(bf16Tolerance)))")
  }

  /// Dropout on, training mode: the gradients with checkpointing equal those without (the recomputation replays the
  /// RNG of the device as well as the CPU's).
  func checkpointingWithDropout() throws -> (Bool, String) {
    var lora = configuration().lora
    lora.dropout = 0.1
    func grads(checkpointing: Bool, training: Bool = true) throws -> [Tensor] {
      var config = configuration()
      config.gradientCheckpointing = checkpointing
      config.lora = lora
      let m = try model(on: device, lora: lora)
      m.training = training
      Torch.manualSeed(11)
      return try lossAndGradients(m, config).1
    }
    let plain = try grads(checkpointing: false)
    let checkpointed = try grads(checkpointing: true)
    let d = try Self.relativeDifference(checkpointed, plain)
    let tolerance = device.isCUDA ? 1e-5 : 0
    // Dropout really acted: without it the gradients are others.
    let withoutDropout = try Self.relativeDifference(try grads(checkpointing: false, training: false), plain)
    return (d <= tolerance && withoutDropout > 1e-3,
            "lora_dropout 0.1: max relative |Δ| of the gradients \(Self.format(d)) (tolerance \(Self.format(tolerance))); dropout off changes them by \(Self.format(withoutDropout))")
  }

  /// A packed pair's attention (one block: a shared prompt, then the chosen and the rejected answer, each seeing the
  /// prompt and itself) at lengths whose keys end 64 past a multiple of 128 (192, 320: cuDNN's SDPA before 9.26 can
  /// give non-finite query gradients there on SM90) and at an odd one, forward and backward in the device's training
  /// dtype (bf16 on CUDA) through the model's path, against float32 on the CPU with the same inputs and the boolean
  /// mask in one call.
  func blockAttention() throws -> (Bool, String) {
    let dtype: DType = device.isCUDA ? .bfloat16 : .float32
    let tolerance = device.isCUDA ? bf16Tolerance : fp32Tolerance
    var worst = 0.0, finite = true, kernels: Set<String> = []
    for length in [61, 192, 320] {
      let prompt = length * 2 / 5, chosen = (length - prompt) / 2
      let tags = (0..<length).map { Int64($0 < prompt ? 0 : $0 < prompt + chosen ? 1 : 2) }
      let positions = (0..<length).map { Int64($0 < prompt + chosen ? $0 : $0 - chosen) }
      func block(on d: Device) throws -> BlockDiagonalMask {
        BlockDiagonalMask(blocks: [try PackedPairCollator.block(positions: Tensor(positions).to(d),
                                                                branches: Tensor(tags).to(d))])
      }
      let g = try Generator(seed: UInt64(length))
      // q, k, v [1, 4, L, 64] and the output's weights, rounded to `dtype` once so both sides see the same values.
      let inputs = try (0..<4).map { _ in try Tensor.randn([1, 4, length, 64], generator: g).to(dtype: dtype) }
      // The model's path (BlockDiagonalMask: its additive masks, one call per block) here; the reference one SDPA call
      // with the boolean mask.
      func run(on d: Device, _ t: DType, reference: Bool = false) throws -> [Tensor] {
        // Fresh leaves each run (`copy`), so that the two runs' gradients never meet.
        let (q, k, v) = (try inputs[0].to(dtype: t, device: d, copy: true).requiringGrad(),
                         try inputs[1].to(dtype: t, device: d, copy: true).requiringGrad(),
                         try inputs[2].to(dtype: t, device: d, copy: true).requiringGrad())
        let mask = try block(on: d)
        if d.isCUDA, let first = mask.blocks.first {
          kernels.insert(try AttentionKernel.selected(query: q, key: k, value: v, mask: first.mask).description)
        }
        let out = reference
          ? try Functional.scaledDotProductAttention(query: q, key: k, value: v, mask: mask.blocks[0].mask)
          : try mask.attention(query: q, key: k, value: v, scale: nil)
        try (out.to(dtype: .float32) * inputs[3].to(dtype: .float32, device: d)).sum().backward()
        return try [out, q.grad!, k.grad!, v.grad!].map { try $0.detached().to(dtype: .float32, device: .cpu, copy: true) }
      }
      let here = try run(on: device, dtype), reference = try run(on: .cpu, .float32, reference: true)
      for t in here where !(try t.to(dtype: .float64).sum().item()).isFinite { finite = false }
      for (a, b) in zip(here, reference) { worst = Swift.max(worst, try Self.relativeDifference([a], [b])) }
    }
    let kernel = kernels.isEmpty ? "" : "; kernel \(kernels.sorted().joined(separator: ", "))"
    return (finite && worst <= tolerance,
            "\(dtype.recipeText), blocks of 61, 192 and 320: \(finite ? "finite" : "NON-FINITE values"), max relative |Δ| of output and q/k/v gradients \(Self.format(worst)) vs float32 on the cpu (tolerance \(Self.format(tolerance)))\(kernel)")
  }

  /// What SDPA picks for the tiny model's causal attention (padded batch) and for the packed path's explicit mask.
  func attentionKernel() throws -> (Bool, String) {
    let dtype: DType = device.isCUDA ? .bfloat16 : .float32
    let q = try Tensor.randn([2, 4, 64, 64], generator: Generator(seed: 3)).to(dtype: dtype, device: device)
    let causal = try AttentionKernel.selected(query: q, key: q, value: q, isCausal: true)
    let mask = try Tensor.ones([64, 64], dtype: .bool, device: device).tril().view([1, 1, 64, 64])
    let masked = try AttentionKernel.selected(query: q, key: q, value: q, mask: mask)
    let usable = try AttentionKernel.usable(query: q, key: q, value: q, isCausal: true)
    let fused = !device.isCUDA || causal != .math
    return (fused, "\(dtype.recipeText) causal: \(causal); dense boolean mask (packed pairs): \(masked); usable for causal: \(usable.map(\.description).joined(separator: ", "))")
  }

  /// 10 steps straight equal 5 steps, a checkpoint, and 5 more steps resumed in a fresh trainer, bit for bit
  /// (dropout and gradient checkpointing on: the RNG states must travel in the checkpoint).
  func resumeBitIdentical() throws -> (Bool, String) {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-selftest-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    // On CUDA, index_add_ adds in whatever order its threads finish (the fused loss's backward, where the chosen and
    // rejected answers are predicted from the same last prompt position): its deterministic variant for this check.
    let wasDeterministic = Torch.deterministicAlgorithms
    if device.isCUDA { Torch.deterministicAlgorithms = true }
    defer { Torch.deterministicAlgorithms = wasDeterministic }
    func run(saveSteps: Int?, resume: URL?) throws -> [Tensor] {
      var config = configuration(outputDir: root.path)
      config.lora.dropout = 0.1
      config.gradientCheckpointing = true
      config.saveSteps = saveSteps
      Torch.manualSeed(UInt64(config.seed))
      let m = try model(on: device, lora: config.lora)
      let t = try trainer(m, config)
      _ = try t.train(resumingFrom: resume)
      return try t.trainable.map { try $0.tensor.detached().to(device: .cpu) }
    }
    let straight = try run(saveSteps: 5, resume: nil)
    let resumed = try run(saveSteps: nil, resume: root.appendingPathComponent("checkpoint-5"))
    var diff = 0.0
    for (a, b) in zip(straight, resumed) { diff = Swift.max(diff, try (a - b).abs().max().item()) }
    return (diff == 0, "10 steps vs 5 + resume + 5: max |Δ| of \(straight.count) trained tensors \(Self.format(diff))")
  }

  func matmulPeak() throws -> (Bool, String) {
    var parts: [String] = []
    for dtype in device.isCUDA ? [DType.float32, .bfloat16] : [.float32] {
      let gflops = try Self.matmulGFLOPs(size: matmulSize, dtype: dtype, device: device)
      parts.append("\(dtype.recipeText) \(String(format: "%.1f", gflops)) GFLOP/s")
    }
    return (true, "n=\(matmulSize): " + parts.joined(separator: ", "))
  }

  /// The peak GFLOP/s of an n×n · n×n matmul: its fastest of `repeats` runs after one warm-up (the fastest, not the
  /// median, so that a neighbour's burst on a shared machine lowers the peak no more than the run it is measured
  /// against: MFU is not overstated).
  public static func matmulGFLOPs(size: Int, dtype: DType, device: Device, repeats: Int = 10) throws -> Double {
    2 * pow(Double(size), 3) / (try matmulSeconds(size: size, dtype: dtype, device: device, repeats: repeats).best) / 1e9
  }

  /// The median and fastest seconds of an n×n · n×n matmul (seeded normal matrices) over `repeats` runs after one
  /// warm-up.
  public static func matmulSeconds(size: Int, dtype: DType, device: Device, repeats: Int) throws
    -> (median: Double, best: Double)
  {
    let g = try Generator(seed: 0)
    let a = try Tensor.randn([size, size], generator: g).to(dtype: dtype, device: device)
    let b = try Tensor.randn([size, size], generator: g).to(dtype: dtype, device: device)
    _ = try withNoGrad { try a.matmul(b) }
    var times: [Double] = []
    for _ in 0..<repeats {
      if device.isCUDA { try CUDA.synchronize() }
      let t = Date()
      _ = try withNoGrad { try a.matmul(b) }
      if device.isCUDA { try CUDA.synchronize() }
      times.append(Date().timeIntervalSince(t))
    }
    let sorted = times.sorted()
    return (sorted[sorted.count / 2], sorted[0])
  }
}

// GaLore8BitTests.swift — GaLore with 8-bit states (optim galore_adamw_8bit) against galore-torch 1.0's
// GaLoreAdamW8bit on bitsandbytes 0.50.2's CPU kernels (fixture from reference/make_galore8bit_fixtures.py), the
// recipe rules, the state's round trip, and a bit-identical resume of a full fine-tune across a projection refresh.
import Data
import Foundation
import Models
import Testing
import Tokenization
import Torch
@testable import Training

private struct GaLore8BitFixture: Decodable {
  struct Settings: Decodable {
    let rank: Int
    let update_proj_gap: Int
    let scale: Double
    let proj_type: String
  }
  struct Stock: Decodable {
    let max_unorm: Double
    let skip_zeros: Bool
    let small_target_only_decays: Bool
  }
  let shapes: [[Int]]
  let targets: [Int]
  let rates: [Double]
  let galore: Settings
  let betas: [Double]
  let eps: Double
  let weight_decay: Double
  let eight_bit: [Bool]
  let steps: [Int]
  let stock_class: Stock

  static let folder = Bundle.module.url(forResource: "Fixtures/galore8bit", withExtension: nil)!
  static func load() throws -> GaLore8BitFixture {
    try JSONDecoder().decode(GaLore8BitFixture.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
  }
  static func file() throws -> SafeTensorsFile {
    try SafeTensorsFile(url: folder.appendingPathComponent("galore_adamw_8bit.safetensors"))
  }
  var settings: GaLoreSettings {
    GaLoreSettings(rank: galore.rank, updateProjectionGap: galore.update_proj_gap, scale: galore.scale,
                   projectionType: GaLoreSettings.ProjectionType(rawValue: galore.proj_type) ?? .std)
  }
}

private func load(_ text: String) throws -> TrainingConfiguration {
  try TrainingConfiguration.load(recipeText: text, name: "recipe.yaml")
}

private func message(_ text: String) -> String {
  do { _ = try load(text); return "no error" } catch { return "\(error)" }
}

@Suite(.serialized) struct GaLore8BitTests {
  /// Four steps, projections refreshed before steps 1 and 3, on a right-projected [520, 12] target (moments [520, 8]:
  /// 8-bit codes) and a left-projected [12, 40] one (moments [8, 40]: float32), beside a plain 8-bit [64, 65] and a
  /// plain float32 [7]. The same ops in the same order as galore-torch over bitsandbytes' CPU kernels, on the same
  /// LAPACK and BLAS: every parameter after every step, every code, absmax, moment and projection equal the reference
  /// bit for bit on the machine that dumped the fixture (square roots correctly rounded on both sides:
  /// reference/ieee_sqrt.py). The non-targets (no SVD, no matmul) are asserted bit for bit; for the targets the
  /// bounds leave another CPU's LAPACK/BLAS rounding room: 1e-5 of the largest weight (an AMD EPYC Zen 4's MKL against
  /// the first fixture machine's: 1.8e-6 after four steps, measured 6 Dec 2026); a code may then sit one step over a
  /// rounding boundary, so at most 1 in 500 may differ, and the dequantized moments stay within 1e-2 of the block's
  /// absmax — one code step of the dynamic map.
  @Test func stepsMatchGaloreTorch() throws { try replay() }
  /// The same with the 8-bit updates taken 1,024 elements at a time (4,160 = 4 chunks and one of 64).
  @Test func chunkedStepsMatchGaloreTorch() throws { try replay(chunkElements: 1024) }

  func replay(chunkElements: Int? = nil) throws {
    let f = try GaLore8BitFixture.load()
    let file = try GaLore8BitFixture.file()
    #expect(f.stock_class.max_unorm == 100 && f.stock_class.skip_zeros && f.stock_class.small_target_only_decays)
    let params = try f.shapes.indices.map { try file.tensor("initial.\($0)", copy: true).requiringGrad() }
    #expect(f.settings == GaLoreSettings(rank: 8, updateProjectionGap: 2, scale: 0.25))
    let optimizer = try GaLoreAdamW8bit(parameters: params, targets: Set(f.targets), settings: f.settings, learningRate: f.rates[0])
    if let chunkElements { optimizer.chunkElements = chunkElements }
    #expect([optimizer.beta1, optimizer.beta2, optimizer.epsilon, optimizer.weightDecay] == f.betas + [f.eps, f.weight_decay])
    #expect(params.indices.map(optimizer.isEightBit) == f.eight_bit)
    for (step, rate) in f.rates.enumerated() {
      for (k, p) in params.enumerated() { try p.setGrad(file.tensor("grad.\(step).\(k)", copy: true)) }
      optimizer.learningRate = rate
      try optimizer.update()
      for (k, p) in params.enumerated() {
        let theirs = try file.tensor("param.\(step).\(k)")
        let difference = try (p - theirs).abs().max().item()
        let bound = f.targets.contains(k) ? 1e-5 * (try theirs.abs().max().item()) : 0
        #expect(difference <= bound, "step \(step + 1), parameter \(k): max |Δ| \(difference)")
      }
    }
    #expect(optimizer.steps == f.steps)
    let state = try optimizer.state()
    for k in params.indices {
      for name in f.eight_bit[k] ? ["state1", "absmax1", "state2", "absmax2"] : ["state1", "state2"] {
        let ours = try state.tensor("\(name).\(k)"), theirs = try file.tensor("\(name).\(k)")
        #expect(ours.dtype == theirs.dtype && ours.shape == theirs.shape, "\(name).\(k)")
        if ours.dtype == .uint8 {
          let differing = zip(try ours.bytes(), try theirs.bytes()).filter { $0 != $1 }.count
          let allowed = f.targets.contains(k) ? ours.elementCount / 500 : 0
          #expect(differing <= allowed, "\(name).\(k): \(differing) of \(ours.elementCount) codes differ")
        } else {
          let difference = try (ours - theirs).abs().max().item()
          let bound = f.targets.contains(k) ? 1e-5 * (try theirs.abs().max().item()) : 0
          #expect(difference <= bound, "\(name).\(k): max |Δ| \(difference)")
        }
      }
      if f.eight_bit[k] {
        // The moments the codes stand for, block by block.
        for (codes, absmax, signed) in [("state1", "absmax1", true), ("state2", "absmax2", false)] {
          let map = try Tensor(signed ? BlockQuantization.dynamicMap : BlockQuantization.unsignedDynamicMap)
          func moments(_ s: (String) throws -> Tensor) throws -> Tensor {
            try BlockQuantization.dequantizeBlockwise(codes: s("\(codes).\(k)"), absmax: s("\(absmax).\(k)"), code: map,
                                                      blockSize: BitsAndBytesMoments.blockSize)
          }
          let ours = try moments { try state.tensor($0) }, theirs = try moments { try file.tensor($0) }
          let difference = try (ours - theirs).abs().max().item()
          #expect(difference <= 1e-2 * (try file.tensor("\(absmax).\(k)").max().item()), "\(codes).\(k) dequantized: max |Δ| \(difference)")
        }
      }
    }
    for k in f.targets {
      let ours = try state.tensor("projection.\(k)"), theirs = try file.tensor("ortho.\(k)")
      #expect(try (ours - theirs).abs().max().item() <= 1e-5, "projection \(k)")
    }
    #expect(try state.tensor("projection.2").shape == [8, 12])  // m ≥ n: Vh's first rows, on the right
    #expect(try state.tensor("projection.3").shape == [12, 8])  // m < n: U's first columns, on the left
    #expect(try state.tensor("state1.2").shape == [520, 8] && state.tensor("state1.3").shape == [8, 40])
  }

  /// The recipe: galore_adamw_8bit takes GaLore's keys and runs with GaLoreAdamW8bit's own constants (ε 1e-8, weight
  /// decay 0.01), which transformers never overrides; embeddings keep 8-bit states (transformers' 32-bit override
  /// is for bitsandbytes' own classes); the dry-run's state estimate counts codes and projections.
  @Test func recipeBuildsGaloreAdamW8bit() throws {
    let c = try load("""
      finetuning_type: full
      optim: galore_adamw_8bit
      optim_target_modules: [lm_head]
      optim_args: "rank=8,update_proj_gap=2"
      """)
    #expect(c.optim == .galoreAdamw8bit && c.optim.isGaLore)
    #expect(message("finetuning_type: full\noptim: galore_adamw_8bit\n").hasPrefix("recipe.yaml:2: key \"optim\": galore_adamw_8bit needs optim_target_modules"))
    #expect(message("optim: galore_adamw_8bit\noptim_target_modules: all-linear\n").contains("key \"optim\": galore_adamw_8bit trains every weight"))
    #expect(message("finetuning_type: full\noptim: galore_adamw_8bit\noptim_target_modules: all-linear\nweight_decay: 0\n")
      .contains("key \"weight_decay\": galore_adamw_8bit runs with 0.01 (transformers passes GaLore only the learning rate)"))
    #expect(message("finetuning_type: full\noptim: galore_adamw_8bit\noptim_target_modules: all-linear\nadam_epsilon: 1e-6\n")
      .contains("key \"adam_epsilon\": galore_adamw_8bit runs with 1e-08"))
    #expect(message("finetuning_type: full\noptim: galore_adamw_8bit\noptim_target_modules: all-linear\nweight_decay: 0.01\n") == "no error")
    #expect(message("finetuning_type: full\ntorch_dtype: bfloat16\noptim: galore_adamw_8bit\noptim_target_modules: all-linear\n")
      .contains("key \"optim\": galore_adamw_8bit updates float32 weights here; full fine-tuning with torch_dtype bfloat16"))
    #expect(message("finetuning_type: full\ntorch_dtype: bfloat16\noptim: adamw_8bit\n").contains("adamw_8bit updates float32 weights here"))

    let embedding = try Tensor.zeros([900, 32]).requiringGrad(), head = try Tensor.zeros([900, 32]).requiringGrad()
    let norm = try Tensor.zeros([32]).requiringGrad()
    let trainable: [(key: String, tensor: Tensor)] = [("model.embed_tokens.weight", embedding), ("model.norm.weight", norm),
                                                      ("lm_head.weight", head)]
    let optimizer = try #require(try c.makeOptimizer(for: trainable, linearLayers: ["lm_head"]) as? GaLoreAdamW8bit)
    #expect(optimizer.targets == [2] && optimizer.learningRate == c.learningRate)
    #expect([optimizer.epsilon, optimizer.weightDecay] == [1e-8, 0.01])
    #expect(optimizer.isEightBit(0) && !optimizer.isEightBit(1) && optimizer.isEightBit(2))  // lm_head: [900, 8] moments
    // embedding 28,800 → 2 bytes each + 8 per block of 256; norm 8 × 32; lm_head moments [900, 8] 8-bit, P [8, 32] float32
    let blocks = { (n: Int) in (n + 255) / 256 }
    let expected = (2 * 28_800 + 8 * blocks(28_800)) + 8 * 32 + (2 * 7_200 + 8 * blocks(7_200)) + 4 * 8 * 32
    let estimate = try c.optimizerStateBytes([("model.embed_tokens.weight", [900, 32], nil), ("model.norm.weight", [32], nil),
                                              ("lm_head.weight", [900, 32], "lm_head")])
    #expect(estimate == expected)
    for (k, p) in [embedding, norm, head].enumerated() { try p.setGrad(try Tensor.full(p.shape, Double(k + 1))) }
    try optimizer.update()
    #expect(optimizer.stateBytes == expected)
  }

  /// The state survives a save and restore mid-interval: the restored optimizer's next steps (one reusing the saved
  /// projection, one refreshing it) equal the original's; another optimizer's state, or other GaLore settings, are
  /// refused by name.
  @Test func stateRoundTripsThroughRestore() throws {
    let f = try GaLore8BitFixture.load()
    let file = try GaLore8BitFixture.file()
    func fresh(_ settings: GaLoreSettings? = nil) throws -> ([Tensor], GaLoreAdamW8bit) {
      let params = try f.shapes.indices.map { try file.tensor("initial.\($0)", copy: true).requiringGrad() }
      return (params, try GaLoreAdamW8bit(parameters: params, targets: Set(f.targets), settings: settings ?? f.settings, learningRate: 1e-2))
    }
    func step(_ params: [Tensor], _ optimizer: GaLoreAdamW8bit, _ s: Int) throws {
      for (k, p) in params.enumerated() { try p.setGrad(file.tensor("grad.\(s).\(k)", copy: true)) }
      try optimizer.update()
    }
    let (a, first) = try fresh()
    try step(a, first, 0)
    let (b, second) = try fresh()
    for (x, y) in zip(b, a) { try withNoGrad { try x.copy_(y) } }
    let saved = try first.state()
    #expect(saved.metadata["optimizer"] == "galore_adamw_8bit" && saved.metadata["steps"] == "1,1,1,1")
    #expect(saved.tensors.map(\.name).contains("absmax2.2") && saved.tensors.map(\.name).contains("projection.3"))
    try second.restore(saved)
    for s in 1...3 { try step(a, first, s); try step(b, second, s) }
    for (x, y) in zip(a, b) { #expect(try x.equals(y)) }
    #expect(throws: TrainingError.self) { try second.restore(try AdamW(parameters: b, learningRate: 1).state()) }
    #expect(throws: TrainingError.self) {
      try GaLoreAdamW(parameters: b, targets: Set(f.targets), settings: f.settings, learningRate: 1).restore(saved)
    }
    #expect(throws: TrainingError.self) { try fresh(GaLoreSettings(rank: 4, updateProjectionGap: 2)).1.restore(saved) }
  }

  /// Full fine-tuning of the ORPO fixture's model with GaLore 8-bit on the attention and MLP projections and lm_head
  /// (rank 8, projections refreshed every 2 steps: lm_head's [900, 8] moments and the embedding are 8-bit codes, the
  /// rest float32): resumed from step 3 (mid-interval) it ends with the uninterrupted run's bytes.
  @Test func resumeIsBitIdentical() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-galore8-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: root) }
    func run(_ name: String, steps: Int, saveSteps: Int?, resume: URL? = nil) throws -> (Trainer, [UInt8]) {
      var config = fixtureConfiguration(paddingFree: true, outputDir: root.appendingPathComponent(name).path)
      config.finetuningType = .full
      config.optim = .galoreAdamw8bit
      config.optimTargetModules = .names(["attn", "mlp", "lm_head"])
      config.optimArgs = "rank=8,update_proj_gap=2,scale=0.25"
      config.maxSteps = steps
      config.saveSteps = saveSteps
      config.shuffle = true
      try config.validate()
      return try trainFixture(config, resumingFrom: resume)
    }
    let (full, uninterrupted) = try run("full", steps: 6, saveSteps: nil)
    let optimizer = try #require(full.optimizer as? GaLoreAdamW8bit)
    let keys = full.trainable.map(\.key)
    let projected = optimizer.targets.map { keys[$0] }.sorted()
    #expect(projected.count == 15 && projected.contains("lm_head.weight"))
    #expect(optimizer.isEightBit(try #require(keys.firstIndex(of: "lm_head.weight"))))
    #expect(optimizer.isEightBit(try #require(keys.firstIndex(of: "model.embed_tokens.weight"))))
    let (first, _) = try run("split", steps: 6, saveSteps: 3)
    let three = first.outputDirectory.appendingPathComponent("checkpoint-3")
    let (_, resumed) = try run("split", steps: 6, saveSteps: nil, resume: three)
    #expect(resumed == uninterrupted, "resuming from step 3 must give the uninterrupted run's weight bytes")
  }
}

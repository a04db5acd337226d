// BitsAndBytesAdamWTests.swift — bitsandbytes' AdamW (optim adamw_8bit, paged_adamw_8bit, paged_adamw_32bit) against
// bitsandbytes 0.50.2 on its CPU backend (fixtures from reference/make_adam8bit_fixtures.py), the `optim` key, and a
// bit-identical resume with 8-bit states.
import Data
import Foundation
import Models
import Testing
import Tokenization
import Torch
@testable import Training

private struct Adam8BitFixture: Decodable {
  struct Case: Decodable {
    let optim_bits: Int
    let eight_bit: [Bool]
    let step: Int
  }
  let shapes: [[Int]]
  let rates: [Double]
  let betas: [Double]
  let eps: Double
  let weight_decay: Double
  let unsigned_map_bits: [UInt32]
  let signed_map_bits: [UInt32]
  let cases: [String: Case]
  let paged_adamw_8bit_equals_adamw_8bit: Bool

  static let folder = Bundle.module.url(forResource: "Fixtures/adam8bit", withExtension: nil)!

  static func load() throws -> Adam8BitFixture {
    try JSONDecoder().decode(Adam8BitFixture.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
  }
}

/// Largest |ours − theirs| over the largest |theirs|.
private func relativeError(_ ours: Tensor, _ theirs: Tensor) throws -> Double {
  try (ours - theirs).abs().max().item() / Swift.max(try theirs.abs().max().item(), 1e-30)
}

@Suite(.serialized) struct BitsAndBytesAdamWTests {
  @Test func dynamicMapsAreBitsandbytes() throws {
    let f = try Adam8BitFixture.load()
    #expect(BlockQuantization.unsignedDynamicMap.map(\.bitPattern) == f.unsigned_map_bits)
    #expect(BlockQuantization.dynamicMap.map(\.bitPattern) == f.signed_map_bits)
  }

  /// Replays the fixture's gradients and learning rates; the parameters after every step and the final states
  /// (8-bit codes and absmax, or float32 moments) equal bitsandbytes'. `chunkElements`: how many elements an 8-bit
  /// update takes at a time (the default leaves the fixture's tensors whole).
  func replay(_ name: String, chunkElements: Int? = nil) throws {
    let f = try Adam8BitFixture.load()
    let c = try #require(f.cases[name])
    let file = try SafeTensorsFile(url: Adam8BitFixture.folder.appendingPathComponent(name + ".safetensors"))
    let params = try f.shapes.indices.map { try file.tensor("initial.\($0)", copy: true).requiringGrad() }
    let optimizer = try BitsAndBytesAdamW(parameters: params, learningRate: f.rates[0], beta1: f.betas[0], beta2: f.betas[1],
                                          epsilon: f.eps, weightDecay: f.weight_decay, stateBits: c.optim_bits)
    if let chunkElements { optimizer.chunkElements = chunkElements }
    #expect(params.indices.map(optimizer.isEightBit) == c.eight_bit)
    for (step, rate) in f.rates.enumerated() {
      for (k, p) in params.enumerated() { try p.setGrad(file.tensor("grad.\(step).\(k)", copy: true)) }
      optimizer.learningRate = rate
      try optimizer.update()
      for (k, p) in params.enumerated() {
        let error = try relativeError(p, file.tensor("param.\(step).\(k)"))
        #expect(error == 0, "\(name) step \(step + 1), parameter \(k): relative error \(error)")
      }
    }
    let state = try optimizer.state()
    #expect(state.metadata["step"] == String(c.step))
    for k in params.indices {
      for name in c.eight_bit[k] ? ["state1", "absmax1", "state2", "absmax2"] : ["state1", "state2"] {
        let theirs = try file.tensor("\(name).\(k)")
        let ours = try state.tensor("\(name).\(k)")
        #expect(ours.dtype == theirs.dtype && ours.shape == theirs.shape, "\(name).\(k)")
        if ours.dtype == .uint8 {
          let differing = zip(try ours.bytes(), try theirs.bytes()).filter { $0 != $1 }.count
          #expect(differing == 0, "\(name).\(k): \(differing) of \(ours.elementCount) codes differ")
        } else {
          #expect(try relativeError(ours, theirs) == 0, "\(name).\(k)")
        }
      }
    }
  }

  @Test func eightBitStatesMatchBitsandbytes() throws { try replay("adamw_8bit") }
  /// Large tensors' 8-bit updates go a chunk of whole blocks at a time (bounded temporaries); the bytes are the
  /// whole-tensor kernel's: 4,400 elements in chunks of 512 (the last one 304, a block and a partial 48).
  @Test func chunkedEightBitUpdatesAreBitsandbytes() throws { try replay("adamw_8bit", chunkElements: 512) }
  /// bitsandbytes gives paged_adamw_8bit the plain optimizer's bytes on the CPU (the fixture script checks it);
  /// `optim` builds the same optimizer for both.
  @Test func pagedEightBitIsEightBitOnTheCPU() throws {
    #expect(try Adam8BitFixture.load().paged_adamw_8bit_equals_adamw_8bit)
    var config = TrainingConfiguration()
    config.optim = .pagedAdamw8bit
    let p = try Tensor.zeros([64, 128]).requiringGrad()
    let optimizer = try #require(try config.makeOptimizer(for: [("w", p)]) as? BitsAndBytesAdamW)
    #expect(optimizer.stateBits == 8 && optimizer.isEightBit(0))
    config.optim = .pagedAdamw32bit
    #expect(try #require(try config.makeOptimizer(for: [("w", p)]) as? BitsAndBytesAdamW).stateBits == 32)
    config.optim = .adamwTorch
    #expect(try config.makeOptimizer(for: [("w", p)]) is AdamW)
  }
  @Test func thirtyTwoBitStatesMatchBitsandbytes() throws { try replay("paged_adamw_32bit") }

  /// 8-bit states take 2 bytes a weight plus 8 per block of 256, against AdamW's 8.
  @Test func eightBitStatesAreAQuarterOfAdamW() throws {
    let p = try Tensor.zeros([64, 128])
    let eight = try BitsAndBytesAdamW(parameters: [p], learningRate: 1e-3, stateBits: 8)
    #expect(eight.stateBytes == 2 * 8192 + 8 * 32)
    let small = try BitsAndBytesAdamW(parameters: [try Tensor.zeros([63, 64])], learningRate: 1e-3)  // 4032 < 4096
    #expect(small.stateBytes == 8 * 4032 && !small.isEightBit(0))
    let embedding = try BitsAndBytesAdamW(parameters: [p], learningRate: 1e-3, fullPrecision: [0])
    #expect(!embedding.isEightBit(0))
  }

  /// The state survives a save and restore: the restored optimizer's next step equals the original's.
  @Test func stateRoundTripsThroughRestore() throws {
    let f = try Adam8BitFixture.load()
    let file = try SafeTensorsFile(url: Adam8BitFixture.folder.appendingPathComponent("adamw_8bit.safetensors"))
    func fresh() throws -> ([Tensor], BitsAndBytesAdamW) {
      let params = try f.shapes.indices.map { try file.tensor("initial.\($0)", copy: true).requiringGrad() }
      return (params, try BitsAndBytesAdamW(parameters: params, learningRate: 1e-2))
    }
    func step(_ params: [Tensor], _ optimizer: BitsAndBytesAdamW, _ s: Int) throws {
      for (k, p) in params.enumerated() { try p.setGrad(file.tensor("grad.\(s).\(k)", copy: true)) }
      try optimizer.update()
    }
    let (a, first) = try fresh()
    try step(a, first, 0); try step(a, first, 1)
    let (b, second) = try fresh()
    for (x, y) in zip(b, a) { try withNoGrad { try x.copy_(y) } }
    try second.restore(try first.state())
    try step(a, first, 2); try step(b, second, 2)
    for (x, y) in zip(a, b) { #expect(try x.equals(y)) }
    #expect(throws: TrainingError.self) { try second.restore(try AdamW(parameters: b, learningRate: 1).state()) }
    #expect(throws: TrainingError.self) {
      try AdamW(parameters: b, learningRate: 1).restore(try first.state())
    }
  }

  @Test func optimKeyNamesTransformersOptimizers() throws {
    let text = "optim: adamw_8bit\n"
    let c = try TrainingConfiguration.load(recipeText: text, name: "recipe.yaml")
    #expect(c.optim == .adamw8bit)
    // transformers' default with torch >= 2.8 (TRL's too): torch.optim.AdamW(fused=True).
    #expect(TrainingConfiguration().optim == .adamwTorchFused)
    #expect(try TrainingConfiguration.load(recipeText: "optim: adamw_torch\n", name: "recipe.yaml").optim == .adamwTorch)
    #expect(try TrainingConfiguration.load(recipeText: "optim: adamw_torch_fused\n", name: "recipe.yaml").optim
              == .adamwTorchFused)
    do {
      _ = try TrainingConfiguration.load(recipeText: "optim: adam8\n", name: "recipe.yaml")
      Issue.record("an unknown optimizer must be refused")
    } catch {
      #expect("\(error)".hasPrefix("recipe.yaml:1: key \"optim\": expected one of adamw_torch_fused, adamw_torch, adamw_8bit, paged_adamw_8bit, paged_adamw_32bit"), "\(error)")
    }
  }

  /// Full fine-tuning of the ORPO fixture's model under adamw_8bit (lm_head's 28,800 weights get 8-bit states, the
  /// embedding 32-bit ones): a run resumed from step 3 ends with the same weight bytes as an uninterrupted one.
  @Test func resumeWithEightBitStatesIsBitIdentical() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-resume8-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: root) }
    func run(_ name: String, steps: Int, saveSteps: Int?, resume: URL? = nil) throws -> (Trainer, [UInt8]) {
      var config = fixtureConfiguration(paddingFree: true, outputDir: root.appendingPathComponent(name).path)
      config.finetuningType = .full
      config.optim = .adamw8bit
      config.maxSteps = steps
      config.saveSteps = saveSteps
      config.shuffle = true
      return try trainFixture(config, resumingFrom: resume)
    }
    let (full, uninterrupted) = try run("full", steps: 6, saveSteps: nil)
    let optimizer = try #require(full.optimizer as? BitsAndBytesAdamW)
    let keys = full.trainable.map(\.key)
    #expect(optimizer.isEightBit(try #require(keys.firstIndex(of: "lm_head.weight"))))
    #expect(!optimizer.isEightBit(try #require(keys.firstIndex(of: "model.embed_tokens.weight"))))
    let (first, _) = try run("split", steps: 6, saveSteps: 3)
    let three = first.outputDirectory.appendingPathComponent("checkpoint-3")
    let (_, resumed) = try run("split", steps: 6, saveSteps: nil, resume: three)
    #expect(resumed == uninterrupted, "resuming from step 3 must give the uninterrupted run's weight bytes")
  }
}

// GaLoreTests.swift — GaLore (optim galore_adamw) against galore-torch 1.0's GaLoreAdamW as transformers builds it
// (fixture from reference/make_galore_fixtures.py), the optim_target_modules / optim_args keys, and a bit-identical
// resume of a full fine-tune across a projection refresh.
import Data
import Foundation
import Models
import Testing
import Tokenization
import Torch
@testable import Training

private struct GaLoreFixture: Decodable {
  struct Settings: Decodable {
    let rank: Int
    let update_proj_gap: Int
    let scale: Double
    let proj_type: String
  }
  let shapes: [[Int]]
  let targets: [Int]
  let rates: [Double]
  let galore: Settings
  let betas: [Double]
  let eps: Double
  let weight_decay: Double
  let step: Int

  static let folder = Bundle.module.url(forResource: "Fixtures/galore", withExtension: nil)!

  static func load() throws -> GaLoreFixture {
    try JSONDecoder().decode(GaLoreFixture.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
  }
}

/// Largest |ours − theirs| over the largest |theirs|.
private func relativeError(_ ours: Tensor, _ theirs: Tensor) throws -> Double {
  try (ours - theirs).abs().max().item() / Swift.max(try theirs.abs().max().item(), 1e-30)
}

private func load(_ text: String) throws -> TrainingConfiguration {
  try TrainingConfiguration.load(recipeText: text, name: "recipe.yaml")
}

private func message(_ text: String) -> String {
  do { _ = try load(text); return "no error" } catch { return "\(error)" }
}

@Suite(.serialized) struct GaLoreTests {
  /// Five steps with a projection refreshed every two (SVDs before steps 1, 3 and 5) on a right-projected [24, 16]
  /// and a left-projected [12, 40] target, beside two plain parameters: every parameter after every step, the moments
  /// and the projection matrices equal galore-torch's within float32 rounding (on this project's machines, bit for bit:
  /// the tolerances leave room for another CPU's BLAS).
  @Test func stepsMatchGaloreTorch() throws {
    let f = try GaLoreFixture.load()
    let file = try SafeTensorsFile(url: GaLoreFixture.folder.appendingPathComponent("galore_adamw.safetensors"))
    let params = try f.shapes.indices.map { try file.tensor("initial.\($0)", copy: true).requiringGrad() }
    let settings = GaLoreSettings(rank: f.galore.rank, updateProjectionGap: f.galore.update_proj_gap, scale: f.galore.scale,
                                  projectionType: try #require(GaLoreSettings.ProjectionType(rawValue: f.galore.proj_type)))
    #expect(settings == GaLoreSettings(rank: 4, updateProjectionGap: 2, scale: 0.25))
    let optimizer = try GaLoreAdamW(parameters: params, targets: Set(f.targets), settings: settings, learningRate: f.rates[0])
    #expect([optimizer.beta1, optimizer.beta2, optimizer.epsilon, optimizer.weightDecay] == f.betas + [f.eps, f.weight_decay])
    var worst = 0.0
    for (step, rate) in f.rates.enumerated() {
      for (k, p) in params.enumerated() { try p.setGrad(file.tensor("grad.\(step).\(k)", copy: true)) }
      optimizer.learningRate = rate
      try optimizer.update()
      for (k, p) in params.enumerated() {
        let error = try relativeError(p, file.tensor("param.\(step).\(k)"))
        worst = Swift.max(worst, error)
        #expect(error < 1e-6, "step \(step + 1), parameter \(k): relative error \(error)")
      }
    }
    #expect(optimizer.steps == Array(repeating: f.step, count: params.count))
    let state = try optimizer.state()
    // Singular vectors are defined up to sign, and so are the projected first moments: compare magnitudes. (The
    // parameters above matched, so the signs agreed: LAPACK's gesdd in libtorch 2.11 and torch 2.13 picks the same.)
    for k in params.indices {
      for name in ["exp_avg", "exp_avg_sq"] {
        let error = try relativeError(try state.tensor("\(name).\(k)").abs(), try file.tensor("\(name).\(k)").abs())
        #expect(error < 1e-5, "\(name).\(k): relative error \(error)")
      }
    }
    for k in f.targets {
      let error = try relativeError(try state.tensor("projection.\(k)").abs(), try file.tensor("ortho.\(k)").abs())
      #expect(error < 1e-5, "projection \(k): relative error \(error)")
    }
    #expect(try state.tensor("projection.2").shape == [4, 16])  // m ≥ n: Vh's first rows, on the right
    #expect(try state.tensor("projection.3").shape == [12, 4])  // m < n: U's first columns, on the left
    #expect(try state.tensor("exp_avg.2").shape == [24, 4] && state.tensor("exp_avg.3").shape == [4, 40])
  }

  @Test func optimArgsParseAsTransformersDoes() throws {
    let c = try load("""
      finetuning_type: full
      optim: galore_adamw
      optim_target_modules: [attn, mlp]
      optim_args: "rank=64, update_proj_gap=100,scale=0.5,proj_type=reverse_std"
      """)
    #expect(try c.galoreSettings() == GaLoreSettings(rank: 64, updateProjectionGap: 100, scale: 0.5, projectionType: .reverseStd))
    #expect(c.optimTargetModules == .names(["attn", "mlp"]))
    #expect(try load("finetuning_type: full\noptim: galore_adamw\noptim_target_modules: all-linear\n").galoreSettings() == GaLoreSettings())
    #expect(message("finetuning_type: full\noptim: galore_adamw\n").hasPrefix("recipe.yaml:2: key \"optim\": galore_adamw needs optim_target_modules"))
    #expect(message("optim: galore_adamw\noptim_target_modules: all-linear\n").contains("key \"optim\": galore_adamw trains every weight"))
    #expect(message("finetuning_type: full\noptim: galore_adamw\noptim_target_modules: all-linear\noptim_args: rank=0\n")
      .hasSuffix("key \"optim_args\": rank=0: expected a whole number of at least 1"))
    #expect(message("finetuning_type: full\noptim: galore_adamw\noptim_target_modules: all-linear\noptim_args: rank\n")
      .contains("\"rank\" is not key=value"))
    #expect(message("finetuning_type: full\noptim: galore_adamw\noptim_target_modules: all-linear\noptim_args: lr=1\n")
      .contains("lr is not a GaLore argument (GaLore takes rank, update_proj_gap, scale, proj_type)"))
    #expect(message("finetuning_type: full\noptim: galore_adamw\noptim_target_modules: all-linear\nweight_decay: 0.01\n")
      .contains("key \"weight_decay\": galore_adamw runs with 0 (transformers passes GaLore only the learning rate)"))
    #expect(message("optim_args: rank=8\n") == "recipe.yaml:1: key \"optim_args\": applies to the GaLore optimizers (optim is adamw_torch_fused)")
    #expect(message("optim: adamw_8bit\noptim_target_modules: q_proj\n").contains("key \"optim_target_modules\": applies to the GaLore optimizers"))
  }

  /// transformers' check_target_module_exists: one string is a whole-path regular expression; list entries match
  /// equal paths, substrings, or whole-path expressions.
  @Test func targetsMatchLikeTransformers() throws {
    let q = "model.layers.0.self_attn.q_proj", down = "model.layers.1.mlp.down_proj"
    #expect(try OptimizerTargets.pattern(#".*\.(q_proj|v_proj)"#).matches(path: q))
    #expect(try !OptimizerTargets.pattern("q_proj").matches(path: q))  // a lone string must match the whole path
    #expect(try OptimizerTargets.names(["attn"]).matches(path: q))
    #expect(try !OptimizerTargets.names(["attn"]).matches(path: down))
    #expect(try OptimizerTargets.names([#"model\.layers\.1\..*"#]).matches(path: down))
    #expect(try OptimizerTargets.allLinear.matches(path: "lm_head"))
  }

  /// Full fine-tuning of the ORPO fixture's model with GaLore on the attention and MLP projections (rank 4,
  /// projections refreshed every 2 steps): resumed from step 3 (mid-interval) it ends with the uninterrupted run's bytes.
  @Test func resumeIsBitIdentical() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-galore-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: root) }
    func run(_ name: String, steps: Int, saveSteps: Int?, resume: URL? = nil) throws -> (Trainer, [UInt8]) {
      var config = fixtureConfiguration(paddingFree: true, outputDir: root.appendingPathComponent(name).path)
      config.finetuningType = .full
      config.optim = .galoreAdamw
      config.optimTargetModules = .names(["attn", "mlp"])
      config.optimArgs = "rank=4,update_proj_gap=2,scale=0.25"
      config.weightDecay = 0
      config.maxSteps = steps
      config.saveSteps = saveSteps
      config.shuffle = true
      try config.validate()
      return try trainFixture(config, resumingFrom: resume)
    }
    let (full, uninterrupted) = try run("full", steps: 6, saveSteps: nil)
    let optimizer = try #require(full.optimizer as? GaLoreAdamW)
    let projected = optimizer.targets.map { full.trainable[$0].key }.sorted()
    #expect(projected.count == 14 && projected.allSatisfy { $0.hasSuffix("_proj.weight") })
    let (first, _) = try run("split", steps: 6, saveSteps: 3)
    let three = first.outputDirectory.appendingPathComponent("checkpoint-3")
    let (_, resumed) = try run("split", steps: 6, saveSteps: nil, resume: three)
    #expect(resumed == uninterrupted, "resuming from step 3 must give the uninterrupted run's weight bytes")
  }
}

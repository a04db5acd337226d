// ORPOMetricsTests.swift — the ORPO-aware numbers every train log carries beyond TRL's: odds_ratio_share, the probe
// pairs' log-prob trend and rejected_gained, worked by hand and checked on a short run of the tiny fixture model.
import Data
import Foundation
import Testing
import Torch
@testable import Training

@Suite(.serialized) struct ORPOMetricsTests {
  /// λ = 0.1, mean log σ(log odds) = −0.5, loss 2.0: the odds-ratio term is 0.1 · 0.5 = 0.05, a share of 0.025.
  @Test func oddsRatioShareIsTheTermOverTheLoss() {
    let derived = ORPOLoss(beta: 0.1).derivedMetrics(window: ["loss": 2.0, "log_odds_ratio": -0.5])
    #expect(derived.map(\.name) == ["odds_ratio_share"])
    #expect(abs(derived[0].value - 0.025) < 1e-15)
    #expect(ORPOLoss(beta: 0.1).derivedMetrics(window: ["loss": 2.0]).isEmpty, "nothing without log_odds_ratio")
    #expect(SFTLoss().derivedMetrics(window: ["loss": 2.0, "log_odds_ratio": -0.5]).isEmpty, "ORPO only")
  }

  /// Chosen −1.0 → −0.8 and −2.0 → −2.0 (mean +0.1); rejected −1.5 → −1.4 and −3.0 → −3.5 (mean −0.2); one of the two
  /// rejected answers gained probability.
  @Test func probeTrendByHand() {
    let values = ProbeTrend.values(chosen: [-0.8, -2.0], rejected: [-1.4, -3.5], lastChosen: [-1.0, -2.0],
                                   lastRejected: [-1.5, -3.0])
    #expect(values.map(\.0) == ["logps_trend/chosen", "logps_trend/rejected", "rejected_gained"])
    #expect(abs(values[0].1 - 0.1) < 1e-12)
    #expect(abs(values[1].1 - -0.2) < 1e-12)
    #expect(values[2].1 == 0.5)
  }

  func run(probePairs: Int, steps: Int = 4) throws -> (logs: [TrainerLog], adapter: [UInt8], trainer: Trainer) {
    var config = fixtureConfiguration(paddingFree: true)
    config.maxSteps = steps
    config.probePairs = probePairs
    config.shuffle = true
    config.loraDropoutForTest()
    let trainer = try fixtureTrainer(config)
    var logs: [TrainerLog] = []
    trainer.onLog = { logs.append($0) }
    Torch.manualSeed(5)
    _ = try trainer.train()
    return (logs, try trainer.model.loraParameters.flatMap { try $0.tensor.bytes() }, trainer)
  }

  @Test func everyTrainLogCarriesTheShareAndTheProbeTrend() throws {
    let (logs, _, trainer) = try run(probePairs: 4)
    #expect(trainer.probePairs.count == 4)
    let train = logs.filter { !$0.isEvaluation }
    #expect(train.count == 4)
    for log in train {
      let v = Dictionary(log.values, uniquingKeysWith: { a, _ in a })
      let share = try #require(v["odds_ratio_share"])
      #expect(abs(share - v["beta"]! * -v["log_odds_ratio"]! / v["loss"]!) < 1e-12)
      #expect(share > 0 && share < 1)
      // loss = nll + λ·(−mean log σ): the share is what the NLL leaves.
      #expect(abs(share - (1 - v["nll_loss"]! / v["loss"]!)) < 1e-4, "step \(log.step)")
      let gained = try #require(v["rejected_gained"])
      #expect([0, 0.25, 0.5, 0.75, 1].contains(gained))
      #expect(v["logps_trend/chosen"]!.isFinite && v["logps_trend/rejected"]!.isFinite)
      // The new numbers come after TRL's and the hyperparameters, before epoch.
      let names = log.values.map(\.0)
      #expect(names.firstIndex(of: "odds_ratio_share")! > names.firstIndex(of: "beta")!)
      #expect(names.last == "tokens_per_second" && names[names.count - 2] == "epoch")
    }
    #expect(trainer.state.probeChosen?.count == 4 && trainer.state.probeRejected?.count == 4)
  }

  /// The probe runs without a graph and with dropout off: training with it ends on the same adapter bytes as without.
  @Test func theProbeLeavesTrainingUntouched() throws {
    let with = try run(probePairs: 4, steps: 3)
    let without = try run(probePairs: 0, steps: 3)
    #expect(with.adapter == without.adapter)
    let names = Set(without.logs.flatMap { $0.values.map(\.0) })
    #expect(!names.contains("rejected_gained") && names.contains("odds_ratio_share"))
  }
}

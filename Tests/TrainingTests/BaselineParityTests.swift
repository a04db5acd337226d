// BaselineParityTests.swift — SFT, DPO (sigmoid, hinge, IPO, robust; precomputed reference), CPO/SimPO and KTO
// against TRL 1.16 on the ORPO fixture's tiny Llama (fixtures from reference/make_baseline_fixtures.py): tokenized
// rows, one batch's loss, every metric and the LoRA gradients, and short DPO and SFT runs through the Trainer.
import Data
import Foundation
import Models
import NN
import Testing
import Tokenization
import Torch
@testable import Training

let baselineFixture: URL = Bundle.module.url(forResource: "Fixtures/baselines", withExtension: nil)!

/// expected.json as nested dictionaries.
func baselineExpectation() throws -> [String: Any] {
  let data = try Data(contentsOf: baselineFixture.appendingPathComponent("expected.json"))
  return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

extension Dictionary where Key == String, Value == Any {
  func object(_ key: String) throws -> [String: Any] { try #require(self[key] as? [String: Any], "\(key)") }
  func list(_ key: String) throws -> [[String: Any]] { try #require(self[key] as? [[String: Any]], "\(key)") }
  func ints(_ key: String) throws -> [Int] { try #require(self[key] as? [Int], "\(key)") }
  func number(_ key: String) throws -> Double { try #require((self[key] as? NSNumber)?.doubleValue, "\(key)") }
}

/// The fixture model (adapter_init attached), its tokenizer and the first 16 data rows, as the script used them.
func baselineSetup() throws -> (LlamaForCausalLM, Tokenizer, [PreferenceRecord]) {
  let (model, tokenizer, data) = try fixtureSetup()
  return (model, tokenizer, Array(data.prefix(16)))
}

/// A pair (or unpaired row) from TRL's tokenized prompt and answers, cut to max_length like TRL's collators.
func pair(prompt: [Int], chosen: [Int], rejected: [Int], maxLength: Int = 64, desirable: Bool? = nil) -> EncodedPair {
  func sequence(_ answer: [Int]) -> ([Int], [Int]) {
    let ids = Array((prompt + answer).prefix(maxLength))
    return (ids, ids.indices.map { $0 < prompt.count ? -100 : ids[$0] })
  }
  let c = sequence(chosen), r = sequence(rejected)
  return EncodedPair(chosenIDs: c.0, chosenLabels: c.1, rejectedIDs: r.0, rejectedLabels: r.1,
                     chosenPromptLength: prompt.count, rejectedPromptLength: prompt.count, desirable: desirable)
}

/// The case's loss and every TRL metric it logged; the LoRA gradients when the fixture has them under `gradients`.
/// `sumRounding`: in the packed layout the completion sums add the same float32 terms in another order, so β × a
/// difference of two sums of magnitude S (rewards/*, KTO's kl) carries rounding of about β·S·2⁻²³ per term; those
/// metrics then get that much absolute slack (the padded layout reproduces TRL's order and gets none).
func expectMatches(_ output: ObjectiveOutput, _ expected: [String: Any], model: LlamaForCausalLM, gradients: String?,
                   sumRounding: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws
{
  let values = try output.values()
  let wantLoss = try expected.number("loss")
  #expect(close(values.loss, wantLoss), "loss: ours \(values.loss), TRL \(wantLoss)", sourceLocation: sourceLocation)
  let metrics = try expected.object("metrics")
  #expect(Set(values.metrics.map(\.name)) == Set(metrics.keys), "metric names", sourceLocation: sourceLocation)
  let largestSum = try ["logps/chosen", "logps/rejected"].compactMap { metrics[$0] == nil ? nil : Swift.abs(try metrics.number($0)) }.max() ?? 0
  let beta = (expected["beta"] as? Double) ?? 0.1
  for (name, value) in values.metrics {
    let want = try metrics.number(name)
    let slack = sumRounding && (name.hasPrefix("rewards/") || name == "kl") ? 16 * beta * largestSum * 0x1p-23 : 0
    #expect(close(value, want, atol: 1e-7 + slack), "\(name): ours \(value), TRL \(want)", sourceLocation: sourceLocation)
  }
  guard let gradients else { return }
  try output.loss.backward()
  let file = try SafeTensorsFile(url: baselineFixture.appendingPathComponent("grads.safetensors"))
  let ours = model.loraParameters
  #expect(ours.count == file.names.filter { $0.hasPrefix(gradients + "/") }.count, sourceLocation: sourceLocation)
  for (key, tensor) in ours {
    let want = try file.tensor("\(gradients)/\(key)")
    let got = try #require(tensor.grad, "\(key) has a gradient")
    let relative = try (got - want).norm().item() / Swift.max(try want.norm().item(), 1e-12)
    #expect(relative < 1e-5, "\(gradients) \(key): relative gradient error \(relative)", sourceLocation: sourceLocation)
  }
  for (_, tensor) in ours { try tensor.setGrad(nil) }
}

/// A trainer over `pairs` for `config` on the fixture model.
func baselineTrainer(_ config: TrainingConfiguration, pairs: [EncodedPair], model: LlamaForCausalLM,
                     tokenizer: Tokenizer) throws -> Trainer
{
  try Trainer(config: config, model: model, padTokenID: tokenizer.padTokenID!, trainPairs: pairs,
              evalPairs: Array(pairs.prefix(4)), objectives: config.objectiveSchedule,
              sampler: config.method == .kto ? SequentialSampler() : nil)
}

@Suite(.serialized) struct BaselineParityTests {
  // MARK: DPO

  @Test func dpoTokenizationMatchesTRL() throws {
    let (_, tokenizer, data) = try baselineSetup()
    let rows = try baselineExpectation().object("dpo").list("rows")
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: 64, tokenization: .dpo)
    for (record, row) in zip(data, rows) {
      let got = try #require(try encoder.encode(record))
      #expect(got == pair(prompt: try row.ints("prompt_ids"), chosen: try row.ints("chosen_ids"),
                          rejected: try row.ints("rejected_ids")))
    }
  }

  @Test(arguments: ["sigmoid", "hinge", "ipo", "robust"], [false, true])
  func dpoBatchMatchesTRL(lossType: String, paddingFree: Bool) throws {
    let (model, tokenizer, data) = try baselineSetup()
    let dpo = try baselineExpectation().object("dpo")
    let expected = try dpo.object("cases").object(lossType)
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: 64, tokenization: .dpo)
    var config = fixtureConfiguration(paddingFree: paddingFree)
    config.method = .dpo
    config.lossType = PreferenceLossType(rawValue: lossType)!
    config.labelSmoothing = (expected["label_smoothing"] as? Double) ?? 0
    let pairs = try data.map { try #require(try encoder.encode($0)) }
    let trainer = try baselineTrainer(config, pairs: pairs, model: model, tokenizer: tokenizer)
    model.training = true
    let output = try trainer.forward(try expected.ints("rows").map { pairs[$0] }, objective: trainer.objective(at: 0))
    try expectMatches(output, expected, model: model,
                      gradients: lossType == "sigmoid" || lossType == "ipo" ? "dpo_\(lossType)" : nil, sumRounding: paddingFree)
  }

  @Test func dpoPrecomputedReferenceMatchesTRL() throws {
    let (model, tokenizer, data) = try baselineSetup()
    let expected = try baselineExpectation().object("dpo").object("precomputed_ref")
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: 64, tokenization: .dpo)
    var config = fixtureConfiguration(paddingFree: true)
    config.method = .dpo
    config.precomputeRefLogProbs = true
    let trainer = try baselineTrainer(config, pairs: try data.map { try #require(try encoder.encode($0)) }, model: model,
                                      tokenizer: tokenizer)
    try trainer.precomputeReference()
    let reference = try #require(trainer.precomputedReference)
    let wantChosen = try #require(expected["ref_chosen_logps"] as? [Double])
    let wantRejected = try #require(expected["ref_rejected_logps"] as? [Double])
    for i in wantChosen.indices {
      #expect(close(Double(reference.chosen[i]), wantChosen[i]) && close(Double(reference.rejected[i]), wantRejected[i]),
              "pair \(i): ours \(reference.chosen[i]), \(reference.rejected[i]); TRL \(wantChosen[i]), \(wantRejected[i])")
    }
    let rows = try expected.ints("rows")
    let output = try trainer.forward(rows.map { trainer.trainPairs[$0] }, objective: trainer.objective(at: 0),
                                     reference: try trainer.precomputedReference(of: rows))
    try expectMatches(output, expected, model: model, gradients: nil, sumRounding: true)
  }

  /// Hand-worked: sums log π(y_c) = −10, −12; log π(y_r) = −14, −9; reference −11, −12 / −13, −10; β = 0.5.
  /// Log-ratios chosen 1, 0; rejected −1, 1 → δ = 2, −1.
  ///   sigmoid: mean(−log σ(1), −log σ(−0.5)) = (0.313262 + 0.974077) / 2 = 0.643670
  ///   hinge:   mean(max(0, 1 − 1), max(0, 1 + 0.5)) = 0.75
  ///   ipo (2 completion tokens in pair 0's answers, 4 in pair 1's): δ̄ = 1/2 − (−1/2) = 1 and 0/4 − 1/4 = −0.25;
  ///            target 1/(2β) = 1: mean((1 − 1)², (−0.25 − 1)²) = (0 + 1.5625) / 2 = 0.78125
  @Test func dpoLossesWorkedByHand() throws {
    func scores(_ c: [Float], _ r: [Float]) throws -> PairScores {
      var s = try PairScores(reference: c, rejected: r, device: .cpu)
      s.chosenTokenCounts = try Tensor([Float(2), 4])
      s.rejectedTokenCounts = try Tensor([Float(2), 4])
      s.statistics = CompletionStatistics(chosenEntropySums: try Tensor([Float(1), 1]), rejectedEntropySums: try Tensor([Float(1), 1]),
                                          chosenMeanLogitSums: try Tensor([Float(0), 0]), rejectedMeanLogitSums: try Tensor([Float(0), 0]),
                                          chosenTop1Counts: try Tensor([Float(1), 0]), rejectedTop1Counts: try Tensor([Float(0), 0]))
      return s
    }
    let policy = try scores([-10, -12], [-14, -9]), reference = try scores([-11, -12], [-13, -10])
    for (type, want) in [(DPOLossType.sigmoid, 0.643670), (.hinge, 0.75), (.ipo, 0.78125)] {
      let loss = try DPOLoss(beta: 0.5, lossType: type).loss(policy: policy, reference: reference).values()
      #expect(Swift.abs(loss.loss - want) < 1e-5, "\(type): \(loss.loss)")
      let m = Dictionary(loss.metrics, uniquingKeysWith: { a, _ in a })
      #expect(Swift.abs(m["rewards/margins"]! - 0.25) < 1e-6 && m["rewards/accuracies"] == 0.5)  // β·(2, −1) → 0.25
      #expect(Swift.abs(m["mean_token_accuracy"]! - 1.0 / 6) < 1e-7)  // 1 of 6 chosen completion tokens
    }
  }

  /// Six optimizer steps of 2 pairs × 2 accumulation in file order, against TRL's log history.
  @Test func dpoTrainingFollowsTRL() throws {
    let (model, tokenizer, data) = try baselineSetup()
    let history = try baselineExpectation().object("dpo").object("train").list("history")
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: 64, tokenization: .dpo)
    var config = fixtureConfiguration(paddingFree: true)
    config.method = .dpo
    config.maxSteps = 6
    let trainer = try baselineTrainer(config, pairs: try data.map { try #require(try encoder.encode($0)) }, model: model,
                                      tokenizer: tokenizer)
    try expectRun(trainer, follows: history)
  }

  // MARK: SFT

  @Test func sftTokenizationMatchesTRL() throws {
    let (_, tokenizer, data) = try baselineSetup()
    let rows = try baselineExpectation().object("sft").list("rows")
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: 64, tokenization: .sft)
    for (record, row) in zip(data, rows) {
      let got = try #require(try encoder.encode(record))
      let ids = try row.ints("input_ids"), labels = try row.ints("labels")
      #expect(got.chosenIDs == ids && got.chosenLabels == labels)
    }
  }

  @Test(arguments: [false, true])
  func sftBatchMatchesTRL(paddingFree: Bool) throws {
    let (model, tokenizer, data) = try baselineSetup()
    let expected = try baselineExpectation().object("sft").object("cases").object("default")
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: 64, tokenization: .sft)
    var config = fixtureConfiguration(paddingFree: paddingFree)
    config.method = .sft
    let pairs = try data.map { try #require(try encoder.encode($0)) }
    let trainer = try baselineTrainer(config, pairs: pairs, model: model, tokenizer: tokenizer)
    model.training = true
    let output = try trainer.forward(try expected.ints("rows").map { pairs[$0] }, objective: SFTLoss())
    try expectMatches(output, expected, model: model, gradients: "sft")
  }

  @Test func sftTrainingFollowsTRL() throws {
    let (model, tokenizer, data) = try baselineSetup()
    let history = try baselineExpectation().object("sft").object("train").list("history")
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: 64, tokenization: .sft)
    var config = fixtureConfiguration(paddingFree: true)
    config.method = .sft
    config.maxSteps = 6
    config.gradientAccumulationSteps = 1
    let trainer = try baselineTrainer(config, pairs: try data.map { try #require(try encoder.encode($0)) }, model: model,
                                      tokenizer: tokenizer)
    try expectRun(trainer, follows: history)
  }

  // MARK: CPO and SimPO

  @Test(arguments: ["sigmoid", "simpo", "simpo_cpo"])
  func cpoBatchMatchesTRL(variant: String) throws {
    let (model, tokenizer, data) = try baselineSetup()
    let cpo = try baselineExpectation().object("cpo")
    let expected = try cpo.object("cases").object(variant)
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: 64)
    for (record, row) in zip(data, try cpo.list("rows")) {  // CPO tokenizes as ORPO does
      let got = try #require(try encoder.encode(record))
      let ids = try row.ints("chosen_input_ids"), labels = try row.ints("rejected_labels")
      #expect(got.chosenIDs == ids && got.rejectedLabels == labels)
    }
    let objective = CPOLoss(beta: 0.1, lossType: variant == "sigmoid" ? .sigmoid : .simpo,
                            simpoGamma: (expected["simpo_gamma"] as? Double) ?? 0.5, cpoAlpha: try expected.number("cpo_alpha"))
    let pairs = try expected.ints("rows").map { try #require(try encoder.encode(data[$0])) }
    model.training = true
    let scores = try PairScorer(layout: .padded(padTokenID: tokenizer.padTokenID!)).scores(of: pairs, model: model)
    try expectMatches(try objective.loss(policy: scores, reference: nil), expected, model: model, gradients: "cpo_\(variant)")
  }

  // MARK: KTO

  /// Paired rows unpaired on the fly: desirable rows, then undesirable ones, the KL answers rotated per batch of 4.
  @Test func ktoUnpairingMatchesTRL() throws {
    let (_, tokenizer, data) = try baselineSetup()
    let rows = try baselineExpectation().object("kto").list("unpaired_rows")
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: Int.max, tokenization: .sft)
    let (ours, dropped) = KTOLoss.unpair(try encoder.encodeAll(PreferenceDataset(records: Array(data.prefix(10)))).pairs,
                                         maxLength: 64, batchSize: 4)
    #expect(dropped == 0 && ours.count == rows.count)
    for (got, row) in zip(ours, rows) {
      #expect(got == pair(prompt: try row.ints("prompt_ids"), chosen: try row.ints("completion_ids"),
                          rejected: try row.ints("KL_completion_ids"), desirable: try #require(row["label"] as? Bool)))
    }
  }

  /// Every batch of an interleaved unpaired set (desirable and undesirable rows in one batch; the KL estimate
  /// clamped at 0 in some batches, positive in others), undesirable rows weighted 1.5.
  @Test(arguments: [0, 1, 2, 3], [false, true])
  func ktoBatchMatchesTRL(batch: Int, paddingFree: Bool) throws {
    let (model, tokenizer, _) = try baselineSetup()
    let kto = try baselineExpectation().object("kto")
    let expected = try kto.object("cases").object("batch\(batch)")
    let rows = try kto.list("rows")
    var config = fixtureConfiguration(paddingFree: paddingFree)
    config.method = .kto
    config.perDeviceTrainBatchSize = 4
    config.undesirableWeight = 1.5
    let pairs = try rows.map {
      pair(prompt: try $0.ints("prompt_ids"), chosen: try $0.ints("completion_ids"), rejected: try $0.ints("KL_completion_ids"),
           desirable: try #require($0["label"] as? Bool))
    }
    let trainer = try baselineTrainer(config, pairs: pairs, model: model, tokenizer: tokenizer)
    model.training = true
    let output = try trainer.forward(try expected.ints("rows").map { pairs[$0] }, objective: trainer.objective(at: 0))
    try expectMatches(output, expected, model: model, gradients: batch == 0 ? "kto_batch0" : nil, sumRounding: paddingFree)
  }
}

/// The trainer's training logs against TRL's log history, step by step (see TrainerParityTests for the tolerances:
/// TRL's grad-enabled kernels round differently at ~1e-6, which differences of log-probs amplify).
func expectRun(_ trainer: Trainer, follows history: [[String: Any]], sourceLocation: SourceLocation = #_sourceLocation) throws {
  var logs: [TrainerLog] = []
  trainer.onLog = { logs.append($0) }
  _ = try trainer.train()
  let train = logs.filter { !$0.isEvaluation }
  #expect(train.count == history.count, sourceLocation: sourceLocation)
  for (ours, theirs) in zip(train, history) {
    let v = Dictionary(ours.values, uniquingKeysWith: { a, _ in a })
    #expect(ours.step == (theirs["step"] as? Int), sourceLocation: sourceLocation)
    for (name, value) in theirs where name != "step" {
      let want = try #require((value as? NSNumber)?.doubleValue)
      let got = try #require(v[name], "step \(ours.step): we log \(name)")
      let ok: Bool
      switch name {
      case "learning_rate", "epoch", "num_tokens": ok = close(got, want, rtol: 1e-9, atol: 1e-12)
      case "loss", "entropy", "logps/chosen", "logps/rejected": ok = close(got, want, rtol: 1e-4)
      case "grad_norm": ok = close(got, want, rtol: 1e-2)
      default: ok = close(got, want, rtol: 1e-2, atol: 1e-4)  // rewards/*, logits/*, accuracies: differences
      }
      #expect(ok, "step \(ours.step) \(name): ours \(got), TRL \(want)", sourceLocation: sourceLocation)
    }
  }
}

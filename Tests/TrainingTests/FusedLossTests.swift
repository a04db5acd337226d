// FusedLossTests.swift — the fused, chunked loss (FusedLogProbabilities.swift) on the tiny fixture model: the same
// scores, loss, metrics, completion statistics and LoRA gradients as computing all the logits at once, in both
// layouts, and as scoring a batch in parts of bounded size; TRL's own batch numbers through it; and gradient
// checkpointing with 4-bit layers, LoRA dropout and the fused loss giving the plain path's gradients.
import Data
import Foundation
import Models
import NN
import Testing
import Tokenization
import Torch
@testable import Training

@Suite(.serialized) struct FusedLossTests {
  func encodedPairs(_ tokenizerData: (Tokenizer, PreferenceDataset), rows: [Int]) throws -> [EncodedPair] {
    let encoder = PairEncoder(tokenizer: tokenizerData.0, formatter: nil, maxLength: 64)
    return try rows.map { try #require(try encoder.encode(tokenizerData.1[$0])) }
  }

  /// Scores, ORPO's loss and metrics, and the LoRA gradients of one batch on a fresh fixture model.
  struct Run {
    var scores: PairScores
    var loss: Double
    var metrics: [String: Double]
    var gradients: [String: Tensor]
  }

  func run(_ scorer: PairScorer, rows: [Int] = [0, 1, 2, 3], prepare: (LlamaForCausalLM) throws -> Void = { _ in }) throws -> Run {
    let (model, tokenizer, data) = try fixtureSetup()
    try prepare(model)
    let pairs = try encodedPairs((tokenizer, data), rows: rows)
    let scores = try scorer.scores(of: pairs, model: model, withStatistics: true)
    let output = try ORPOLoss(beta: 0.1).loss(policy: scores, reference: nil)
    try output.loss.backward()
    let gradients = Dictionary(uniqueKeysWithValues: try model.loraParameters.map { ($0.key, try #require($0.tensor.grad)) })
    return Run(scores: scores, loss: try output.loss.item(), metrics: Dictionary(try output.values().metrics.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
               gradients: gradients)
  }

  func relativeError(_ a: Tensor, _ b: Tensor) throws -> Double {
    try (a - b).norm().item() / Swift.max(try b.norm().item(), 1e-12)
  }

  /// Chunks of 5 positions (boundaries inside prompts, answers and padding) and one chunk larger than the batch,
  /// through each of the output layer's paths: the blocked one (a frozen float32 layer: its chunks made 7 rows here),
  /// the whole vocabulary a chunk (what a frozen bf16 or fp16 layer takes), and a trained layer (recomputed per chunk).
  @Test(arguments: [false, true], [5, 4096]) func fusedLossEqualsTheWholeLogits(packed: Bool, chunk: Int) throws {
    let pad = try #require(try fixtureSetup().1.padTokenID)
    let layout: PairLayout = packed ? .packed : .padded(padTokenID: pad)
    let whole = try run(PairScorer(layout: layout, lossChunkSize: nil))
    for rows in [nil, chunk == 5 ? 7 : nil] {
      let fused = try FusedLogProbabilities.$blocking.withValue((true, rows)) {
        try run(PairScorer(layout: layout, lossChunkSize: chunk))
      }
      try expectSameNumbers(fused, whole, packed: packed)
    }
    let unblocked = try FusedLogProbabilities.$blocking.withValue((false, nil)) {
      try run(PairScorer(layout: layout, lossChunkSize: chunk))
    }
    try expectSameNumbers(unblocked, whole, packed: packed)
    let trainedHead = { (model: LlamaForCausalLM) in _ = try #require(model.lmHead as? Linear).weight.requiringGrad() }
    try expectSameNumbers(try run(PairScorer(layout: layout, lossChunkSize: chunk), prepare: trainedHead),
                          try run(PairScorer(layout: layout, lossChunkSize: nil), prepare: trainedHead), packed: packed)
  }

  /// The blocked output layer's chunks: about 256 positions (1,024 without a graph), as even as can be, never a short
  /// remainder.
  @Test func blockedChunksAreEven() {
    func chunks(_ n: Int, _ chunkSize: Int = 64) -> [Int] {
      let rows = FusedLogProbabilities.blockedRows(positions: n, atLeast: chunkSize)
      return stride(from: 0, to: n, by: rows).map { Swift.min(rows, n - $0) }
    }
    #expect(chunks(264) == [264])
    #expect(chunks(384) == [192, 192])
    #expect(chunks(520) == [260, 260])
    #expect(chunks(1001) == [251, 251, 251, 248])
    #expect(chunks(7) == [7])
    #expect(chunks(900, 1000) == [900])
    #expect(FusedLogProbabilities.blockedRows(positions: 0, atLeast: 64) == 1)
    // Without a graph (evaluation), about 1,024 rows a chunk.
    #expect(FusedLogProbabilities.blockedRows(positions: 1100, atLeast: 64, graph: false) == 1100)
    #expect(FusedLogProbabilities.blockedRows(positions: 3000, atLeast: 64, graph: false) == 1000)
    #expect(FusedLogProbabilities.vocabularyBlock(on: .cpu) == 2048)
  }

  /// A batch scored in parts of at most `cap` packed tokens (1: each pair alone; 60: two or three pairs a part) gives
  /// the whole batch's numbers.
  @Test(arguments: [1, 60]) func scoringInPartsGivesTheWholeBatch(cap: Int) throws {
    let (_, tokenizer, data) = try fixtureSetup()
    let pairs = try encodedPairs((tokenizer, data), rows: [0, 1, 2, 3])
    let parts = PairScorer.parts(of: pairs, maxTokens: cap)
    #expect(parts.count > 1 && parts.first?.lowerBound == 0 && parts.last?.upperBound == pairs.count)
    #expect(zip(parts, parts.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
    if cap == 1 { #expect(parts.count == pairs.count) }
    try expectSameNumbers(try run(PairScorer(layout: .packed, maxTokensPerForward: cap)),
                          try run(PairScorer(layout: .packed)), packed: true)
  }

  func expectSameNumbers(_ fused: Run, _ whole: Run, packed: Bool) throws {
    #expect(close(fused.loss, whole.loss))
    #expect(fused.metrics.keys.sorted() == whole.metrics.keys.sorted())
    for (name, value) in whole.metrics {
      #expect(close(try #require(fused.metrics[name]), value), "\(name): fused \(fused.metrics[name]!), whole \(value)")
    }
    #expect(whole.metrics["logits/chosen"] != nil && whole.metrics["logits/rejected"] != nil)
    for (key, want) in whole.gradients {
      let error = try relativeError(try #require(fused.gradients[key]), want)
      #expect(error < 1e-5, "\(key): relative gradient error \(error)")
    }
    let (a, b) = (try #require(fused.scores.statistics), try #require(whole.scores.statistics))
    for (x, y) in [(a.chosenEntropySums, b.chosenEntropySums), (a.rejectedEntropySums, b.rejectedEntropySums),
                   (a.chosenMeanLogitSums, b.chosenMeanLogitSums), (a.rejectedMeanLogitSums, b.rejectedMeanLogitSums)] {
      #expect(try x.isClose(to: y, relativeTolerance: 1e-5, absoluteTolerance: 1e-5))
    }
    #expect(try a.chosenTop1Counts.equals(b.chosenTop1Counts))
    #expect(try a.rejectedTop1Counts.equals(b.rejectedTop1Counts))
    #expect(fused.scores.pairs == whole.scores.pairs)
    #expect(fused.scores.chosenSequenceTokens == whole.scores.chosenSequenceTokens)
    if !packed {  // CPO's logits/* over every padded position
      let (x, y) = (try #require(fused.scores.allPositionLogitMeans), try #require(whole.scores.allPositionLogitMeans))
      #expect(close(try x.chosen.item(), try y.chosen.item()))
      #expect(close(try x.rejected.item(), try y.rejected.item()))
    }
  }

  /// TRL's padded batch through the fused loss: TRL's loss, every metric (logits/* included) and LoRA gradients.
  @Test func fusedLossMatchesTRL() throws {
    let expected = try loadExpectation()
    let pad = try #require(try fixtureSetup().1.padTokenID)
    let fused = try run(PairScorer(layout: .padded(padTokenID: pad), lossChunkSize: 7), rows: expected.batch.rows)
    #expect(close(fused.loss, expected.batch.loss))
    for (name, value) in fused.metrics {
      let want = try #require(expected.batch.metrics[name], "TRL logs \(name)")
      #expect(close(value, want), "\(name): ours \(value), TRL \(want)")
    }
    let grads = try SafeTensorsFile(url: orpoFixture.appendingPathComponent("batch_grads.safetensors"))
    #expect(fused.gradients.count == grads.names.count)
    for (key, got) in fused.gradients {
      let error = try relativeError(got, try grads.tensor(key))
      #expect(error < 1e-5, "\(key): relative gradient error \(error)")
    }
  }

  /// Gradient checkpointing replays the RNG, so with NF4 base weights and LoRA dropout the checkpointed model with
  /// the fused loss (itself checkpointed per chunk) gives the loss and adapter gradients of the plain model with all
  /// logits at once.
  @Test func checkpointingWithFourBitLayersLoRADropoutAndTheFusedLoss() throws {
    let (_, tokenizer, data) = try fixtureSetup()
    let pairs = try encodedPairs((tokenizer, data), rows: [0, 1, 2, 3])
    let reader = try Checkpoint.open(orpoFixture)
    var results: [(loss: Double, gradients: [Tensor])] = []
    for fusedAndCheckpointed in [false, true] {
      let model = try LlamaForCausalLM(
        config: reader.config,
        weights: reader.parameterSource(dtype: .float32, device: .cpu,
                                        quantization: .fourBit(FourBitConfiguration(type: .nf4, doubleQuantization: true))))
      #expect(!model.quantizedLayers.isEmpty)
      try model.attachLoRA(LoRAConfiguration(rank: 4, alpha: 8, dropout: 0.3, targetModules: .allLinear),
                           generator: Generator(seed: 3))
      for lora in model.loraLayers {
        try withNoGrad { try lora.b.copy_(Tensor.randn(lora.b.shape, generator: Generator(seed: 4)) * 0.1) }
      }
      model.training = true
      model.gradientCheckpointing = fusedAndCheckpointed
      let scorer = PairScorer(layout: .packed, lossChunkSize: fusedAndCheckpointed ? 6 : nil)
      Torch.manualSeed(11)
      let loss = try ORPOLoss(beta: 0.1).loss(policy: try scorer.scores(of: pairs, model: model), reference: nil).loss
      try loss.backward()
      results.append((try loss.item(), try model.loraLayers.flatMap { [try #require($0.a.grad), try #require($0.b.grad)] }))
    }
    #expect(close(results[1].loss, results[0].loss))
    for (plain, fused) in zip(results[0].gradients, results[1].gradients) {
      #expect(try fused.isClose(to: plain, relativeTolerance: 1e-5, absoluteTolerance: 1e-7))
    }
  }
}

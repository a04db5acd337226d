// ScoringTests.swift — the scoring contract on the tiny fixture model: TRL's padded batch and the packed
// prompt-sharing row give the same per-pair scores; the prompt-loss switch decides which tokens the NLL counts;
// the reference pass scores the base weights (adapters off) and leaves the adapters in place.
import Data
import Foundation
import Models
import Testing
import Torch
@testable import Training

@Suite(.serialized) struct ScoringTests {
  func fixturePairs() throws -> (LlamaForCausalLM, [EncodedPair], Int) {
    let (model, tokenizer, data) = try fixtureSetup()
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: 64)
    let pairs = try (0..<4).map { try #require(try encoder.encode(data[$0])) }
    return (model, pairs, try #require(tokenizer.padTokenID))
  }

  func maxDifference(_ a: Tensor, _ b: Tensor) throws -> Double { try (a - b).abs().max().item() }

  @Test(arguments: [true, false]) func paddedAndPackedLayoutsScoreAlike(promptLoss: Bool) throws {
    let (model, pairs, pad) = try fixturePairs()
    let (padded, packed) = try withNoGrad {
      (try PairScorer(layout: .padded(padTokenID: pad), promptLoss: promptLoss).scores(of: pairs, model: model),
       try PairScorer(layout: .packed, promptLoss: promptLoss).scores(of: pairs, model: model))
    }
    #expect(try padded.chosenTokenCounts.equals(packed.chosenTokenCounts))
    #expect(try padded.rejectedTokenCounts.equals(packed.rejectedTokenCounts))
    #expect(try padded.chosenNLLTokenCount.item() == packed.chosenNLLTokenCount.item())
    #expect(try maxDifference(padded.chosenLogpSums, packed.chosenLogpSums) < 1e-4)
    #expect(try maxDifference(padded.rejectedLogpSums, packed.rejectedLogpSums) < 1e-4)
    #expect(try maxDifference(padded.chosenNLLLogpSum, packed.chosenNLLLogpSum) < 1e-4)

    // What the NLL counts: every predicted token of the chosen sequences, or their completion tokens only.
    let predicted = pairs.reduce(0) { $0 + $1.chosenIDs.count - 1 }
    let completion = pairs.reduce(0) { $0 + $1.chosenLabels.dropFirst().filter { $0 != -100 }.count }
    #expect(try padded.chosenNLLTokenCount.item() == Double(promptLoss ? predicted : completion))
    #expect(try padded.chosenTokenCounts.sum().item() == Double(completion))
  }

  @Test func referencePassScoresTheBaseWeightsAndRestoresTheAdapters() throws {
    let (model, pairs, pad) = try fixturePairs()
    let (config, parameters, _) = try Checkpoint.load(orpoFixture)
    let base = try LlamaForCausalLM(config: config, parameters: parameters)
    let scorer = PairScorer(layout: .padded(padTokenID: pad))
    let (policy, reference, baseScores, policyAgain) = try withNoGrad {
      (try scorer.scores(of: pairs, model: model), try scorer.referenceScores(of: pairs, model: model),
       try scorer.scores(of: pairs, model: base), try scorer.scores(of: pairs, model: model))
    }
    #expect(try maxDifference(reference.chosenLogpSums, baseScores.chosenLogpSums) == 0)
    #expect(try maxDifference(reference.rejectedLogpSums, baseScores.rejectedLogpSums) == 0)
    #expect(try maxDifference(policy.chosenLogpSums, reference.chosenLogpSums) > 1e-4, "the adapters change the scores")
    #expect(try policyAgain.chosenLogpSums.equals(policy.chosenLogpSums), "the adapters are back afterwards")
    #expect(!model.loraParameters.isEmpty)
  }
}

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

  /// The packed row leaves out each tail's last token (it predicts nothing, nothing sees it), and keeps a prefix token
  /// even where it ends a sequence: pairs whose chosen answer is a prefix of the rejected one, identical answers, a
  /// one-token tail, a tail-less chosen side, scored packed (fused loss and whole logits) and padded alike.
  @Test func packedRowLeavesOutEachTailsLastTokenOnly() throws {
    let (model, pairs, pad) = try fixturePairs()
    let p = pairs[0]
    let prompt = p.chosenPromptLength
    func pair(_ chosen: [Int], _ rejected: [Int]) -> EncodedPair {
      func labels(_ ids: [Int]) -> [Int] { ids.enumerated().map { $0.offset < prompt ? -100 : $0.element } }
      return EncodedPair(chosenIDs: chosen, chosenLabels: labels(chosen), rejectedIDs: rejected,
                         rejectedLabels: labels(rejected), chosenPromptLength: prompt, rejectedPromptLength: prompt)
    }
    let answer = Array(p.chosenIDs[prompt...])
    let edge = [
      p,                                                                  // two tails
      pair(p.chosenIDs, p.chosenIDs + [answer[0], 7]),                    // chosen ⊂ rejected: no chosen tail
      pair(p.chosenIDs, p.chosenIDs),                                     // identical: no tails
      pair(Array(p.chosenIDs[..<prompt]) + [5], Array(p.chosenIDs[..<prompt]) + [6, 8]),  // one-token chosen tail
      pairs[1],
    ]
    let batch = try PackedPairCollator(vocabularySize: model.config.vocabSize)(edge)
    // [prefix | chosen tail − 1 | rejected tail − 1], a prefix of at least the prompt.
    let expected = [p.packedTokenCount, prompt + answer.count + 1, prompt + answer.count, prompt + 1,
                    pairs[1].packedTokenCount]
    #expect(edge.map(\.packedTokenCount) == expected)
    #expect(expected[0] == p.chosenIDs.count + p.rejectedIDs.count - p.sharedPrefixLength - 2)
    #expect(batch.packedTokens == expected.reduce(0, +))
    #expect(batch.blocks.blocks.map(\.length) == expected)
    #expect(StepFLOPs.work(of: edge, packed: true).positions == batch.packedTokens)

    let (padded, packed, whole) = try withNoGrad {
      (try PairScorer(layout: .padded(padTokenID: pad)).scores(of: edge, model: model),
       try PairScorer(layout: .packed).scores(of: edge, model: model),
       try PairScorer(layout: .packed, lossChunkSize: nil).scores(of: edge, model: model))
    }
    for scores in [packed, whole] {
      #expect(try scores.chosenTokenCounts.equals(padded.chosenTokenCounts))
      #expect(try scores.rejectedTokenCounts.equals(padded.rejectedTokenCounts))
      #expect(try maxDifference(padded.chosenLogpSums, scores.chosenLogpSums) < 1e-4)
      #expect(try maxDifference(padded.rejectedLogpSums, scores.rejectedLogpSums) < 1e-4)
      #expect(try maxDifference(padded.chosenNLLLogpSum, scores.chosenNLLLogpSum) < 1e-4)
      // logits/*: every predicting position's logits (the padded sums include padding, as TRL's do).
      #expect(scores.chosenLogitCount == edge.reduce(0) { $0 + $1.chosenIDs.count - 1 })
      #expect(scores.rejectedLogitCount == edge.reduce(0) { $0 + $1.rejectedIDs.count - 1 })
    }
    #expect(try maxDifference(packed.chosenLogitSum, whole.chosenLogitSum) < 1e-3)
    #expect(try maxDifference(packed.rejectedLogitSum, whole.rejectedLogitSum) < 1e-3)
    // The chosen side alone (what SFT scores) is the chosen side of the pair.
    let alone = try withNoGrad { try PairScorer(layout: .packed).scores(of: edge.map(\.chosenOnly), model: model) }
    #expect(try maxDifference(alone.chosenLogpSums, packed.chosenLogpSums) < 1e-4)
    #expect(try maxDifference(alone.chosenNLLLogpSum, packed.chosenNLLLogpSum) < 1e-4)
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

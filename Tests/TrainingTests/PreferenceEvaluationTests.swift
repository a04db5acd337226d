// PreferenceEvaluationTests.swift — held-out preference accuracy from the evaluation loop: overall it is TRL's
// eval_rewards/accuracies on the fixture batch, and the per-family tallies split the same pairs by their family.
import Data
import Evaluation
import Testing
@testable import Training

@Suite(.serialized) struct PreferenceEvaluationTests {
  /// One padded batch of the fixture's 8 eval pairs. TRL's rewards are β·logps (β > 0), so its
  /// eval_rewards/accuracies counts the same wins as our chosen-above-rejected average log-probs.
  @Test func accuracyIsTRLsAndFamiliesPartitionThePairs() throws {
    var config = fixtureConfiguration(paddingFree: false)
    config.perDeviceEvalBatchSize = 8
    let trainer = try fixtureTrainer(config)
    let expected = try loadExpectation()
    var pairs = trainer.evalPairs
    for index in pairs.indices { pairs[index].family = [0: "a", 1: "b"][index % 3] }  // a, b, none, a, b, none, a, b
    let result = try trainer.evaluation(pairs)

    #expect(result.values.last?.0 == "eval_accuracy")
    #expect(result.values.last?.1 == result.accuracy.accuracy)
    #expect(result.accuracy.accuracy == expected.eval["eval_rewards/accuracies"])
    #expect(result.accuracy.overall.pairs == 8)
    #expect(result.accuracy.families.keys.sorted() == ["a", "b"])
    #expect(result.accuracy.families["a"]?.pairs == 3 && result.accuracy.families["b"]?.pairs == 3)

    // Each family's tally equals evaluating that family's pairs on their own.
    for family in ["a", "b"] {
      let alone = try trainer.evaluation(pairs.filter { $0.family == family }).accuracy
      #expect(alone.overall == result.accuracy.families[family], "family \(family)")
    }
  }
}

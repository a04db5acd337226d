// PreferenceAccuracyTests.swift — preference accuracy from known per-pair scores: overall, per family, ties and
// NaN scores counted as losses, pairs without a family counted overall only.
import Testing
@testable import Evaluation

@Suite struct PreferenceAccuracyTests {
  /// Six pairs, worked by hand:
  ///   arith:      -0.5 > -1.0 win, -2.0 > -1.5 no      -> 1 of 2
  ///   capitals:   -0.1 > -0.9 win, -0.3 > -0.4 win     -> 2 of 2
  ///   (none):     -1.0 > -3.0 win                      -> overall only
  ///   spelling:   -1.0 = -1.0 tie, not a win            -> 0 of 1
  /// overall: 4 wins of 6 = 0.6667.
  @Test func tallyPerFamilyFromKnownScores() {
    let accuracy = PreferenceAccuracy(
      chosen: [-0.5, -2.0, -0.1, -0.3, -1.0, -1.0],
      rejected: [-1.0, -1.5, -0.9, -0.4, -3.0, -1.0],
      families: ["arith", "arith", "capitals", "capitals", nil, "spelling"])
    #expect(accuracy.overall == AccuracyTally(wins: 4, pairs: 6))
    #expect(accuracy.accuracy == 4.0 / 6.0)
    #expect(accuracy.families == [
      "arith": AccuracyTally(wins: 1, pairs: 2),
      "capitals": AccuracyTally(wins: 2, pairs: 2),
      "spelling": AccuracyTally(wins: 0, pairs: 1),
    ])
    #expect(accuracy.byFamily.map(\.family) == ["arith", "capitals", "spelling"])
    #expect(accuracy.byFamily.map(\.tally.accuracy) == [0.5, 1.0, 0.0])
  }

  @Test func nanScoresLoseAndEmptyIsNaN() {
    var accuracy = PreferenceAccuracy()
    #expect(accuracy.accuracy.isNaN)
    accuracy.add(chosen: .nan, rejected: -1, family: "x")
    accuracy.add(chosen: -1, rejected: .nan, family: "x")
    accuracy.add(chosen: .infinity, rejected: 0, family: "x")
    #expect(accuracy.families["x"] == AccuracyTally(wins: 1, pairs: 3))
    #expect(AccuracyTally().accuracy.isNaN)
  }

  /// The eight families of the built-in synthetic data, 25 pairs each, family k winning k of its pairs.
  @Test func eightFamiliesAddUp() {
    let names = ["antonyms", "arith", "capitals", "concise", "format", "sorting", "spelling", "units"]
    var accuracy = PreferenceAccuracy()
    for (k, name) in names.enumerated() {
      for pair in 0..<25 { accuracy.add(chosen: pair < k ? 0 : -1, rejected: -0.5, family: name) }
    }
    #expect(accuracy.byFamily.map(\.tally.wins) == Array(0..<8))
    #expect(accuracy.overall == AccuracyTally(wins: 28, pairs: 200))
    #expect(accuracy.accuracy == 0.14)
  }
}

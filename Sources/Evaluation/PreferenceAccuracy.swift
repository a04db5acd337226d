// PreferenceAccuracy.swift — held-out preference accuracy: the share of pairs whose chosen answer scores above
// the rejected one, overall and per task family (the `family` label the built-in synthetic data carries).

/// Wins and pairs of one group; `accuracy` is NaN while the group is empty.
public struct AccuracyTally: Equatable, Sendable {
  public var wins = 0
  public var pairs = 0

  public init(wins: Int = 0, pairs: Int = 0) {
    self.wins = wins
    self.pairs = pairs
  }

  public var accuracy: Double { pairs > 0 ? Double(wins) / Double(pairs) : .nan }
}

/// Preference accuracy from per-pair scores, where a higher score means the model finds the answer more likely
/// (ORPO: each answer's average token log-prob, as TRL's `chosen_logps`; DPO: its implicit reward). A pair counts
/// as a win only when chosen is strictly above rejected, so a tie or a NaN score is a loss.
public struct PreferenceAccuracy: Equatable, Sendable {
  public private(set) var overall = AccuracyTally()
  /// Tallies of the pairs that carry a family, by family name; pairs without one count only toward `overall`.
  public private(set) var families: [String: AccuracyTally] = [:]

  public init() {}

  /// The tally of `chosen[i]` against `rejected[i]`, pair `i` in family `families[i]` (nil: no family).
  public init(chosen: [Double], rejected: [Double], families: [String?]) {
    precondition(chosen.count == rejected.count && chosen.count == families.count,
                 "PreferenceAccuracy: \(chosen.count) chosen, \(rejected.count) rejected, \(families.count) families")
    for index in chosen.indices { add(chosen: chosen[index], rejected: rejected[index], family: families[index]) }
  }

  public static func prefersChosen(chosen: Double, rejected: Double) -> Bool { chosen > rejected }

  public mutating func add(chosen: Double, rejected: Double, family: String?) {
    add(won: PreferenceAccuracy.prefersChosen(chosen: chosen, rejected: rejected), family: family)
  }

  /// One pair already decided (a data-parallel evaluation adds up its processes' decisions).
  public mutating func add(won: Bool, family: String?) {
    let win = won ? 1 : 0
    overall.wins += win
    overall.pairs += 1
    if let family {
      families[family, default: AccuracyTally()].wins += win
      families[family, default: AccuracyTally()].pairs += 1
    }
  }

  /// The fraction of pairs won (NaN when there are none).
  public var accuracy: Double { overall.accuracy }

  /// Families in name order, for stable reports.
  public var byFamily: [(family: String, tally: AccuracyTally)] {
    families.keys.sorted().map { ($0, families[$0]!) }
  }
}

// Agreement.swift — how much annotators agree: per-annotator counts, pairwise raw agreement, Cohen's kappa for two
// annotators and Fleiss' kappa for more (checked against scikit-learn and statsmodels, see reference/README.md).
import Foundation
import Support

/// Cohen's kappa of two raters over the same items: (p_o − p_e) / (1 − p_e), with p_o the share of items they
/// label alike and p_e = Σ_k p1(k)·p2(k) the agreement expected from each rater's own label frequencies
/// (Cohen 1960; scikit-learn's `cohen_kappa_score`). nil without items, or when p_e = 1 (both always gave one same
/// label: kappa is undefined, scikit-learn returns NaN).
public func cohenKappa<Label: Hashable>(_ first: [Label], _ second: [Label]) -> Double? {
  precondition(first.count == second.count, "cohenKappa needs two label lists of the same length")
  let n = Double(first.count)
  guard n > 0 else { return nil }
  let observed = Double(zip(first, second).filter { $0 == $1 }.count) / n
  var counts1: [Label: Double] = [:], counts2: [Label: Double] = [:]
  for label in first { counts1[label, default: 0] += 1 }
  for label in second { counts2[label, default: 0] += 1 }
  let expected = counts1.reduce(0.0) { $0 + ($1.value / n) * ((counts2[$1.key] ?? 0) / n) }
  guard expected < 1 else { return nil }
  return (observed - expected) / (1 - expected)
}

/// Fleiss' kappa (Fleiss 1971) of `table[item][category]` = how many raters put the item in the category, every
/// item rated by the same number n ≥ 2 of raters: P_i = (Σ_j n_ij² − n) / (n(n − 1)), P̄ = mean P_i,
/// p_j = Σ_i n_ij / (N·n), P_e = Σ_j p_j², κ = (P̄ − P_e) / (1 − P_e) (statsmodels' `fleiss_kappa`). nil without
/// items or when P_e = 1.
public func fleissKappa(_ table: [[Int]]) -> Double? {
  guard let n = table.first.map({ $0.reduce(0, +) }), n >= 2 else { return nil }
  precondition(table.allSatisfy { $0.reduce(0, +) == n }, "fleissKappa needs every item rated by the same number of raters")
  let categories = table[0].count
  let items = Double(table.count)
  let perItem = table.map { row in Double(row.reduce(0) { $0 + $1 * $1 } - n) / Double(n * (n - 1)) }
  let meanAgreement = perItem.reduce(0, +) / items
  var expected = 0.0
  for j in 0..<categories {
    let share = Double(table.reduce(0) { $0 + $1[j] }) / (items * Double(n))
    expected += share * share
  }
  guard expected < 1 else { return nil }
  return (meanAgreement - expected) / (1 - expected)
}

/// Agreement statistics over a database's annotations.
public struct AgreementReport: Equatable, Sendable {
  public struct AnnotatorLine: Equatable, Sendable {
    public var name: String
    public var kind: String
    public var count: Int
    /// Answers by choice, in `Choice.allCases` order.
    public var choices: [Choice: Int]
    /// Of this annotator's a/b answers, the share that picked the candidate shown first (0.5 = no position bias).
    public var firstShownRate: Double?
  }

  public struct PairwiseLine: Equatable, Sendable {
    public var first: String
    public var second: String
    /// Pairs both answered.
    public var shared: Int
    /// The share of those they answered alike.
    public var agreement: Double?
    public var cohenKappa: Double?
  }

  public var pairs: Int
  public var annotatedPairs: Int
  public var annotations: Int
  public var annotators: [AnnotatorLine]
  public var pairwise: [PairwiseLine]
  /// Fleiss' kappa over the pairs answered by exactly `fleissRaters` annotators (the most common count ≥ 2), when
  /// there are more than two annotators.
  public var fleissKappa: Double?
  public var fleissItems: Int
  public var fleissRaters: Int

  /// The statistics of `annotations` over `pairCount` pairs; `kinds` tells human from model annotators.
  public init(annotations: [StoredAnnotation], pairCount: Int, kinds: [String: String] = [:]) {
    pairs = pairCount
    self.annotations = annotations.count
    var byAnnotator: [String: [Int64: Choice]] = [:]
    var byPair: [Int64: [Choice]] = [:]
    var lines: [String: AnnotatorLine] = [:]
    var firstShown: [String: (first: Int, decided: Int)] = [:]
    for annotation in annotations {
      byAnnotator[annotation.annotator, default: [:]][annotation.pairID] = annotation.choice
      byPair[annotation.pairID, default: []].append(annotation.choice)
      var line = lines[annotation.annotator] ?? AnnotatorLine(name: annotation.annotator, kind: kinds[annotation.annotator] ?? "human",
                                                              count: 0, choices: [:], firstShownRate: nil)
      line.count += 1
      line.choices[annotation.choice, default: 0] += 1
      lines[annotation.annotator] = line
      if annotation.choice == .a || annotation.choice == .b, annotation.displayOrder != "both" {
        let pickedFirst = (annotation.choice == .a) == (annotation.displayOrder == "ab")
        var tally = firstShown[annotation.annotator] ?? (0, 0)
        tally.decided += 1
        if pickedFirst { tally.first += 1 }
        firstShown[annotation.annotator] = tally
      }
    }
    for (name, tally) in firstShown where tally.decided > 0 {
      lines[name]?.firstShownRate = Double(tally.first) / Double(tally.decided)
    }
    annotatedPairs = byPair.count
    annotators = lines.values.sorted { $0.name < $1.name }

    let names = annotators.map(\.name)
    var pairwise: [PairwiseLine] = []
    for i in names.indices {
      for j in names.indices where j > i {
        let left = byAnnotator[names[i]] ?? [:], right = byAnnotator[names[j]] ?? [:]
        let shared = left.keys.filter { right[$0] != nil }.sorted()
        let first = shared.map { left[$0]! }, second = shared.map { right[$0]! }
        let agreement = shared.isEmpty ? nil : Double(zip(first, second).filter { $0 == $1 }.count) / Double(shared.count)
        pairwise.append(PairwiseLine(first: names[i], second: names[j], shared: shared.count, agreement: agreement,
                                     cohenKappa: cohenKappa(first, second)))
      }
    }
    self.pairwise = pairwise

    // Fleiss' kappa needs a constant number of raters per item: take the most common count of two or more.
    var countFrequency: [Int: Int] = [:]
    for choices in byPair.values where choices.count >= 2 { countFrequency[choices.count, default: 0] += 1 }
    let raters = countFrequency.max { ($0.value, $0.key) < ($1.value, $1.key) }?.key ?? 0
    if names.count > 2, raters >= 2 {
      let table = byPair.keys.sorted().compactMap { id -> [Int]? in
        let choices = byPair[id]!
        guard choices.count == raters else { return nil }
        return Choice.allCases.map { c in choices.filter { $0 == c }.count }
      }
      fleissKappa = Self.fleiss(table)
      fleissItems = table.count
      fleissRaters = raters
    } else {
      fleissKappa = nil
      fleissItems = 0
      fleissRaters = 0
    }
  }

  private static func fleiss(_ table: [[Int]]) -> Double? { Curation.fleissKappa(table) }

  /// The report as `orpo curate stats` prints it.
  public var text: String {
    var out = "pairs \(pairs), annotated \(annotatedPairs), annotations \(annotations)\n"
    if annotators.isEmpty { return out + "no annotations yet\n" }
    let nameWidth = max(9, annotators.map(\.name.count).max() ?? 0)
    out += "\n" + pad("annotator", nameWidth) + "  kind    count      a      b    tie  both_bad  first-shown picked\n"
    for line in annotators {
      let counts = Choice.allCases.map { line.choices[$0] ?? 0 }
      out += pad(line.name, nameWidth) + "  " + pad(line.kind, 6) + lpad("\(line.count)", 7)
        + lpad("\(counts[0])", 7) + lpad("\(counts[1])", 7) + lpad("\(counts[2])", 7) + lpad("\(counts[3])", 10)
        + lpad(line.firstShownRate.map { String(format: "%.2f", $0) } ?? "n/a", 20) + "\n"
    }
    if !pairwise.isEmpty {
      let pairWidth = max(10, pairwise.map { $0.first.count + $0.second.count + 3 }.max() ?? 0)
      out += "\n" + pad("annotators", pairWidth) + "  shared  agreement  cohen_kappa\n"
      for line in pairwise {
        out += pad("\(line.first) / \(line.second)", pairWidth) + lpad("\(line.shared)", 8)
          + lpad(line.agreement.map { String(format: "%.3f", $0) } ?? "n/a", 11)
          + lpad(line.cohenKappa.map { String(format: "%.3f", $0) } ?? "n/a", 13) + "\n"
      }
    }
    if annotators.count == 2, let line = pairwise.first {
      out += "\nCohen's kappa: \(line.cohenKappa.map { String(format: "%.3f", $0) } ?? "n/a") over \(line.shared) pairs\n"
    } else if annotators.count > 2 {
      out += "\nFleiss' kappa: \(fleissKappa.map { String(format: "%.3f", $0) } ?? "n/a")"
        + " over \(fleissItems) pairs with \(fleissRaters) annotations each\n"
    }
    return out
  }

  /// The report as the JSON object `GET /api/stats` answers.
  public var json: JSONValue {
    func number(_ x: Double?) -> JSONValue { x.map { .double($0) } ?? .null }
    return .object([
      ("pairs", .int(pairs)), ("annotated_pairs", .int(annotatedPairs)), ("annotations", .int(annotations)),
      ("annotators", .array(annotators.map { line in
        .object([("name", .string(line.name)), ("kind", .string(line.kind)), ("count", .int(line.count)),
                 ("choices", .object(Choice.allCases.map { ($0.rawValue, .int(line.choices[$0] ?? 0)) })),
                 ("first_shown_rate", number(line.firstShownRate))])
      })),
      ("pairwise", .array(pairwise.map { line in
        .object([("annotators", .array([.string(line.first), .string(line.second)])), ("shared", .int(line.shared)),
                 ("agreement", number(line.agreement)), ("cohen_kappa", number(line.cohenKappa))])
      })),
      ("fleiss_kappa", number(fleissKappa)), ("fleiss_items", .int(fleissItems)), ("fleiss_raters", .int(fleissRaters)),
    ])
  }
}

private func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
private func lpad(_ s: String, _ width: Int) -> String { s.count >= width ? s : String(repeating: " ", count: width - s.count) + s }

extension CurationStore {
  /// The agreement statistics of everything stored.
  public func agreementReport() throws -> AgreementReport {
    AgreementReport(annotations: try annotations(), pairCount: try counts().pairs, kinds: try annotatorKinds())
  }
}

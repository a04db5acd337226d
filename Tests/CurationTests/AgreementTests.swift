// AgreementTests.swift — Cohen's and Fleiss' kappa worked by hand, then against scikit-learn and statsmodels
// (Fixtures/agreement.json, dumped by reference/make_agreement_fixtures.py), and the per-project report.
import Foundation
import Testing
@testable import Curation

private func fixture() throws -> [String: Any] {
  let data = try Foundation.Data(contentsOf: try fixtureURL("agreement.json"))
  return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

private func near(_ x: Double?, _ y: Any?, tolerance: Double = 1e-12) -> Bool {
  guard let expected = y as? Double else { return x == nil }
  guard let x else { return false }
  return abs(x - expected) <= tolerance
}

@Suite struct AgreementTests {
  /// Two raters, four items: labels (a, a, b, tie) and (a, b, b, tie). p_o = 3/4. Marginals: first a 1/2, b 1/4,
  /// tie 1/4; second a 1/4, b 1/2, tie 1/4; p_e = 1/8 + 1/8 + 1/16 = 5/16. κ = (3/4 − 5/16) / (1 − 5/16) = 7/11.
  @Test func cohenByHand() {
    #expect(abs(cohenKappa(["a", "a", "b", "tie"], ["a", "b", "b", "tie"])! - 7.0 / 11.0) < 1e-15)
    #expect(cohenKappa(["a", "a"], ["a", "a"]) == nil)  // p_e = 1: undefined
    #expect(cohenKappa([String](), []) == nil)
  }

  /// Three items, three raters, two categories: rows (3, 0), (0, 3), (2, 1). P_i = 1, 1, (4 + 1 − 3)/6 = 1/3;
  /// P̄ = 7/9. p = (5/9, 4/9), P_e = 41/81. κ = (7/9 − 41/81) / (1 − 41/81) = (63 − 41) / (81 − 41) = 22/40.
  @Test func fleissByHand() {
    #expect(abs(fleissKappa([[3, 0], [0, 3], [2, 1]])! - 22.0 / 40.0) < 1e-15)
    #expect(fleissKappa([[2, 0], [2, 0]]) == nil)
    #expect(fleissKappa([]) == nil)
  }

  @Test func cohenMatchesScikitLearn() throws {
    let cases = try #require(try fixture()["cohen"] as? [[String: Any]])
    #expect(cases.count == 7)
    for c in cases {
      let first = try #require(c["first"] as? [String]), second = try #require(c["second"] as? [String])
      #expect(near(cohenKappa(first, second), c["kappa"]), "\(c["name"]!)")
    }
  }

  @Test func fleissMatchesStatsmodels() throws {
    let cases = try #require(try fixture()["fleiss"] as? [[String: Any]])
    #expect(cases.count == 4)
    for c in cases {
      let table = try #require(c["table"] as? [[Int]])
      #expect(near(fleissKappa(table), c["kappa"]), "\(c["name"]!)")
    }
  }

  /// Four annotators over twelve pairs: pairwise Cohen over shared pairs, Fleiss over the eight pairs three answered.
  @Test func projectReportMatchesTheReferences() throws {
    let project = try #require(try fixture()["project"] as? [String: Any])
    let rows = try #require(project["annotations"] as? [[String: Any]])
    let annotations = rows.enumerated().map { index, row in
      StoredAnnotation(id: Int64(index + 1), pairID: Int64(row["pair"] as! Int), annotator: row["annotator"] as! String,
                       choice: Choice(rawValue: row["choice"] as! String)!, displayOrder: "ab", createdAt: Date(), comment: nil)
    }
    let report = AgreementReport(annotations: annotations, pairCount: 12)
    #expect(report.annotatedPairs == 12 && report.annotations == rows.count)
    #expect(report.annotators.map(\.name) == ["ann", "bob", "cy", "dee"])
    let expected = try #require(project["pairwise"] as? [[String: Any]])
    #expect(report.pairwise.count == expected.count)
    for (line, want) in zip(report.pairwise, expected) {
      #expect(line.first == want["first"] as? String && line.second == want["second"] as? String)
      #expect(line.shared == want["shared"] as? Int)
      #expect(near(line.agreement, want["agreement"]) && near(line.cohenKappa, want["kappa"]), "\(line.first)/\(line.second)")
    }
    #expect(report.fleissItems == 8 && report.fleissRaters == 3)
    #expect(near(report.fleissKappa, project["fleiss_kappa"]))
    #expect(report.text.contains(String(format: "Fleiss' kappa: %.3f over 8 pairs with 3 annotations each", report.fleissKappa!)))
  }

  @Test func twoAnnotatorsGetCohenAndPositionBias() {
    // ann always picks the first shown; bob agrees on 3 of 4.
    let rows: [(Int64, String, Choice, String)] = [
      (1, "ann", .a, "ab"), (2, "ann", .b, "ba"), (3, "ann", .a, "ab"), (4, "ann", .b, "ba"),
      (1, "bob", .a, "ba"), (2, "bob", .b, "ab"), (3, "bob", .a, "ab"), (4, "bob", .tie, "ab"),
    ]
    let annotations = rows.enumerated().map {
      StoredAnnotation(id: Int64($0 + 1), pairID: $1.0, annotator: $1.1, choice: $1.2, displayOrder: $1.3, createdAt: Date(), comment: nil)
    }
    let report = AgreementReport(annotations: annotations, pairCount: 5)
    #expect(report.annotators[0].firstShownRate == 1.0)
    #expect(report.annotators[1].firstShownRate == 1.0 / 3.0)
    #expect(report.pairwise.first?.agreement == 0.75)
    // ann: a a b b; bob: a a b tie → p_o 3/4, p_e = 1/2·1/2 + 1/2·1/4 = 3/8, κ = (3/4 − 3/8) / (5/8) = 3/5.
    #expect(abs(report.pairwise.first!.cohenKappa! - 0.6) < 1e-15)
    #expect(report.fleissKappa == nil)
    #expect(report.text.contains("Cohen's kappa: 0.600 over 4 pairs"))
    let lines = report.text.split(separator: "\n").map(String.init)
    #expect(lines[1] == "annotator  kind    count      a      b    tie  both_bad  first-shown picked")
    #expect(lines[2] == "ann        human       4      2      2      0         0                1.00")
    #expect(lines[4] == "annotators  shared  agreement  cohen_kappa")
    #expect(lines[5] == "ann / bob        4      0.750        0.600")
  }
}

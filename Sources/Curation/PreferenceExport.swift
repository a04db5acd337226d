// PreferenceExport.swift — turns annotated pairs into conversational preference rows that `orpo train --data`
// reads: pairs whose annotators agree on a winner are kept; disagreements, ties, both-bad and thin pairs dropped.
import ChatTemplates
import Data
import Foundation
import Support

/// Which pairs become rows.
public struct ExportPolicy: Equatable, Sendable {
  /// Pairs with fewer annotations are dropped.
  public var minimumAnnotations: Int
  /// The share of a pair's annotations that must give the majority answer (1 = unanimous).
  public var minimumAgreement: Double
  /// Count only these annotators' answers (nil: everyone's, model judges included).
  public var annotators: Set<String>?

  public init(minimumAnnotations: Int = 1, minimumAgreement: Double = 1, annotators: Set<String>? = nil) {
    self.minimumAnnotations = minimumAnnotations
    self.minimumAgreement = minimumAgreement
    self.annotators = annotators
  }

  public func validate() throws {
    guard minimumAnnotations >= 1 else { throw CurationError(field: "min-annotations", "must be at least 1, got \(minimumAnnotations)") }
    guard minimumAgreement > 0.5, minimumAgreement <= 1 else {
      throw CurationError(field: "min-agreement", "must be above 0.5 (a strict majority) and at most 1, got \(minimumAgreement)")
    }
  }
}

/// Why a pair did not become a row.
public enum DropReason: String, CaseIterable, Sendable {
  case notAnnotated = "not annotated"
  case tooFewAnnotations = "too few annotations"
  case disagreement = "annotators disagree"
  case tie = "tie"
  case bothBad = "both bad"
}

/// What an export kept and dropped.
public struct ExportReport: Equatable, Sendable, CustomStringConvertible {
  public var rows: Int
  public var dropped: [DropReason: Int]
  public var policy: ExportPolicy

  public var description: String {
    let total = rows + dropped.values.reduce(0, +)
    var text = "\(rows) of \(total) pairs exported"
    let parts = DropReason.allCases.compactMap { reason in dropped[reason].map { "\($0) \(reason.rawValue)" } }
    if !parts.isEmpty { text += "; dropped " + parts.joined(separator: ", ") }
    text += " (min annotations \(policy.minimumAnnotations), min agreement \(String(format: "%.2f", policy.minimumAgreement)))"
    return text
  }
}

/// The verdict on one pair under a policy: the winning candidate ("a" or "b"), or why it is dropped.
public func verdict(_ choices: [Choice], policy: ExportPolicy) -> Result<Choice, ExportDrop> {
  if choices.isEmpty { return .failure(ExportDrop(reason: .notAnnotated)) }
  if choices.count < policy.minimumAnnotations { return .failure(ExportDrop(reason: .tooFewAnnotations)) }
  var counts: [Choice: Int] = [:]
  for choice in choices { counts[choice, default: 0] += 1 }
  // The most common answer; a tie for first place is a disagreement.
  let ranked = counts.sorted { $0.value > $1.value }
  if ranked.count > 1 && ranked[0].value == ranked[1].value { return .failure(ExportDrop(reason: .disagreement)) }
  let (majority, votes) = ranked[0]
  if Double(votes) / Double(choices.count) < policy.minimumAgreement - 1e-12 { return .failure(ExportDrop(reason: .disagreement)) }
  switch majority {
  case .a, .b: return .success(majority)
  case .tie: return .failure(ExportDrop(reason: .tie))
  case .bothBad: return .failure(ExportDrop(reason: .bothBad))
  }
}

public struct ExportDrop: Error, Equatable, Sendable { public var reason: DropReason }

extension CurationStore {
  /// The preference rows the annotations support, and the report of what was dropped.
  public func preferenceRows(policy: ExportPolicy) throws -> (records: [PreferenceRecord], report: ExportReport) {
    try policy.validate()
    var choicesByPair: [Int64: [Choice]] = [:]
    for annotation in try annotations() where policy.annotators?.contains(annotation.annotator) ?? true {
      choicesByPair[annotation.pairID, default: []].append(annotation.choice)
    }
    var records: [PreferenceRecord] = []
    var report = ExportReport(rows: 0, dropped: [:], policy: policy)
    for pair in try pairs() {
      switch verdict(choicesByPair[pair.id] ?? [], policy: policy) {
      case .success(let winner):
        let (chosen, rejected) = winner == .a ? (pair.a, pair.b) : (pair.b, pair.a)
        records.append(PreferenceRecord(prompt: .messages(pair.prompt.messages),
                                        chosen: .messages([ChatMessage(role: "assistant", content: chosen)]),
                                        rejected: .messages([ChatMessage(role: "assistant", content: rejected)]),
                                        id: "pair-\(pair.id)"))
      case .failure(let drop):
        report.dropped[drop.reason, default: 0] += 1
      }
    }
    report.rows = records.count
    return (records, report)
  }

  /// Writes the exported rows as JSON Lines to `url`, atomically (a temporary file renamed into place).
  @discardableResult
  public func export(to url: URL, policy: ExportPolicy) throws -> ExportReport {
    let (records, report) = try preferenceRows(policy: policy)
    try writeFileAtomically(url, contents: Data(PreferenceDataset(records: records).jsonLines.utf8))
    return report
  }
}

/// Writes `contents` to `url` atomically (Support's `AtomicFile`: readers see the old file or the whole new one).
func writeFileAtomically(_ url: URL, contents: Foundation.Data) throws {
  do { try AtomicFile.write(contents, to: url) } catch let error as FileError {
    throw CurationError(.storage, "\(url.path): \(error.operation): \(error.reason)")
  }
}

// Rouge.swift — `orpo rouge`: mean ROUGE-1/2/L F-measures of predictions against references, as rouge-score
// computes them (its tokenizer, Porter stemming on).
import ArgumentParser
import Foundation
import ORPOKit

struct Rouge: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Mean ROUGE-1/2/L F-measures of predictions against references (rouge-score's tokenizer and stemmer).",
    discussion: """
      Each file holds one text per line, or, when its name ends in .jsonl, one JSON object per line with a \
      "text" field. Line i of the predictions is scored against line i of the references. Prints \
      {"rouge1": …, "rouge2": …, "rougeL": …}: the mean F-measures over all pairs.
      """)

  @Option(help: "The generated texts.") var predictions: String
  @Option(help: "The reference texts, one per prediction.") var references: String

  func run() throws {
    let predicted = try TextList.read(predictions)
    let reference = try TextList.read(references)
    guard predicted.count == reference.count else {
      throw TextListError.countMismatch(predictions: predictions, predictionCount: predicted.count,
                                        references: references, referenceCount: reference.count)
    }
    let mean = ROUGEScorer().meanFMeasures(predictions: predicted, references: reference)
    printJSON(.object([("rouge1", .double(mean.rouge1)), ("rouge2", .double(mean.rouge2)), ("rougeL", .double(mean.rougeL))]))
  }
}

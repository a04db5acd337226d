// ModelEvaluation.swift — one model on held-out preference pairs, the same way for every method: preference
// accuracy and margin (overall and per family), NLL and perplexity of the chosen answers, and ROUGE-1/2/L of greedy
// generations against the chosen answers. `orpo evaluate` and `orpo compare` print these.
import Data
import Evaluation
import Foundation
import Models
import Tokenization
import Torch
import Training

public struct ModelEvaluationSettings: Sendable {
  /// Tokens per prompt + answer when scoring (longer answers are cut, as in training).
  public var maxLength = 256
  /// Pairs per forward pass when scoring.
  public var batchSize = 16
  /// Held-out prompts answered greedily for ROUGE (the first ones of the set); 0 skips generation.
  public var generations = 64
  public var maxNewTokens = 48
  /// Prompts per generation batch.
  public var generationBatchSize = 16

  public init() {}
}

public struct ModelEvaluationResult: Sendable {
  public var scores: ModelScores
  /// The generation prompts (the user's text), their reference (chosen) answers and the model's greedy answers.
  public var prompts: [String]
  public var references: [String]
  public var generations: [String]
}

public enum ModelEvaluation {
  /// Scores `model` (with whatever adapters it carries) on `records`. Pairs are tokenized as TRL's ORPO trainer
  /// does (the held-out accuracy `orpo train` prints), whatever the method the model was trained with, so every
  /// model is measured by one rule.
  public static func run(model: any CausalLanguageModel, tokenizer: Tokenizer, formatter: ChatFormatting?,
                         records: [PreferenceRecord], settings: ModelEvaluationSettings) throws -> ModelEvaluationResult
  {
    let wasTraining = model.training
    model.training = false
    defer { model.training = wasTraining }
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: formatter, maxLength: settings.maxLength)
    let pairs = try encoder.encodeAll(PreferenceDataset(records: records)).pairs
    guard !pairs.isEmpty else { throw TrainingError("no held-out pairs left to evaluate after encoding") }

    // Average completion log-probs per pair, and the chosen answers' NLL over all their completion tokens.
    var accuracy = PreferenceAccuracy()
    var margins: [String: (sum: Double, count: Int)] = [:]
    var marginSum = 0.0, chosenLogpSum = 0.0, chosenTokens = 0.0
    let scorer = PairScorer(layout: .packed)
    try withNoGrad {
      for start in stride(from: 0, to: pairs.count, by: settings.batchSize) {
        let chunk = Array(pairs[start..<Swift.min(start + settings.batchSize, pairs.count)])
        let s = try scorer.scores(of: chunk, model: model)
        func host(_ t: Tensor) throws -> [Double] { try t.to(dtype: .float64, device: .cpu).scalars(as: Double.self) }
        let chosen = try host(s.chosenAverageLogps()), rejected = try host(s.rejectedAverageLogps())
        chosenLogpSum += try host(s.chosenLogpSums).reduce(0, +)
        chosenTokens += try host(s.chosenTokenCounts).reduce(0, +)
        for (i, pair) in chunk.enumerated() {
          accuracy.add(chosen: chosen[i], rejected: rejected[i], family: pair.family)
          marginSum += chosen[i] - rejected[i]
          if let family = pair.family {
            margins[family, default: (0, 0)].sum += chosen[i] - rejected[i]
            margins[family, default: (0, 0)].count += 1
          }
        }
      }
    }
    let nll = -chosenLogpSum / chosenTokens
    var families: [String: FamilyResult] = [:]
    for (family, tally) in accuracy.families {
      let margin = margins[family].map { $0.sum / Double($0.count) } ?? .nan
      families[family] = FamilyResult(tally, rewardMargin: margin)
    }

    // Greedy answers to the first held-out prompts, against the chosen answers.
    let asked = Array(records.prefix(settings.generations))
    var prompts: [String] = [], references: [String] = [], generations: [String] = []
    var promptIDs: [[Int]] = []
    for record in asked {
      switch (record.prompt, record.chosen) {
      case (.messages(let p), .messages(let c)):
        guard let formatter else { throw TrainingError("conversational rows need a chat template to generate from") }
        promptIDs.append(tokenizer.encode(try formatter.format(p, addGenerationPrompt: true, continueFinalMessage: false),
                                          addSpecialTokens: false))
        prompts.append(p.last?.content ?? "")
        references.append(c.map(\.content).joined(separator: "\n"))
      case (.text(let p), .text(let c)):
        promptIDs.append(tokenizer.encode(p))
        prompts.append(p)
        references.append(c)
      default:
        throw TrainingError("a row mixes text and messages")
      }
    }
    let config = GenerationConfig.greedy(maxNewTokens: settings.maxNewTokens)
    for start in stride(from: 0, to: promptIDs.count, by: settings.generationBatchSize) {
      let batch = Array(promptIDs[start..<Swift.min(start + settings.generationBatchSize, promptIDs.count)])
      let answers = try model.generate(prompts: batch, config: config, tokenizer: tokenizer)
      generations += answers.map { tokenizer.decode($0, skipSpecialTokens: true).trimmingCharacters(in: .whitespacesAndNewlines) }
    }
    let rouge = generations.isEmpty ? (rouge1: Double.nan, rouge2: Double.nan, rougeL: Double.nan)
      : ROUGEScorer().meanFMeasures(predictions: generations, references: references)
    let scores = ModelScores(preferenceAccuracy: accuracy.accuracy, rewardMargin: marginSum / Double(pairs.count), nll: nll,
                             perplexity: exp(nll), rouge1: rouge.rouge1, rouge2: rouge.rouge2, rougeL: rouge.rougeL,
                             pairs: pairs.count, generations: generations.count, families: families)
    return ModelEvaluationResult(scores: scores, prompts: prompts, references: references, generations: generations)
  }
}

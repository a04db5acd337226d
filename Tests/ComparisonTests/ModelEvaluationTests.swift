// ModelEvaluationTests.swift — the measurements `orpo evaluate` and `orpo compare` print, on the ORPO fixture's tiny
// Llama with its initial adapter and the first 8 rows (reference/make_orpo_fixtures.py, TRL 1.16): accuracy is TRL's
// eval_rewards/accuracies; the margin and the NLL of the chosen answers equal a plain forward pass over TRL's own
// tokenized rows (expected.json `rows`: input ids, labels −100 on the prompt), summed by hand; margins per family
// partition them; greedy answers are the model's generate() and their ROUGE is rouge-score's.
import Foundation
import Testing
import Data
import Evaluation
import Models
import Tokenization
import Torch
@testable import Comparison
@testable import Training

@Suite(.serialized) struct ModelEvaluationTests {
  /// TRL's eval metrics and tokenized rows from the fixture's expected.json.
  func trlExpectation() throws -> (eval: [String: Double], rows: [[String: [Int]]]) {
    let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: tinyModel.appendingPathComponent("expected.json")))
      as? [String: Any])
    let eval = try #require(object["eval"] as? [String: Double])
    let rows = try #require(object["rows"] as? [[String: Any]]).map { row in row.compactMapValues { $0 as? [Int] } }
    return (eval, rows)
  }

  func fixtureModel() throws -> (LlamaForCausalLM, Tokenizer, [PreferenceRecord]) {
    let (config, parameters, _) = try Checkpoint.load(tinyModel)
    let model = try LlamaForCausalLM(config: config, parameters: parameters)
    try PEFTAdapter.load(tinyModel.appendingPathComponent("adapter_init"), into: model)
    let data = try PreferenceDataset(contentsOf: tinyModel.appendingPathComponent("data.jsonl"))
    return (model, try Tokenizer(folder: tinyModel), Array(data.prefix(8)))
  }

  /// Σ log p(label) over the labelled tokens of one tokenized row (token t predicted from tokens < t), and how many.
  func labelledLogp(_ model: LlamaForCausalLM, ids: [Int], labels: [Int]) throws -> (sum: Double, tokens: Int) {
    let logp = try withNoGrad { try model(Tensor(ids.map(Int64.init), shape: [1, ids.count])).logSoftmax(dim: -1) }  // [1, T, V]
    let values = try logp.to(dtype: .float64, device: .cpu).scalars(as: Double.self)
    let vocabulary = values.count / ids.count
    var sum = 0.0, tokens = 0
    for t in 1..<ids.count where labels[t] != -100 {
      sum += values[(t - 1) * vocabulary + labels[t]]
      tokens += 1
    }
    return (sum, tokens)
  }

  @Test func scoresEqualAPlainForwardOverTRLsRows() throws {
    let (model, tokenizer, records) = try fixtureModel()
    model.training = false
    let (trl, rows) = try trlExpectation()
    var chosenSum = 0.0, chosenTokens = 0, margins: [Double] = []
    for row in rows.prefix(8) {
      let chosen = try labelledLogp(model, ids: try #require(row["chosen_input_ids"]), labels: try #require(row["chosen_labels"]))
      let rejected = try labelledLogp(model, ids: try #require(row["rejected_input_ids"]), labels: try #require(row["rejected_labels"]))
      chosenSum += chosen.sum
      chosenTokens += chosen.tokens
      margins.append(chosen.sum / Double(chosen.tokens) - rejected.sum / Double(rejected.tokens))
    }
    let nll = -chosenSum / Double(chosenTokens), margin = margins.reduce(0, +) / 8

    var settings = ModelEvaluationSettings()
    settings.maxLength = 64
    settings.batchSize = 3  // batches of 3, 3, 2: the token-weighted NLL does not depend on the batching
    settings.generations = 0
    let s = try ModelEvaluation.run(model: model, tokenizer: tokenizer, formatter: nil, records: records,
                                    settings: settings).scores
    #expect(s.pairs == 8)
    #expect(s.preferenceAccuracy == trl["eval_rewards/accuracies"])  // 0.625: 5 of 8
    #expect(abs(s.nll - nll) <= 1e-6 * nll, "NLL \(s.nll), by hand \(nll)")
    #expect(abs(s.perplexity - exp(nll)) <= 1e-5 * s.perplexity)
    #expect(abs(s.rewardMargin - margin) < 1e-6, "margin \(s.rewardMargin), by hand \(margin)")
    // TRL's own evaluate() differs from any of our no-grad passes by ~1e-5 relative in its average log-probs (its
    // kernels); the margin is a difference of two ≈ −6.8 values, so that is ~1e-4 absolute here.
    #expect(abs(s.rewardMargin - (trl["eval_logps/chosen"]! - trl["eval_logps/rejected"]!)) < 2e-4)
    #expect(s.rouge1.isNaN && s.generations == 0 && s.families.isEmpty)
  }

  /// Families split the pairs: each family's accuracy and margin equal that family evaluated alone, and the
  /// pair-weighted family margins add up to the overall margin. Greedy answers are the model's own generate(), and
  /// their ROUGE is rouge-score's mean F-measure against the chosen answers.
  @Test func familiesPartitionAndGenerationsAreScored() throws {
    let (model, tokenizer, plain) = try fixtureModel()
    var records = plain
    for index in records.indices { records[index].family = index % 3 == 0 ? "a" : "b" }  // a: rows 0, 3, 6
    var settings = ModelEvaluationSettings()
    settings.maxLength = 64
    settings.generations = 3
    settings.maxNewTokens = 6
    let result = try ModelEvaluation.run(model: model, tokenizer: tokenizer, formatter: nil, records: records, settings: settings)
    let s = result.scores
    #expect(s.families.keys.sorted() == ["a", "b"] && s.families["a"]?.pairs == 3 && s.families["b"]?.pairs == 5)
    var weighted = 0.0
    for family in ["a", "b"] {
      settings.generations = 0
      let alone = try ModelEvaluation.run(model: model, tokenizer: tokenizer, formatter: nil,
                                          records: records.filter { $0.family == family }, settings: settings).scores
      let part = try #require(s.families[family])
      #expect(part.preferenceAccuracy == alone.preferenceAccuracy, "family \(family)")
      #expect(abs(part.rewardMargin - alone.rewardMargin) < 1e-9, "family \(family)")
      weighted += part.rewardMargin * Double(part.pairs)
    }
    #expect(abs(weighted / 8 - s.rewardMargin) < 1e-9)

    #expect(result.prompts == records.prefix(3).map { if case .text(let p) = $0.prompt { p } else { "" } })
    #expect(result.references == ["10 plus 38 is 48.", "8 plus 59 is 67.", "24 plus 16 is 40."])
    let greedy = try model.generate(prompts: records.prefix(3).map { record -> [Int] in
      guard case .text(let p) = record.prompt else { return [] }
      return tokenizer.encode(p)
    }, config: .greedy(maxNewTokens: 6), tokenizer: tokenizer)
    #expect(result.generations == greedy.map {
      tokenizer.decode($0, skipSpecialTokens: true).trimmingCharacters(in: .whitespacesAndNewlines)
    })
    let rouge = ROUGEScorer().meanFMeasures(predictions: result.generations, references: result.references)
    #expect(s.generations == 3 && s.rouge1 == rouge.rouge1 && s.rouge2 == rouge.rouge2 && s.rougeL == rouge.rougeL)
  }
}

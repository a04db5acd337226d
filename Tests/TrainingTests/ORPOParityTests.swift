// ORPOParityTests.swift — our ORPO pipeline against TRL 1.16 on a tiny random Llama (fixtures from
// reference/make_orpo_fixtures.py): tokenized rows, one batch's loss, metrics and LoRA gradients.
import Data
import Foundation
import Models
import NN
import Testing
import Tokenization
import Torch
@testable import Training

let orpoFixture: URL = Bundle.module.url(forResource: "Fixtures/orpo", withExtension: nil)!

struct ORPOExpectation: Decodable {
  struct Row: Decodable {
    let chosen_input_ids: [Int]
    let chosen_labels: [Int]
    let rejected_input_ids: [Int]
    let rejected_labels: [Int]
  }
  struct Batch: Decodable {
    let loss: Double
    let metrics: [String: Double]
    let rows: [Int]
  }
  let rows: [Row]
  let batch: Batch
  let eval: [String: Double]
  let train: [[String: Double]]
}

func loadExpectation() throws -> ORPOExpectation {
  try JSONDecoder().decode(ORPOExpectation.self, from: Data(contentsOf: orpoFixture.appendingPathComponent("expected.json")))
}

/// |a − b| ≤ rtol·|b| + atol (atol covers metrics that are means of near-zero values, like logits/*).
func close(_ a: Double, _ b: Double, rtol: Double = 1e-5, atol: Double = 1e-7) -> Bool {
  Swift.abs(a - b) <= rtol * Swift.abs(b) + atol
}

/// The tiny model with TRL's initial adapter, the tokenizer and the fixture's data.
func fixtureSetup() throws -> (LlamaForCausalLM, Tokenizer, PreferenceDataset) {
  let (config, parameters, _) = try Checkpoint.load(orpoFixture)
  let model = try LlamaForCausalLM(config: config, parameters: parameters)
  try PEFTAdapter.load(orpoFixture.appendingPathComponent("adapter_init"), into: model)
  let tokenizer = try Tokenizer(folder: orpoFixture)
  let data = try PreferenceDataset(contentsOf: orpoFixture.appendingPathComponent("data.jsonl"))
  return (model, tokenizer, data)
}

@Suite(.serialized) struct ORPOParityTests {
  @Test func pairEncodingMatchesTRLTokenizeRow() throws {
    let (_, tokenizer, data) = try fixtureSetup()
    let expected = try loadExpectation()
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: 64)
    #expect(data.count == expected.rows.count)
    var truncated = 0
    for (record, want) in zip(data, expected.rows) {
      let got = try #require(try encoder.encode(record))
      #expect(got.chosenIDs == want.chosen_input_ids)
      #expect(got.chosenLabels == want.chosen_labels)
      #expect(got.rejectedIDs == want.rejected_input_ids)
      #expect(got.rejectedLabels == want.rejected_labels)
      if got.rejectedIDs.count == 64 { truncated += 1 }
    }
    #expect(truncated > 0, "the fixture exercises completion truncation")
  }

  @Test func batchLossMetricsAndGradientsMatchTRL() throws {
    let (model, tokenizer, data) = try fixtureSetup()
    let expected = try loadExpectation()
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: 64)
    let pairs = try expected.batch.rows.map { try #require(try encoder.encode(data[$0])) }
    let batch = try PairCollator(padTokenID: try #require(tokenizer.padTokenID))(pairs)
    let logits = try model(batch.inputIDs, attentionMask: batch.attentionMask)
    let scores = try PairScores(paddedLogits: logits, batch: batch, promptLoss: true)
    let output = try ORPOLoss(beta: 0.1).loss(policy: scores, reference: nil)
    let loss = output.loss
    #expect(close(try loss.item(), expected.batch.loss))
    for (name, value) in try output.values().metrics {
      let want = try #require(expected.batch.metrics[name], "TRL logs \(name)")
      #expect(close(value, want), "\(name): ours \(value), TRL \(want)")
    }
    try loss.backward()
    let grads = try SafeTensorsFile(url: orpoFixture.appendingPathComponent("batch_grads.safetensors"))
    let ours = model.loraParameters
    #expect(ours.count == grads.names.count)
    for (key, tensor) in ours {
      let want = try grads.tensor(key)
      let got = try #require(tensor.grad, "\(key) has a gradient")
      let relative = try (got - want).norm().item() / Swift.max(try want.norm().item(), 1e-12)
      #expect(relative < 1e-5, "\(key): relative gradient error \(relative)")
    }
  }
}

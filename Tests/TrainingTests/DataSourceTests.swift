// DataSourceTests.swift — the recipe keys that name training data (dataset folders and splits, datasets-style
// selection, column mappings, mixtures) and the same run from Parquet and from JSON Lines: the TRL parity run's
// rows in both formats train and evaluate to identical numbers, bit for bit.
import Data
import Foundation
import Testing
import Torch
@testable import Training

let dataFixtureURL = Bundle.module.url(forResource: "Fixtures/orpo", withExtension: nil)!

@Suite struct DataSourceKeyTests {
  func load(_ yaml: String, _ settings: [String] = []) throws -> TrainingConfiguration {
    try TrainingConfiguration.load(recipeText: yaml, name: "recipe.yaml",
                                   overrides: try settings.map(ConfigurationOverride.init(setting:)))
  }

  func message(_ yaml: String, _ settings: [String] = []) -> String {
    do { _ = try load(yaml, settings); return "" } catch { return "\(error)" }
  }

  @Test func folderSplitSelectionAndMappingKeys() throws {
    let c = try load("""
      dataset: data/ultrafeedback_binarized
      dataset_split: train_prefs
      dataset_shuffle_seed: 42
      dataset_num_rows: 1000
      column_mapping: {question: prompt, response_j: chosen}
      eval_dataset: data/ultrafeedback_binarized
      eval_dataset_split: test_prefs
      """)
    #expect(c.datasetSplit == "train_prefs" && c.datasetShuffleSeed == 42 && c.datasetNumRows == 1000)
    #expect(c.columnMapping == (try ColumnMapping(["question": "prompt", "response_j": "chosen"])))
    #expect(c.evalDatasetSplit == "test_prefs")
    #expect(try load("dataset: a.parquet", ["dataset_split=train_prefs"]).datasetSplit == "train_prefs")
  }

  @Test func aMixture() throws {
    let c = try load("""
      datasets:
        - {path: data/uf, split: train_prefs, shuffle_seed: 42, num_rows: 300}
        - path: data/mix.parquet
          weight: 0.5
          column_mapping: {question: prompt}
      dataset_num_rows: 500
      """)
    #expect(c.datasets == [
      DatasetSource(path: "data/uf", split: "train_prefs", shuffleSeed: 42, rowCount: 300),
      DatasetSource(path: "data/mix.parquet", columnMapping: try ColumnMapping(["question": "prompt"]), weight: 0.5),
    ])
    #expect(c.datasetNumRows == 500)
  }

  @Test func mistakesNameTheKey() {
    #expect(message("dataset: a.jsonl\ncolumn_mapping: [prompt]")
            == "recipe.yaml:2: key \"column_mapping\": expected a mapping of old column names to new ones, each new name "
            + "once, found a list")
    #expect(message("datasets:\n  - {path: a.jsonl, num_rows: 3, weight: 1}").hasPrefix(
      "recipe.yaml:1: key \"datasets\": expected a list of data sets, each a mapping with path"))
    #expect(message("dataset: a.jsonl\ndatasets: [{path: b.jsonl}]")
            == "recipe.yaml:2: key \"datasets\": dataset (a.jsonl) is also set; give one of them")
    #expect(message("dataset: synthetic\ndataset_split: train_prefs")
            == "recipe.yaml:2: key \"dataset_split\": applies to a dataset file or folder, not the built-in synthetic data")
    #expect(message("datasets: [{path: b.jsonl}]\ndataset_shuffle_seed: 1")
            == "recipe.yaml:2: key \"dataset_shuffle_seed\": applies to dataset; give each entry of datasets its own")
    #expect(message("dataset: a.jsonl\ndataset_num_rows: 0")
            == "recipe.yaml:2: key \"dataset_num_rows\": must be at least 1, got 0")
  }

  @Test func trainingDataFollowsTheKeys() throws {
    var config = TrainingConfiguration()
    config.dataset = dataFixtureURL.appendingPathComponent("data.parquet").path
    config.datasetShuffleSeed = 42
    config.datasetNumRows = 5
    let (picked, reports) = try TrainingRun.trainingData(config)
    let all = try PreferenceDataset(contentsOf: dataFixtureURL.appendingPathComponent("data.jsonl"))
    #expect(reports.isEmpty && picked.count == 5)
    // datasets' shuffle(seed=42).select(range(5)), on the same rows read from JSON Lines.
    #expect(picked.records == (try all.shuffled(seed: 42)).first(5).records.map { var record = $0; record.sourceLine = nil; return record })
    config.dataset = nil
    config.datasetShuffleSeed = nil
    config.datasetNumRows = 30
    config.datasets = [DatasetSource(path: dataFixtureURL.appendingPathComponent("data.parquet").path, weight: 1),
                       DatasetSource(path: dataFixtureURL.appendingPathComponent("data.jsonl").path, weight: 2)]
    #expect(try TrainingRun.trainingData(config).0.count == 30)
  }
}

@Suite(.serialized) struct ParquetTrainingParityTests {
  /// Trains 4 steps (shuffled, with evaluation) from `file` and returns every logged number and the adapter bytes.
  func run(_ file: String) throws -> (logs: [[String: Double]], evaluation: [String: Double], adapter: [UInt8]) {
    var config = fixtureConfiguration(paddingFree: true)
    config.maxSteps = 4
    config.shuffle = true
    let (model, tokenizer, _) = try fixtureSetup()
    let data = try PreferenceReader().read(contentsOf: dataFixtureURL.appendingPathComponent(file)).dataset
    let encoder = PairEncoder(tokenizer: tokenizer, formatter: nil, maxLength: config.maxLength)
    let pairs = try data.map { try #require(try encoder.encode($0)) }
    let trainer = try Trainer(config: config, model: model, padTokenID: tokenizer.padTokenID!, trainPairs: pairs,
                              evalPairs: Array(pairs.suffix(8)), objectives: config.objectiveSchedule)
    var logs: [[String: Double]] = []
    trainer.onLog = { log in logs.append(Dictionary(log.values.filter { $0.0 != "train_runtime" && !$0.0.hasSuffix("per_second") },
                                                   uniquingKeysWith: { a, _ in a })) }
    Torch.manualSeed(11)
    _ = try trainer.train()
    let evaluation = Dictionary(try trainer.evaluate(), uniquingKeysWith: { a, _ in a })
    return (logs, evaluation, try trainer.model.loraParameters.flatMap { try $0.tensor.bytes() })
  }

  @Test func parquetAndJSONLinesTrainIdentically() throws {
    let jsonl = try PreferenceDataset(contentsOf: dataFixtureURL.appendingPathComponent("data.jsonl"))
    let parquet = try PreferenceDataset(contentsOf: dataFixtureURL.appendingPathComponent("data.parquet"))
    #expect(parquet.records == jsonl.records.map { var record = $0; record.sourceLine = nil; return record })
    let fromJSONL = try run("data.jsonl")
    let fromParquet = try run("data.parquet")
    #expect(fromJSONL.logs.count >= 4)
    #expect(fromParquet.logs == fromJSONL.logs)
    #expect(fromParquet.evaluation == fromJSONL.evaluation)
    #expect(fromParquet.adapter == fromJSONL.adapter)
  }
}

// ParquetPreferencesTests.swift — the same rows from Parquet (written by pyarrow 26.0.1 / datasets 5.2.0,
// reference/make_parquet_fixtures.py) and from their JSON Lines give identical records, reports and messages;
// column mappings rename columns in both.

import Foundation
import Testing
@testable import Data

let dataFixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
func dataFixture(_ path: String) -> URL { dataFixtures.appendingPathComponent(path) }

/// The records without the JSON Lines line numbers (Parquet rows have none).
func withoutLines(_ dataset: PreferenceDataset) -> [PreferenceRecord] {
  dataset.records.map { var record = $0; record.sourceLine = nil; return record }
}

func readError(_ url: URL, mapping: [String: String] = [:]) -> String? {
  do {
    _ = try PreferenceReader(columnMapping: try ColumnMapping(mapping)).read(contentsOf: url)
    return nil
  } catch {
    return "\(error)"
  }
}

@Suite struct ParquetPreferencesTests {
  @Test func ultrafeedbackParquetEqualsItsJSONLines() throws {
    let (parquet, report) = try PreferenceReader().read(contentsOf: dataFixture("ultrafeedback/data/train_prefs-00000-of-00001.parquet"))
    let jsonl = try PreferenceDataset(contentsOf: dataFixture("ultrafeedback-train_prefs.jsonl"))
    #expect(parquet.count == 40 && report == ReadReport(keptCount: 40))
    #expect(parquet.records == withoutLines(jsonl))
    #expect(parquet.sourceName == "train_prefs-00000-of-00001.parquet")
    // UltraFeedback's shape: the prompt is the shared turns, system and earlier turns included.
    #expect(parquet.records.filter(\.isConversational).count == 40)
    #expect(parquet.contains { $0.prompt.messages?.first?.role == "system" })
  }

  @Test func orpoDPOMixShardsEqualTheirJSONLines() throws {
    let reader = PreferenceReader()
    let first = try reader.read(contentsOf: dataFixture("orpo-dpo-mix/data/train-00000-of-00002.parquet")).dataset
    let second = try reader.read(contentsOf: dataFixture("orpo-dpo-mix/data/train-00001-of-00002.parquet")).dataset
    let jsonl = try PreferenceDataset(contentsOf: dataFixture("orpo-dpo-mix.jsonl"))
    #expect(first.count == 17 && second.count == 13)
    #expect(first.records + second.records == withoutLines(jsonl))
  }

  @Test func plainStringsEqualTheirJSONLines() throws {
    let parquet = try PreferenceDataset(contentsOf: dataFixture("plain.parquet"))
    let jsonl = try PreferenceDataset(contentsOf: dataFixture("plain.jsonl"))
    #expect(parquet.count == 20 && parquet.records == withoutLines(jsonl))
    #expect(!parquet[0].isConversational)
  }

  @Test func aBadRowGivesTheSameMessageNamingTheRow() throws {
    #expect(readError(dataFixture("plain-null.parquet"))
            == "plain-null.parquet: row 3: field \"chosen\": expected a string or a list of messages, found null")
    #expect(readError(dataFixture("plain-null.jsonl"))
            == "plain-null.jsonl:4: field \"chosen\": expected a string or a list of messages, found null")
    let (dataset, report) = try PreferenceReader(skipInvalid: true).read(contentsOf: dataFixture("plain-null.parquet"))
    #expect(dataset.count == 3 && report.keptCount == 3 && report.skippedCount == 1)
    #expect(report.examples.first?.row == 3)
  }

  @Test func aBrokenParquetFileIsADataErrorNamingFileAndPlace() throws {
    let bytes = [UInt8](try Data(contentsOf: dataFixture("plain.parquet")))
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("cut-\(getpid()).parquet")
    defer { try? FileManager.default.removeItem(at: url) }
    try Data(bytes.prefix(bytes.count / 2)).write(to: url)
    #expect(readError(url) == "\(url.lastPathComponent): not a Parquet file: it does not end with \"PAR1\"")
  }

  @Test func columnMappingRenamesParquetColumns() throws {
    // Swapping chosen and rejected: both old names are renamed away, so neither collides.
    let mapping = try ColumnMapping(["chosen": "rejected", "rejected": "chosen"])
    let swapped = try PreferenceReader(columnMapping: mapping).read(contentsOf: dataFixture("plain.parquet")).dataset
    let plain = try PreferenceDataset(contentsOf: dataFixture("plain.parquet"))
    #expect(swapped.records == plain.records.map {
      PreferenceRecord(prompt: $0.prompt, chosen: $0.rejected, rejected: $0.chosen)
    })
    #expect(readError(dataFixture("plain.parquet"), mapping: ["question": "prompt"])
            == "plain.parquet: the column mapping renames \"question\", but the file has no such column (it has "
            + "\"prompt\", \"chosen\", \"rejected\", \"score\")")
    #expect(readError(dataFixture("plain.parquet"), mapping: ["score": "prompt"])
            == "plain.parquet: the column mapping renames \"score\" to \"prompt\", but the file already has a \"prompt\" "
            + "column")
  }

  @Test func columnMappingRenamesJSONLinesColumnsAndErrorsNameTheOldColumn() throws {
    let mapping = try ColumnMapping(["question": "prompt", "response_j": "chosen", "response_k": "rejected"])
    let text = """
      {"question": "2 + 2 =", "response_j": " 4", "response_k": " 5"}
      {"question": "3 + 3 =", "response_j": 6, "response_k": " 7"}
      """
    let reader = PreferenceReader(skipInvalid: true, columnMapping: mapping)
    let (dataset, report) = try reader.read(text: text, sourceName: "se.jsonl")
    #expect(dataset.records == [PreferenceRecord(prompt: .text("2 + 2 ="), chosen: .text(" 4"), rejected: .text(" 5"),
                                                 sourceLine: 1)])
    #expect(report.examples.map(\.description)
            == ["se.jsonl:2: field \"response_j\": expected a string or a list of messages, found number"])
    #expect(throws: DataError(message: "column mapping renames both \"a\" and \"b\" to \"prompt\"")) {
      try ColumnMapping(["a": "prompt", "b": "prompt"])
    }
  }
}

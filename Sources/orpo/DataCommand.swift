// DataCommand.swift — `orpo data`: write the built-in synthetic preference data, and check a data file.
import ArgumentParser
import Foundation
import ORPOKit

struct DataCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "data", abstract: "Preference data: generate the built-in set, or check a file.",
    subcommands: [Synth.self, Check.self])

  struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write the built-in synthetic preference data (train.jsonl, test.jsonl, manifest, README).")
    @Option(help: "Output folder.") var out: String
    @Option(help: "Seed of the train split (the test split uses seed + 1).") var seed: Int = SyntheticPreferences.defaultTrainSeed
    @Option(help: "Training pairs.") var train: Int = 2000
    @Option(help: "Held-out pairs (questions never seen in train).") var test: Int = 200

    func validate() throws {
      guard train >= 1, test >= 0 else { throw ValidationError("--train must be at least 1 and --test at least 0") }
    }

    func run() throws {
      let testSeed = seed == SyntheticPreferences.defaultTrainSeed ? SyntheticPreferences.defaultTestSeed : seed + 1
      let manifest = try SyntheticPreferences.write(to: URL(fileURLWithPath: out), trainCount: train, testCount: test,
                                                    trainSeed: seed, testSeed: testSeed)
      let families = manifest.trainFamilyCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
      print("wrote \(train) train and \(test) test pairs to \(out) (\(families.joined(separator: ", ")))")
    }
  }

  struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read a preference file (or a dataset folder's split) and report its rows and any errors.")
    @Argument(help: "A .jsonl, .json or .parquet file, or a dataset folder (Hub layout).") var file: String
    @Option(help: "The split of a dataset folder (default: train).") var split: String?
    @Flag(name: .customLong("skip-invalid"), help: "Report every bad row instead of stopping at the first.") var skipInvalid = false

    func run() throws {
      let (dataset, report) = try DatasetSource(path: file, split: split).readAll(skipInvalid: skipInvalid)
      let conversational = dataset.filter(\.isConversational).count
      print("\(file): \(dataset.count) valid rows (\(conversational) conversational, \(dataset.count - conversational) plain)")
      if report.skippedCount > 0 { print(report) }
    }
  }
}

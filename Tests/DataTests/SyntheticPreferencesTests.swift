// SyntheticPreferencesTests.swift — the built-in synthetic data: byte-identical to reference/make_prefs.py for the
// make_prefs recipe, deterministic, disjoint train/test, every family present, and answers that are actually right.

import ChatTemplates
import Foundation
import Testing
@testable import Data

/// FNV-1a, 64 bits, over the UTF-8 bytes of `text`.
func fnv1a(_ text: String) -> UInt64 {
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325
  for byte in text.utf8 {
    hash ^= UInt64(byte)
    hash = hash &* 0x100_0000_01b3
  }
  return hash
}

@Suite struct MakePrefsParityTests {
  @Test func smallRunIsByteIdenticalToMakePrefs() {
    let (train, test) = SyntheticPreferences.makeSplits(trainCount: 24, testCount: 8, recipe: .makePrefs())
    #expect(train.jsonLines == MakePrefsFixture.train + "\n")
    #expect(test.jsonLines == MakePrefsFixture.test + "\n")
  }

  @Test func defaultRunHashesMatchMakePrefs() {
    let (train, test) = SyntheticPreferences.makeSplits(recipe: .makePrefs())
    let trainText = train.jsonLines
    let testText = test.jsonLines
    #expect(trainText.utf8.count == MakePrefsFixture.defaultTrainBytes)
    #expect(fnv1a(trainText) == MakePrefsFixture.defaultTrainHash)
    #expect(testText.utf8.count == MakePrefsFixture.defaultTestBytes)
    #expect(fnv1a(testText) == MakePrefsFixture.defaultTestHash)
  }

  @Test func otherSeedsAndFractionMatchMakePrefs() {
    let (train, test) = SyntheticPreferences.makeSplits(trainCount: 300, testCount: 50, trainSeed: 7, testSeed: 8,
                                                        recipe: .makePrefs(arithmeticFraction: 0.35))
    #expect(fnv1a(train.jsonLines) == MakePrefsFixture.mixedTrainHash)
    #expect(fnv1a(test.jsonLines) == MakePrefsFixture.mixedTestHash)
  }

  /// Runs the reference script itself when python3 and make_prefs.py are at hand (set ORPO_MAKE_PREFS to its path).
  static var makePrefsScript: String? {
    let candidates = [ProcessInfo.processInfo.environment["ORPO_MAKE_PREFS"], "reference/make_prefs.py"].compactMap { $0 }
    return candidates.first { FileManager.default.fileExists(atPath: $0) }
  }

  @Test(.enabled(if: makePrefsScript != nil)) func writerMatchesLiveMakePrefsRun() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("make-prefs-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: folder) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", Self.makePrefsScript!, "--out-dir", folder.appendingPathComponent("python").path,
                         "--n-train", "150", "--n-test", "40", "--train-seed", "99", "--test-seed", "100"]
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0)
    let swiftFolder = folder.appendingPathComponent("swift")
    try SyntheticPreferences.write(to: swiftFolder, trainCount: 150, testCount: 40, trainSeed: 99, testSeed: 100,
                                   recipe: .makePrefs())
    for name in ["train.jsonl", "test.jsonl"] {
      let python = try Data(contentsOf: folder.appendingPathComponent("python/\(name)"))
      let swift = try Data(contentsOf: swiftFolder.appendingPathComponent(name))
      #expect(python == swift, "\(name) differs from make_prefs.py")
    }
  }
}

@Suite struct SyntheticPreferencesTests {
  @Test func sameSeedSameRowsOtherSeedOtherRows() {
    let first = SyntheticPreferences.generate(seed: 11, count: 200)
    let again = SyntheticPreferences.generate(seed: 11, count: 200)
    let other = SyntheticPreferences.generate(seed: 12, count: 200)
    #expect(first == again)
    #expect(first.records != other.records)
  }

  @Test func trainAndTestQuestionsAreDisjoint() {
    let (train, test) = SyntheticPreferences.makeSplits(trainCount: 1000, testCount: 300)
    let trainQuestions = Set(train.records.map(SyntheticPreferences.question(of:)))
    let testQuestions = Set(test.records.map(SyntheticPreferences.question(of:)))
    #expect(train.count == 1000 && test.count == 300)
    #expect(trainQuestions.isDisjoint(with: testQuestions))
    // Test-only facts: no test capital question names a country asked about in train's capitals family.
    let trainCountries = Set(train.records.filter { $0.family == "capitals" }.map(SyntheticPreferences.question(of:))
      .compactMap { $0.split(separator: " ").last.map { String($0.dropLast()) } })
    let testCountries = Set(test.records.filter { $0.family == "capitals" }.map(SyntheticPreferences.question(of:))
      .compactMap { $0.split(separator: " ").last.map { String($0.dropLast()) } })
    #expect(!testCountries.isEmpty && trainCountries.isDisjoint(with: testCountries))
    // Unit conversions: test asks only about the test-only conversions (every 5th of the bank), train never does.
    func conversionIndex(_ record: PreferenceRecord) -> Int {
      let question = SyntheticPreferences.question(of: record)
      let amount = numbers(in: question)[0]
      return SyntheticBanks.conversions.firstIndex {
        (question.contains("\(amount) \($0.0) ") || question.hasSuffix("\(amount) \($0.0)?")) && question.contains(" \($0.1)")
      }!
    }
    let testConversions = Set(test.records.filter { $0.family == "units" }.map(conversionIndex))
    let trainConversions = Set(train.records.filter { $0.family == "units" }.map(conversionIndex))
    #expect(testConversions == [0, 5, 10])
    #expect(trainConversions == Set(0..<12).subtracting([0, 5, 10]))
  }

  @Test func everyFamilyIsPresentAndChosenDiffersFromRejected() {
    let dataset = SyntheticPreferences.generate(seed: 3, count: 400)
    #expect(Set(dataset.records.compactMap(\.family)) == Set(SyntheticPreferences.Family.allCases.map(\.rawValue)))
    for record in dataset.records {
      #expect(record.chosen != record.rejected)
      #expect(record.prompt.messages?.map(\.role) == ["user"])
      #expect(record.chosen.messages?.map(\.role) == ["assistant"])
      #expect(record.rejected.messages?.map(\.role) == ["assistant"])
    }
  }

  @Test func rowsAreShort() {
    // ~4 characters per token: typical pairs should stay well under the 256-token default max_length.
    let dataset = SyntheticPreferences.generate(seed: 5, count: 500)
    let lengths = dataset.records.map { record in
      [record.prompt, record.chosen, record.rejected].map { $0.messages!.map(\.content.count).reduce(0, +) }.reduce(0, +)
    }
    #expect(lengths.max()! < 600)
    #expect(Double(lengths.reduce(0, +)) / Double(lengths.count) < 250)
  }

  @Test func plainFormatFramesTheQuestion() {
    let record = SyntheticPreferences.generate(seed: 1, count: 1, format: .plain)[0]
    let conversational = SyntheticPreferences.generate(seed: 1, count: 1)[0]
    let question = conversational.prompt.messages![0].content
    #expect(record.prompt == .text("Question: \(question)\nAnswer:"))
    #expect(record.chosen == .text(" " + conversational.chosen.messages![0].content))
    #expect(SyntheticPreferences.question(of: record) == question)
  }

  // MARK: answers are right

  /// Numbers in a string, in order.
  func numbers(in text: String) -> [Int] {
    text.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
  }

  func content(_ turns: Turns) -> String { turns.messages![0].content }

  @Test func arithmeticChosenIsRightAndRejectedWrong() {
    let rows = SyntheticPreferences.generate(seed: 21, count: 600).records.filter { $0.family == "arith" }
    #expect(rows.count > 100)
    for row in rows {
      let question = content(row.prompt)
      let operands = numbers(in: question)
      #expect(operands.count == 2)
      let (a, b) = (operands[0], operands[1])
      let expected: Int
      if question.contains("+") || question.contains("plus") || question.contains("Add") || question.contains("add") {
        expected = a + b
      } else if question.contains("Subtract") {
        expected = b - a  // "Subtract {b} from {a}": operands appear as b, a
      } else if question.contains("less than") {
        expected = b - a  // "What is {b} less than {a}?"
      } else if question.contains("-") || question.contains("minus") {
        expected = a - b
      } else {
        expected = a * b
      }
      #expect(numbers(in: content(row.chosen)).last == expected, "\(question) -> \(content(row.chosen))")
      #expect(numbers(in: content(row.rejected)).last != expected, "\(question) -> \(content(row.rejected))")
    }
  }

  @Test func factFamiliesAreRight() {
    let rows = SyntheticPreferences.generate(seed: 8, count: 800).records
    let capitals = Dictionary(uniqueKeysWithValues: SyntheticBanks.capitals)
    for row in rows where row.family == "capitals" {
      let question = content(row.prompt)
      let country = capitals.keys.first { question.hasSuffix(" \($0)?") || question.hasSuffix(" \($0).") }!
      #expect(content(row.chosen).contains(capitals[country]!))
      #expect(!content(row.rejected).contains(capitals[country]!))
    }
    for row in rows where row.family == "antonyms" {
      let entry = SyntheticBanks.antonyms.first { content(row.prompt).contains("\"\($0.0)\"") }!
      #expect(content(row.chosen).contains("\"\(entry.1)\""))
      #expect(content(row.rejected).contains("\"\(entry.2)\""))
    }
    for row in rows where row.family == "spelling" {
      let entry = SyntheticBanks.spellings.first { content(row.prompt).contains("\"\($0.0)\"") }!
      #expect(content(row.chosen).contains("\"\(entry.0)\""))
      #expect(content(row.rejected).contains("\"\(entry.1)\""))
    }
  }

  @Test func unitsSortingAndFormatAreRight() {
    let rows = SyntheticPreferences.generate(seed: 9, count: 800).records
    var seen: Set<String> = []
    for row in rows {
      guard let family = row.family else { continue }
      seen.insert(family)
      switch family {
      case "units":
        let question = content(row.prompt)
        let amount = numbers(in: question)[0]
        let conversion = SyntheticBanks.conversions.first {
          (question.contains("\(amount) \($0.0) ") || question.hasSuffix("\(amount) \($0.0)?"))
            && question.contains(" \($0.1)")
        }!
        #expect(numbers(in: content(row.chosen)).last == amount * conversion.2)
        #expect(numbers(in: content(row.rejected)).last != amount * conversion.2)
      case "sorting":
        let given = numbers(in: content(row.prompt))
        #expect(numbers(in: content(row.chosen)) == given.sorted())
        let wrong = numbers(in: content(row.rejected))
        #expect(wrong != given.sorted() && wrong.sorted() == given.sorted())
      case "format":
        #expect(content(row.chosen).hasPrefix("Answer: "))
        #expect(!content(row.rejected).hasPrefix("Answer: "))
        // The same answer, in another format.
        let answer = String(content(row.chosen).dropFirst("Answer: ".count))
        #expect(content(row.rejected).contains(answer))
        let question = content(row.prompt)
        let operands = numbers(in: question)
        if question.contains(" + ") { #expect(Int(answer) == operands[0] + operands[1]) }
        if question.contains(" - ") { #expect(Int(answer) == operands[0] - operands[1]) }
      case "concise":
        #expect(content(row.chosen).count * 3 < content(row.rejected).count)
      default:
        break
      }
    }
    #expect(seen.isSuperset(of: ["units", "sorting", "format", "concise"]))
  }

  @Test func writerProducesFilesAndManifest() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("synthetic-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: folder) }
    let manifest = try SyntheticPreferences.write(to: folder, trainCount: 120, testCount: 30, trainSeed: 1, testSeed: 2)
    #expect(manifest.trainCount == 120 && manifest.testCount == 30)
    let train = try PreferenceDataset(contentsOf: folder.appendingPathComponent("train.jsonl"))
    let test = try PreferenceDataset(contentsOf: folder.appendingPathComponent("test.jsonl"))
    let expected = SyntheticPreferences.makeSplits(trainCount: 120, testCount: 30, trainSeed: 1, testSeed: 2)
    #expect(train.records.map { strippingLines($0) } == expected.train.records)
    #expect(test.records.map { strippingLines($0) } == expected.test.records)
    #expect(train.familyCounts == manifest.trainFamilyCounts)
    let manifestText = try String(contentsOf: folder.appendingPathComponent("manifest.json"), encoding: .utf8)
    #expect(manifestText.contains("\"recipe\": \"standard\""))
    #expect(manifestText.contains("\"rows\": 120"))
    let readme = try String(contentsOf: folder.appendingPathComponent("README.md"), encoding: .utf8)
    for family in SyntheticPreferences.Family.allCases { #expect(readme.contains("| `\(family.rawValue)` |")) }
  }

  func strippingLines(_ record: PreferenceRecord) -> PreferenceRecord {
    var copy = record
    copy.sourceLine = nil
    return copy
  }
}

// ROUGETests.swift — ROUGE-1/2/L and the Porter stemmer against rouge-score 0.1.2 / nltk 3.10.4
// (fixtures from reference/make_rouge_fixtures.py), a score worked by hand, and `orpo rouge` as a user runs it.
import Foundation
import Testing
@testable import Evaluation

func fixtureURL(_ path: String) throws -> URL {
  let url = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures").appendingPathComponent(path)
  try #require(FileManager.default.fileExists(atPath: url.path), "missing fixture \(path)")
  return url
}

struct PorterStemmerTests {
  @Test func everyWordOfTheFixtureStemsAsNLTK() throws {
    let text = try String(contentsOf: fixtureURL("rouge/stems.tsv"), encoding: .utf8)
    let stemmer = PorterStemmer()
    var checked = 0, wrong: [String] = []
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
      let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
      try #require(fields.count == 2, "bad fixture line \(line)")
      let got = stemmer.stem(String(fields[0]))
      if got != fields[1] { wrong.append("\(fields[0]) → \(got), nltk \(fields[1])") }
      checked += 1
    }
    #expect(checked > 2500)
    #expect(wrong.isEmpty, "\(wrong.prefix(20))")
  }

  /// The examples of Porter's paper, as nltk's NLTK_EXTENSIONS mode changes some of them.
  @Test func paperExamplesAndNLTKExtensions() {
    let s = PorterStemmer()
    let cases = ["caresses": "caress", "ponies": "poni", "ties": "tie", "cats": "cat", "agreed": "agre",
                 "feed": "feed", "motoring": "motor", "hopping": "hop", "filing": "file", "happy": "happi",
                 "enjoy": "enjoy", "relational": "relat", "dies": "die", "spied": "spi", "skies": "sky",
                 "dying": "die", "generalizations": "gener", "controll": "control", "is": "is", "A": "a"]
    for (word, stem) in cases { #expect(s.stem(word) == stem, "\(word)") }
  }
}

struct ROUGETests {
  struct Fixture: Decodable {
    struct Pair: Decodable {
      var target: String
      var prediction: String
      var tokens: [[String]]
      var rouge1: [Double]
      var rouge2: [Double]
      var rougeL: [Double]
    }
    var versions: [String: String]
    var pairs: [Pair]
    var mean: [String: Double]
  }

  func load() throws -> Fixture {
    try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: fixtureURL("rouge/pairs.json")))
  }

  @Test func tokensAndScoresEqualRougeScore() throws {
    let fixture = try load()
    #expect(fixture.versions["rouge-score"] == "0.1.2")
    #expect(fixture.pairs.count >= 200)
    let scorer = ROUGEScorer()
    for (i, pair) in fixture.pairs.enumerated() {
      #expect(scorer.tokenize(pair.target) == pair.tokens[0], "pair \(i) target tokens")
      #expect(scorer.tokenize(pair.prediction) == pair.tokens[1], "pair \(i) prediction tokens")
      let s = scorer.score(reference: pair.target, prediction: pair.prediction)
      for (name, got, want) in [("rouge1", s.rouge1, pair.rouge1), ("rouge2", s.rouge2, pair.rouge2),
                                ("rougeL", s.rougeL, pair.rougeL)] {
        #expect(abs(got.precision - want[0]) <= 1e-6 && abs(got.recall - want[1]) <= 1e-6
                && abs(got.fmeasure - want[2]) <= 1e-6, "pair \(i) \(name): \(got) vs \(want)")
      }
    }
    let mean = scorer.meanFMeasures(predictions: fixture.pairs.map(\.prediction), references: fixture.pairs.map(\.target))
    #expect(abs(mean.rouge1 - fixture.mean["rouge1"]!) <= 1e-6)
    #expect(abs(mean.rouge2 - fixture.mean["rouge2"]!) <= 1e-6)
    #expect(abs(mean.rougeL - fixture.mean["rougeL"]!) <= 1e-6)
  }

  /// rouge-score's README example, worked by hand. Reference "The quick brown fox jumps over the lazy dog" →
  /// the quick brown fox jump over the lazi dog (9 tokens); prediction "The quick brown dog jumps on the log." →
  /// the quick brown dog jump on the log (8 tokens).
  /// ROUGE-1: overlap the×2, quick, brown, dog, jump = 6 → P 6/8, R 6/9, F 2·(3/4)(2/3)/(3/4 + 2/3) = 12/17.
  /// ROUGE-2: bigrams in common "the quick", "quick brown" = 2 → P 2/7, R 2/8, F 8/30 = 4/15.
  /// ROUGE-L: LCS the quick brown jump the = 5 → P 5/8, R 5/9, F 2·(5/8)(5/9)/(5/8 + 5/9) = 10/17.
  @Test func readmeExampleByHand() {
    let s = ROUGEScorer().score(reference: "The quick brown fox jumps over the lazy dog",
                                prediction: "The quick brown dog jumps on the log.")
    #expect(abs(s.rouge1.precision - 6.0 / 8) < 1e-12 && abs(s.rouge1.recall - 6.0 / 9) < 1e-12)
    #expect(abs(s.rouge1.fmeasure - 12.0 / 17) < 1e-12)
    #expect(abs(s.rouge2.fmeasure - 4.0 / 15) < 1e-12)
    #expect(abs(s.rougeL.fmeasure - 10.0 / 17) < 1e-12)
    #expect(ROUGEScorer().score(reference: "", prediction: "") == ROUGEScores(rouge1: .zero, rouge2: .zero, rougeL: .zero))
  }
}

struct TextListTests {
  func write(_ text: String, _ name: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-textlist-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let url = dir.appendingPathComponent(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
  }

  @Test func linesAndJSONL() throws {
    #expect(try TextList.read(write("a b\n\nc\r\nd\n", "p.txt")) == ["a b", "", "c", "d"])
    #expect(try TextList.read(write("only", "p.txt")) == ["only"])
    #expect(try TextList.read(write("{\"text\": \"x\\ny\", \"id\": 1}\n\n{\"text\": \"\"}\n", "p.jsonl")) == ["x\ny", ""])
  }

  @Test func badRowsNameFileAndLine() throws {
    let path = try write("{\"text\": \"ok\"}\n{\"txt\": \"no\"}\n", "bad.jsonl")
    #expect(throws: TextListError.self) { try TextList.read(path) }
    do { _ = try TextList.read(path) } catch { #expect("\(error)" == "\(path):2: field \"text\" is missing") }
    let numbers = try write("{\"text\": 3}\n", "n.jsonl")
    do { _ = try TextList.read(numbers) } catch { #expect("\(error)".hasSuffix("n.jsonl:1: field \"text\": expected a string")) }
  }
}

// MARK: the command

func orpoExecutable() -> URL? {
  let products = Bundle.main.bundleURL.deletingLastPathComponent()
  let candidates = [products.appendingPathComponent("orpo"), Bundle.main.bundleURL.appendingPathComponent("orpo")]
  return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
}

func runOrpo(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
  let process = Process()
  guard let executable = orpoExecutable() else { throw TextListError.unreadable(path: "orpo", reason: "not built beside the tests") }
  process.executableURL = executable
  process.arguments = arguments
  let output = Pipe(), errors = Pipe()
  process.standardOutput = output
  process.standardError = errors
  try process.run()
  let out = output.fileHandleForReading.readDataToEndOfFile()
  let err = errors.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

@Suite(.serialized, .enabled(if: orpoExecutable() != nil, "the orpo executable is not built beside the tests"))
struct RougeCommandTests {
  /// The fixture's pairs written as JSONL predictions and plain-line references (texts without newlines): the
  /// printed means equal rouge-score's.
  @Test func printsTheMeanFMeasures() throws {
    let fixture = try ROUGETests().load()
    let pairs = fixture.pairs.filter { !$0.target.contains(where: \.isNewline) }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-rouge-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let predictions = dir.appendingPathComponent("predictions.jsonl"), references = dir.appendingPathComponent("references.txt")
    let rows = try pairs.map { String(decoding: try JSONSerialization.data(withJSONObject: ["text": $0.prediction]), as: UTF8.self) }
    try (rows.joined(separator: "\n") + "\n").write(to: predictions, atomically: true, encoding: .utf8)
    try (pairs.map(\.target).joined(separator: "\n") + "\n").write(to: references, atomically: true, encoding: .utf8)
    let r = try runOrpo(["rouge", "--predictions", predictions.path, "--references", references.path])
    #expect(r.status == 0, "\(r.errors)")
    let printed = try #require(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Double])
    #expect(Set(printed.keys) == ["rouge1", "rouge2", "rougeL"])
    let n = Double(pairs.count)
    #expect(abs(printed["rouge1"]! - pairs.map { $0.rouge1[2] }.reduce(0, +) / n) <= 1e-6)
    #expect(abs(printed["rouge2"]! - pairs.map { $0.rouge2[2] }.reduce(0, +) / n) <= 1e-6)
    #expect(abs(printed["rougeL"]! - pairs.map { $0.rougeL[2] }.reduce(0, +) / n) <= 1e-6)

    try "one\n".write(to: references, atomically: true, encoding: .utf8)
    let mismatch = try runOrpo(["rouge", "--predictions", predictions.path, "--references", references.path])
    #expect(mismatch.status != 0 && mismatch.errors.contains("expected one prediction per reference"))
    #expect(mismatch.output.isEmpty)
  }
}

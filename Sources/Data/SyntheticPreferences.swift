// SyntheticPreferences.swift — the built-in synthetic preference data: seeded task families with a clear right
// answer, held-out test rows with prompts unseen in training, and a writer for train.jsonl/test.jsonl/README/manifest.

import ChatTemplates
import Foundation
import Support

/// Synthetic preference pairs a small instruct model learns in minutes (ORPO + LoRA on a CPU). Every family has
/// a visible right answer: a correct sum against an off-by-one, a concise answer against a rambling one, the asked
/// `Answer: X` format against another format, the right capital, conversion factor, antonym, spelling or order.
///
/// Rows are conversational by default (prompt = one user message, chosen/rejected = one assistant message each)
/// and carry their family in `family`. Everything is drawn from `PythonRandom`: a seed fixes the output on every
/// platform, and `Recipe.makePrefs()` reproduces `reference/make_prefs.py` byte for byte.
public enum SyntheticPreferences {
  /// A task family; the raw value is the `family` label written in each row.
  public enum Family: String, CaseIterable, Sendable {
    /// Small-integer arithmetic; rejected is off by 1–3 or by one multiplicand (make_prefs.py "arith").
    case arithmetic = "arith"
    /// Short factual questions; chosen is concise, rejected rambles around the same fact (make_prefs.py "concise").
    case concise
    /// Capital cities; rejected names the wrong capital.
    case capitals
    /// The prompt asks for `Answer: X`; rejected has the right answer in another format.
    case answerFormat = "format"
    /// Unit conversion; rejected uses a wrong factor.
    case unitConversion = "units"
    /// Antonyms; rejected gives a synonym.
    case antonyms
    /// Which of two spellings is right; rejected picks the misspelling.
    case spelling
    /// Sorting a short list of numbers; rejected swaps two neighbours or sorts descending.
    case sorting

    func generate(_ random: inout PythonRandom, _ split: Split) -> SyntheticItem {
      switch self {
      case .arithmetic: return SyntheticFamilyGenerators.arithmetic(&random, split)
      case .concise: return SyntheticFamilyGenerators.concise(&random, split)
      case .capitals: return SyntheticFamilyGenerators.capitals(&random, split)
      case .answerFormat: return SyntheticFamilyGenerators.answerFormat(&random, split)
      case .unitConversion: return SyntheticFamilyGenerators.unitConversion(&random, split)
      case .antonyms: return SyntheticFamilyGenerators.antonyms(&random, split)
      case .spelling: return SyntheticFamilyGenerators.spelling(&random, split)
      case .sorting: return SyntheticFamilyGenerators.sorting(&random, split)
      }
    }
  }

  /// Which split a row is for. Fact-based families keep every 5th fact of each word bank for test only.
  public enum Split: String, Sendable {
    case train, test
  }

  /// How rows are written.
  public enum RowFormat: String, Sendable {
    /// prompt `[{"role": "user", …}]`, chosen/rejected `[{"role": "assistant", …}]`.
    case conversational
    /// Plain strings: prompt `"Question: …\nAnswer:"`, chosen/rejected `" …"` (a leading space, as TRL's
    /// standard-format examples do, so prompt + completion reads as one text).
    case plain
  }

  /// The families to draw from and their weights. Each row draws `random()` once and takes the first family whose
  /// cumulative share exceeds it (the last family takes the rest), then draws that family's row.
  public struct Recipe: Equatable, Sendable {
    public struct Share: Equatable, Sendable {
      public var family: Family
      public var weight: Double
      public init(_ family: Family, _ weight: Double) {
        self.family = family
        self.weight = weight
      }
    }
    public var shares: [Share]
    /// A short name written in the manifest.
    public var name: String

    public init(name: String, shares: [Share]) {
      precondition(!shares.isEmpty && shares.allSatisfy { $0.weight >= 0 } && shares.contains { $0.weight > 0 },
                   "a recipe needs at least one family with a positive weight")
      self.name = name
      self.shares = shares
    }

    /// `reference/make_prefs.py`: arithmetic with probability `arithmeticFraction`, else concise-vs-rambling.
    public static func makePrefs(arithmeticFraction: Double = 0.6) -> Recipe {
      Recipe(name: "make_prefs", shares: [Share(.arithmetic, arithmeticFraction), Share(.concise, 1 - arithmeticFraction)])
    }

    /// All families: a quarter arithmetic, 15% concise, 10% each for the other six.
    public static let standard = Recipe(name: "standard", shares: [
      Share(.arithmetic, 0.25), Share(.concise, 0.15), Share(.capitals, 0.10), Share(.answerFormat, 0.10),
      Share(.unitConversion, 0.10), Share(.antonyms, 0.10), Share(.spelling, 0.10), Share(.sorting, 0.10),
    ])

    func pickFamily(_ random: inout PythonRandom) -> Family {
      let draw = random.nextDouble()
      let total = shares.reduce(0) { $0 + $1.weight }
      var cumulative = 0.0
      for share in shares.dropLast() {
        cumulative += share.weight
        // make_prefs.py compares `random() < arith_frac`; with weights summing to 1 this is the same test.
        if draw < (total == 1 ? cumulative : cumulative / total) { return share.family }
      }
      return shares[shares.count - 1].family
    }
  }

  /// Default seeds (those of make_prefs.py), so `makeSplits()` with the make_prefs recipe matches its defaults.
  public static let defaultTrainSeed = 1234
  public static let defaultTestSeed = 5678

  /// `count` rows drawn with `seed`. Rows whose question is in `excludedQuestions` are drawn again (the generator
  /// moves on), which is how test rows avoid training prompts.
  public static func generate(seed: Int, count: Int, recipe: Recipe = .standard, split: Split = .train,
                              format: RowFormat = .conversational,
                              excludingQuestions excludedQuestions: Set<String> = []) -> PreferenceDataset {
    var random = PythonRandom(seed: seed)
    var records: [PreferenceRecord] = []
    records.reserveCapacity(count)
    var rejectedInARow = 0
    while records.count < count {
      let family = recipe.pickFamily(&random)
      let item = family.generate(&random, split)
      if excludedQuestions.contains(item.question) {
        rejectedInARow += 1
        precondition(rejectedInARow < 1_000_000, "synthetic data: cannot find questions outside the excluded set")
        continue
      }
      rejectedInARow = 0
      records.append(record(item, family: family, format: format))
    }
    return PreferenceDataset(records: records, sourceName: "synthetic-\(recipe.name)-\(split.rawValue)-seed\(seed)")
  }

  /// A train set and a test set whose questions do not occur in train (make_prefs.py's procedure: separate seeds,
  /// test rows with a training question are drawn again, and fact banks keep every 5th fact for test).
  public static func makeSplits(trainCount: Int = 2000, testCount: Int = 200, trainSeed: Int = defaultTrainSeed,
                                testSeed: Int = defaultTestSeed, recipe: Recipe = .standard,
                                format: RowFormat = .conversational) -> (train: PreferenceDataset, test: PreferenceDataset) {
    let train = generate(seed: trainSeed, count: trainCount, recipe: recipe, split: .train, format: format)
    let seen = Set(train.records.map(question(of:)))
    let test = generate(seed: testSeed, count: testCount, recipe: recipe, split: .test, format: format,
                        excludingQuestions: seen)
    return (train, test)
  }

  /// The question a generated record asks (the user message, or the plain prompt without its frame).
  public static func question(of record: PreferenceRecord) -> String {
    switch record.prompt {
    case .messages(let messages): return messages.last(where: { $0.role == "user" })?.content ?? ""
    case .text(let text):
      var body = Substring(text)
      if body.hasPrefix(plainPrefix) { body = body.dropFirst(plainPrefix.count) }
      if body.hasSuffix(plainSuffix) { body = body.dropLast(plainSuffix.count) }
      return String(body)
    }
  }

  static let plainPrefix = "Question: "
  static let plainSuffix = "\nAnswer:"

  static func record(_ item: SyntheticItem, family: Family, format: RowFormat) -> PreferenceRecord {
    switch format {
    case .conversational:
      return .conversation(user: item.question, chosen: item.chosen, rejected: item.rejected, family: family.rawValue)
    case .plain:
      return PreferenceRecord(prompt: .text(plainPrefix + item.question + plainSuffix), chosen: .text(" " + item.chosen),
                              rejected: .text(" " + item.rejected), family: family.rawValue)
    }
  }

  // MARK: Writing a data set folder

  /// What `write(to:…)` produced.
  public struct Manifest: Equatable, Sendable {
    public var recipe: Recipe
    public var format: RowFormat
    public var trainSeed: Int
    public var testSeed: Int
    public var trainFamilyCounts: [String: Int]
    public var testFamilyCounts: [String: Int]
    public var trainCount: Int { trainFamilyCounts.values.reduce(0, +) }
    public var testCount: Int { testFamilyCounts.values.reduce(0, +) }

    /// The manifest as JSON (keys in a fixed order, families sorted by name), laid out as Python's
    /// `json.dumps(manifest, indent=2, ensure_ascii=False)`.
    public var json: String {
      func counts(_ table: [String: Int]) -> JSONValue {
        .object(table.keys.sorted().map { ($0, .int(table[$0]!)) })
      }
      func split(_ file: String, _ seed: Int, _ rows: Int, _ families: [String: Int]) -> JSONValue {
        .object([("file", .string(file)), ("seed", .int(seed)), ("rows", .int(rows)), ("families", counts(families))])
      }
      let shares = recipe.shares.map {
        JSONValue.object([("family", .string($0.family.rawValue)), ("weight", .double($0.weight))])
      }
      return JSONValue.object([
        ("generator", .string("orpo-swift SyntheticPreferences")),
        ("generator_version", .int(SyntheticPreferences.version)),
        ("recipe", .string(recipe.name)),
        ("shares", .array(shares)),
        ("format", .string(format.rawValue)),
        ("train", split("train.jsonl", trainSeed, trainCount, trainFamilyCounts)),
        ("test", split("test.jsonl", testSeed, testCount, testFamilyCounts)),
      ]).formatted(.python(indent: 2, ensureASCII: false)) + "\n"
    }
  }

  /// Bumped whenever a change alters the rows generated for a seed.
  public static let version = 1

  /// Writes `train.jsonl`, `test.jsonl`, `manifest.json` and `README.md` into `directory` (created if needed).
  @discardableResult
  public static func write(to directory: URL, trainCount: Int = 2000, testCount: Int = 200,
                           trainSeed: Int = defaultTrainSeed, testSeed: Int = defaultTestSeed,
                           recipe: Recipe = .standard, format: RowFormat = .conversational) throws -> Manifest {
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw DataError(source: directory.lastPathComponent, message: "cannot create the folder: \(error.localizedDescription)")
    }
    let (train, test) = makeSplits(trainCount: trainCount, testCount: testCount, trainSeed: trainSeed,
                                   testSeed: testSeed, recipe: recipe, format: format)
    try train.writeJSONLines(to: directory.appendingPathComponent("train.jsonl"))
    try test.writeJSONLines(to: directory.appendingPathComponent("test.jsonl"))
    let manifest = Manifest(recipe: recipe, format: format, trainSeed: trainSeed, testSeed: testSeed,
                            trainFamilyCounts: train.familyCounts, testFamilyCounts: test.familyCounts)
    try writeText(manifest.json, to: directory.appendingPathComponent("manifest.json"))
    try writeText(readme(manifest, train: train), to: directory.appendingPathComponent("README.md"))
    return manifest
  }

  private static func writeText(_ text: String, to url: URL) throws {
    do { try AtomicFile.write(text, to: url) } catch let error as FileError {
      throw DataError(source: url.lastPathComponent, message: "cannot write the file: \(error.reason)")
    }
  }

  static func readme(_ manifest: Manifest, train: PreferenceDataset) -> String {
    var text = """
      # Synthetic preference data (orpo-swift)

      Generated by `SyntheticPreferences.write` (recipe `\(manifest.recipe.name)`, generator version \(version)).
      Rows are TRL preference rows (\(manifest.format == .conversational
        ? "conversational: prompt = [user message], chosen/rejected = [assistant message]"
        : "plain strings")), plus a `family` label for per-family metrics (drop it or ignore it for training).

      - `train.jsonl`: \(manifest.trainCount) rows, seed \(manifest.trainSeed)
      - `test.jsonl`: \(manifest.testCount) rows, seed \(manifest.testSeed). No test question occurs in train, and
        fact-based families ask about facts kept out of train (every 5th fact of each word bank).

      Each family has a visible right answer; `chosen` is right, `rejected` is wrong or worse:

      | family | rows (train/test) | chosen vs rejected |
      |---|---|---|

      """
    let descriptions: [SyntheticPreferences.Family: String] = [
      .arithmetic: "correct result vs off by 1–3 (or one multiplicand)",
      .concise: "concise answer vs rambling answer with the same fact",
      .capitals: "the right capital vs another country's capital",
      .answerFormat: "`Answer: X` as asked vs X in another format",
      .unitConversion: "right conversion factor vs a wrong one",
      .antonyms: "antonym vs synonym",
      .spelling: "correct spelling vs common misspelling",
      .sorting: "sorted list vs two neighbours swapped (or descending)",
    ]
    for share in manifest.recipe.shares {
      let label = share.family.rawValue
      text += "| `\(label)` | \(manifest.trainFamilyCounts[label] ?? 0)/\(manifest.testFamilyCounts[label] ?? 0) | "
        + "\(descriptions[share.family]!) |\n"
    }
    text += "\nOne example per family (from train):\n\n"
    for share in manifest.recipe.shares {
      guard let example = train.records.first(where: { $0.family == share.family.rawValue }) else { continue }
      text += "```json\n\(example.jsonLine)\n```\n"
    }
    if manifest.recipe.name == "make_prefs" {
      text += "\nThe `make_prefs` recipe reproduces `reference/make_prefs.py` byte for byte for the same seeds and counts.\n"
    }
    return text
  }
}

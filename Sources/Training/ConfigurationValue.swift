// ConfigurationValue.swift — how each type of recipe value is read from YAML (or `--set` text) and written back in
// messages and docs: numbers, flags, strings, lists, the enums of the configuration, dtypes, devices, column
// mappings and data set entries.
import Data
import Foundation
import RunMetrics
import NN
import Torch
import Yams

/// A value as a recipe wrote it: a YAML scalar, list or mapping, with the line it starts on.
public indirect enum RecipeNode: Sendable {
  /// `plain` is false for a quoted scalar: `"0.1"` is text, not a number.
  case scalar(String, plain: Bool, line: Int?)
  case list([RecipeNode], line: Int?)
  case mapping([(key: String, keyLine: Int?, value: RecipeNode)], line: Int?)

  /// YAML's null: `null`, `~` or nothing, unquoted.
  public var isNull: Bool {
    if case .scalar(let text, true, _) = self { return ["", "~", "null", "Null", "NULL"].contains(text) }
    return false
  }

  public var isMapping: Bool {
    if case .mapping = self { return true }
    return false
  }

  /// The text of a scalar (plain or quoted).
  public var text: String? {
    if case .scalar(let text, _, _) = self { return text }
    return nil
  }

  /// The text of an unquoted scalar: where numbers and true/false may stand.
  public var plainText: String? {
    if case .scalar(let text, true, _) = self { return text }
    return nil
  }

  public var line: Int? {
    switch self {
    case .scalar(_, _, let line), .list(_, let line), .mapping(_, let line): return line
    }
  }

  /// What was found, for "expected …, found …": `2.5`, `"fast"`, `null`, `a list`, `a mapping`.
  public var found: String {
    switch self {
    case .scalar(let text, let plain, _):
      if isNull { return "null" }
      if plain, Double(text) != nil || Bool(recipeText: text) != nil { return text }
      return "\"\(text)\""
    case .list: return "a list"
    case .mapping: return "a mapping"
    }
  }

  /// Parses YAML text (a recipe, or the value of `--set key=value`).
  public static func parse(yaml text: String) throws -> RecipeNode? {
    guard let node = try Yams.compose(yaml: text) else { return nil }
    // Aliases share what they name, so a short text can stand for billions of values ("billion laughs"): count
    // the values as a reader would see them, and stop early.
    var budget = maximumValues
    func count(_ node: Node) throws {
      budget -= 1
      guard budget >= 0 else { throw RecipeTooLarge() }
      switch node {
      case .scalar: break
      case .sequence(let s): for item in s { try count(item) }
      case .mapping(let m): for (key, value) in m { try count(key); try count(value) }
      }
    }
    try count(node)
    return RecipeNode(node)
  }

  /// The most values (scalars, lists, mappings, aliases counted as what they stand for) a recipe may hold.
  static let maximumValues = 100_000

  struct RecipeTooLarge: Error, CustomStringConvertible {
    var description: String { "it stands for more than \(RecipeNode.maximumValues) values (aliases of aliases?)" }
  }

  init(_ node: Node) {
    switch node {
    case .scalar(let s):
      self = .scalar(s.string, plain: s.style == .plain || s.style == .any, line: s.mark?.line)
    case .sequence(let s):
      self = .list(s.map(RecipeNode.init), line: s.mark?.line)
    case .mapping(let m):
      self = .mapping(m.map { (key: $0.key.string ?? "\($0.key)", keyLine: $0.key.mark?.line, value: RecipeNode($0.value)) },
                      line: m.mark?.line)
    }
  }
}

/// A type a configuration key can hold. `expectation` reads in messages: "expected a whole number, found 2.5".
public protocol ConfigurationValue: Equatable {
  /// What a recipe must write: "a whole number", "true or false", "one of lora, full".
  static var expectation: String { get }
  /// The value the node holds, or nil when it holds none of this type.
  init?(recipe node: RecipeNode)
  /// The value as a recipe would write it (in messages and docs).
  var recipeText: String { get }
  /// Why a node that holds none of this type was refused, when there is more to say than "expected …, found …"
  /// (`report_to: wandb`); nil for the usual message.
  static func explanation(refusing node: RecipeNode) -> String?
}

extension ConfigurationValue {
  public static func explanation(refusing node: RecipeNode) -> String? { nil }
}

extension Int: ConfigurationValue {
  public static var expectation: String { "a whole number" }
  public init?(recipe node: RecipeNode) {
    guard let text = node.plainText, let value = Int(text.replacingOccurrences(of: "_", with: "")) else { return nil }
    self = value
  }
  public var recipeText: String { String(self) }
}

extension Double: ConfigurationValue {
  public static var expectation: String { "a number" }
  /// YAML 1.1 reads `5e-4` as text (no dot); Hugging Face recipes write it anyway, so it is a number here.
  public init?(recipe node: RecipeNode) {
    guard let text = node.plainText else { return nil }
    switch text {
    case ".inf", ".Inf", ".INF", "+.inf": self = .infinity
    case "-.inf", "-.Inf", "-.INF": self = -.infinity
    case ".nan", ".NaN", ".NAN": self = .nan
    default:
      guard text.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true,
            let value = Double(text.replacingOccurrences(of: "_", with: "")) else { return nil }
      self = value
    }
  }
  /// `0.1`, `5e-04`, `2`: what a person would write.
  public var recipeText: String {
    if self == rounded() && Swift.abs(self) < 1e15 { return String(Int(self)) }
    return "\(self)"
  }
}

extension Bool: ConfigurationValue {
  public static var expectation: String { "true or false" }
  public init?(recipe node: RecipeNode) {
    guard let text = node.plainText, let value = Bool(recipeText: text) else { return nil }
    self = value
  }
  /// YAML 1.1's spellings, as Yams reads them.
  init?(recipeText text: String) {
    switch text.lowercased() {
    case "true", "yes", "on": self = true
    case "false", "no", "off": self = false
    default: return nil
    }
  }
  public var recipeText: String { self ? "true" : "false" }
}

extension String: ConfigurationValue {
  public static var expectation: String { "a string" }
  public init?(recipe node: RecipeNode) {
    guard let text = node.text, !node.isNull else { return nil }
    self = text
  }
  public var recipeText: String { self }
}

/// `null` (or `~`) leaves an optional key unset.
extension Optional: ConfigurationValue where Wrapped: ConfigurationValue {
  public static var expectation: String { "\(Wrapped.expectation) or null" }
  public init?(recipe node: RecipeNode) {
    if node.isNull { self = .none; return }
    guard let value = Wrapped(recipe: node) else { return nil }
    self = .some(value)
  }
  public var recipeText: String { map(\.recipeText) ?? "null" }
}

/// A list; one scalar counts as a list of one (`report_to: tensorboard`, as Hugging Face accepts).
extension Array: ConfigurationValue where Element: ConfigurationValue {
  public static var expectation: String { "\(Element.expectation), or a list of them" }
  public init?(recipe node: RecipeNode) {
    switch node {
    case .list(let items, _):
      var values: [Element] = []
      for item in items {
        guard let value = Element(recipe: item) else { return nil }
        values.append(value)
      }
      self = values
    case .scalar:
      guard let value = Element(recipe: node) else { return nil }
      self = [value]
    case .mapping:
      return nil
    }
  }
  public var recipeText: String { "[" + map(\.recipeText).joined(separator: ", ") + "]" }
  public static func explanation(refusing node: RecipeNode) -> String? {
    if case .list(let items, _) = node { return items.lazy.compactMap { Element.explanation(refusing: $0) }.first }
    return Element.explanation(refusing: node)
  }
}

/// An enum whose raw values are the words a recipe writes.
public protocol ConfigurationChoice: ConfigurationValue, RawRepresentable, CaseIterable where RawValue == String {}

extension ConfigurationChoice {
  public static var expectation: String { "one of " + allCases.map(\.rawValue).joined(separator: ", ") }
  public init?(recipe node: RecipeNode) {
    guard let text = node.text, let value = Self(rawValue: text) else { return nil }
    self = value
  }
  public var recipeText: String { rawValue }
}

extension LRSchedulerType: ConfigurationChoice {}
extension BetaSchedule.Shape: ConfigurationChoice {}
extension MetricsSinkKind: ConfigurationChoice {
  /// `wandb` gets its own message: what to run instead (RunMetrics' `MetricsError.wandbNotWritten`).
  public static func explanation(refusing node: RecipeNode) -> String? {
    guard let text = node.text, MetricsSinkKind.isWandb(text) else { return nil }
    return MetricsError.wandbNotWritten.description
  }
}
extension FourBitType: ConfigurationChoice {}

/// Weights' dtype under Hugging Face's `torch_dtype` names (and their short forms).
extension DType: ConfigurationValue {
  public static var expectation: String { "one of float32, bfloat16, float16" }
  static let recipeNames: [String: DType] = [
    "float32": .float32, "fp32": .float32, "bfloat16": .bfloat16, "bf16": .bfloat16, "float16": .float16, "fp16": .float16,
  ]
  public init?(recipe node: RecipeNode) {
    guard let text = node.text, let dtype = DType.recipeNames[text.lowercased()] else { return nil }
    self = dtype
  }
  public var recipeText: String {
    switch self {
    case .bfloat16: return "bfloat16"
    case .float16: return "float16"
    default: return "float32"
    }
  }
}

extension Device: ConfigurationValue {
  public static var expectation: String { "cpu, cuda or cuda:N" }
  public init?(recipe node: RecipeNode) {
    guard let text = node.text, let device = Device(parsing: text) else { return nil }
    self = device
  }
  public var recipeText: String { description }
}

/// PEFT's `target_modules`: module names, `all-linear`, or one regular expression over module paths.
extension LoRATargets: ConfigurationValue {
  public static var expectation: String { "a list of module names, all-linear, or a regular expression" }
  public init?(recipe node: RecipeNode) {
    switch node {
    case .list:
      guard let names = [String](recipe: node) else { return nil }
      self = names == ["all-linear"] ? .allLinear : .names(names)
    case .scalar:
      guard let text = String(recipe: node) else { return nil }
      self = text == "all-linear" ? .allLinear : .pattern(text)
    case .mapping:
      return nil
    }
  }
  public var recipeText: String {
    switch self {
    case .names(let names): return names.recipeText
    case .pattern(let pattern): return pattern
    case .allLinear: return "all-linear"
    }
  }
}

/// `column_mapping: {question: prompt, response_j: chosen}`: old column name → new, as datasets' rename_columns.
extension ColumnMapping: ConfigurationValue {
  public static var expectation: String { "a mapping of old column names to new ones, each new name once" }
  public init?(recipe node: RecipeNode) {
    if node.isNull { self = .none; return }
    guard case .mapping(let entries, _) = node else { return nil }
    var renames: [String: String] = [:]
    for entry in entries {
      guard let new = String(recipe: entry.value), renames[entry.key] == nil else { return nil }
      renames[entry.key] = new
    }
    guard let mapping = try? ColumnMapping(renames) else { return nil }
    self = mapping
  }
  public var recipeText: String {
    "{" + renames.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
  }
}

/// One entry of `datasets:` — `{path: data/uf, split: train_prefs, column_mapping: {...}, shuffle_seed: 42,
/// num_rows: 1000}` or `weight: 0.3` instead of num_rows.
extension DatasetSource: ConfigurationValue {
  public static var expectation: String {
    "a list of data sets, each a mapping with path and optionally split, column_mapping, shuffle_seed, num_rows or weight"
  }
  public init?(recipe node: RecipeNode) {
    guard case .mapping(let entries, _) = node else { return nil }
    var source = DatasetSource(path: "")
    for entry in entries {
      switch entry.key {
      case "path": guard let path = String(recipe: entry.value) else { return nil }; source.path = path
      case "split": guard let split = String?(recipe: entry.value) else { return nil }; source.split = split
      case "column_mapping":
        guard let mapping = ColumnMapping(recipe: entry.value) else { return nil }
        source.columnMapping = mapping
      case "shuffle_seed":
        guard let seed = Int?(recipe: entry.value), (seed ?? 0) >= 0 else { return nil }
        source.shuffleSeed = seed
      case "num_rows":
        guard let count = Int?(recipe: entry.value), (count ?? 1) >= 1 else { return nil }
        source.rowCount = count
      case "weight":
        guard let weight = Double?(recipe: entry.value), (weight ?? 1) > 0 else { return nil }
        source.weight = weight
      default: return nil
      }
    }
    guard !source.path.isEmpty, source.rowCount == nil || source.weight == nil else { return nil }
    self = source
  }
  public var recipeText: String {
    var parts = ["path: \(path)"]
    if let split { parts.append("split: \(split)") }
    if !columnMapping.isEmpty { parts.append("column_mapping: \(columnMapping.recipeText)") }
    if let shuffleSeed { parts.append("shuffle_seed: \(shuffleSeed)") }
    if let rowCount { parts.append("num_rows: \(rowCount)") }
    if let weight { parts.append("weight: \(weight.recipeText)") }
    return "{" + parts.joined(separator: ", ") + "}"
  }
}

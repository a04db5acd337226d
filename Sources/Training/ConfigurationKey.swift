// ConfigurationKey.swift — what a recipe key is (its name, where its value lives, the rule it obeys, what it means,
// which methods take it), where each value came from, and the error that names both.
import Foundation

/// Where a setting's value came from. Every configuration error starts with it.
public enum ValueSource: Equatable, Sendable, CustomStringConvertible {
  /// The key's default (TrainingConfiguration's initial value).
  case builtInDefault
  /// A YAML recipe: its path (or "built-in default recipe") and the line of the key.
  case recipe(String, line: Int?)
  /// A command-line flag such as `--beta`.
  case flag(String)
  /// A `--set KEY=VALUE` argument (the `KEY=VALUE` text).
  case set(String)
  /// Assigned by a program using the library, after loading.
  case code

  public var description: String {
    switch self {
    case .builtInDefault: return "built-in default"
    case .recipe(let path, let line): return line.map { "\(path):\($0)" } ?? path
    case .flag(let flag): return flag
    case .set(let argument): return "--set \(argument)"
    case .code: return "set in code"
    }
  }

  /// A flag or a `--set` argument already names its key.
  var namesKey: Bool {
    switch self {
    case .flag, .set: return true
    default: return false
    }
  }
}

/// A bad recipe, flag or value: "configs/x.yaml:4: key "beta": must be >= 0, got -1", "--beta: must be >= 0, got -1".
public struct ConfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
  /// Where the offending value (or text) came from; nil when no one place did.
  public let source: ValueSource?
  /// The recipe key at fault, if any.
  public let key: String?
  /// What is wrong, and what was expected.
  public let problem: String

  public init(_ problem: String, key: String? = nil, source: ValueSource? = nil) {
    self.problem = problem
    self.key = key
    self.source = source
  }

  public var description: String {
    var text = source.map { "\($0): " } ?? ""
    if let key, source?.namesKey != true { text += "key \"\(key)\": " }
    return text + problem
  }
}

/// A condition a value must meet, with the words for it: "must be at least 1, got 0".
public struct Rule<Value> {
  public let description: String
  public let holds: (Value) -> Bool

  public init(_ description: String, _ holds: @escaping (Value) -> Bool) {
    self.description = description
    self.holds = holds
  }
}

extension Rule where Value: Comparable & ConfigurationValue {
  public static func atLeast(_ bound: Value) -> Rule { Rule("at least \(bound.recipeText)") { $0 >= bound } }
}

extension Rule where Value == Double {
  public static var positive: Rule { Rule("a positive number") { $0 > 0 && $0.isFinite } }
  public static var nonNegative: Rule { Rule(">= 0") { $0 >= 0 && $0.isFinite } }
  /// [0, 1): a probability that is not certain, a fraction of the steps.
  public static var fraction: Rule { Rule("in [0, 1)") { $0 >= 0 && $0 < 1 } }
}

/// One recipe key. `TrainingConfiguration.keys` lists them all; reading, checking, "did you mean" and the key
/// reference are all driven by that list.
public struct ConfigurationKey {
  /// The recipe name (`learning_rate`, `lora.r`).
  public let name: String
  /// What the key means, for `orpo train --list-keys`.
  public let help: String
  /// The methods that take this key; nil when every method does.
  public let methods: [TrainingMethod]?
  /// The type of value: "a whole number", "one of lora, full".
  public let expectation: String
  /// The rule a value obeys beyond its type: "at least 1".
  public let rule: String?
  let path: PartialKeyPath<TrainingConfiguration>
  /// Stores the value the node holds; false when it holds none of the key's type.
  let read: (RecipeNode, inout TrainingConfiguration) -> Bool
  /// Why a node `read` refused was refused, when the value type has more to say than "expected …".
  let explain: (RecipeNode) -> String?
  /// The rule the current value breaks, as "must be …, got …".
  let problem: (TrainingConfiguration) -> String?
  let text: (TrainingConfiguration) -> String
  let equal: (TrainingConfiguration, TrainingConfiguration) -> Bool
  /// Puts the key back to its default value.
  let reset: (inout TrainingConfiguration) -> Void

  public init<V: ConfigurationValue>(_ name: String, _ path: WritableKeyPath<TrainingConfiguration, V>, _ rule: Rule<V>? = nil,
                                     methods: [TrainingMethod]? = nil, help: String)
  {
    self.init(name, path, expectation: V.expectation, rule: rule?.description, methods: methods, help: help,
              problem: { value in
                guard let rule, !rule.holds(value) else { return nil }
                return "must be \(rule.description), got \(value.recipeText)"
              })
  }

  /// An optional key whose value, when set, obeys `rule`.
  public init<V: ConfigurationValue>(_ name: String, _ path: WritableKeyPath<TrainingConfiguration, V?>, _ rule: Rule<V>,
                                     methods: [TrainingMethod]? = nil, help: String)
  {
    self.init(name, path, expectation: Optional<V>.expectation, rule: "\(rule.description) when set", methods: methods,
              help: help, problem: { value in
                guard let value, !rule.holds(value) else { return nil }
                return "must be \(rule.description), got \(value.recipeText)"
              })
  }

  private init<V: ConfigurationValue>(_ name: String, _ path: WritableKeyPath<TrainingConfiguration, V>, expectation: String,
                                      rule: String?, methods: [TrainingMethod]?, help: String,
                                      problem: @escaping (V) -> String?)
  {
    self.name = name
    self.help = help
    self.methods = methods
    self.expectation = expectation
    self.rule = rule
    self.path = path
    read = { node, configuration in
      guard let value = V(recipe: node) else { return false }
      configuration[keyPath: path] = value
      return true
    }
    explain = { V.explanation(refusing: $0) }
    self.problem = { problem($0[keyPath: path]) }
    text = { $0[keyPath: path].recipeText }
    equal = { $0[keyPath: path] == $1[keyPath: path] }
    reset = { $0[keyPath: path] = TrainingConfiguration()[keyPath: path] }
  }

  /// The section a dotted key belongs to (`lora` for `lora.r`).
  var section: String? { name.firstIndex(of: ".").map { String(name[..<$0]) } }
}

/// "(did you mean "learning_rate"?)" when a known name is close enough to be the one meant.
func didYouMean(_ name: String, among names: [String]) -> String? {
  let scored = names.map { ($0, editDistance($0, name)) }
  guard let best = scored.min(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }),
        best.1 <= Swift.max(2, name.count / 3) else { return nil }
  return best.0
}

/// Levenshtein distance.
func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a), b = Array(b)
  guard !a.isEmpty else { return b.count }
  guard !b.isEmpty else { return a.count }
  var row = Array(0...b.count)
  for i in 1...a.count {
    var previous = row[0]
    row[0] = i
    for j in 1...b.count {
      let saved = row[j]
      row[j] = Swift.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
      previous = saved
    }
  }
  return row[b.count]
}

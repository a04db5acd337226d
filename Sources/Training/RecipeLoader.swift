// RecipeLoader.swift — builds a TrainingConfiguration from a YAML recipe and command-line overrides: each value is
// read as its key's type and remembered with the place that set it (file and line, flag, --set), so every error
// can blame that place.
import Foundation
import Yams

/// A command-line change to the recipe: a flag with a typed value, or `--set KEY=VALUE` (the value read as YAML).
public struct ConfigurationOverride {
  enum Change {
    case node(key: String, RecipeNode)
    case typed(PartialKeyPath<TrainingConfiguration>, (inout TrainingConfiguration) -> Void)
  }

  let change: Change
  public let source: ValueSource

  /// A flag's value, e.g. `.flag("--beta", \.beta, 0.2)`.
  public static func flag<V: ConfigurationValue>(_ flag: String, _ path: WritableKeyPath<TrainingConfiguration, V>,
                                                 _ value: V) -> ConfigurationOverride
  {
    ConfigurationOverride(change: .typed(path, { $0[keyPath: path] = value }), source: .flag(flag))
  }

  /// `--set KEY=VALUE`; VALUE is YAML (`8`, `5e-4`, `[q_proj, v_proj]`, `null`).
  public init(setting argument: String) throws {
    let source = ValueSource.set(argument)
    guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
      throw ConfigurationError("expected KEY=VALUE", source: source)
    }
    let text = String(argument[argument.index(after: equals)...])
    let node: RecipeNode?
    do { node = try RecipeNode.parse(yaml: text) } catch {
      throw ConfigurationError("the value is not valid YAML (\(describeYAMLError(error).problem))", source: source)
    }
    self.init(change: .node(key: String(argument[..<equals]), node ?? .scalar("", plain: true, line: nil)), source: source)
  }

  init(change: Change, source: ValueSource) {
    self.change = change
    self.source = source
  }
}

extension TrainingConfiguration {
  /// Reads a YAML recipe (or none: every key at its default), applies `overrides` in order, and checks the result.
  /// Errors name the file and line, flag or `--set` argument that gave the bad value.
  public static func load(recipe url: URL?, overrides: [ConfigurationOverride] = []) throws -> TrainingConfiguration {
    guard let url else { return try load(recipeText: nil, name: "", overrides: overrides) }
    let text: String
    do { text = try String(contentsOf: url, encoding: .utf8) } catch {
      throw ConfigurationError("cannot read the recipe (\(error.localizedDescription))", source: .recipe(url.path, line: nil))
    }
    return try load(recipeText: text, name: url.path, overrides: overrides)
  }

  /// The same from YAML text; `name` stands for the file in errors ("built-in default recipe").
  /// `methodKeysYield`: when the overrides change `method`, the recipe's keys that the new method does not take are
  /// dropped (back to their defaults) instead of refused — for a recipe the user did not write (the built-in one:
  /// `orpo train --set method=sft` is the default job trained with SFT, its `beta: 0.1` ORPO's alone).
  public static func load(recipeText text: String?, name: String, overrides: [ConfigurationOverride] = [],
                          methodKeysYield: Bool = false) throws -> TrainingConfiguration
  {
    var configuration = TrainingConfiguration()
    if let text {
      let root: RecipeNode?
      do { root = try RecipeNode.parse(yaml: text) } catch {
        let (problem, line) = describeYAMLError(error)
        throw ConfigurationError("not valid YAML (\(problem))", source: .recipe(name, line: line))
      }
      if let root, !root.isNull {
        guard case .mapping(let entries, _) = root else {
          throw ConfigurationError("expected a mapping of TrainingArguments keys at the top level",
                                   source: .recipe(name, line: root.line))
        }
        var seen: [String: Int?] = [:]
        try configuration.apply(entries, section: nil, seen: &seen) { .recipe(name, line: $0) }
      }
    }
    for override in overrides { try configuration.apply(override) }
    if methodKeysYield, configuration.source(of: "method").namesKey {
      for key in keys where key.methods.map({ !$0.contains(configuration.method) }) ?? false {
        guard case .recipe = configuration.source(of: key.name) else { continue }
        key.reset(&configuration)
        configuration.sources[key.name] = nil
      }
    }
    try configuration.validate()
    return configuration
  }

  /// The sections (`lora`) that group dotted keys.
  static var sections: [String] {
    var names: [String] = []
    for key in keys { if let s = key.section, !names.contains(s) { names.append(s) } }
    return names
  }

  mutating func apply(_ entries: [(key: String, keyLine: Int?, value: RecipeNode)], section: String?,
                      seen: inout [String: Int?], source: (Int?) -> ValueSource) throws
  {
    for entry in entries {
      let name = section.map { "\($0).\(entry.key)" } ?? entry.key
      let place = source(entry.keyLine)
      if let earlier = seen[name] {
        throw ConfigurationError("given twice" + (earlier.map { " (first on line \($0))" } ?? ""), key: name, source: place)
      }
      seen[name] = entry.keyLine
      if section == nil, let shorthand = Self.sectionShorthands[name], !entry.value.isMapping {
        try set(shorthand, entry.value, source: place)
      } else if section == nil && Self.sections.contains(name) {
        guard case .mapping(let inner, _) = entry.value else {
          throw ConfigurationError("expected a mapping of \(Self.keyNames(in: name).joined(separator: ", ")), found \(entry.value.found)",
                                   key: name, source: place)
        }
        try apply(inner, section: name, seen: &seen, source: source)
      } else {
        try set(name, entry.value, source: place)
      }
    }
  }

  mutating func apply(_ override: ConfigurationOverride) throws {
    switch override.change {
    case .node(let name, let node):
      if Self.sections.contains(name), case .mapping(let entries, _) = node {
        var seen: [String: Int?] = [:]
        try apply(entries, section: name, seen: &seen) { _ in override.source }
      } else if let shorthand = Self.sectionShorthands[name] {
        try set(shorthand, node, source: override.source)
      } else {
        try set(name, node, source: override.source)
      }
    case .typed(let path, let assign):
      guard let key = Self.keys.first(where: { $0.path == path }) else {
        preconditionFailure("\(override.source) sets a property that has no row in TrainingConfiguration.keys")
      }
      assign(&self)
      sources[key.name] = override.source
    }
  }

  /// Reads `node` as the value of the key `name`.
  mutating func set(_ name: String, _ node: RecipeNode, source: ValueSource) throws {
    guard let key = Self.keys.first(where: { $0.name == name }) else { throw Self.unknownKey(name, source: source) }
    guard key.read(node, &self) else {
      throw ConfigurationError(key.explain(node) ?? "expected \(key.expectation), found \(node.found)", key: name, source: source)
    }
    sources[name] = source
  }

  static func keyNames(in section: String) -> [String] {
    keys.compactMap { $0.section == section ? String($0.name.dropFirst(section.count + 1)) : nil }
  }

  static func unknownKey(_ name: String, source: ValueSource) -> ConfigurationError {
    var problem = "unknown key \"\(name)\""
    if let near = didYouMean(name, among: keys.map(\.name) + sections)
      ?? keys.first(where: { $0.name.hasSuffix(".\(name)") })?.name  // a key that lives in a section now
    {
      problem += " (did you mean \"\(near)\"?)"
    } else if let section = name.split(separator: ".").first.map(String.init), sections.contains(section) {
      problem += " (\(section) takes \(keyNames(in: section).joined(separator: ", ")))"
    }
    return ConfigurationError(problem, source: source)
  }
}

/// Yams' error as one line and the line it points at.
func describeYAMLError(_ error: Error) -> (problem: String, line: Int?) {
  guard let yaml = error as? YamlError else { return ("\(error)", nil) }
  switch yaml {
  case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
       let .composer(context, problem, mark, _):
    let prefix = context.map { "\($0.text) " } ?? ""
    return (prefix + problem, mark.line)
  default:
    return (yaml.description.split(separator: "\n").first.map(String.init) ?? "\(yaml)", nil)
  }
}

// Normalizers from tokenizer.json (NFC/NFD/NFKC/NFKD, Lowercase, Prepend, Replace, Strip, Sequence),
// applied to each piece of text between added tokens, as Hugging Face `tokenizers` does.
import Foundation
import Support

indirect enum Normalizer: PipelinePart {
  case nfc, nfd, nfkc, nfkd
  case lowercase
  case prepend(String)
  case replace(pattern: ReplacePattern, content: String)
  case strip(left: Bool, right: Bool)
  case sequence([Normalizer])

  func normalize(_ text: String) -> String {
    switch self {
    case .nfc: return text.precomposedStringWithCanonicalMapping
    case .nfd: return text.decomposedStringWithCanonicalMapping
    case .nfkc: return text.precomposedStringWithCompatibilityMapping
    case .nfkd: return text.decomposedStringWithCompatibilityMapping
    case .lowercase:
      // Rust's str::to_lowercase, scalar by scalar (final sigma aside).
      var view = String.UnicodeScalarView()
      for s in text.unicodeScalars { view.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars) }
      return String(view)
    case .prepend(let prefix):
      return text.isEmpty ? text : prefix + text
    case .replace(let pattern, let content):
      return pattern.replace(in: text, with: content)
    case .strip(let left, let right):
      var scalars = Array(text.unicodeScalars)
      if right { while let last = scalars.last, CharacterClass.isWhitespace(last) { scalars.removeLast() } }
      if left {
        var start = 0
        while start < scalars.count && CharacterClass.isWhitespace(scalars[start]) { start += 1 }
        scalars.removeFirst(start)
      }
      return String(scalars: scalars)
    case .sequence(let steps):
      return steps.reduce(text) { current, step in step.normalize(current) }
    }
  }

  static let field = "normalizer"
  static let sequenceKey = "normalizers"

  /// One part of a type other than "Sequence" (see `PipelinePart.parse`).
  static func part(type: String, json: JSONValue, file: String, field: String) throws -> Normalizer {
    switch type {
    case "NFC": return .nfc
    case "NFD": return .nfd
    case "NFKC": return .nfkc
    case "NFKD": return .nfkd
    case "Lowercase": return .lowercase
    case "Prepend":
      guard let prefix = json[first: "prepend"]?.stringValue else {
        throw TokenizerError.invalidField(file: file, field: "\(field).prepend", reason: "expected a string")
      }
      return .prepend(prefix)
    case "Replace":
      let pattern = try ReplacePattern.parse(json[first: "pattern"], file: file, field: "\(field).pattern")
      guard let content = json[first: "content"]?.stringValue else {
        throw TokenizerError.invalidField(file: file, field: "\(field).content", reason: "expected a string")
      }
      return .replace(pattern: pattern, content: content)
    case "Strip":
      return .strip(left: json[first: "strip_left"]?.boolValue ?? true, right: json[first: "strip_right"]?.boolValue ?? true)
    default:
      throw TokenizerError.unsupported(file: file, field: "\(field).type", value: type)
    }
  }
}

/// The `pattern` of a Replace normalizer/decoder or a Split pre-tokenizer: `{"String": s}` or `{"Regex": r}`.
struct ReplacePattern {
  let matcher: SplitPattern

  static func parse(_ json: JSONValue?, file: String, field: String) throws -> ReplacePattern {
    if let literal = json?[first: "String"]?.stringValue {
      return ReplacePattern(matcher: LiteralPattern(needle: Array(literal.unicodeScalars)))
    }
    if let source = json?[first: "Regex"]?.stringValue {
      do {
        return ReplacePattern(matcher: try KnownPattern.matcher(for: source))
      } catch {
        throw TokenizerError.invalidField(file: file, field: "\(field).Regex", reason: "cannot compile \(source): \(error)")
      }
    }
    throw TokenizerError.invalidField(file: file, field: field, reason: "expected {\"String\": …} or {\"Regex\": …}")
  }

  func replace(in text: String, with content: String) -> String {
    let scalars = Array(text.unicodeScalars)
    let ranges = matcher.matchRanges(in: scalars)
    if ranges.isEmpty { return text }
    var view = String.UnicodeScalarView()
    var previous = 0
    for range in ranges where !range.isEmpty {
      view.append(contentsOf: scalars[previous..<range.lowerBound])
      view.append(contentsOf: content.unicodeScalars)
      previous = range.upperBound
    }
    view.append(contentsOf: scalars[previous...])
    return String(view)
  }
}

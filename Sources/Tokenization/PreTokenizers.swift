// Pre-tokenizers from tokenizer.json (ByteLevel, Split, Digits, Metaspace, WhitespaceSplit, Whitespace, Sequence):
// they cut each normalized piece into words for the model, with Hugging Face's split-behavior semantics.
import Foundation
import Support

/// One piece of text on its way to the model.
struct TextPiece {
  var scalars: [Unicode.Scalar]
  /// True if the piece starts at offset 0 of the original input (Metaspace's prepend_scheme "first").
  var atStartOfInput: Bool
}

/// How the matches of a Split pattern are kept (`SplitDelimiterBehavior`).
enum SplitBehavior: String {
  case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
  case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"

  /// Turns match/non-match pieces into the ranges to keep (`NormalizedString::split`).
  func ranges(_ pieces: [(range: Range<Int>, isMatch: Bool)]) -> [Range<Int>] {
    switch self {
    case .isolated:
      return pieces.map(\.range)
    case .removed:
      return pieces.filter { !$0.isMatch }.map(\.range)
    case .contiguous:
      return Self.joined(pieces) { isMatch, previousWasMatch in isMatch == previousWasMatch }
    case .mergedWithPrevious:
      return Self.joined(pieces) { isMatch, previousWasMatch in isMatch && !previousWasMatch }
    case .mergedWithNext:
      return Self.joined(pieces.reversed()) { isMatch, previousWasMatch in isMatch && !previousWasMatch }.reversed()
    }
  }

  /// The pieces' ranges in the given order, each joined onto the range before it when `joins(isMatch,
  /// previousWasMatch)` (for a reversed walk, "before" is the piece after, and ranges join at its start).
  private static func joined<Pieces: Collection>(_ pieces: Pieces, joins: (Bool, Bool) -> Bool) -> [Range<Int>]
    where Pieces.Element == (range: Range<Int>, isMatch: Bool)
  {
    var out: [Range<Int>] = []
    var previousMatch = false
    for piece in pieces {
      if joins(piece.isMatch, previousMatch), let last = out.last {
        out[out.count - 1] = min(last.lowerBound, piece.range.lowerBound)..<max(last.upperBound, piece.range.upperBound)
      } else {
        out.append(piece.range)
      }
      previousMatch = piece.isMatch
    }
    return out
  }
}

/// A pattern that matches single scalars satisfying a predicate (each occurrence is its own match).
struct ScalarPredicatePattern: SplitPattern {
  let predicate: (Unicode.Scalar) -> Bool
  func matchRanges(in s: [Unicode.Scalar]) -> [Range<Int>] {
    var out: [Range<Int>] = []
    for (i, c) in s.enumerated() where predicate(c) { out.append(i..<(i + 1)) }
    return out
  }
}

/// Metaspace's prepend rule.
enum PrependScheme: String {
  case first, always, never

  /// A Metaspace pre-tokenizer's or decoder's `replacement` character and prepend scheme (older tokenizer.json
  /// files give `add_prefix_space` instead of `prepend_scheme`).
  static func metaspaceSettings(_ json: JSONValue, file: String, field: String) throws -> (Unicode.Scalar, PrependScheme) {
    let text = json[first: "replacement"]?.stringValue ?? "▁"
    guard text.unicodeScalars.count == 1, let replacement = text.unicodeScalars.first else {
      throw TokenizerError.invalidField(file: file, field: "\(field).replacement", reason: "expected one character")
    }
    guard let name = json[first: "prepend_scheme"]?.stringValue else {
      return (replacement, (json[first: "add_prefix_space"]?.boolValue ?? true) ? .always : .never)
    }
    guard let scheme = PrependScheme(rawValue: name) else {
      throw TokenizerError.unsupported(file: file, field: "\(field).prepend_scheme", value: name)
    }
    return (replacement, scheme)
  }
}

indirect enum PreTokenizer: PipelinePart {
  case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
  case split(pattern: SplitPattern, behavior: SplitBehavior, invert: Bool)
  case digits(individual: Bool)
  case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme, split: Bool)
  case whitespaceSplit
  case whitespace
  case sequence([PreTokenizer])

  /// Splits every piece; empty pieces are dropped, as in `PreTokenizedString::split`.
  func preTokenize(_ pieces: [TextPiece]) -> [TextPiece] {
    switch self {
    case .sequence(let steps):
      return steps.reduce(pieces) { current, step in step.preTokenize(current) }
    case .byteLevel(let addPrefixSpace, let useRegex):
      var out: [TextPiece] = []
      for var piece in pieces {
        if addPrefixSpace && piece.scalars.first != " " { piece.scalars.insert(" ", at: 0) }
        let words = useRegex ? Self.split(piece, GPT2Pattern(), .isolated, invert: false) : [piece]
        for word in words { out.append(TextPiece(scalars: Self.byteLevel(word.scalars), atStartOfInput: word.atStartOfInput)) }
      }
      return out
    case .split(let pattern, let behavior, let invert):
      return pieces.flatMap { Self.split($0, pattern, behavior, invert: invert) }
    case .digits(let individual):
      let pattern = ScalarPredicatePattern(predicate: CharacterClass.isNumber)
      return pieces.flatMap { Self.split($0, pattern, individual ? .isolated : .contiguous, invert: false) }
    case .metaspace(let replacement, let scheme, let split):
      var out: [TextPiece] = []
      for var piece in pieces {
        for i in piece.scalars.indices where piece.scalars[i] == " " { piece.scalars[i] = replacement }
        let startsWithReplacement = piece.scalars.first == replacement
        switch scheme {
        case .always: if !startsWithReplacement { piece.scalars.insert(replacement, at: 0) }
        case .first: if !startsWithReplacement && piece.atStartOfInput { piece.scalars.insert(replacement, at: 0) }
        case .never: break
        }
        if split {
          out += Self.split(piece, ScalarPredicatePattern(predicate: { $0 == replacement }), .mergedWithNext, invert: false)
        } else if !piece.scalars.isEmpty {
          out.append(piece)
        }
      }
      return out
    case .whitespaceSplit:
      let pattern = ScalarPredicatePattern(predicate: CharacterClass.isWhitespace)
      return pieces.flatMap { Self.split($0, pattern, .removed, invert: false) }
    case .whitespace:
      let pattern = try! FoundationRegexPattern("\\w+|[^\\w\\s]+")
      return pieces.flatMap { Self.split($0, pattern, .removed, invert: true) }
    }
  }

  private static func split(_ piece: TextPiece, _ pattern: SplitPattern, _ behavior: SplitBehavior,
                            invert: Bool) -> [TextPiece] {
    var pieces = pattern.pieces(of: piece.scalars)
    if invert { pieces = pieces.map { ($0.range, !$0.isMatch) } }
    return behavior.ranges(pieces).compactMap { range in
      range.isEmpty ? nil
        : TextPiece(scalars: Array(piece.scalars[range]), atStartOfInput: piece.atStartOfInput && range.lowerBound == 0)
    }
  }

  private static func byteLevel(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
    var out: [Unicode.Scalar] = []
    out.reserveCapacity(scalars.count)
    for s in scalars {
      if s.value < 0x80 {
        out.append(ByteLevelTables.byteToScalar[Int(s.value)])
      } else {
        for b in String(s).utf8 { out.append(ByteLevelTables.byteToScalar[Int(b)]) }
      }
    }
    return out
  }

  static let field = "pre_tokenizer"
  static let sequenceKey = "pretokenizers"

  /// One part of a type other than "Sequence" (see `PipelinePart.parse`).
  static func part(type: String, json: JSONValue, file: String, field: String) throws -> PreTokenizer {
    switch type {
    case "ByteLevel":
      return .byteLevel(addPrefixSpace: json[first: "add_prefix_space"]?.boolValue ?? true,
                        useRegex: json[first: "use_regex"]?.boolValue ?? true)
    case "Split":
      let pattern = try ReplacePattern.parse(json[first: "pattern"], file: file, field: "\(field).pattern")
      let behaviorName = json[first: "behavior"]?.stringValue ?? "Removed"
      guard let behavior = SplitBehavior(rawValue: behaviorName) else {
        throw TokenizerError.unsupported(file: file, field: "\(field).behavior", value: behaviorName)
      }
      return .split(pattern: pattern.matcher, behavior: behavior, invert: json[first: "invert"]?.boolValue ?? false)
    case "Digits":
      return .digits(individual: json[first: "individual_digits"]?.boolValue ?? false)
    case "Metaspace":
      let (replacement, scheme) = try PrependScheme.metaspaceSettings(json, file: file, field: field)
      return .metaspace(replacement: replacement, prependScheme: scheme, split: json[first: "split"]?.boolValue ?? true)
    case "WhitespaceSplit":
      return .whitespaceSplit
    case "Whitespace":
      return .whitespace
    default:
      throw TokenizerError.unsupported(file: file, field: "\(field).type", value: type)
    }
  }
}

// Pre-tokenizer split patterns: hand-written matchers for the GPT-2 and Llama-3/Qwen2 regexes (exactly
// Oniguruma's leftmost-first backtracking result), literal strings, and NSRegularExpression for anything else.
import Foundation
import Support

/// Something that finds non-overlapping, left-to-right matches in a scalar array.
protocol SplitPattern {
  /// Match ranges, in scalar indices, in increasing order.
  func matchRanges(in text: [Unicode.Scalar]) -> [Range<Int>]
}

/// A hand-written pattern whose matches tile the whole text (every position starts the next match): it only says
/// where the match starting at `i` ends.
protocol ContiguousSplitPattern: SplitPattern {
  func matchEnd(_ s: [Unicode.Scalar], _ i: Int) -> Int
}

extension ContiguousSplitPattern {
  func matchRanges(in s: [Unicode.Scalar]) -> [Range<Int>] {
    var out: [Range<Int>] = []
    out.reserveCapacity(s.count / 3 + 1)
    var i = 0
    while i < s.count {
      let end = matchEnd(s, i)
      out.append(i..<end)
      i = end
    }
    return out
  }
}

extension SplitPattern {
  /// Hugging Face's `Pattern::find_matches`: the whole text as consecutive pieces, each flagged as match or not.
  func pieces(of text: [Unicode.Scalar]) -> [(range: Range<Int>, isMatch: Bool)] {
    if text.isEmpty { return [(0..<0, false)] }
    var out: [(range: Range<Int>, isMatch: Bool)] = []
    var previous = 0
    for range in matchRanges(in: text) {
      if range.isEmpty { continue }  // Oniguruma's find_iter skips nothing, but empty pieces are dropped later anyway
      if previous != range.lowerBound { out.append((previous..<range.lowerBound, false)) }
      out.append((range, true))
      previous = range.upperBound
    }
    if previous != text.count { out.append((previous..<text.count, false)) }
    return out
  }
}

/// The known pre-tokenizer regexes, recognized by their exact source text.
enum KnownPattern {
  static let gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
  static let llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
  static let qwen2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

  /// A matcher for `source`: hand-written for the known patterns, NSRegularExpression otherwise.
  static func matcher(for source: String) throws -> SplitPattern {
    if exactlyEqual(source, gpt2) { return GPT2Pattern() }
    if exactlyEqual(source, llama3) { return Llama3Pattern(maximumDigits: 3) }
    if exactlyEqual(source, qwen2) { return Llama3Pattern(maximumDigits: 1) }
    return try FoundationRegexPattern(source)
  }
}

@inline(__always) private func isOther(_ s: Unicode.Scalar) -> Bool {
  !CharacterClass.isWhitespace(s) && !CharacterClass.isLetter(s) && !CharacterClass.isNumber(s)
}
@inline(__always) private func isLineBreak(_ s: Unicode.Scalar) -> Bool { s.value == 0x0A || s.value == 0x0D }

/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
struct GPT2Pattern: ContiguousSplitPattern {

  /// End of the match that starts at `i` (every position starts one: the alternatives cover all characters).
  func matchEnd(_ s: [Unicode.Scalar], _ i: Int) -> Int {
    let n = s.count
    let c = s[i]
    if c == "'" && i + 1 < n {
      switch s[i + 1] {
      case "s", "t", "m", "d": return i + 2
      case "r", "v": if i + 2 < n && s[i + 2] == "e" { return i + 3 }
      case "l": if i + 2 < n && s[i + 2] == "l" { return i + 3 }
      default: break
      }
    }
    // ` ?X+` for X in {letter, number, other}: the optional space is taken only if X follows it.
    let k = (c == " " && i + 1 < n) ? i + 1 : i
    let head = s[k]
    if CharacterClass.isLetter(head) {
      var j = k + 1
      while j < n && CharacterClass.isLetter(s[j]) { j += 1 }
      return j
    }
    if CharacterClass.isNumber(head) {
      var j = k + 1
      while j < n && CharacterClass.isNumber(s[j]) { j += 1 }
      return j
    }
    if isOther(head) {
      var j = k + 1
      while j < n && isOther(s[j]) { j += 1 }
      return j
    }
    // Here s[i] is whitespace (a lone space before whitespace fell through above).
    return whitespaceEnd(s, i)
  }
}

/// `\s+(?!\S)|\s+` at `i` (s[i] is whitespace): the run, less its last character when a non-space follows
/// and the run is longer than one.
@inline(__always)
private func whitespaceEnd(_ s: [Unicode.Scalar], _ i: Int) -> Int {
  var j = i + 1
  while j < s.count && CharacterClass.isWhitespace(s[j]) { j += 1 }
  if j == s.count { return j }
  return j - 1 > i ? j - 1 : j
}

/// Llama-3 (`\p{N}{1,3}`) and Qwen2 (`\p{N}`):
/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
struct Llama3Pattern: ContiguousSplitPattern {
  let maximumDigits: Int


  @inline(__always) private func lower(_ s: Unicode.Scalar) -> UInt32 {
    let v = s.value
    if v >= 0x41 && v <= 0x5A { return v + 32 }
    if v == 0x17F { return 0x73 }  // LATIN SMALL LETTER LONG S case-folds to "s"
    return v
  }

  func matchEnd(_ s: [Unicode.Scalar], _ i: Int) -> Int {
    let n = s.count
    let c = s[i]
    if c == "'" && i + 1 < n {
      switch lower(s[i + 1]) {
      case 0x73, 0x74, 0x6D, 0x64: return i + 2  // s t m d
      case 0x72, 0x76: if i + 2 < n && lower(s[i + 2]) == 0x65 { return i + 3 }  // re ve
      case 0x6C: if i + 2 < n && lower(s[i + 2]) == 0x6C { return i + 3 }  // ll
      default: break
      }
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    let cIsLetter = CharacterClass.isLetter(c)
    if cIsLetter || (!isLineBreak(c) && !CharacterClass.isNumber(c) && i + 1 < n && CharacterClass.isLetter(s[i + 1])) {
      var j = i + 1
      while j < n && CharacterClass.isLetter(s[j]) { j += 1 }
      return j
    }
    // \p{N}{1,max}
    if CharacterClass.isNumber(c) {
      var j = i + 1
      while j < n && j - i < maximumDigits && CharacterClass.isNumber(s[j]) { j += 1 }
      return j
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    let k = (c == " " && i + 1 < n && isOther(s[i + 1])) ? i + 1 : i
    if isOther(s[k]) {
      var j = k + 1
      while j < n && isOther(s[j]) { j += 1 }
      while j < n && isLineBreak(s[j]) { j += 1 }
      return j
    }
    // s[i] is whitespace here. `\s*[\r\n]+`: up to and including the run's last line break.
    var j = i
    var lastBreak = -1
    while j < n && CharacterClass.isWhitespace(s[j]) {
      if isLineBreak(s[j]) { lastBreak = j }
      j += 1
    }
    if lastBreak >= 0 { return lastBreak + 1 }
    return whitespaceEnd(s, i)
  }
}

/// A literal string pattern (`{"String": "..."}` in tokenizer.json).
struct LiteralPattern: SplitPattern {
  let needle: [Unicode.Scalar]

  func matchRanges(in s: [Unicode.Scalar]) -> [Range<Int>] {
    guard !needle.isEmpty, needle.count <= s.count else { return [] }
    var out: [Range<Int>] = []
    var i = 0
    while i + needle.count <= s.count {
      var hit = true
      for k in 0..<needle.count where s[i + k] != needle[k] { hit = false; break }
      if hit { out.append(i..<(i + needle.count)); i += needle.count } else { i += 1 }
    }
    return out
  }
}

/// Any other regex, through ICU's NSRegularExpression (close to, not always identical with, Oniguruma).
struct FoundationRegexPattern: SplitPattern {
  let regex: NSRegularExpression

  init(_ source: String) throws {
    regex = try RegexCache.regex(source)
  }

  func matchRanges(in s: [Unicode.Scalar]) -> [Range<Int>] {
    // Map UTF-16 offsets back to scalar indices.
    var utf16Start = [Int](repeating: 0, count: s.count + 1)
    var offset = 0
    for (index, scalar) in s.enumerated() {
      utf16Start[index] = offset
      offset += scalar.value > 0xFFFF ? 2 : 1
    }
    utf16Start[s.count] = offset
    var scalarAt: [Int: Int] = [:]
    for (index, value) in utf16Start.enumerated() { scalarAt[value] = index }
    let text = String(scalars: s)
    let ns = NSString(string: text)
    var out: [Range<Int>] = []
    for match in regex.matches(in: text, options: [], range: NSRange(location: 0, length: ns.length)) {
      guard match.range.location != NSNotFound,
            let lower = scalarAt[match.range.location],
            let upper = scalarAt[match.range.location + match.range.length], upper > lower else { continue }
      out.append(lower..<upper)
    }
    return out
  }
}

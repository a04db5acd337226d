// Added tokens (special or not, with lstrip/rstrip/single_word/normalized): found in the text leftmost-longest
// and cut out before the model runs, as `tokenizers`' AddedVocabulary does.
import Foundation

/// A token that is matched whole in the input text instead of being produced by the model.
public struct AddedToken: Equatable, Sendable {
  public let id: Int
  public let content: String
  /// Special tokens (BOS, EOS, chat markers) are dropped by `decode(_:skipSpecialTokens: true)`.
  public let isSpecial: Bool
  /// Swallow whitespace on the left / right of the token.
  public let leftStrip: Bool
  public let rightStrip: Bool
  /// Match only when not inside a word.
  public let singleWord: Bool
  /// Match against the normalized text (true) or the raw input (false).
  public let normalized: Bool

  public init(id: Int, content: String, isSpecial: Bool, leftStrip: Bool = false, rightStrip: Bool = false,
              singleWord: Bool = false, normalized: Bool? = nil) {
    self.id = id
    self.content = content
    self.isSpecial = isSpecial
    self.leftStrip = leftStrip
    self.rightStrip = rightStrip
    self.singleWord = singleWord
    self.normalized = normalized ?? !isSpecial
  }

  public static func == (a: AddedToken, b: AddedToken) -> Bool {
    a.id == b.id && exactlyEqual(a.content, b.content) && a.isSpecial == b.isSpecial && a.leftStrip == b.leftStrip
      && a.rightStrip == b.rightStrip && a.singleWord == b.singleWord && a.normalized == b.normalized
  }
}

/// A byte trie for leftmost-longest matching of added tokens.
struct TokenTrie {
  private var children: [[UInt8: Int32]] = [[:]]
  private var terminal: [Int32] = [-1]  // index into the token list, or -1
  private var firstBytes = [Bool](repeating: false, count: 256)
  var isEmpty: Bool { children[0].isEmpty }

  mutating func insert(_ bytes: [UInt8], value: Int) {
    guard let first = bytes.first else { return }
    firstBytes[Int(first)] = true
    var node = 0
    for b in bytes {
      if let next = children[node][b] {
        node = Int(next)
      } else {
        children.append([:])
        terminal.append(-1)
        children[node][b] = Int32(children.count - 1)
        node = children.count - 1
      }
    }
    if terminal[node] < 0 { terminal[node] = Int32(value) }
  }

  /// Longest match starting at `start`: (end, value).
  func longestMatch(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> (end: Int, value: Int)? {
    guard firstBytes[Int(bytes[start])] else { return nil }
    var node = 0
    var best: (Int, Int)?
    var i = start
    while i < bytes.count, let next = children[node][bytes[i]] {
      node = Int(next)
      i += 1
      if terminal[node] >= 0 { best = (i, Int(terminal[node])) }
    }
    return best
  }
}

final class AddedVocabulary {
  private(set) var tokens: [AddedToken] = []
  private(set) var largestID = -1
  private var indexByID: [Int: Int] = [:]
  private var indexByContent: [ExactString: Int] = [:]
  private var rawTrie = TokenTrie()
  private var normalizedTrie = TokenTrie()
  /// Set inside `deferringRebuild`: `add` leaves the tries stale until the batch ends.
  private var rebuildDeferred = false

  func token(forID id: Int) -> AddedToken? { indexByID[id].map { tokens[$0] } }
  func id(of content: String) -> Int? { indexByContent[ExactString(content)].map { tokens[$0].id } }

  /// Adds (or replaces) a token; `normalize` turns its content into the form matched in normalized text.
  func add(_ token: AddedToken, normalize: (String) -> String) {
    guard !token.content.isEmpty else { return }
    if let existing = indexByContent[ExactString(token.content)] {
      tokens[existing] = token
    } else {
      tokens.append(token)
      indexByContent[ExactString(token.content)] = tokens.count - 1
    }
    indexByID[token.id] = indexByContent[ExactString(token.content)]!
    largestID = max(largestID, token.id)
    if !rebuildDeferred { rebuild(normalize: normalize) }
  }

  /// Runs `body` (which adds tokens) and builds the tries once at the end instead of after every `add`: adding
  /// a vocabulary's thousands of control tokens one by one would rebuild them thousands of times. Lookups by id or
  /// content stay current inside `body`; `split` must not run until it returns.
  func deferringRebuild(normalize: (String) -> String, _ body: () throws -> Void) rethrows {
    rebuildDeferred = true
    defer {
      rebuildDeferred = false
      rebuild(normalize: normalize)
    }
    try body()
  }

  private func rebuild(normalize: (String) -> String) {
    rawTrie = TokenTrie()
    normalizedTrie = TokenTrie()
    for (index, token) in tokens.enumerated() {
      if token.normalized {
        normalizedTrie.insert(Array(normalize(token.content).utf8), value: index)
      } else {
        rawTrie.insert(Array(token.content.utf8), value: index)
      }
    }
  }

  /// One piece of input after added-token extraction: text for the model, or an added token's id.
  enum Piece { case text(String, atStart: Bool), token(Int) }

  /// Splits `text` around the added tokens of one kind (`normalized` picks the trie).
  func split(_ text: String, atStart: Bool, normalized: Bool) -> [Piece] {
    let trie = normalized ? normalizedTrie : rawTrie
    if trie.isEmpty || text.isEmpty { return text.isEmpty ? [] : [.text(text, atStart: atStart)] }
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBufferPointer { buffer -> [Piece] in
      var pieces: [Piece] = []
      var startOffset = 0
      var i = 0
      while i < buffer.count {
        guard let (matchEnd, index) = trie.longestMatch(buffer, at: i) else { i += 1; continue }
        let token = tokens[index]
        var start = i
        var stop = matchEnd
        i = matchEnd  // the scan resumes after this match whether or not it is kept
        if token.singleWord {
          let startSpace = start == 0 || !Self.endsWithWordCharacter(buffer, before: start)
          let stopSpace = stop == buffer.count || !Self.startsWithWordCharacter(buffer, at: stop)
          if !startSpace || !stopSpace { continue }
        }
        if token.leftStrip {
          start = max(Self.startOfTrailingWhitespace(buffer, before: start), startOffset)
        }
        if token.rightStrip {
          stop = Self.endOfLeadingWhitespace(buffer, from: stop)
          i = max(i, stop)
        }
        if startOffset < start {
          pieces.append(.text(Self.string(buffer, startOffset..<start), atStart: atStart && startOffset == 0))
        }
        pieces.append(.token(token.id))
        startOffset = stop
      }
      if startOffset < buffer.count {
        pieces.append(.text(Self.string(buffer, startOffset..<buffer.count), atStart: atStart && startOffset == 0))
      }
      return pieces
    }
  }

  private static func string(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
    String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self)
  }

  /// The scalar that ends just before byte offset `end`.
  private static func scalar(_ b: UnsafeBufferPointer<UInt8>, endingAt end: Int) -> (Unicode.Scalar, start: Int)? {
    guard end > 0 else { return nil }
    var start = end - 1
    while start > 0 && (b[start] & 0xC0) == 0x80 { start -= 1 }
    let s = String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self)
    return s.unicodeScalars.first.map { ($0, start) }
  }

  private static func scalar(_ b: UnsafeBufferPointer<UInt8>, startingAt start: Int) -> (Unicode.Scalar, end: Int)? {
    guard start < b.count else { return nil }
    var end = start + 1
    while end < b.count && (b[end] & 0xC0) == 0x80 { end += 1 }
    let s = String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self)
    return s.unicodeScalars.first.map { ($0, end) }
  }

  private static func endsWithWordCharacter(_ b: UnsafeBufferPointer<UInt8>, before end: Int) -> Bool {
    scalar(b, endingAt: end).map { CharacterClass.isAlphanumeric($0.0) } ?? false
  }

  private static func startsWithWordCharacter(_ b: UnsafeBufferPointer<UInt8>, at start: Int) -> Bool {
    scalar(b, startingAt: start).map { CharacterClass.isAlphanumeric($0.0) } ?? false
  }

  private static func startOfTrailingWhitespace(_ b: UnsafeBufferPointer<UInt8>, before end: Int) -> Int {
    var position = end
    while let (s, start) = scalar(b, endingAt: position), CharacterClass.isWhitespace(s) { position = start }
    return position
  }

  private static func endOfLeadingWhitespace(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
    var position = start
    while let (s, end) = scalar(b, startingAt: position), CharacterClass.isWhitespace(s) { position = end }
    return position
  }
}

// Incremental decoding for streaming generation: feed ids one at a time, get back only complete UTF-8 text
// (the windowed prefix/read-offset scheme of `tokenizers`' DecodeStream, so leading-space rules stay right).
import Foundation

/// Turns a stream of ids into text pieces whose concatenation equals `tokenizer.decode(allIDs)`.
///
///     var stream = StreamingDecoder(tokenizer: tokenizer)
///     for id in generated { print(stream.append(id), terminator: "") }
///     print(stream.finish())
public struct StreamingDecoder {
  public let tokenizer: Tokenizer
  public let skipSpecialTokens: Bool
  /// The ids still needed as context: those behind `prefix` plus the ones not yet emitted.
  private var window: [Int] = []
  /// Decoded text of `window[..<prefixCount]`, already emitted.
  private var prefix = ""
  private var prefixCount = 0

  public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = false) {
    self.tokenizer = tokenizer
    self.skipSpecialTokens = skipSpecialTokens
  }

  /// Adds one id; returns the text it completes ("" while a multi-byte character is still incomplete).
  public mutating func append(_ id: Int) -> String {
    if prefix.isEmpty && !window.isEmpty {
      let text = tokenizer.decode(window, skipSpecialTokens: skipSpecialTokens)
      if !(text.unicodeScalars.last.map(Self.isReplacement) ?? false) {
        prefix = text
        prefixCount = window.count
      }
    }
    window.append(id)
    let text = tokenizer.decode(window, skipSpecialTokens: skipSpecialTokens)
    guard text.utf8.count > prefix.utf8.count, let last = text.unicodeScalars.last, !Self.isReplacement(last) else {
      return ""
    }
    let newText: String
    if text.utf8.starts(with: prefix.utf8) {
      newText = String(decoding: text.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
    } else {
      newText = text  // the decoder rewrote earlier text (should not happen with the supported decoders)
    }
    window.removeFirst(prefixCount)
    prefix = tokenizer.decode(window, skipSpecialTokens: skipSpecialTokens)
    prefixCount = window.count
    return newText
  }

  /// Adds several ids; returns the text they complete.
  public mutating func append(contentsOf ids: [Int]) -> String { ids.map { append($0) }.joined() }

  /// Ends the stream: whatever is held back (an incomplete character decodes to U+FFFD, as `decode` would).
  public mutating func finish() -> String {
    let text = tokenizer.decode(window, skipSpecialTokens: skipSpecialTokens)
    defer { window = []; prefix = ""; prefixCount = 0 }
    guard text.utf8.count > prefix.utf8.count, text.utf8.starts(with: prefix.utf8) else {
      return text.utf8.starts(with: prefix.utf8) ? "" : text
    }
    return String(decoding: text.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
  }

  private static func isReplacement(_ s: Unicode.Scalar) -> Bool { s == "\u{FFFD}" }
}

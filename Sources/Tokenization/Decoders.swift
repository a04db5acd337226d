// Decoders from tokenizer.json (ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, Sequence):
// each maps a list of token strings to a new list (`decode_chain`), and the final list is joined.
import Foundation
import Support

indirect enum TokenDecoder: PipelinePart {
  case byteLevel
  case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme)
  case byteFallback
  case fuse
  case strip(content: Unicode.Scalar, start: Int, stop: Int)
  case replace(pattern: ReplacePattern, content: String)
  case sequence([TokenDecoder])

  func decode(_ tokens: [String]) -> String { decodeChain(tokens).joined() }

  func decodeChain(_ tokens: [String]) -> [String] {
    switch self {
    case .sequence(let steps):
      return steps.reduce(tokens) { current, step in step.decodeChain(current) }
    case .byteLevel:
      var bytes: [UInt8] = []
      for token in tokens {
        if let mapped = ByteLevelTables.bytes(of: token) { bytes += mapped } else { bytes += Array(token.utf8) }
      }
      return [String(decoding: bytes, as: UTF8.self)]
    case .metaspace(let replacement, let scheme):
      return tokens.enumerated().map { index, token in
        var scalars = token.unicodeScalars.map { $0 == replacement ? " " : $0 }
        if scheme != .never && index == 0 && token.unicodeScalars.first == replacement { scalars.removeFirst() }
        return String(scalars: scalars)
      }
    case .byteFallback:
      var out: [String] = []
      var pending: [UInt8] = []
      func flush() {
        guard !pending.isEmpty else { return }
        if let text = String(validating: pending, as: UTF8.self) {
          out.append(text)
        } else {
          out += Array(repeating: "\u{FFFD}", count: pending.count)
        }
        pending.removeAll()
      }
      for token in tokens {
        if let byte = Self.byteToken(token) { pending.append(byte) } else { flush(); out.append(token) }
      }
      flush()
      return out
    case .fuse:
      return [tokens.joined()]
    case .strip(let content, let start, let stop):
      return tokens.map { token in
        let scalars = Array(token.unicodeScalars)
        var startCut = 0
        for i in 0..<min(start, scalars.count) {
          if scalars[i] == content { startCut = i + 1 } else { break }
        }
        var stopCut = scalars.count
        for i in 0..<min(stop, scalars.count) {
          let index = scalars.count - i - 1
          if scalars[index] == content { stopCut = index } else { break }
        }
        return startCut < stopCut ? String(scalars: scalars[startCut..<stopCut]) : ""
      }
    case .replace(let pattern, let content):
      return tokens.map { pattern.replace(in: $0, with: content) }
    }
  }

  /// The byte of a `<0xNN>` token.
  static func byteToken(_ token: String) -> UInt8? {
    let u = Array(token.utf8)
    guard u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"), u[2] == UInt8(ascii: "x"),
          u[5] == UInt8(ascii: ">") else { return nil }
    return UInt8(String(decoding: u[3...4], as: UTF8.self), radix: 16)
  }

  static let field = "decoder"
  static let sequenceKey = "decoders"

  /// One part of a type other than "Sequence" (see `PipelinePart.parse`).
  static func part(type: String, json: JSONValue, file: String, field: String) throws -> TokenDecoder {
    switch type {
    case "ByteLevel": return .byteLevel
    case "Metaspace":
      let (replacement, scheme) = try PrependScheme.metaspaceSettings(json, file: file, field: field)
      return .metaspace(replacement: replacement, prependScheme: scheme)
    case "ByteFallback": return .byteFallback
    case "Fuse": return .fuse
    case "Strip":
      let text = json[first: "content"]?.stringValue ?? " "
      guard text.unicodeScalars.count == 1, let content = text.unicodeScalars.first else {
        throw TokenizerError.invalidField(file: file, field: "\(field).content", reason: "expected one character")
      }
      let start = json[first: "start"]?.intValue ?? 0, stop = json[first: "stop"]?.intValue ?? 0
      // usize in `tokenizers`; a negative count trapped here (found by Fuzz/Tokenizer).
      guard start >= 0, stop >= 0 else {
        throw TokenizerError.invalidField(file: file, field: "\(field).start/stop", reason: "expected counts >= 0")
      }
      return .strip(content: content, start: start, stop: stop)
    case "Replace":
      let pattern = try ReplacePattern.parse(json[first: "pattern"], file: file, field: "\(field).pattern")
      guard let content = json[first: "content"]?.stringValue else {
        throw TokenizerError.invalidField(file: file, field: "\(field).content", reason: "expected a string")
      }
      return .replace(pattern: pattern, content: content)
    default:
      throw TokenizerError.unsupported(file: file, field: "\(field).type", value: type)
    }
  }
}

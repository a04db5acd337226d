// Exact-byte string keys, Unicode class tests matching Oniguruma/Rust semantics, and GPT-2's byte<->char tables.
import Foundation

/// A String compared and hashed by its UTF-8 bytes. Swift's own String equality treats canonically
/// equivalent strings ("é" and "e\u{301}") as equal, which would merge distinct vocabulary entries.
struct ExactString: Hashable {
  let value: String

  init(_ value: String) {
    var copy = value
    copy.makeContiguousUTF8()
    self.value = copy
  }

  static func == (lhs: ExactString, rhs: ExactString) -> Bool {
    var a = lhs.value, b = rhs.value
    return a.withUTF8 { pa in
      b.withUTF8 { pb in
        pa.count == pb.count && (pa.count == 0 || memcmp(pa.baseAddress!, pb.baseAddress!, pa.count) == 0)
      }
    }
  }

  func hash(into hasher: inout Hasher) {
    var copy = value
    copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
  }
}

/// True when two strings have the same Unicode scalars (no canonical-equivalence folding).
@inline(__always)
func exactlyEqual(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

extension String {
  /// Builds a string from scalars without any normalization.
  init<S: Sequence>(scalars: S) where S.Element == Unicode.Scalar {
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars)
    self = String(view)
  }
}

/// Unicode character classes as the regex engines behind Hugging Face `tokenizers` see them.
enum CharacterClass {
  /// `\p{L}`: general categories Lu, Ll, Lt, Lm, Lo.
  @inline(__always)
  static func isLetter(_ s: Unicode.Scalar) -> Bool {
    let v = s.value
    if v < 0x80 { return (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) }
    switch s.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
    default: return false
    }
  }

  /// `\p{N}` (and Rust's `char::is_numeric`): general categories Nd, Nl, No.
  @inline(__always)
  static func isNumber(_ s: Unicode.Scalar) -> Bool {
    let v = s.value
    if v < 0x80 { return v >= 0x30 && v <= 0x39 }
    switch s.properties.generalCategory {
    case .decimalNumber, .letterNumber, .otherNumber: return true
    default: return false
    }
  }

  /// `\s` in Oniguruma's Unicode mode and Rust's `char::is_whitespace`: the White_Space property.
  @inline(__always)
  static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
    switch s.value {
    case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
    default: return false
    }
  }

  /// Rust's `char::is_alphanumeric`: Alphabetic property or a numeric general category.
  static func isAlphanumeric(_ s: Unicode.Scalar) -> Bool {
    if s.value < 0x80 { return isLetter(s) || isNumber(s) }
    return s.properties.isAlphabetic || isNumber(s)
  }
}

/// GPT-2's reversible map from bytes to printable characters (the `ByteLevel` alphabet).
enum ByteLevelTables {
  /// byte -> character.
  static let byteToScalar: [Unicode.Scalar] = {
    var table = [Unicode.Scalar](repeating: " ", count: 256)
    var next: UInt32 = 256
    for b in 0..<256 {
      let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
      if printable {
        table[b] = Unicode.Scalar(UInt32(b))!
      } else {
        table[b] = Unicode.Scalar(next)!
        next += 1
      }
    }
    return table
  }()

  /// character -> byte (nil for characters outside the alphabet).
  static let scalarToByte: [UInt32: UInt8] = {
    var map: [UInt32: UInt8] = [:]
    for (b, s) in byteToScalar.enumerated() { map[s.value] = UInt8(b) }
    return map
  }()

  /// Maps every UTF-8 byte of `text` to its ByteLevel character.
  static func encode(_ text: String) -> String {
    var view = String.UnicodeScalarView()
    for b in text.utf8 { view.append(byteToScalar[Int(b)]) }
    return String(view)
  }

  /// Inverse of `encode` for one token; nil if some character is outside the alphabet.
  static func bytes(of token: String) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(token.unicodeScalars.count)
    for s in token.unicodeScalars {
      guard let b = scalarToByte[s.value] else { return nil }
      out.append(b)
    }
    return out
  }
}

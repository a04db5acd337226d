// StableHash.swift — a 64-bit FNV-1a hash that is the same on every machine and run (Swift's Hasher is seeded per
// process): fingerprints that are written to disk and compared later.
public struct StableHash: Sendable {
  public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

  public init() {}

  public mutating func combine(_ bytes: some Sequence<UInt8>) {
    for byte in bytes {
      value ^= UInt64(byte)
      value &*= 0x0000_0100_0000_01b3
    }
  }

  /// The string's UTF-8 bytes, then a separator, so that ("ab", "c") and ("a", "bc") differ.
  public mutating func combine(_ text: String) {
    combine(text.utf8)
    combine([0xff])
  }

  /// The integer's 8 little-endian bytes.
  public mutating func combine(_ number: Int) {
    withUnsafeBytes(of: UInt64(bitPattern: Int64(number)).littleEndian) { combine($0) }
  }

  /// 16 lowercase hex digits.
  public var hex: String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
  }
}

// CRC32C.swift — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) with a 256-entry table, and the masked
// form TFRecord framing uses (tensorflow/core/lib/hash/crc32c.h `Mask`).

public enum CRC32C {
  /// Byte-at-a-time lookup table for the reflected Castagnoli polynomial.
  static let table: [UInt32] = (0..<256).map { index in
    var crc = UInt32(index)
    for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
    return crc
  }

  /// CRC-32C of `bytes` (initial value and final xor 0xFFFFFFFF): checksum("123456789") == 0xE3069283.
  public static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
    var crc: UInt32 = 0xFFFF_FFFF
    table.withUnsafeBufferPointer { table in
      for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    }
    return crc ^ 0xFFFF_FFFF
  }

  /// TensorFlow's masked CRC: rotate right by 15 bits and add a constant, so that a CRC of data that itself
  /// contains CRCs stays well distributed.
  public static func masked(_ crc: UInt32) -> UInt32 {
    ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
  }

  public static func maskedChecksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
    masked(checksum(bytes))
  }
}

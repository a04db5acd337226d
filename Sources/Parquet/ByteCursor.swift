// ByteCursor.swift — a read position over untrusted bytes: every read checks what is left first and throws when it
// is not there, so no decoder ever indexes past its input (release builds run without Swift's own bounds checks).

/// Reads little-endian integers, varints and byte runs from a buffer, checking the length before every read.
struct ByteCursor {
  let bytes: UnsafeRawBufferPointer
  private(set) var position: Int
  /// What the bytes are, for messages ("page header", "dictionary page").
  let what: String

  init(_ bytes: UnsafeRawBufferPointer, position: Int = 0, what: String) {
    self.bytes = bytes
    self.position = position
    self.what = what
  }

  var remaining: Int { bytes.count - position }

  /// Moves to `offset` (within the buffer).
  mutating func seek(to offset: Int) throws {
    guard offset >= 0 && offset <= bytes.count else {
      throw ParquetError(message: "\(what): offset \(offset) is outside its \(bytes.count) bytes")
    }
    position = offset
  }
  var atEnd: Bool { position >= bytes.count }

  func ranOut(_ needed: Int) -> ParquetError {
    ParquetError(message: "\(what) ends early at offset \(position): \(needed) bytes needed, \(remaining) left")
  }

  mutating func readByte() throws -> UInt8 {
    guard position < bytes.count else { throw ranOut(1) }
    defer { position += 1 }
    return bytes[position]
  }

  mutating func readUInt32() throws -> UInt32 {
    guard remaining >= 4 else { throw ranOut(4) }
    defer { position += 4 }
    return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
  }

  mutating func readUInt64() throws -> UInt64 {
    guard remaining >= 8 else { throw ranOut(8) }
    defer { position += 8 }
    return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
  }

  /// The next `count` bytes, as a buffer over the same memory.
  mutating func readBytes(_ count: Int) throws -> UnsafeRawBufferPointer {
    guard count >= 0 else { throw ParquetError(message: "\(what): negative length \(count)") }
    guard remaining >= count else { throw ranOut(count) }
    defer { position += count }
    return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
  }

  mutating func skip(_ count: Int) throws { _ = try readBytes(count) }

  /// An unsigned LEB128 varint of at most 10 bytes.
  mutating func readVarint() throws -> UInt64 {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    while true {
      let byte = try readByte()
      if shift == 63 && byte > 1 { throw ParquetError(message: "\(what): varint overflows 64 bits at offset \(position)") }
      result |= UInt64(byte & 0x7F) << shift
      if byte & 0x80 == 0 { return result }
      shift += 7
      if shift > 63 { throw ParquetError(message: "\(what): varint longer than 10 bytes at offset \(position)") }
    }
  }
}

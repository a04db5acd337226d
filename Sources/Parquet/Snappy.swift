// Snappy.swift — decompression of Snappy's raw block format (what Parquet's SNAPPY pages hold), written from
// https://github.com/google/snappy/blob/main/format_description.txt: a varint length, then literals and back
// references. Every length and offset is checked against the input and the output written so far.

enum Snappy {
  /// Decompresses one block whose header must announce `expectedCount` bytes.
  static func decompress(_ input: UnsafeRawBufferPointer, expectedCount: Int) throws -> [UInt8] {
    var cursor = ByteCursor(input, what: "snappy data")
    let declared = try cursor.readVarint()
    guard declared == UInt64(expectedCount) else {
      throw ParquetError(message: "snappy data holds \(declared) bytes, the page header says \(expectedCount)")
    }
    var failure: ParquetError?
    let output = [UInt8](unsafeUninitializedCapacity: expectedCount) { out, initialized in
      do {
        initialized = try decode(&cursor, into: out)
      } catch {
        failure = error as? ParquetError ?? ParquetError(message: "\(error)")
        initialized = 0
      }
    }
    if let failure { throw failure }
    guard output.count == expectedCount else {
      throw ParquetError(message: "snappy data ends after \(output.count) of \(expectedCount) bytes")
    }
    return output
  }

  /// Decodes elements until the input ends; returns how many bytes were written.
  private static func decode(_ cursor: inout ByteCursor, into out: UnsafeMutableBufferPointer<UInt8>) throws -> Int {
    var written = 0
    let capacity = out.count
    while !cursor.atEnd {
      let tag = try cursor.readByte()
      switch tag & 0x03 {
      case 0:  // literal: length - 1 in the tag's upper 6 bits, or in the next 1 to 4 bytes
        var length = Int(tag >> 2)
        if length >= 60 {
          let extra = length - 59
          length = 0
          for index in 0..<extra { length |= Int(try cursor.readByte()) << (8 * index) }
        }
        length += 1
        guard length <= capacity - written else {
          throw ParquetError(message: "snappy literal of \(length) bytes overflows the \(capacity)-byte output")
        }
        let source = try cursor.readBytes(length)
        UnsafeMutableRawPointer(out.baseAddress! + written).copyMemory(from: source.baseAddress!, byteCount: length)
        written += length
      default:
        let length: Int
        let offset: Int
        switch tag & 0x03 {
        case 1:  // copy with a 1-byte offset: length 4…11, offset 0…2047
          length = 4 + Int((tag >> 2) & 0x07)
          offset = Int(tag >> 5) << 8 | Int(try cursor.readByte())
        case 2:  // copy with a 2-byte offset
          length = 1 + Int(tag >> 2)
          offset = Int(try cursor.readByte()) | Int(try cursor.readByte()) << 8
        default:  // copy with a 4-byte offset
          length = 1 + Int(tag >> 2)
          offset = Int(try cursor.readUInt32())
        }
        guard offset > 0 && offset <= written else {
          throw ParquetError(message: "snappy back reference to offset \(offset) with \(written) bytes written")
        }
        guard length <= capacity - written else {
          throw ParquetError(message: "snappy copy of \(length) bytes overflows the \(capacity)-byte output")
        }
        if offset >= length {
          (out.baseAddress! + written).update(from: out.baseAddress! + (written - offset), count: length)
        } else {
          for index in 0..<length { out[written + index] = out[written - offset + index] }  // overlapping run
        }
        written += length
      }
    }
    return written
  }
}

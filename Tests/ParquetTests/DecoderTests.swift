// DecoderTests.swift — the low-level decoders worked by hand: Snappy blocks (literals, overlapping copies, every
// way a block can lie), the RLE / bit-packed hybrid from parquet-format's own example, and Thrift's compact
// protocol.

import Testing
@testable import Parquet

func snappy(_ bytes: [UInt8], expecting count: Int) throws -> [UInt8] {
  try bytes.withUnsafeBytes { try Snappy.decompress($0, expectedCount: count) }
}

@Suite struct SnappyTests {
  @Test func literalThenOverlappingCopy() throws {
    // Length 10; literal "ab" (tag 1<<2 | 0); copy 8 bytes from offset 2 with a 2-byte offset (tag (8-1)<<2 | 2).
    let block: [UInt8] = [10, 0x04, 0x61, 0x62, 0x1E, 0x02, 0x00]
    #expect(try snappy(block, expecting: 10) == Array("ababababab".utf8))
    // The same with a 1-byte-offset copy: length 4 + ((tag >> 2) & 7) = 8, offset (tag >> 5) << 8 | next byte = 2.
    #expect(try snappy([10, 0x04, 0x61, 0x62, 0x11, 0x02], expecting: 10) == Array("ababababab".utf8))
  }

  @Test func longLiteralWithExtraLengthBytes() throws {
    let text = [UInt8](repeating: 0x7A, count: 70)
    // Tag 60 << 2: the literal's length - 1 follows in one byte.
    #expect(try snappy([70, 60 << 2, 69] + text, expecting: 70) == text)
  }

  @Test func everyLieIsAnError() {
    #expect(throws: ParquetError(message: "snappy data holds 9 bytes, the page header says 10")) {
      try snappy([9, 0x04, 0x61, 0x62], expecting: 10)
    }
    #expect(throws: ParquetError(message: "snappy back reference to offset 3 with 2 bytes written")) {
      try snappy([10, 0x04, 0x61, 0x62, 0x1E, 0x03, 0x00], expecting: 10)
    }
    #expect(throws: ParquetError(message: "snappy copy of 8 bytes overflows the 5-byte output")) {
      try snappy([5, 0x04, 0x61, 0x62, 0x1E, 0x02, 0x00], expecting: 5)
    }
    #expect(throws: ParquetError(message: "snappy literal of 3 bytes overflows the 2-byte output")) {
      try snappy([2, 0x08, 0x61, 0x62, 0x63], expecting: 2)
    }
    #expect(throws: ParquetError(message: "snappy data ends early at offset 2: 3 bytes needed, 1 left")) {
      try snappy([3, 0x08, 0x61], expecting: 3)
    }
    #expect(throws: ParquetError(message: "snappy data ends after 2 of 4 bytes")) {
      try snappy([4, 0x04, 0x61, 0x62], expecting: 4)
    }
    #expect(throws: ParquetError(message: "snappy back reference to offset 0 with 2 bytes written")) {
      try snappy([10, 0x04, 0x61, 0x62, 0x1E, 0x00, 0x00], expecting: 10)
    }
  }
}

@Suite struct HybridRLETests {
  func decode(_ bytes: [UInt8], width: Int, count: Int, maximum: UInt32 = .max) throws -> [UInt32] {
    try bytes.withUnsafeBytes { try HybridRLE.decode($0, bitWidth: width, count: count, maximum: maximum, what: "levels") }
  }

  @Test func bitPackedExampleFromTheSpecification() throws {
    // Encodings.md: the values 0…7 with bit width 3, one bit-packed group: header (1 << 1) | 1, then
    // 10001000 11000110 11111010.
    #expect(try decode([0x03, 0b1000_1000, 0b1100_0110, 0b1111_1010], width: 3, count: 8) == [0, 1, 2, 3, 4, 5, 6, 7])
    // Fewer values than the group holds: the rest is padding.
    #expect(try decode([0x03, 0b1000_1000, 0b1100_0110, 0b1111_1010], width: 3, count: 5) == [0, 1, 2, 3, 4])
  }

  @Test func rleRunsAndMixedRuns() throws {
    // A run of 5 × 2 (bit width 2: one value byte); then 3 × 1 and a bit-packed group (0, 1, 2, 3 and padding).
    #expect(try decode([5 << 1, 0x02], width: 2, count: 5) == [2, 2, 2, 2, 2])
    #expect(try decode([3 << 1, 0x01, 0x03, 0b1110_0100, 0x00], width: 2, count: 7) == [1, 1, 1, 0, 1, 2, 3])
    // A 300-long run: the header is a two-byte varint; values of width 9 take two bytes.
    #expect(try decode([0xD8, 0x04, 0x2C, 0x01], width: 9, count: 300) == Array(repeating: 300, count: 300))
    #expect(try decode([], width: 0, count: 0) == [])
  }

  @Test func lies() {
    #expect(throws: ParquetError(message: "levels: value 3 is over the maximum 2")) {
      try decode([4 << 1, 0x03], width: 2, count: 4, maximum: 2)
    }
    #expect(throws: ParquetError(message: "levels ends early at offset 2: 1 bytes needed, 0 left")) {
      try decode([4 << 1, 0x01], width: 2, count: 5)
    }
    #expect(throws: ParquetError(message: "levels ends early at offset 1: 2 bytes needed, 1 left")) {
      try decode([0x03, 0xFF], width: 2, count: 8)
    }
    #expect(throws: ParquetError(message: "levels: bit width 33 is over 32")) { try decode([], width: 33, count: 1) }
  }

  @Test func bitWidths() {
    #expect([0, 1, 2, 3, 4, 7, 8, 255].map(bitWidth(of:)) == [0, 1, 2, 2, 3, 3, 4, 8])
  }
}

@Suite struct ThriftTests {
  @Test func compactStructWithShortAndLongFieldIDsListsAndSkippedFields() throws {
    // struct { 1: i32 = -3 (zigzag 5), 2: string "hi", 20: list<i32> [1, 2] (long field id), 21: true, 22: nested
    //          struct { 1: i64 7 } skipped, stop }
    let bytes: [UInt8] = [0x15, 0x05, 0x18, 0x02, 0x68, 0x69, 0x09, 0x28, 0x25, 0x02, 0x04, 0x11, 0x1C, 0x16, 0x0E, 0x00,
                          0x00]
    var values: [String] = []
    try bytes.withUnsafeBytes { raw in
      var reader = CompactReader(ByteCursor(raw, what: "test"))
      try reader.readStruct { reader, id, type in
        switch id {
        case 1: values.append("1=\(try reader.readI32(type))")
        case 2: values.append("2=\(try reader.readString(type))")
        case 20: try reader.readList(of: .i32) { values.append("20+\(try $0.readI32(.i32))") }
        case 21: values.append("21=\(try reader.readBool(type))")
        default: values.append("skip \(id)"); try reader.skip(type)
        }
      }
      #expect(reader.cursor.atEnd)
    }
    #expect(values == ["1=-3", "2=hi", "20+1", "20+2", "21=true", "skip 22"])
  }

  @Test func deepNestingAndHugeListsAreRefused() {
    let deep = [UInt8](repeating: 0x1C, count: 100)  // struct field 1 of type struct, 100 levels down
    #expect(throws: ParquetError.self) {
      try deep.withUnsafeBytes { raw in
        var reader = CompactReader(ByteCursor(raw, what: "test"))
        try reader.skip(.structure)
      }
    }
    let hugeList: [UInt8] = [0xF5, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]  // list<i32> of 2^32 - 1 elements
    #expect(throws: ParquetError(message: "test: list of 4294967295 elements, only 0 bytes left (offset 6)")) {
      try hugeList.withUnsafeBytes { raw in
        var reader = CompactReader(ByteCursor(raw, what: "test"))
        try reader.readList(of: .i32) { _ = try $0.readI32(.i32) }
      }
    }
  }
}

@Suite struct PlainDecoderTests {
  /// Found by Fuzz/Parquet: a dictionary page claiming 10^9 values made the PLAIN decoder reserve 14 GB before it
  /// looked at the page's bytes. The reservation is bounded by what the bytes can hold, and the count is an error.
  @Test func aValueCountBeyondThePageBytesReservesNothingLarge() throws {
    let leaf = SchemaNode(name: "x", repetition: .required, physicalType: .int64, typeLength: 0, logicalType: nil,
                          convertedType: nil, children: [], definitionLevel: 0, repetitionLevel: 0, leafRange: 0..<1,
                          path: "x")
    let decoder = try ValueDecoder(leaf: leaf)
    var values: [ParquetValue] = []
    let page = [UInt8](repeating: 7, count: 16)
    #expect(throws: ParquetError(message: "PLAIN values end early: 1000000000 values of 8 bytes need 8000000000, "
                                   + "16 left")) {
      try page.withUnsafeBytes { try decoder.decodePlain($0, count: 1_000_000_000, into: &values) }
    }
    #expect(values.isEmpty)
    #expect(values.capacity <= 2 * 16 * 8)  // at most one value per bit of the page (and malloc's rounding)
  }
}

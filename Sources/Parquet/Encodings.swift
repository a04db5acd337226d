// Encodings.swift — Parquet's value and level encodings (parquet-format's Encodings.md): the RLE / bit-packed
// hybrid (levels, dictionary indices, RLE booleans) and PLAIN for every physical type, decoded into ParquetValues.
// pyarrow writes nothing else by default (checked on its fixtures: PLAIN, RLE, RLE_DICTIONARY), so the DELTA and
// BYTE_STREAM_SPLIT encodings are refused by name.

/// The number of bits needed for values up to `maximum` (0 for 0).
func bitWidth(of maximum: Int) -> Int {
  maximum <= 0 ? 0 : Int.bitWidth - maximum.leadingZeroBitCount
}

enum HybridRLE {
  /// Decodes `count` values of `bitWidth` bits from RLE / bit-packed hybrid runs (no length prefix).
  /// `maximum` is the largest value allowed; larger ones are an error.
  static func decode(_ bytes: UnsafeRawBufferPointer, bitWidth: Int, count: Int, maximum: UInt32,
                     what: String) throws -> [UInt32] {
    guard bitWidth >= 0 && bitWidth <= 32 else { throw ParquetError(message: "\(what): bit width \(bitWidth) is over 32") }
    var cursor = ByteCursor(bytes, what: what)
    var output: [UInt32] = []
    output.reserveCapacity(count)
    let valueBytes = (bitWidth + 7) / 8
    let mask: UInt64 = bitWidth == 32 ? 0xFFFF_FFFF : (1 << UInt64(bitWidth)) - 1
    while output.count < count {
      let header = try cursor.readVarint()
      guard header >> 1 <= UInt64(Int32.max) else { throw ParquetError(message: "\(what): run of \(header >> 1) is too long") }
      let runLength = Int(header >> 1)
      if header & 1 == 0 {  // RLE run: one value repeated
        var value: UInt32 = 0
        for index in 0..<valueBytes { value |= UInt32(try cursor.readByte()) << (8 * UInt32(index)) }
        guard value <= maximum else { throw ParquetError(message: "\(what): value \(value) is over the maximum \(maximum)") }
        let take = min(runLength, count - output.count)
        output.append(contentsOf: repeatElement(value, count: take))
      } else {  // bit-packed run: runLength groups of 8 values, least significant bit first
        guard runLength <= (Int.max / 8) else { throw ParquetError(message: "\(what): bit-packed run is too long") }
        let take = min(runLength * 8, count - output.count)
        let neededBytes = (take * bitWidth + 7) / 8
        let packed = try cursor.readBytes(neededBytes)
        // The run occupies whole groups; skip the padding past the values we need, when it is there.
        let runBytes = runLength * bitWidth  // = runLength * 8 values * bitWidth bits / 8
        try cursor.skip(min(runBytes - neededBytes, cursor.remaining))
        var buffer: UInt64 = 0
        var bufferedBits = 0
        var byteIndex = 0
        for _ in 0..<take {
          while bufferedBits < bitWidth {
            buffer |= UInt64(packed[byteIndex]) << UInt64(bufferedBits)
            byteIndex += 1
            bufferedBits += 8
          }
          let value = UInt32(truncatingIfNeeded: buffer & mask)
          guard value <= maximum else { throw ParquetError(message: "\(what): value \(value) is over the maximum \(maximum)") }
          output.append(value)
          buffer = bitWidth == 0 ? buffer : buffer >> UInt64(bitWidth)
          bufferedBits -= bitWidth
        }
      }
    }
    return output
  }

  /// Levels with a 4-byte length prefix (data page v1); returns them and the bytes they took.
  static func decodePrefixed(_ bytes: UnsafeRawBufferPointer, bitWidth: Int, count: Int, maximum: UInt32,
                             what: String) throws -> (values: [UInt32], consumed: Int) {
    var cursor = ByteCursor(bytes, what: what)
    let length = Int(try cursor.readUInt32())
    let body = try cursor.readBytes(length)
    return (try decode(body, bitWidth: bitWidth, count: count, maximum: maximum, what: what), 4 + length)
  }
}

/// How a leaf's physical values become ParquetValues.
struct ValueDecoder {
  enum Kind {
    case boolean, int32(unsigned: Bool), int64(unsigned: Bool), int96, float, double, text, bytes, fixed(Int)
  }
  let kind: Kind

  init(leaf: SchemaNode) throws {
    switch leaf.physicalType {
    case .boolean?: kind = .boolean
    case .int32?: kind = .int32(unsigned: leaf.isUnsigned)
    case .int64?: kind = .int64(unsigned: leaf.isUnsigned)
    case .int96?: kind = .int96
    case .float?: kind = .float
    case .double?: kind = .double
    case .byteArray?: kind = leaf.isText ? .text : .bytes
    case .fixedLengthByteArray?: kind = .fixed(leaf.typeLength)
    case nil: throw ParquetError(message: "\"\(leaf.path)\" is a group, not a column")
    }
  }

  /// Appends `count` PLAIN-encoded values from `bytes` to `values`.
  func decodePlain(_ bytes: UnsafeRawBufferPointer, count: Int, into values: inout [ParquetValue]) throws {
    var cursor = ByteCursor(bytes, what: "PLAIN values")
    // Every PLAIN value takes at least one bit: a hostile page header's count never sizes the reservation (Fuzz/Parquet
    // found a dictionary page claiming 10^9 values reserving 14 GB).
    values.reserveCapacity(values.count + max(0, min(count, bytes.count * 8)))
    func need(_ width: Int) throws {
      guard count <= cursor.remaining / width else {
        throw ParquetError(message: "PLAIN values end early: \(count) values of \(width) bytes need \(count * width), "
          + "\(cursor.remaining) left")
      }
    }
    switch kind {
    case .boolean:
      guard count <= cursor.remaining * 8 else { throw cursor.ranOut((count + 7) / 8) }
      for index in 0..<count { values.append(.bool(bytes[index / 8] >> UInt8(index % 8) & 1 == 1)) }
    case .int32(let unsigned):
      try need(4)
      for _ in 0..<count {
        let raw = try cursor.readUInt32()
        values.append(.int(unsigned ? Int64(raw) : Int64(Int32(bitPattern: raw))))
      }
    case .int64(let unsigned):
      try need(8)
      for _ in 0..<count {
        let raw = try cursor.readUInt64()
        values.append(unsigned && raw > UInt64(Int64.max) ? .double(Double(raw)) : .int(Int64(bitPattern: raw)))
      }
    case .float:
      try need(4)
      for _ in 0..<count { values.append(.double(Double(Float(bitPattern: try cursor.readUInt32())))) }
    case .double:
      try need(8)
      for _ in 0..<count { values.append(.double(Double(bitPattern: try cursor.readUInt64()))) }
    case .int96:
      try need(12)
      for _ in 0..<count { values.append(.bytes([UInt8](try cursor.readBytes(12)))) }
    case .fixed(let length):
      guard length > 0 else {
        values.append(contentsOf: repeatElement(.bytes([]), count: count))
        return
      }
      try need(length)
      for _ in 0..<count { values.append(.bytes([UInt8](try cursor.readBytes(length)))) }
    case .text, .bytes:
      try need(4)  // every value has at least its length
      for _ in 0..<count {
        let length = Int(try cursor.readUInt32())
        values.append(try value(ofByteArray: try cursor.readBytes(length)))
      }
    }
  }

  func value(ofByteArray bytes: UnsafeRawBufferPointer) throws -> ParquetValue {
    guard case .text = kind else { return .bytes([UInt8](bytes)) }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw ParquetError(message: "a STRING value is not valid UTF-8")
    }
    return .string(text)
  }
}

// Thrift.swift — a reader for Thrift's compact protocol, the encoding of Parquet's footer and page headers
// (https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md). Only reading; unknown
// fields are skipped, so newer writers' additions are tolerated.

/// The compact protocol's type codes.
enum ThriftType: UInt8 {
  case stop = 0, boolTrue = 1, boolFalse = 2, byte = 3, i16 = 4, i32 = 5, i64 = 6, double = 7, binary = 8
  case list = 9, set = 10, map = 11, structure = 12
}

/// Reads compact-protocol values from a byte cursor. Structs are read with `readStruct`, which hands each field's
/// id and type to a closure that reads (or skips) the value.
struct CompactReader {
  var cursor: ByteCursor
  private var depth = 0
  /// Structs and containers nest at most this deep (Parquet's own schema needs 4).
  static let maximumDepth = 32

  init(_ cursor: ByteCursor) { self.cursor = cursor }

  func error(_ message: String) -> ParquetError {
    ParquetError(message: "\(cursor.what): \(message) (offset \(cursor.position))")
  }

  /// Reads one struct: calls `field(&reader, id, type)` for every field until the stop marker.
  mutating func readStruct(_ field: (inout CompactReader, Int16, ThriftType) throws -> Void) throws {
    depth += 1
    defer { depth -= 1 }
    guard depth <= Self.maximumDepth else { throw error("structures nested more than \(Self.maximumDepth) deep") }
    var lastID: Int16 = 0
    while true {
      let header = try cursor.readByte()
      guard let type = ThriftType(rawValue: header & 0x0F) else { throw error("unknown field type \(header & 0x0F)") }
      if type == .stop { return }
      let delta = Int16(header >> 4)
      let id: Int16
      if delta != 0 {
        id = lastID &+ delta
      } else {
        let raw = try readZigzag()
        guard raw >= Int64(Int16.min) && raw <= Int64(Int16.max) else { throw error("field id \(raw) out of range") }
        id = Int16(raw)
      }
      lastID = id
      try field(&self, id, type)
    }
  }

  private mutating func readZigzag() throws -> Int64 {
    let raw = try cursor.readVarint()
    return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
  }

  mutating func readI32(_ type: ThriftType) throws -> Int32 {
    guard type == .i32 || type == .i16 || type == .byte else { throw error("expected an integer, found \(type)") }
    if type == .byte { return Int32(Int8(bitPattern: try cursor.readByte())) }
    let value = try readZigzag()
    guard value >= Int64(Int32.min) && value <= Int64(Int32.max) else { throw error("32-bit integer \(value) out of range") }
    return Int32(value)
  }

  mutating func readI64(_ type: ThriftType) throws -> Int64 {
    guard type == .i64 || type == .i32 || type == .i16 || type == .byte else {
      throw error("expected an integer, found \(type)")
    }
    if type == .byte { return Int64(Int8(bitPattern: try cursor.readByte())) }
    return try readZigzag()
  }

  /// A boolean field: its value is in the field's type code.
  mutating func readBool(_ type: ThriftType) throws -> Bool {
    switch type {
    case .boolTrue: return true
    case .boolFalse: return false
    default: throw error("expected a boolean, found \(type)")
    }
  }

  mutating func readBinary(_ type: ThriftType) throws -> UnsafeRawBufferPointer {
    guard type == .binary else { throw error("expected a string, found \(type)") }
    let length = try cursor.readVarint()
    guard length <= UInt64(cursor.remaining) else { throw error("string of \(length) bytes, only \(cursor.remaining) left") }
    return try cursor.readBytes(Int(length))
  }

  mutating func readString(_ type: ThriftType) throws -> String {
    let bytes = try readBinary(type)
    guard let text = String(validating: bytes, as: UTF8.self) else { throw error("string is not valid UTF-8") }
    return text
  }

  /// Reads a list (or set) header, checks the element type, then calls `element` once per element.
  mutating func readList(of expected: ThriftType, _ element: (inout CompactReader) throws -> Void) throws {
    let (count, type) = try readListHeader()
    guard type == expected else { throw error("expected a list of \(expected), found a list of \(type)") }
    try nested { for _ in 0..<count { try element(&$0) } }
  }

  private mutating func readListHeader() throws -> (Int, ThriftType) {
    let header = try cursor.readByte()
    guard let type = ThriftType(rawValue: header & 0x0F) else { throw error("unknown list element type \(header & 0x0F)") }
    var count = UInt64(header >> 4)
    if count == 15 { count = try cursor.readVarint() }
    // Every element takes at least one byte, so a longer list cannot fit in what is left.
    guard count <= UInt64(cursor.remaining) else { throw error("list of \(count) elements, only \(cursor.remaining) bytes left") }
    return (Int(count), type)
  }

  /// Reads and discards a value of `type`.
  mutating func skip(_ type: ThriftType) throws {
    switch type {
    case .stop: throw error("unexpected stop marker")
    case .boolTrue, .boolFalse: return
    case .byte: try cursor.skip(1)
    case .i16, .i32, .i64: _ = try cursor.readVarint()
    case .double: try cursor.skip(8)
    case .binary: _ = try readBinary(.binary)
    case .list, .set:
      let (count, elementType) = try readListHeader()
      try nested {
        for _ in 0..<count {
          if elementType == .boolTrue || elementType == .boolFalse { try $0.cursor.skip(1) } else { try $0.skip(elementType) }
        }
      }
    case .map:
      let count = try cursor.readVarint()
      if count == 0 { return }
      guard count <= UInt64(cursor.remaining) else { throw error("map of \(count) entries, only \(cursor.remaining) bytes left") }
      let types = try cursor.readByte()
      guard let keyType = ThriftType(rawValue: types >> 4), let valueType = ThriftType(rawValue: types & 0x0F) else {
        throw error("unknown map key or value type")
      }
      try nested {
        for _ in 0..<Int(count) {
          for type in [keyType, valueType] {
            if type == .boolTrue || type == .boolFalse { try $0.cursor.skip(1) } else { try $0.skip(type) }
          }
        }
      }
    case .structure:
      try readStruct { reader, _, type in try reader.skip(type) }
    }
  }

  private mutating func nested(_ body: (inout CompactReader) throws -> Void) throws {
    depth += 1
    defer { depth -= 1 }
    guard depth <= Self.maximumDepth else { throw error("containers nested more than \(Self.maximumDepth) deep") }
    try body(&self)
  }
}

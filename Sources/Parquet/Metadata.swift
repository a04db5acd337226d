// Metadata.swift — the parts of Parquet's Thrift structures (parquet-format's parquet.thrift) the reader needs:
// the footer (FileMetaData: schema, row groups, column chunks) and page headers, with the thrift field ids.

/// A column's physical type (parquet.thrift `Type`).
public enum PhysicalType: Int32, Sendable, CustomStringConvertible {
  case boolean = 0, int32 = 1, int64 = 2, int96 = 3, float = 4, double = 5, byteArray = 6, fixedLengthByteArray = 7

  public var description: String {
    ["BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"][Int(rawValue)]
  }
}

/// How often a field occurs in its parent (parquet.thrift `FieldRepetitionType`).
public enum Repetition: Int32, Sendable {
  case required = 0, optional = 1, repeated = 2
}

/// A compression codec (parquet.thrift `CompressionCodec`), kept as its number so unknown ones can be named.
public struct Codec: Equatable, Sendable, CustomStringConvertible {
  public var rawValue: Int32
  public static let uncompressed = Codec(rawValue: 0)
  public static let snappy = Codec(rawValue: 1)
  public static let gzip = Codec(rawValue: 2)
  public static let zstd = Codec(rawValue: 6)

  public var description: String {
    let names = ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"]
    return rawValue >= 0 && Int(rawValue) < names.count ? names[Int(rawValue)] : "codec \(rawValue)"
  }
}

/// A page or level encoding (parquet.thrift `Encoding`), kept as its number so unknown ones can be named.
public struct Encoding: Equatable, Hashable, Sendable, CustomStringConvertible {
  public var rawValue: Int32
  public static let plain = Encoding(rawValue: 0)
  public static let plainDictionary = Encoding(rawValue: 2)
  public static let rle = Encoding(rawValue: 3)
  public static let bitPacked = Encoding(rawValue: 4)
  public static let rleDictionary = Encoding(rawValue: 8)

  public var description: String {
    let names = ["PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED", "DELTA_BINARY_PACKED",
                 "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY", "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"]
    return rawValue >= 0 && Int(rawValue) < names.count ? names[Int(rawValue)] : "encoding \(rawValue)"
  }
}

/// The logical types the reader acts on (parquet.thrift `LogicalType`, a union); the rest are `other`.
public enum LogicalType: Equatable, Sendable {
  case string, map, list, enumeration, json, date
  case integer(bitWidth: Int, signed: Bool)
  case other(fieldID: Int16)
}

/// One element of the flattened schema (parquet.thrift `SchemaElement`).
struct SchemaElement {
  var type: Int32?
  var typeLength: Int32?
  var repetition: Int32?
  var name = ""
  var childCount: Int32?
  var convertedType: Int32?
  var logicalType: LogicalType?

  init(from reader: inout CompactReader) throws {
    try reader.readStruct { reader, id, type in
      switch id {
      case 1: self.type = try reader.readI32(type)
      case 2: typeLength = try reader.readI32(type)
      case 3: repetition = try reader.readI32(type)
      case 4: name = try reader.readString(type)
      case 5: childCount = try reader.readI32(type)
      case 6: convertedType = try reader.readI32(type)
      case 10: logicalType = try Self.logicalType(from: &reader, type)
      default: try reader.skip(type)
      }
    }
  }

  private static func logicalType(from reader: inout CompactReader, _ type: ThriftType) throws -> LogicalType? {
    guard type == .structure else { throw reader.error("expected a logical type structure, found \(type)") }
    var result: LogicalType?
    try reader.readStruct { reader, id, type in
      switch id {
      case 1: result = .string
      case 2: result = .map
      case 3: result = .list
      case 4: result = .enumeration
      case 6: result = .date
      case 12: result = .json
      case 10:
        var bitWidth = 0
        var signed = true
        guard type == .structure else { throw reader.error("expected an integer type structure, found \(type)") }
        try reader.readStruct { reader, id, type in
          switch id {
          case 1: bitWidth = Int(try reader.readI32(type))
          case 2: signed = try reader.readBool(type)
          default: try reader.skip(type)
          }
        }
        result = .integer(bitWidth: bitWidth, signed: signed)
        return
      default: result = .other(fieldID: id)
      }
      try reader.skip(type)
    }
    return result
  }
}

/// A column chunk's description (parquet.thrift `ColumnMetaData`).
public struct ColumnMetadata: Sendable {
  public var type: Int32 = -1
  public var encodings: [Encoding] = []
  public var pathInSchema: [String] = []
  public var codec = Codec.uncompressed
  public var valueCount: Int64 = 0
  public var totalUncompressedSize: Int64 = 0
  public var totalCompressedSize: Int64 = 0
  public var dataPageOffset: Int64 = 0
  public var dictionaryPageOffset: Int64?

  init(from reader: inout CompactReader) throws {
    try reader.readStruct { reader, id, type in
      switch id {
      case 1: self.type = try reader.readI32(type)
      case 2: try reader.readList(of: .i32) { encodings.append(Encoding(rawValue: try $0.readI32(.i32))) }
      case 3: try reader.readList(of: .binary) { pathInSchema.append(try $0.readString(.binary)) }
      case 4: codec = Codec(rawValue: try reader.readI32(type))
      case 5: valueCount = try reader.readI64(type)
      case 6: totalUncompressedSize = try reader.readI64(type)
      case 7: totalCompressedSize = try reader.readI64(type)
      case 9: dataPageOffset = try reader.readI64(type)
      case 11: dictionaryPageOffset = try reader.readI64(type)
      default: try reader.skip(type)
      }
    }
  }
}

/// A column chunk (parquet.thrift `ColumnChunk`): where a column of one row group lives.
public struct ColumnChunk: Sendable {
  /// Set when the chunk lives in another file (not supported).
  public var filePath: String?
  public var metadata: ColumnMetadata?

  init(from reader: inout CompactReader) throws {
    try reader.readStruct { reader, id, type in
      switch id {
      case 1: filePath = try reader.readString(type)
      case 3:
        guard type == .structure else { throw reader.error("expected column metadata, found \(type)") }
        metadata = try ColumnMetadata(from: &reader)
      default: try reader.skip(type)
      }
    }
  }
}

/// A row group (parquet.thrift `RowGroup`).
public struct RowGroup: Sendable {
  public var columns: [ColumnChunk] = []
  public var rowCount: Int64 = 0

  init(from reader: inout CompactReader) throws {
    try reader.readStruct { reader, id, type in
      switch id {
      case 1: try reader.readList(of: .structure) { columns.append(try ColumnChunk(from: &$0)) }
      case 3: rowCount = try reader.readI64(type)
      default: try reader.skip(type)
      }
    }
  }
}

/// The footer (parquet.thrift `FileMetaData`).
public struct FileMetadata: Sendable {
  public var version: Int32 = 0
  var schema: [SchemaElement] = []
  public var rowCount: Int64 = 0
  public var rowGroups: [RowGroup] = []
  public var keyValueMetadata: [(key: String, value: String?)] = []
  public var createdBy: String?

  init(from reader: inout CompactReader) throws {
    try reader.readStruct { reader, id, type in
      switch id {
      case 1: version = try reader.readI32(type)
      case 2: try reader.readList(of: .structure) { schema.append(try SchemaElement(from: &$0)) }
      case 3: rowCount = try reader.readI64(type)
      case 4: try reader.readList(of: .structure) { rowGroups.append(try RowGroup(from: &$0)) }
      case 5:
        try reader.readList(of: .structure) { reader in
          var key = ""
          var value: String?
          try reader.readStruct { reader, id, type in
            switch id {
            case 1: key = try reader.readString(type)
            case 2: value = try reader.readString(type)
            default: try reader.skip(type)
            }
          }
          keyValueMetadata.append((key, value))
        }
      case 6: createdBy = try reader.readString(type)
      default: try reader.skip(type)
      }
    }
  }
}

/// What kind of page follows a page header (parquet.thrift `PageType`).
enum PageType: Int32 {
  case dataPage = 0, indexPage = 1, dictionaryPage = 2, dataPageV2 = 3
}

/// A page header (parquet.thrift `PageHeader` with its data, dictionary and v2 data page headers).
struct PageHeader {
  var type: Int32 = -1
  var uncompressedSize: Int32 = -1
  var compressedSize: Int32 = -1
  // DataPageHeader (v1) and DataPageHeaderV2 share these.
  var valueCount: Int32 = -1
  var encoding = Encoding(rawValue: -1)
  var definitionLevelEncoding = Encoding.rle
  var repetitionLevelEncoding = Encoding.rle
  // DataPageHeaderV2 only.
  var rowCount: Int32 = -1
  var definitionLevelsByteLength: Int32 = 0
  var repetitionLevelsByteLength: Int32 = 0
  var isCompressed = true

  init(from reader: inout CompactReader) throws {
    try reader.readStruct { reader, id, type in
      switch id {
      case 1: self.type = try reader.readI32(type)
      case 2: uncompressedSize = try reader.readI32(type)
      case 3: compressedSize = try reader.readI32(type)
      case 5: try readDataPageHeader(&reader, type)
      case 7: try readDictionaryPageHeader(&reader, type)
      case 8: try readDataPageHeaderV2(&reader, type)
      default: try reader.skip(type)
      }
    }
  }

  private mutating func readDataPageHeader(_ reader: inout CompactReader, _ type: ThriftType) throws {
    guard type == .structure else { throw reader.error("expected a data page header, found \(type)") }
    try reader.readStruct { reader, id, type in
      switch id {
      case 1: valueCount = try reader.readI32(type)
      case 2: encoding = Encoding(rawValue: try reader.readI32(type))
      case 3: definitionLevelEncoding = Encoding(rawValue: try reader.readI32(type))
      case 4: repetitionLevelEncoding = Encoding(rawValue: try reader.readI32(type))
      default: try reader.skip(type)
      }
    }
  }

  private mutating func readDictionaryPageHeader(_ reader: inout CompactReader, _ type: ThriftType) throws {
    guard type == .structure else { throw reader.error("expected a dictionary page header, found \(type)") }
    try reader.readStruct { reader, id, type in
      switch id {
      case 1: valueCount = try reader.readI32(type)
      case 2: encoding = Encoding(rawValue: try reader.readI32(type))
      default: try reader.skip(type)
      }
    }
  }

  private mutating func readDataPageHeaderV2(_ reader: inout CompactReader, _ type: ThriftType) throws {
    guard type == .structure else { throw reader.error("expected a v2 data page header, found \(type)") }
    try reader.readStruct { reader, id, type in
      switch id {
      case 1: valueCount = try reader.readI32(type)
      case 3: rowCount = try reader.readI32(type)
      case 4: encoding = Encoding(rawValue: try reader.readI32(type))
      case 5: definitionLevelsByteLength = try reader.readI32(type)
      case 6: repetitionLevelsByteLength = try reader.readI32(type)
      case 7: isCompressed = try reader.readBool(type)
      default: try reader.skip(type)
      }
    }
  }
}

// ColumnReader.swift — reads one column chunk: walks its pages (dictionary, data page v1 and v2), decompresses
// them, and decodes repetition levels, definition levels and the non-null values.

/// One column chunk, decoded: a level pair per entry (the levels a column without them would store are implied),
/// and the values of the entries that are present, in order.
struct ColumnData {
  /// One per entry when the column's maximum definition level is above 0, else empty (every entry is present).
  var definitionLevels: [UInt8] = []
  /// One per entry when the column's maximum repetition level is above 0, else empty (every entry starts a row).
  var repetitionLevels: [UInt8] = []
  var values: [ParquetValue] = []
  /// Entries (levels) decoded so far.
  var entryCount = 0
}

/// Decodes the pages of one column chunk.
struct ColumnChunkReader {
  let leaf: SchemaNode
  let metadata: ColumnMetadata
  let decoder: ValueDecoder
  /// A single page may announce at most this many entries.
  static let maximumPageEntries = 1 << 28

  init(leaf: SchemaNode, metadata: ColumnMetadata) throws {
    self.leaf = leaf
    self.metadata = metadata
    self.decoder = try ValueDecoder(leaf: leaf)
  }

  /// Reads every page in `chunk` (the chunk's bytes, from its first page).
  func read(_ chunk: UnsafeRawBufferPointer) throws -> ColumnData {
    var cursor = ByteCursor(chunk, what: "column chunk")
    var data = ColumnData()
    var dictionary: [ParquetValue]?
    var pageIndex = 0
    let total = metadata.valueCount
    guard total >= 0 else { throw ParquetError(message: "the column chunk claims \(total) values") }
    data.definitionLevels.reserveCapacity(Int(min(total, 1 << 20)))
    while Int64(data.entryCount) < total {
      guard !cursor.atEnd else {
        throw ParquetError(message: "the column chunk ends after \(data.entryCount) of its \(total) values")
      }
      try withContext(page: pageIndex) {
        var reader = CompactReader(ByteCursor(chunk, position: cursor.position, what: "page header"))
        let header = try PageHeader(from: &reader)
        try cursor.seek(to: reader.cursor.position)
        guard header.compressedSize >= 0 && Int(header.compressedSize) <= cursor.remaining else {
          throw ParquetError(message: "the page claims \(header.compressedSize) bytes, \(cursor.remaining) are left "
            + "in the column chunk")
        }
        let body = try cursor.readBytes(Int(header.compressedSize))
        switch PageType(rawValue: header.type) {
        case .dictionaryPage?:
          dictionary = try readDictionaryPage(header, body)
        case .dataPage?:
          try readDataPage(header, body, dictionary: dictionary, remaining: total - Int64(data.entryCount), into: &data)
        case .dataPageV2?:
          try readDataPageV2(header, body, dictionary: dictionary, remaining: total - Int64(data.entryCount), into: &data)
        case .indexPage?, nil:
          break  // index pages (and kinds added later) carry no values
        }
      }
      pageIndex += 1
    }
    return data
  }

  private func readDictionaryPage(_ header: PageHeader, _ body: UnsafeRawBufferPointer) throws -> [ParquetValue] {
    guard header.encoding == .plain || header.encoding == .plainDictionary else {
      throw ParquetError(message: "dictionary page encoding \(header.encoding) is not supported (PLAIN is)")
    }
    guard header.valueCount >= 0 else { throw ParquetError(message: "the dictionary page claims \(header.valueCount) values") }
    let page = try Decompression.decompress(body, codec: metadata.codec, uncompressedCount: Int(header.uncompressedSize))
    var values: [ParquetValue] = []
    try page.withUnsafeBytes { try decoder.decodePlain($0, count: Int(header.valueCount), into: &values) }
    return values
  }

  private func entryCount(_ header: PageHeader, remaining: Int64) throws -> Int {
    guard header.valueCount >= 0 && Int64(header.valueCount) <= remaining && Int(header.valueCount) <= Self.maximumPageEntries
    else {
      throw ParquetError(message: "the page claims \(header.valueCount) values; the column chunk has \(remaining) left")
    }
    return Int(header.valueCount)
  }

  /// Data page v1: repetition levels, definition levels (each with a 4-byte length) and values, compressed together.
  private func readDataPage(_ header: PageHeader, _ body: UnsafeRawBufferPointer, dictionary: [ParquetValue]?,
                            remaining: Int64, into data: inout ColumnData) throws {
    let count = try entryCount(header, remaining: remaining)
    let page = try Decompression.decompress(body, codec: metadata.codec, uncompressedCount: Int(header.uncompressedSize))
    try page.withUnsafeBytes { raw in
      var offset = 0
      if leaf.repetitionLevel > 0 {
        guard header.repetitionLevelEncoding == .rle else {
          throw ParquetError(message: "repetition levels in \(header.repetitionLevelEncoding) are not supported (RLE is)")
        }
        let (levels, used) = try HybridRLE.decodePrefixed(raw, bitWidth: bitWidth(of: leaf.repetitionLevel), count: count,
                                                          maximum: UInt32(leaf.repetitionLevel), what: "repetition levels")
        data.repetitionLevels.append(contentsOf: levels.lazy.map { UInt8($0) })
        offset += used
      }
      var present = count
      if leaf.definitionLevel > 0 {
        guard header.definitionLevelEncoding == .rle else {
          throw ParquetError(message: "definition levels in \(header.definitionLevelEncoding) are not supported (RLE is)")
        }
        let rest = UnsafeRawBufferPointer(rebasing: raw[offset...])
        let (levels, used) = try HybridRLE.decodePrefixed(rest, bitWidth: bitWidth(of: leaf.definitionLevel), count: count,
                                                          maximum: UInt32(leaf.definitionLevel), what: "definition levels")
        present = appendDefinitionLevels(levels, to: &data)
        offset += used
      }
      try decodeValues(header.encoding, UnsafeRawBufferPointer(rebasing: raw[offset...]), count: present,
                       dictionary: dictionary, into: &data.values)
    }
    data.entryCount += count
  }

  /// Data page v2: uncompressed levels (lengths in the header, no prefixes), then the values, compressed alone.
  private func readDataPageV2(_ header: PageHeader, _ body: UnsafeRawBufferPointer, dictionary: [ParquetValue]?,
                              remaining: Int64, into data: inout ColumnData) throws {
    let count = try entryCount(header, remaining: remaining)
    let repetitionLength = Int(header.repetitionLevelsByteLength)
    let definitionLength = Int(header.definitionLevelsByteLength)
    guard repetitionLength >= 0 && definitionLength >= 0 && repetitionLength <= body.count
      && definitionLength <= body.count - repetitionLength
    else {
      throw ParquetError(message: "the page's level lengths (\(repetitionLength) + \(definitionLength) bytes) do not fit "
        + "its \(body.count) bytes")
    }
    if leaf.repetitionLevel > 0 {
      let levels = try HybridRLE.decode(UnsafeRawBufferPointer(rebasing: body[0..<repetitionLength]),
                                        bitWidth: bitWidth(of: leaf.repetitionLevel), count: count,
                                        maximum: UInt32(leaf.repetitionLevel), what: "repetition levels")
      data.repetitionLevels.append(contentsOf: levels.lazy.map { UInt8($0) })
    }
    var present = count
    if leaf.definitionLevel > 0 {
      let levels = try HybridRLE.decode(
        UnsafeRawBufferPointer(rebasing: body[repetitionLength..<(repetitionLength + definitionLength)]),
        bitWidth: bitWidth(of: leaf.definitionLevel), count: count, maximum: UInt32(leaf.definitionLevel),
        what: "definition levels")
      present = appendDefinitionLevels(levels, to: &data)
    }
    let valuesPart = UnsafeRawBufferPointer(rebasing: body[(repetitionLength + definitionLength)...])
    if header.isCompressed && metadata.codec != .uncompressed {
      let uncompressed = Int(header.uncompressedSize) - repetitionLength - definitionLength
      let values = try Decompression.decompress(valuesPart, codec: metadata.codec, uncompressedCount: uncompressed)
      try values.withUnsafeBytes {
        try decodeValues(header.encoding, $0, count: present, dictionary: dictionary, into: &data.values)
      }
    } else {
      try decodeValues(header.encoding, valuesPart, count: present, dictionary: dictionary, into: &data.values)
    }
    data.entryCount += count
  }

  /// Appends definition levels; returns how many entries hold a value (their level is the maximum).
  private func appendDefinitionLevels(_ levels: [UInt32], to data: inout ColumnData) -> Int {
    let maximum = UInt32(leaf.definitionLevel)
    var present = 0
    for level in levels {
      data.definitionLevels.append(UInt8(level))
      if level == maximum { present += 1 }
    }
    return present
  }

  private func decodeValues(_ encoding: Encoding, _ bytes: UnsafeRawBufferPointer, count: Int,
                            dictionary: [ParquetValue]?, into values: inout [ParquetValue]) throws {
    switch encoding {
    case .plain:
      try decoder.decodePlain(bytes, count: count, into: &values)
    case .plainDictionary, .rleDictionary:
      guard count > 0 else { return }
      guard let dictionary else {
        throw ParquetError(message: "the page is dictionary-encoded but the column chunk has no dictionary page before it")
      }
      guard !dictionary.isEmpty else { throw ParquetError(message: "the page indexes an empty dictionary") }
      var cursor = ByteCursor(bytes, what: "dictionary indices")
      let width = Int(try cursor.readByte())
      let indices = try HybridRLE.decode(UnsafeRawBufferPointer(rebasing: bytes[1...]), bitWidth: width, count: count,
                                         maximum: UInt32(dictionary.count - 1), what: "dictionary indices")
      values.reserveCapacity(values.count + count)
      for index in indices { values.append(dictionary[Int(index)]) }
    case .rle:
      guard leaf.physicalType == .boolean else {
        throw ParquetError(message: "RLE values are only defined for BOOLEAN columns, this one is \(leaf.physicalType!)")
      }
      let (bits, _) = try HybridRLE.decodePrefixed(bytes, bitWidth: 1, count: count, maximum: 1, what: "RLE booleans")
      values.append(contentsOf: bits.lazy.map { .bool($0 == 1) })
    default:
      throw ParquetError(message: "value encoding \(encoding) is not supported (PLAIN, PLAIN_DICTIONARY, RLE_DICTIONARY "
        + "and RLE booleans are: what pyarrow writes by default)")
    }
  }
}

// SafeTensors.swift — reading (memory-mapped, zero-copy where aligned) and writing (atomic, byte-identical to the
// Python `safetensors` library) of .safetensors checkpoints, with every header field bounds-checked.
// Format: 8-byte little-endian header length N, N bytes of JSON header, then the tensors' bytes back to back.
import Foundation
import Support

// MARK: Errors

/// A safetensors file could not be read or written. `kind` is for code; `description` names file, tensor, field.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
  public enum Kind: String, Sendable {
    case io                   // open/stat/mmap/write failed
    case truncated            // file shorter than its header says (or than 8 bytes)
    case headerTooLarge       // header length above 100 MB (the Python library's limit)
    case invalidHeaderLength  // header length beyond the end of the file
    case malformedJSON        // the header is not valid JSON (or not UTF-8)
    case invalidHeader        // valid JSON of the wrong structure (not an object, wrong field types, …)
    case duplicateName        // a tensor name appears twice
    case unknownDType         // a dtype string this reader does not know
    case invalidShape         // negative, non-integer or overflowing dimensions
    case missingDataOffsets   // a tensor entry without data_offsets
    case invalidOffsets       // data_offsets not two integers with begin <= end
    case overlappingTensors   // two tensors share bytes
    case holeInData           // bytes of the data section no tensor covers (the Python library rejects these)
    case sizeMismatch         // end - begin != elements × dtype size
    case tensorNotFound
    case invalidArgument      // a caller-side mistake when writing
  }

  public let kind: Kind
  public let file: String
  /// The tensor and/or field concerned, e.g. "tensor 'lm_head.weight'.data_offsets", "header length".
  public let field: String
  public let message: String

  public init(_ kind: Kind, file: URL, field: String, message: String) {
    self.kind = kind
    self.file = file.path
    self.field = field
    self.message = message
  }

  public var description: String { "\(file): \(field): \(message) [\(kind.rawValue)]" }
}

// MARK: Reading

/// A memory-mapped safetensors file. Tensors borrowed from it keep the mapping alive.
public final class SafeTensorsFile {
  /// The Python library refuses headers above this size (`MAX_HEADER_SIZE`).
  public static let maximumHeaderByteCount = 100_000_000

  public struct TensorInfo: Equatable, Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// `data_offsets` as written: relative to the start of the data section.
    public let dataOffsets: Range<Int>
    /// Absolute byte range in the file.
    public let byteRange: Range<Int>
  }

  public let url: URL
  /// Tensor names, sorted (byte order).
  public let names: [String]
  /// The `__metadata__` map (empty when absent).
  public let metadata: [String: String]
  /// Length of the JSON header (the 8-byte length field not included).
  public let headerByteCount: Int
  /// Absolute offset of the data section.
  public var dataOffset: Int { 8 + headerByteCount }
  public var fileSize: Int { mapping.count }

  let mapping: MappedFile
  private let infos: [String: TensorInfo]

  public init(url: URL) throws {
    self.url = url
    do { mapping = try MappedFile(url: url) } catch let error as FileError {
      throw SafeTensorsError(.io, file: url, field: error.operation, message: error.reason)
    }
    let bytes = mapping.bytes
    func fail(_ kind: SafeTensorsError.Kind, _ field: String, _ message: String) -> SafeTensorsError {
      SafeTensorsError(kind, file: url, field: field, message: message)
    }

    guard bytes.count >= 8 else {
      throw fail(.truncated, "header length", "file has \(bytes.count) bytes, fewer than the 8-byte header length")
    }
    let rawLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
    guard rawLength <= UInt64(SafeTensorsFile.maximumHeaderByteCount) else {
      throw fail(.headerTooLarge, "header length",
                 "\(rawLength) bytes is above the \(SafeTensorsFile.maximumHeaderByteCount)-byte limit")
    }
    let headerLength = Int(rawLength)
    guard headerLength <= bytes.count - 8 else {
      throw fail(.invalidHeaderLength, "header length",
                 "\(headerLength) bytes of header do not fit in a \(bytes.count)-byte file")
    }
    headerByteCount = headerLength
    let dataStart = 8 + headerLength
    let dataSize = bytes.count - dataStart

    var metadata = [String: String]()
    var infos = [String: TensorInfo]()
    var seenMetadata = false
    // Members are validated as they are parsed, so a hostile header never builds a large tree first.
    func member(_ name: String, _ value: JSONValue) throws {
      if name == "__metadata__" {
        guard !seenMetadata else { throw fail(.duplicateName, "__metadata__", "appears twice") }
        seenMetadata = true
        if case .null = value { return }  // Option<HashMap> in the Rust library: null means none
        guard case .object(let entries) = value else {
          throw fail(.invalidHeader, "__metadata__", "must be an object of strings")
        }
        for (key, v) in entries {
          guard case .string(let s) = v else {
            throw fail(.invalidHeader, "__metadata__['\(key)']", "metadata values must be strings, found \(v.kindName)")
          }
          guard metadata.updateValue(s, forKey: key) == nil else {
            throw fail(.duplicateName, "__metadata__['\(key)']", "metadata key appears twice")
          }
        }
        return
      }
      let field = "tensor '\(name)'"
      guard infos[name] == nil else { throw fail(.duplicateName, field, "tensor name appears twice in the header") }
      guard case .object(let entry) = value else {
        throw fail(.invalidHeader, field, "entry must be an object with dtype, shape, data_offsets")
      }
      func member(_ key: String) throws -> JSONValue? {
        do { return try value.value(forKey: key, duplicates: .reject) } catch {
          throw fail(.invalidHeader, "\(field).\(key)", "field appears twice")
        }
      }
      let (dtypeValue, shapeValue, offsetsValue) = (try member("dtype"), try member("shape"), try member("data_offsets"))

      guard case .string(let dtypeName)? = dtypeValue else {
        throw fail(.invalidHeader, "\(field).dtype", dtypeValue == nil ? "missing" : "must be a string")
      }
      guard let dtype = DType(safetensorsName: dtypeName) else {
        throw fail(.unknownDType, "\(field).dtype", "unknown dtype '\(dtypeName)' (known: "
                     + DType.allCases.map(\.safetensorsName).joined(separator: ", ") + ")")
      }

      guard case .array(let dims)? = shapeValue else {
        throw fail(.invalidShape, "\(field).shape", shapeValue == nil ? "missing" : "must be an array")
      }
      var shape = [Int]()
      var elements = 1
      for (i, d) in dims.enumerated() {
        guard case .number(let text) = d, let n = nonNegativeInteger(text) else {
          throw fail(.invalidShape, "\(field).shape[\(i)]", "dimension must be a non-negative integer, found "
                       + shortText(d))
        }
        let (product, overflow) = elements.multipliedReportingOverflow(by: n)
        guard !overflow else {
          throw fail(.invalidShape, "\(field).shape", "element count of \(shortText(.array(dims))) overflows")
        }
        elements = product
        shape.append(n)
      }
      let (expectedBytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteCount)
      guard !overflow else { throw fail(.invalidShape, "\(field).shape", "byte count of \(shape) overflows") }

      guard let offsetsValue else {
        throw fail(.missingDataOffsets, "\(field).data_offsets", "missing")
      }
      guard case .array(let offsets) = offsetsValue, offsets.count == 2,
            case .number(let b) = offsets[0], case .number(let e) = offsets[1],
            let begin = nonNegativeInteger(b), let end = nonNegativeInteger(e)
      else {
        throw fail(.invalidOffsets, "\(field).data_offsets", "must be [begin, end] of non-negative integers, found "
                     + shortText(offsetsValue))
      }
      guard begin <= end else {
        throw fail(.invalidOffsets, "\(field).data_offsets", "begin \(begin) is after end \(end)")
      }
      guard end <= dataSize else {
        throw fail(.truncated, "\(field).data_offsets", "[\(begin), \(end)) runs past the end of the data section "
                     + "(\(dataSize) bytes): truncated file or bad offsets")
      }
      guard end - begin == expectedBytes else {
        throw fail(.sizeMismatch, "\(field).data_offsets", "holds \(end - begin) bytes, but shape \(shape) of "
                     + "\(dtypeName) needs \(expectedBytes)")
      }
      infos[name] = TensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end,
                               byteRange: (dataStart + begin)..<(dataStart + end))
    }
    do {
      // No list in a valid header comes near 4096 elements (shapes and offsets are short), nor nesting near 64
      // levels; the limits bound what a hostile header costs. serde_json refuses unpaired surrogates, as here.
      let options = JSONParser.Options(maximumDepth: 64, maximumListCount: 4096, replacesLoneSurrogates: false)
      var parser = JSONParser(bytes: UnsafeBufferPointer(rebasing: mapping.utf8[8..<dataStart]), options: options)
      parser.skipWhitespace()
      guard parser.current == UInt8(ascii: "{") else {
        if parser.atEnd { throw fail(.malformedJSON, "header", "empty header") }
        _ = try parser.parseValue()  // a syntax error, or valid JSON of another kind
        throw fail(.invalidHeader, "header", "the header must be a JSON object")
      }
      try parser.parseObject(member)
      try parser.expectEnd()
    } catch let e as JSONSyntaxError {
      throw fail(.malformedJSON, "header", "\(e.message) at header byte \(e.offset)")
    }

    // Like the Python library: sorted by offset, the tensors must tile the data section exactly.
    var covered = 0
    var previous: String?
    for info in infos.values.sorted(by: { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name)
                                          < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name) }) {
      let field = "tensor '\(info.name)'.data_offsets"
      if info.dataOffsets.lowerBound < covered {
        throw fail(.overlappingTensors, field, "[\(info.dataOffsets.lowerBound), \(info.dataOffsets.upperBound)) "
                     + "overlaps tensor '\(previous ?? "?")', which ends at \(covered)")
      }
      if info.dataOffsets.lowerBound > covered {
        throw fail(.holeInData, field, "starts at \(info.dataOffsets.lowerBound), leaving bytes [\(covered), "
                     + "\(info.dataOffsets.lowerBound)) of the data section unused")
      }
      covered = info.dataOffsets.upperBound
      previous = info.name
    }
    guard covered == dataSize else {
      throw fail(.holeInData, "data section", "\(dataSize - covered) bytes after the last tensor (at \(covered)) are "
                   + "not covered by any tensor")
    }

    self.metadata = metadata
    self.infos = infos
    names = infos.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
  }

  /// dtype, shape and byte range of one tensor.
  public func info(_ name: String) throws -> TensorInfo {
    guard let info = infos[name] else {
      throw SafeTensorsError(.tensorNotFound, file: url, field: "tensor '\(name)'",
                             message: "no such tensor (the file has \(names.count))")
    }
    return info
  }

  /// All tensor infos, sorted by name.
  public var tensorInfos: [TensorInfo] { names.map { infos[$0]! } }

  /// The tensor `name` on the CPU. By default it borrows the mapped bytes (no copy; the mapping stays alive while
  /// the tensor does; writes go to private copy-on-write pages, never to the file). Data that is not aligned for
  /// its dtype is copied, as is everything when `copy` is true.
  public func tensor(_ name: String, copy: Bool = false) throws -> Tensor {
    let info = try info(name)
    guard !info.byteRange.isEmpty else { return try Tensor.empty(info.shape, dtype: info.dtype) }
    let region = UnsafeRawBufferPointer(rebasing: mapping.bytes[info.byteRange])
    let pointer = region.baseAddress!
    if copy || Int(bitPattern: pointer) % info.dtype.byteCount != 0 {
      return try Tensor(bytes: region, shape: info.shape, dtype: info.dtype)
    }
    return try Tensor(borrowing: pointer, shape: info.shape, dtype: info.dtype, owner: mapping)
  }

  /// Every tensor, by name.
  public func tensors(copy: Bool = false) throws -> [String: Tensor] {
    var out = [String: Tensor](minimumCapacity: names.count)
    for name in names { out[name] = try tensor(name, copy: copy) }
    return out
  }
}

// MARK: Writing

public enum SafeTensors {
  /// Writes `tensors` in the layout the Python library produces for the same dict: data ordered by dtype size
  /// (largest first) then name, keys in that order after `__metadata__` (whose keys are sorted), header padded
  /// with spaces to a multiple of 8. The file is written to a temporary file in the same folder, flushed, then
  /// renamed over `url`, so no half-written file is ever visible.
  public static func write(_ tensors: [(String, Tensor)], metadata: [String: String]? = nil, to url: URL) throws {
    var seen = Set<String>()
    for (name, _) in tensors {
      guard name != "__metadata__" else {
        throw SafeTensorsError(.invalidArgument, file: url, field: "tensor '__metadata__'", message: "reserved name")
      }
      guard seen.insert(name).inserted else {
        throw SafeTensorsError(.duplicateName, file: url, field: "tensor '\(name)'", message: "name given twice")
      }
    }
    let ordered = tensors.sorted { a, b in
      let (ra, rb) = (a.1.dtype.safetensorsRank, b.1.dtype.safetensorsRank)
      return ra != rb ? ra > rb : a.0.utf8.lexicographicallyPrecedes(b.0.utf8)
    }
    let header = headerBytes(ordered.map { ($0.0, $0.1.dtype, $0.1.shape) }, metadata: metadata)
    do {
      try AtomicFile.write(to: url) { out in
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try out.write($0) }
        try header.withUnsafeBytes { try out.write($0) }
        for (_, tensor) in ordered {
          let count = tensor.elementCount * tensor.dtype.byteCount
          if count == 0 { continue }
          if tensor.device == .cpu, tensor.isContiguous {
            let p = try tensor.dataPointer()
            try withExtendedLifetime(tensor) { try out.write(UnsafeRawBufferPointer(start: p, count: count)) }
          } else {
            try tensor.bytes().withUnsafeBytes { try out.write($0) }
          }
        }
      }
    } catch let error as FileError {
      throw SafeTensorsError(.io, file: url, field: error.operation, message: error.reason)
    } catch let error as SafeTensorsError {
      throw error
    } catch {
      throw SafeTensorsError(.io, file: url, field: "write", message: "\(error)")
    }
  }

  /// Same, from a dictionary (the order is set by dtype and name, so the dictionary's order does not matter).
  public static func write(_ tensors: [String: Tensor], metadata: [String: String]? = nil, to url: URL) throws {
    try write(tensors.map { ($0.key, $0.value) }, metadata: metadata, to: url)
  }

  /// The JSON header for tensors already in file order, padded with spaces to a multiple of 8 bytes: serde_json's
  /// compact text of `{"__metadata__": {sorted keys}, name: {"dtype", "shape", "data_offsets"}, …}`.
  static func headerBytes(_ tensors: [(String, DType, [Int])], metadata: [String: String]?) -> [UInt8] {
    var members: [JSONMember] = []
    if let metadata {
      let keys = metadata.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) })
      members.append(("__metadata__", .object(keys.map { ($0, .string(metadata[$0]!)) })))
    }
    var offset = 0
    for (name, dtype, shape) in tensors {
      let size = shape.reduce(1, *) * dtype.byteCount
      members.append((name, .object([("dtype", .string(dtype.safetensorsName)), ("shape", .array(shape.map { .int($0) })),
                                     ("data_offsets", .array([.int(offset), .int(offset + size)]))])))
      offset += size
    }
    var json = JSONValue.object(members).utf8(.serdeCompact)
    while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
    return json
  }
}

// MARK: dtype names

extension DType {
  /// The safetensors dtype string ("F32", "BF16", "F8_E4M3", …).
  public var safetensorsName: String {
    switch self {
    case .float32: return "F32"
    case .float64: return "F64"
    case .float16: return "F16"
    case .bfloat16: return "BF16"
    case .int64: return "I64"
    case .int32: return "I32"
    case .int16: return "I16"
    case .int8: return "I8"
    case .uint8: return "U8"
    case .bool: return "BOOL"
    case .uint16: return "U16"
    case .uint32: return "U32"
    case .uint64: return "U64"
    case .float8e4m3: return "F8_E4M3"
    case .float8e5m2: return "F8_E5M2"
    }
  }

  public init?(safetensorsName name: String) {
    guard let d = DType.allCases.first(where: { $0.safetensorsName == name }) else { return nil }
    self = d
  }

  /// Position in the Rust library's `Dtype` enum order; its writer puts larger ranks first.
  var safetensorsRank: Int {
    switch self {
    case .bool: return 0
    case .uint8: return 1
    case .int8: return 2
    case .float8e5m2: return 3
    case .float8e4m3: return 4
    case .int16: return 5
    case .uint16: return 6
    case .float16: return 7
    case .bfloat16: return 8
    case .int32: return 9
    case .uint32: return 10
    case .float32: return 11
    case .float64: return 12
    case .int64: return 13
    case .uint64: return 14
    }
  }
}

// MARK: Header helpers

/// The integer value of a JSON number written as digits only (no sign, fraction or exponent) that fits Int.
private func nonNegativeInteger(_ number: JSONNumber) -> Int? {
  guard number.text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
  return Int(number.text)
}

/// A header value for an error message, cut to 60 characters.
private func shortText(_ value: JSONValue) -> String {
  let text = value.formatted(.serdeCompact)
  return text.count > 60 ? text.prefix(59) + "…" : text
}

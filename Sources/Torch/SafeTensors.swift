// SafeTensors.swift — reading (memory-mapped, zero-copy where aligned) and writing (atomic, byte-identical to the
// Python `safetensors` library) of .safetensors checkpoints, with every header field bounds-checked.
// Format: 8-byte little-endian header length N, N bytes of JSON header, then the tensors' bytes back to back.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

  let mapping: FileMapping
  private let infos: [String: TensorInfo]

  public init(url: URL) throws {
    self.url = url
    mapping = try FileMapping(url: url)
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
            throw fail(.invalidHeader, "__metadata__['\(key)']", "metadata values must be strings, found \(v.kind)")
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
      func member(_ key: String) -> JSONValue? { entry.last(where: { $0.0 == key })?.1 }
      for key in ["dtype", "shape", "data_offsets"] where entry.filter({ $0.0 == key }).count > 1 {
        throw fail(.invalidHeader, "\(field).\(key)", "field appears twice")
      }

      guard case .string(let dtypeName)? = member("dtype") else {
        throw fail(.invalidHeader, "\(field).dtype", member("dtype") == nil ? "missing" : "must be a string")
      }
      guard let dtype = DType(safetensorsName: dtypeName) else {
        throw fail(.unknownDType, "\(field).dtype", "unknown dtype '\(dtypeName)' (known: "
                     + DType.allCases.map(\.safetensorsName).joined(separator: ", ") + ")")
      }

      guard case .array(let dims)? = member("shape") else {
        throw fail(.invalidShape, "\(field).shape", member("shape") == nil ? "missing" : "must be an array")
      }
      var shape = [Int]()
      var elements = 1
      for (i, d) in dims.enumerated() {
        guard case .number(let text) = d, let n = JSONParser.nonNegativeInteger(text) else {
          throw fail(.invalidShape, "\(field).shape[\(i)]", "dimension must be a non-negative integer, found \(d)")
        }
        let (product, overflow) = elements.multipliedReportingOverflow(by: n)
        guard !overflow else { throw fail(.invalidShape, "\(field).shape", "element count of \(dims) overflows") }
        elements = product
        shape.append(n)
      }
      let (expectedBytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteCount)
      guard !overflow else { throw fail(.invalidShape, "\(field).shape", "byte count of \(shape) overflows") }

      guard let offsetsValue = member("data_offsets") else {
        throw fail(.missingDataOffsets, "\(field).data_offsets", "missing")
      }
      guard case .array(let offsets) = offsetsValue, offsets.count == 2,
            case .number(let b) = offsets[0], case .number(let e) = offsets[1],
            let begin = JSONParser.nonNegativeInteger(b), let end = JSONParser.nonNegativeInteger(e)
      else {
        throw fail(.invalidOffsets, "\(field).data_offsets", "must be [begin, end] of non-negative integers, found "
                     + "\(offsetsValue)")
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
      var parser = JSONParser(UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart]))
      try parser.parseTopLevelObject(member)
    } catch let e as JSONParser.Failure {
      throw fail(e.notAnObject ? .invalidHeader : .malformedJSON, "header", "\(e.message) at header byte \(e.offset)")
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
      try AtomicWrite.write(to: url) { out in
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

  /// The JSON header for tensors already in file order, padded with spaces to a multiple of 8 bytes.
  static func headerBytes(_ tensors: [(String, DType, [Int])], metadata: [String: String]?) -> [UInt8] {
    var json = [UInt8]()
    json.append(UInt8(ascii: "{"))
    var first = true
    func separator() {
      if !first { json.append(UInt8(ascii: ",")) }
      first = false
    }
    if let metadata {
      separator()
      appendJSONString("__metadata__", to: &json)
      json.append(contentsOf: Array(":{".utf8))
      for (i, key) in metadata.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
        if i > 0 { json.append(UInt8(ascii: ",")) }
        appendJSONString(key, to: &json)
        json.append(UInt8(ascii: ":"))
        appendJSONString(metadata[key]!, to: &json)
      }
      json.append(UInt8(ascii: "}"))
    }
    var offset = 0
    for (name, dtype, shape) in tensors {
      separator()
      let size = shape.reduce(1, *) * dtype.byteCount
      appendJSONString(name, to: &json)
      json.append(contentsOf: Array(":{\"dtype\":\"\(dtype.safetensorsName)\",\"shape\":[".utf8))
      json.append(contentsOf: Array(shape.map(String.init).joined(separator: ",").utf8))
      json.append(contentsOf: Array("],\"data_offsets\":[\(offset),\(offset + size)]}".utf8))
      offset += size
    }
    json.append(UInt8(ascii: "}"))
    while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
    return json
  }

  /// serde_json's escaping: `"` `\` and control characters; everything else (non-ASCII included) verbatim.
  static func appendJSONString(_ s: String, to out: inout [UInt8]) {
    let hex = Array("0123456789abcdef".utf8)
    out.append(UInt8(ascii: "\""))
    for byte in s.utf8 {
      switch byte {
      case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
      case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
      case 0x08: out.append(contentsOf: [92, UInt8(ascii: "b")])
      case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
      case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
      case 0x0C: out.append(contentsOf: [92, UInt8(ascii: "f")])
      case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
      case 0..<0x20:
        out.append(contentsOf: Array("\\u00".utf8))
        out.append(hex[Int(byte >> 4)])
        out.append(hex[Int(byte & 0xF)])
      default: out.append(byte)
      }
    }
    out.append(UInt8(ascii: "\""))
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

// MARK: Memory map and atomic write

/// A whole file mapped private and copy-on-write: readers see the file, writers get their own pages.
final class FileMapping {
  let bytes: UnsafeRawBufferPointer
  var count: Int { bytes.count }
  private let base: UnsafeMutableRawPointer?

  init(url: URL) throws {
    func fail(_ what: String) -> SafeTensorsError {
      SafeTensorsError(.io, file: url, field: what, message: String(cString: strerror(errno)))
    }
    let fd = open(url.path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw fail("open") }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw fail("stat") }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      throw SafeTensorsError(.io, file: url, field: "open", message: "not a regular file")
    }
    let size = Int(info.st_size)
    guard size > 0 else {
      base = nil
      bytes = UnsafeRawBufferPointer(start: nil, count: 0)
      return
    }
    guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
      throw fail("mmap")
    }
    base = p
    bytes = UnsafeRawBufferPointer(start: p, count: size)
  }

  deinit { if let base { munmap(base, bytes.count) } }
}

/// Write-to-temporary, fsync, rename: the destination is either the old file or the complete new one.
enum AtomicWrite {
  struct Output {
    let fd: Int32
    let url: URL
    func write(_ buffer: UnsafeRawBufferPointer) throws {
      var done = 0
      while done < buffer.count {
        let n = systemWrite(fd, buffer.baseAddress! + done, buffer.count - done)
        if n < 0 {
          if errno == EINTR { continue }
          throw SafeTensorsError(.io, file: url, field: "write", message: String(cString: strerror(errno)))
        }
        done += n
      }
    }
  }

  static func write(to url: URL, _ body: (Output) throws -> Void) throws {
    let temporary = url.deletingLastPathComponent().appendingPathComponent(
      ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw SafeTensorsError(.io, file: url, field: "create temporary file",
                             message: "\(temporary.path): \(String(cString: strerror(errno)))")
    }
    var open = true
    do {
      try body(Output(fd: fd, url: url))
      guard fsync(fd) == 0 else {
        throw SafeTensorsError(.io, file: url, field: "fsync", message: String(cString: strerror(errno)))
      }
      open = false
      guard close(fd) == 0 else {
        throw SafeTensorsError(.io, file: url, field: "close", message: String(cString: strerror(errno)))
      }
      guard rename(temporary.path, url.path) == 0 else {
        throw SafeTensorsError(.io, file: url, field: "rename", message: String(cString: strerror(errno)))
      }
    } catch {
      if open { close(fd) }
      unlink(temporary.path)
      throw error
    }
  }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif

// MARK: A strict, bounded JSON parser for the header

/// JSON values as the header needs them: numbers keep their text so integers can be checked exactly, and objects
/// keep their members in order (so duplicates can be detected).
enum JSONValue: CustomStringConvertible {
  case object([(String, JSONValue)])
  case array([JSONValue])
  case string(String)
  case number(String)
  case bool(Bool)
  case null

  var kind: String {
    switch self {
    case .object: return "an object"
    case .array: return "an array"
    case .string: return "a string"
    case .number: return "a number"
    case .bool: return "a boolean"
    case .null: return "null"
    }
  }

  var description: String {
    switch self {
    case .object(let m): return "{…\(m.count) members}"
    case .array(let a): return "[" + a.prefix(6).map(\.description).joined(separator: ",")
      + (a.count > 6 ? ",…]" : "]")
    case .string(let s): return "\"\(s.prefix(40))\""
    case .number(let n): return n
    case .bool(let b): return "\(b)"
    case .null: return "null"
    }
  }
}

/// RFC 8259 parser over raw bytes: UTF-8 validated, nesting limited, trailing whitespace allowed (the Python
/// writer pads with spaces), anything else after the value rejected.
struct JSONParser {
  struct Failure: Error {
    let message: String
    let offset: Int
    var notAnObject = false
  }

  static let maximumDepth = 64
  /// No array in a valid header comes near this (shapes and offsets are short); it bounds what a hostile one costs.
  static let maximumArrayCount = 4096
  let bytes: UnsafeRawBufferPointer
  var i = 0

  init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

  /// The integer value of a JSON number's text when it is a non-negative integer that fits Int.
  static func nonNegativeInteger(_ text: String) -> Int? {
    guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
    return Int(text)
  }

  /// Parses `{ "key": value, … }` followed by whitespace only, handing each member to `body` as soon as it is read.
  mutating func parseTopLevelObject(_ body: (String, JSONValue) throws -> Void) throws {
    skipWhitespace()
    guard peek() == UInt8(ascii: "{") else {
      if i == bytes.count { throw Failure(message: "empty header", offset: i) }
      _ = try parseValue(depth: 0)  // valid JSON of another kind, or a syntax error
      throw Failure(message: "the header must be a JSON object", offset: 0, notAnObject: true)
    }
    i += 1
    skipWhitespace()
    if peek() == UInt8(ascii: "}") {
      i += 1
    } else {
      while true {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw Failure(message: "expected a string key", offset: i) }
        let key = try parseString()
        skipWhitespace()
        guard peek() == UInt8(ascii: ":") else { throw Failure(message: "expected ':'", offset: i) }
        i += 1
        try body(key, try parseValue(depth: 1))
        skipWhitespace()
        guard let next = peek() else { throw Failure(message: "unterminated object", offset: i) }
        i += 1
        if next == UInt8(ascii: "}") { break }
        guard next == UInt8(ascii: ",") else { throw Failure(message: "expected ',' or '}'", offset: i - 1) }
      }
    }
    skipWhitespace()
    guard i == bytes.count else { throw Failure(message: "unexpected content after the JSON value", offset: i) }
  }

  private mutating func skipWhitespace() {
    while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
  }

  private func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

  private mutating func expect(_ literal: String, _ value: JSONValue) throws -> JSONValue {
    for c in literal.utf8 {
      guard peek() == c else { throw Failure(message: "invalid literal (expected \(literal))", offset: i) }
      i += 1
    }
    return value
  }

  private mutating func parseValue(depth: Int) throws -> JSONValue {
    skipWhitespace()
    guard let c = peek() else { throw Failure(message: "unexpected end of header", offset: i) }
    switch c {
    case UInt8(ascii: "{"):
      guard depth < JSONParser.maximumDepth else { throw Failure(message: "nesting too deep", offset: i) }
      i += 1
      var members = [(String, JSONValue)]()
      skipWhitespace()
      if peek() == UInt8(ascii: "}") { i += 1; return .object(members) }
      while true {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw Failure(message: "expected a string key", offset: i) }
        let key = try parseString()
        skipWhitespace()
        guard peek() == UInt8(ascii: ":") else { throw Failure(message: "expected ':'", offset: i) }
        i += 1
        members.append((key, try parseValue(depth: depth + 1)))
        skipWhitespace()
        guard let next = peek() else { throw Failure(message: "unterminated object", offset: i) }
        i += 1
        if next == UInt8(ascii: "}") { return .object(members) }
        guard next == UInt8(ascii: ",") else { throw Failure(message: "expected ',' or '}'", offset: i - 1) }
      }
    case UInt8(ascii: "["):
      guard depth < JSONParser.maximumDepth else { throw Failure(message: "nesting too deep", offset: i) }
      i += 1
      var items = [JSONValue]()
      skipWhitespace()
      if peek() == UInt8(ascii: "]") { i += 1; return .array(items) }
      while true {
        guard items.count < JSONParser.maximumArrayCount else {
          throw Failure(message: "array longer than \(JSONParser.maximumArrayCount) items", offset: i)
        }
        items.append(try parseValue(depth: depth + 1))
        skipWhitespace()
        guard let next = peek() else { throw Failure(message: "unterminated array", offset: i) }
        i += 1
        if next == UInt8(ascii: "]") { return .array(items) }
        guard next == UInt8(ascii: ",") else { throw Failure(message: "expected ',' or ']'", offset: i - 1) }
      }
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"): return try expect("true", .bool(true))
    case UInt8(ascii: "f"): return try expect("false", .bool(false))
    case UInt8(ascii: "n"): return try expect("null", .null)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
    default: throw Failure(message: "unexpected character '\(UnicodeScalar(c))'", offset: i)
    }
  }

  private mutating func parseNumber() throws -> String {
    let start = i
    func digits() -> Int {
      let s = i
      while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
      return i - s
    }
    if peek() == UInt8(ascii: "-") { i += 1 }
    if peek() == UInt8(ascii: "0") {
      i += 1
    } else if digits() == 0 {
      throw Failure(message: "invalid number", offset: start)
    }
    if peek() == UInt8(ascii: ".") {
      i += 1
      guard digits() > 0 else { throw Failure(message: "invalid number", offset: start) }
    }
    if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
      i += 1
      if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { i += 1 }
      guard digits() > 0 else { throw Failure(message: "invalid number", offset: start) }
    }
    return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
  }

  private mutating func parseString() throws -> String {
    let start = i
    i += 1  // opening quote
    var out = [UInt8]()
    var runStart = i
    while true {
      guard i < bytes.count else { throw Failure(message: "unterminated string", offset: start) }
      let c = bytes[i]
      if c == UInt8(ascii: "\"") {
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<i]))
        i += 1
        break
      }
      if c < 0x20 { throw Failure(message: "control character in string", offset: i) }
      if c != UInt8(ascii: "\\") { i += 1; continue }
      out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<i]))
      i += 1
      guard i < bytes.count else { throw Failure(message: "unterminated escape", offset: i) }
      let e = bytes[i]
      i += 1
      switch e {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
      case UInt8(ascii: "b"): out.append(0x08)
      case UInt8(ascii: "f"): out.append(0x0C)
      case UInt8(ascii: "n"): out.append(0x0A)
      case UInt8(ascii: "r"): out.append(0x0D)
      case UInt8(ascii: "t"): out.append(0x09)
      case UInt8(ascii: "u"):
        var scalar = try hex4()
        if (0xD800..<0xDC00).contains(scalar) {
          guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
            throw Failure(message: "unpaired surrogate", offset: i)
          }
          i += 2
          let low = try hex4()
          guard (0xDC00..<0xE000).contains(low) else { throw Failure(message: "unpaired surrogate", offset: i) }
          scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(scalar) {
          throw Failure(message: "unpaired surrogate", offset: i)
        }
        out.append(contentsOf: Array(String(Character(UnicodeScalar(scalar)!)).utf8))
      default: throw Failure(message: "invalid escape", offset: i - 1)
      }
      runStart = i
    }
    guard let s = String(bytes: out, encoding: .utf8) else {
      throw Failure(message: "string is not valid UTF-8", offset: start)
    }
    return s
  }

  private mutating func hex4() throws -> UInt32 {
    guard i + 4 <= bytes.count else { throw Failure(message: "truncated \\u escape", offset: i) }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let c = bytes[i]
      let d: UInt32
      switch c {
      case 48...57: d = UInt32(c - 48)
      case 65...70: d = UInt32(c - 55)
      case 97...102: d = UInt32(c - 87)
      default: throw Failure(message: "invalid \\u escape", offset: i)
      }
      v = v << 4 | d
      i += 1
    }
    return v
  }
}

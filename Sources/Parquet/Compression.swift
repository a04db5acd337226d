// Compression.swift — page decompression by codec: none, Snappy (Snappy.swift), GZIP (the system zlib) and ZSTD
// (Debian's libzstd). The output must be exactly as long as the page header says.

import CZlib
import CZstd

enum Decompression {
  /// Pages larger than this are refused (pyarrow's default page is 1 MiB; one huge text value can make a page
  /// bigger, but not this big). It also stops a corrupt header from asking for an absurd allocation.
  static let maximumPageSize = 1 << 30

  static func decompress(_ input: UnsafeRawBufferPointer, codec: Codec, uncompressedCount: Int) throws -> [UInt8] {
    guard uncompressedCount >= 0 && uncompressedCount <= maximumPageSize else {
      throw ParquetError(message: "uncompressed page size \(uncompressedCount) is out of range (0 to \(maximumPageSize))")
    }
    switch codec {
    case .uncompressed:
      guard input.count == uncompressedCount else {
        throw ParquetError(message: "uncompressed page holds \(input.count) bytes, its header says \(uncompressedCount)")
      }
      return [UInt8](input)
    case .snappy:
      return try Snappy.decompress(input, expectedCount: uncompressedCount)
    case .gzip:
      return try gunzip(input, expectedCount: uncompressedCount)
    case .zstd:
      return try unzstd(input, expectedCount: uncompressedCount)
    default:
      throw ParquetError(message: "compression \(codec) is not supported (UNCOMPRESSED, SNAPPY, GZIP and ZSTD are)")
    }
  }

  private static func gunzip(_ input: UnsafeRawBufferPointer, expectedCount: Int) throws -> [UInt8] {
    var stream = z_stream()
    guard czlib_inflate_init(&stream) == Z_OK else { throw ParquetError(message: "zlib could not start inflating") }
    defer { inflateEnd(&stream) }
    var status: Int32 = Z_OK
    var produced = 0
    // One spare byte: a stream that would produce more than announced fills it, and is refused below.
    let output = [UInt8](unsafeUninitializedCapacity: expectedCount + 1) { out, initialized in
      stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
      stream.avail_in = uInt(input.count)
      stream.next_out = out.baseAddress
      stream.avail_out = uInt(out.count)
      repeat {
        status = inflate(&stream, Z_FINISH)
      } while status == Z_OK
      produced = out.count - Int(stream.avail_out)
      initialized = produced
    }
    guard status == Z_STREAM_END else {
      let reason = status == Z_BUF_ERROR ? (produced > expectedCount ? "it holds more than \(expectedCount) bytes"
                                                                     : "it ends early, after \(produced) bytes")
                                         : "zlib error \(status)"
      throw ParquetError(message: "gzip data is corrupt: \(reason)")
    }
    guard output.count == expectedCount else {
      throw ParquetError(message: "gzip data holds \(output.count) bytes, the page header says \(expectedCount)")
    }
    return output
  }

  private static func unzstd(_ input: UnsafeRawBufferPointer, expectedCount: Int) throws -> [UInt8] {
    var errorName: String?
    let output = [UInt8](unsafeUninitializedCapacity: expectedCount) { out, initialized in
      let code = ZSTD_decompress(out.baseAddress, out.count, input.baseAddress, input.count)
      if ZSTD_isError(code) != 0 {
        errorName = String(cString: ZSTD_getErrorName(code))
        initialized = 0
      } else {
        initialized = code
      }
    }
    if let errorName { throw ParquetError(message: "zstd data is corrupt: \(errorName)") }
    guard output.count == expectedCount else {
      throw ParquetError(message: "zstd data holds \(output.count) bytes, the page header says \(expectedCount)")
    }
    return output
  }
}

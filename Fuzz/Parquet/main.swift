// Fuzz/Parquet/main.swift — libFuzzer harness for the Parquet reader: footer (Thrift), schema, then every row group's
// pages (v1/v2, PLAIN/RLE/dictionary, snappy/gzip/zstd) assembled into records. Any bytes give rows or a
// ParquetError. The input goes through a file in /dev/shm (the reader reads files). `make fuzz`.
import FuzzDriver
import Foundation
import Parquet

private let path = "/dev/shm/orpo-fuzz-\(getpid()).parquet"

func fuzzParquet(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = Data(UnsafeBufferPointer(start: data, count: size))
  guard FileManager.default.createFile(atPath: path, contents: bytes) else { fatalError("cannot write \(path)") }
  guard let file = try? ParquetFile(contentsOf: URL(fileURLWithPath: path)) else { return 0 }
  for group in 0..<min(file.rowGroupCount, 8) { _ = try? file.rows(inRowGroup: group) }
  return 0
}

exit(orpo_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzParquet(data, size) })

// GGUFDequantizationTests.swift — every supported ggml type against gguf.quants.dequantize (gguf 0.19.0) output
// dumped by reference/make_gguf_fixtures.py, through the raw API and through a GGUF file; threading is exact.
import Foundation
import Testing
@testable import GGUF

@Suite struct GGUFDequantizationTests {
  static let fixture = try? Fixtures.decode(DequantCases.self, "dequant_cases.json")
  static var cases: [DequantCases.Case] { fixture?.cases ?? [] }

  @Test func fixtureIsPinned() throws {
    #expect(Self.fixture?.gguf == "0.19.0")
    let types = Set(Self.cases.map(\.type))
    #expect(types == ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K",
                      "Q6_K"])
  }

  @Test(arguments: ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K",
                    "Q6_K"])
  func matchesGGUFPy(typeName: String) throws {
    let spec = try #require(Self.cases.first { $0.type == typeName })
    let type = try #require(GGMLType(name: typeName))
    let bytes = hexBytes(spec.bytes)
    let count = spec.count
    let expected = spec.values
    #expect(type.byteCount(elementCount: count) == bytes.count)
    let direct = try bytes.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: type, count: count) }
    expectClose(direct, expected, tolerance: 0, typeName)  // same operations in the same order: exact

    // The same data as a tensor in a file (2 rows), whole and row by row.
    var writer = GGUFWriter()
    try writer.addTensor(name: "t", shape: [count / 2, 2], type: type, data: bytes)
    let file = try parseGGUF(writer.serialized())
    let info = file.tensors[0]
    expectClose(try file.dequantize(info, threads: 2), expected, "\(typeName) in file")
    expectClose(try file.dequantize(info, rows: 1..<2), Array(expected[(count / 2)...]), "\(typeName) row 1")
  }

  @Test func threadedMatchesSingleThreaded() throws {
    var rng = SplitMix64(state: 7)
    for type in GGMLType.allCases where type.canDequantize {
      let count = 1 << 17  // above the threshold for splitting
      var bytes = (0..<type.byteCount(elementCount: count)!).map { _ in UInt8.random(in: 0...255, using: &rng) }
      if type.isQuantized {  // keep the f16 scales finite: clear their exponent's top bit in every block
        for b in stride(from: 0, to: bytes.count, by: type.blockByteCount) {
          for off in [0, 2, type.blockByteCount - 2, type.blockByteCount - 4] where off >= 0 { bytes[b + off + 1] &= 0x3F }
        }
      }
      let one = try bytes.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: type, count: count, threads: 1) }
      let two = try bytes.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: type, count: count, threads: 2) }
      #expect(one.map(\.bitPattern) == two.map(\.bitPattern), "\(type)")
    }
  }

  @Test func rejectsMismatchedSizes() {
    let bytes = [UInt8](repeating: 0, count: 34)
    #expect(throws: GGUFError.self) {
      _ = try bytes.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: .q8_0, count: 64) }
    }
    #expect(throws: GGUFError.self) {
      _ = try bytes.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: .q8_0, count: 31) }
    }
  }

  @Test func halfPrecisionEdgeCases() {
    #expect(halfToFloat(0x0000) == 0 && halfToFloat(0x8000).sign == .minus)
    #expect(halfToFloat(0x3C00) == 1 && halfToFloat(0xC000) == -2)
    #expect(halfToFloat(0x0001) == 0x1p-24)  // smallest subnormal
    #expect(halfToFloat(0x7BFF) == 65504)
    #expect(halfToFloat(0x7C00) == .infinity && halfToFloat(0xFC00) == -.infinity)
    #expect(halfToFloat(0x7E00).isNaN)
  }
}

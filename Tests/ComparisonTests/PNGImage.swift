// PNGImage.swift — just enough PNG decoding (8-bit RGB/RGBA, not interlaced: what Chromium's screenshots are) to
// look at a screenshot's pixels in a test.
import CZlib
import Foundation

struct PNGImage {
  let width: Int
  let height: Int
  /// RGB triples, row by row.
  let rgb: [UInt8]

  struct Failure: Error, CustomStringConvertible { let description: String }

  init(_ data: Foundation.Data) throws {
    let bytes = [UInt8](data)
    guard bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw Failure(description: "not a PNG") }
    func u32(_ at: Int) -> Int { Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]) }
    var at = 8, width = 0, height = 0, channels = 0
    var compressed: [UInt8] = []
    while at + 8 <= bytes.count {
      let length = u32(at), type = String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)
      let body = (at + 8)..<(at + 8 + length)
      switch type {
      case "IHDR":
        width = u32(body.lowerBound)
        height = u32(body.lowerBound + 4)
        let depth = bytes[body.lowerBound + 8], colour = bytes[body.lowerBound + 9], interlace = bytes[body.lowerBound + 12]
        guard depth == 8, colour == 2 || colour == 6, interlace == 0 else {
          throw Failure(description: "PNG depth \(depth) colour type \(colour) interlace \(interlace) not handled")
        }
        channels = colour == 6 ? 4 : 3
      case "IDAT": compressed += bytes[body]
      default: break
      }
      at = body.upperBound + 4
    }
    let rowBytes = width * channels
    var raw = [UInt8](repeating: 0, count: height * (rowBytes + 1))
    var stream = z_stream()
    guard czlib_inflate_init(&stream) == Z_OK else { throw Failure(description: "inflateInit failed") }
    defer { inflateEnd(&stream) }
    let status: Int32 = compressed.withUnsafeMutableBufferPointer { input in
      raw.withUnsafeMutableBufferPointer { output in
        stream.next_in = input.baseAddress
        stream.avail_in = UInt32(input.count)
        stream.next_out = output.baseAddress
        stream.avail_out = UInt32(output.count)
        return inflate(&stream, Z_FINISH)
      }
    }
    guard status == Z_STREAM_END else { throw Failure(description: "inflate: \(status)") }
    // Undo each scanline's filter (None, Sub, Up, Average, Paeth).
    var pixels = [UInt8](repeating: 0, count: height * rowBytes)
    for y in 0..<height {
      let filter = raw[y * (rowBytes + 1)]
      for x in 0..<rowBytes {
        let value = raw[y * (rowBytes + 1) + 1 + x]
        let a = x >= channels ? Int(pixels[y * rowBytes + x - channels]) : 0
        let b = y > 0 ? Int(pixels[(y - 1) * rowBytes + x]) : 0
        let c = x >= channels && y > 0 ? Int(pixels[(y - 1) * rowBytes + x - channels]) : 0
        let predictor: Int
        switch filter {
        case 0: predictor = 0
        case 1: predictor = a
        case 2: predictor = b
        case 3: predictor = (a + b) / 2
        case 4:
          let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
          predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
        default: throw Failure(description: "PNG filter \(filter)")
        }
        pixels[y * rowBytes + x] = UInt8(truncatingIfNeeded: Int(value) + predictor)
      }
    }
    var rgb = [UInt8]()
    rgb.reserveCapacity(width * height * 3)
    for i in stride(from: 0, to: pixels.count, by: channels) { rgb += pixels[i..<(i + 3)] }
    self.width = width
    self.height = height
    self.rgb = rgb
  }

  /// The share of pixels in the rectangle (clipped to the image) that are not near-white, and how many distinct
  /// colours it holds.
  func ink(x: Int, y: Int, width w: Int, height h: Int) -> (share: Double, colours: Int) {
    let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
    guard x1 > x0, y1 > y0 else { return (0, 0) }
    var inked = 0
    var colours = Set<Int>()
    for row in y0..<y1 {
      for column in x0..<x1 {
        let i = (row * width + column) * 3
        let r = Int(rgb[i]), g = Int(rgb[i + 1]), b = Int(rgb[i + 2])
        if r < 235 || g < 235 || b < 235 { inked += 1 }
        if colours.count < 5000 { colours.insert(r << 16 | g << 8 | b) }
      }
    }
    return (Double(inked) / Double((x1 - x0) * (y1 - y0)), colours.count)
  }
}

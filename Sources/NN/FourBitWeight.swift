// FourBitWeight.swift — QLoRA's base weights: bitsandbytes' 4-bit NF4/FP4 codes in blocks of 64 with an absmax per
// block, the absmax values themselves 8-bit quantized (blocks of 256, an fp32 offset) under double quantization.
import Torch

/// The 4-bit settings under bitsandbytes' `BitsAndBytesConfig` names (`bnb_4bit_quant_type`,
/// `bnb_4bit_use_double_quant`, `bnb_4bit_compute_dtype`); 64-value blocks as bitsandbytes' default.
public struct FourBitConfiguration: Equatable, Sendable {
  public var type: FourBitType
  public var doubleQuantization: Bool
  public var computeDType: DType
  public var blockSize: Int

  public init(type: FourBitType = .nf4, doubleQuantization: Bool = false, computeDType: DType = .float32,
              blockSize: Int = 64)
  {
    self.type = type
    self.doubleQuantization = doubleQuantization
    self.computeDType = computeDType
    self.blockSize = blockSize
  }

  /// Bytes per weight element (codes, absmax, and with double quantization the second-level state).
  public var bytesPerElement: Double {
    let absmax = doubleQuantization ? 1.0 / Double(blockSize) + 4.0 / Double(blockSize * 256) : 4.0 / Double(blockSize)
    return 0.5 + absmax
  }
}

/// A weight as bitsandbytes' `quantize_4bit` leaves it (`Params4bit` + `QuantState`): the same codes, nibble order,
/// absmax and nested state, so it dequantizes to the same values.
public final class FourBitWeight: QuantizedWeight {
  /// How the per-block absmax values are kept.
  public enum Scales {
    /// float32 [blocks]
    case plain(Tensor)
    /// Double quantization: uint8 codes [blocks] in `BlockQuantization.dynamicMap`, their float32 absmax per block
    /// of 256, and the mean of the absmax values (subtracted before quantizing, added back after).
    case nested(codes: Tensor, absmax: Tensor, offset: Tensor)
  }

  public let shape: [Int]
  public let type: FourBitType
  public let blockSize: Int
  /// uint8 [⌈n/2⌉], two codes a byte, the first element in the high nibble.
  public let codes: Tensor
  public let scales: Scales
  /// The dynamic map nested scales are coded in (on the weight's device).
  private let map: Tensor?

  /// The block size double quantization uses for the absmax values (bitsandbytes: 256).
  public static let nestedBlockSize = 256

  /// Quantizes `weight` (any float dtype, computed in float32 as bitsandbytes does) on its device.
  public init(quantizing weight: Tensor, type: FourBitType = .nf4, doubleQuantization: Bool = false,
              blockSize: Int = 64) throws
  {
    guard weight.dtype.isFloatingPoint else { throw NNError("cannot 4-bit quantize a \(weight.dtype) tensor") }
    shape = weight.shape
    self.type = type
    self.blockSize = blockSize
    let (codes, absmax) = try withNoGrad { try BlockQuantization.quantize4Bit(weight.detached(), type: type, blockSize: blockSize) }
    self.codes = codes
    if doubleQuantization {
      // quantize_4bit(compress_statistics=True): offset = absmax.mean(); quantize_blockwise(absmax - offset, 256)
      let map = try Tensor(BlockQuantization.dynamicMap).to(device: weight.device)
      let offset = try absmax.mean()
      let (nested, nestedAbsmax) = try BlockQuantization.quantizeBlockwise(absmax - offset, code: map,
                                                                           blockSize: Self.nestedBlockSize)
      scales = .nested(codes: nested, absmax: nestedAbsmax, offset: offset)
      self.map = map
    } else {
      scales = .plain(absmax)
      map = nil
    }
  }

  /// A weight from a saved state (bitsandbytes' serialised `Params4bit`, or fixtures).
  public init(shape: [Int], type: FourBitType, blockSize: Int = 64, codes: Tensor, scales: Scales) throws {
    self.shape = shape
    self.type = type
    self.blockSize = blockSize
    self.codes = codes
    self.scales = scales
    if case .nested = scales { map = try Tensor(BlockQuantization.dynamicMap).to(device: codes.device) } else { map = nil }
  }

  public var device: Device { codes.device }
  public var elementCount: Int { shape.reduce(1, *) }
  public var doubleQuantization: Bool { if case .nested = scales { return true } else { return false } }
  public var format: String { type.rawValue + (doubleQuantization ? " (double quantization)" : "") }

  public var byteCount: Int {
    switch scales {
    case .plain(let absmax): return codes.elementCount + 4 * absmax.elementCount
    case .nested(let c, let a, _): return codes.elementCount + c.elementCount + 4 * a.elementCount + 4 + 4 * 256
    }
  }

  /// The absmax of every 64-value block, float32 (dequantized first under double quantization: the 8-bit codes'
  /// values times their block's absmax, plus the offset).
  public func absmax() throws -> Tensor {
    switch scales {
    case .plain(let absmax): return absmax
    case .nested(let c, let a, let offset):
      return try BlockQuantization.dequantizeBlockwise(codes: c, absmax: a, code: map!, blockSize: Self.nestedBlockSize) + offset
    }
  }

  /// The weight as bitsandbytes' `dequantize_4bit` gives it: code value × block absmax in float32, then `dtype`.
  public func dequantized(dtype: DType) throws -> Tensor {
    try withNoGrad {
      try BlockQuantization.dequantize4Bit(codes: codes, absmax: absmax(), type: type, blockSize: blockSize, shape: shape,
                                           dtype: dtype)
    }
  }
}

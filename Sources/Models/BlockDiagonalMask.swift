// BlockDiagonalMask.swift — a packed row's attention as diagonal blocks (one per pair): a query sees only keys of its
// own block, as that block's boolean mask says. Attention then runs block by block, Σ L² work instead of T², and no
// [T, T] mask is ever built (PackedPairs.swift makes it; the attention core in Decoder.swift consumes it).
import Torch

public struct BlockDiagonalMask {
  public struct Block {
    public let length: Int
    /// [1, 1, L, L] boolean, true = attend.
    public let mask: Tensor
    /// [L] int64 RoPE positions of the block's tokens (sliding windows measure distances with them).
    public let positions: Tensor

    public init(length: Int, mask: Tensor, positions: Tensor) {
      (self.length, self.mask, self.positions) = (length, mask, positions)
    }
  }

  /// In row order; their lengths add up to the row's length.
  public let blocks: [Block]
  /// The blocks' masks as SDPA takes them in the end, made on first use and kept for every layer of the pass.
  private let additive = AdditiveMasks()

  public init(blocks: [Block]) { self.blocks = blocks }

  public var lengths: [Int] { blocks.map(\.length) }

  /// The same blocks under a sliding window: key k is also hidden from query q when pos(q) − pos(k) ≥ `window`, as
  /// Hugging Face's sliding-window mask does. Blocks no longer than the window are unchanged (positions restart per
  /// branch, so every distance inside a block is below its length).
  public func windowed(_ window: Int?) throws -> BlockDiagonalMask {
    guard let window, blocks.contains(where: { $0.length > window }) else { return self }
    return BlockDiagonalMask(blocks: try blocks.map { block in
      guard block.length > window else { return block }
      let q = try block.positions.unsqueezed(1), k = try block.positions.unsqueezed(0)  // [L, 1], [1, L]
      let near = try k.gt(q - Double(window)).view([1, 1, block.length, block.length])
      return Block(length: block.length, mask: try block.mask.logicalAnd(near), positions: block.positions)
    })
  }

  /// The whole [1, 1, T, T] mask, false outside the blocks (for checks against one dense SDPA call).
  public func dense() throws -> Tensor {
    let total = lengths.reduce(0, +)
    var rows: [Tensor] = [], start = 0
    for block in blocks {
      let m = try block.mask.view([block.length, block.length]).to(dtype: .int64)
      rows.append(try m.padded([start, total - start - block.length]))  // [L, T]
      start += block.length
    }
    return try Tensor.cat(rows, dim: 0).ne(0).view([1, 1, total, total])
  }

  /// Each block's mask as SDPA's additive float mask in `dtype` (0 where attended, −∞ elsewhere): the values SDPA
  /// converts a boolean mask to at every call (`convert_boolean_attn_mask`), made once for all the layers of a pass.
  /// Its rows are laid out 8 elements apart (a [1, 1, L, L] view of a [1, 1, L, ⌈L/8⌉·8] buffer): CUDA's
  /// memory-efficient kernel takes only such masks, and SDPA otherwise pads a copy of the mask at every call (each
  /// kept for backward: one per block and layer).
  func additiveMasks(dtype: DType) throws -> [Tensor] {
    if additive.dtype == dtype { return additive.masks }
    let masks = try withNoGrad {
      try blocks.map { block in
        let (l, stride) = (block.length, (block.length + 7) / 8 * 8)
        let padded = try Tensor.zeros([1, 1, l, stride], dtype: dtype, device: block.mask.device)
        let mask = try padded.narrow(3, start: 0, length: l)
        try mask.copy_(try Tensor.zeros(block.mask.shape, dtype: dtype, device: block.mask.device)
          .maskedFill(block.mask.logicalNot(), -.infinity))
        return mask
      }
    }
    (additive.dtype, additive.masks) = (dtype, masks)
    return masks
  }

  // q [B, H, T, d], k and v [B, H, T, d] (or [B, Hkv, T, d] with `enableGQA`) -> [B, H, T, d]: one SDPA call per
  // block over its own slices.
  public func attention(query q: Tensor, key k: Tensor, value v: Tensor, scale: Double?, enableGQA: Bool = false) throws
    -> Tensor
  {
    let masks = try additiveMasks(dtype: q.dtype)
    if blocks.count == 1 {
      return try Functional.scaledDotProductAttention(query: q, key: k, value: v, mask: masks[0], scale: scale,
                                                      enableGQA: enableGQA)
    }
    let sizes = lengths
    let (qs, ks, vs) = (try q.split(sizes: sizes, dim: 2), try k.split(sizes: sizes, dim: 2), try v.split(sizes: sizes, dim: 2))
    let outputs = try blocks.indices.map { i in
      try Functional.scaledDotProductAttention(query: qs[i], key: ks[i], value: vs[i], mask: masks[i], scale: scale,
                                               enableGQA: enableGQA)
    }
    return try Tensor.cat(outputs, dim: 2)
  }
}

/// `BlockDiagonalMask`'s additive masks, shared by the copies of one mask (one forward pass).
private final class AdditiveMasks {
  var dtype: DType?
  var masks: [Tensor] = []
}

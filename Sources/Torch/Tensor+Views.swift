// Tensor+Views.swift — reshaping, slicing, indexing, joining and splitting.
import CTorch

extension Tensor {
  public func reshape(_ shape: [Int]) throws -> Tensor {
    try produce("reshape(\(shape))", self) { out in Tensor.withShape(shape) { ct_reshape(handle, $0, $1, out) } }
  }

  public func view(_ shape: [Int]) throws -> Tensor {
    try produce("view(\(shape))", self) { out in Tensor.withShape(shape) { ct_view(handle, $0, $1, out) } }
  }

  public func transposed(_ dim0: Int, _ dim1: Int) throws -> Tensor {
    try produce("transpose(\(dim0), \(dim1))", self) { ct_transpose(handle, Int64(dim0), Int64(dim1), $0) }
  }

  public func permuted(_ dims: [Int]) throws -> Tensor {
    try produce("permute(\(dims))", self) { out in Tensor.withShape(dims) { ct_permute(handle, $0, $1, out) } }
  }

  public func narrow(_ dim: Int, start: Int, length: Int) throws -> Tensor {
    try produce("narrow(\(dim), \(start), \(length))", self) {
      ct_narrow(handle, Int64(dim), Int64(start), Int64(length), $0)
    }
  }

  /// Python's `t[..., start:end:step]` along `dim`; `end` nil means to the end.
  public func slice(_ dim: Int, _ start: Int, _ end: Int? = nil, step: Int = 1) throws -> Tensor {
    try produce("slice(\(dim), \(start), \(end.map(String.init) ?? "end"), \(step))", self) {
      ct_slice(handle, Int64(dim), Int64(start), Int64(end ?? Int(Int64.max)), Int64(step), $0)
    }
  }

  /// Drops `dim` by taking one index of it.
  public func select(_ dim: Int, _ index: Int) throws -> Tensor {
    try produce("select(\(dim), \(index))", self) { ct_select(handle, Int64(dim), Int64(index), $0) }
  }

  public func squeezed(_ dim: Int) throws -> Tensor {
    try produce("squeeze(\(dim))", self) { ct_squeeze(handle, Int64(dim), $0) }
  }

  public func unsqueezed(_ dim: Int) throws -> Tensor {
    try produce("unsqueeze(\(dim))", self) { ct_unsqueeze(handle, Int64(dim), $0) }
  }

  public func flattened(from start: Int = 0, to end: Int = -1) throws -> Tensor {
    try produce("flatten(\(start), \(end))", self) { ct_flatten(handle, Int64(start), Int64(end), $0) }
  }

  public func expanded(to shape: [Int]) throws -> Tensor {
    try produce("expand(\(shape))", self) { out in Tensor.withShape(shape) { ct_expand(handle, $0, $1, out) } }
  }

  public func repeatInterleave(_ repeats: Int, dim: Int) throws -> Tensor {
    try produce("repeat_interleave(\(repeats), \(dim))", self) {
      ct_repeat_interleave(handle, Int64(repeats), Int64(dim), $0)
    }
  }

  public func indexSelect(_ dim: Int, _ index: Tensor) throws -> Tensor {
    try produce("index_select(\(dim))", self, index) { ct_index_select(handle, Int64(dim), index.handle, $0) }
  }

  public func gather(_ dim: Int, _ index: Tensor) throws -> Tensor {
    try produce("gather(\(dim))", self, index) { ct_gather(handle, Int64(dim), index.handle, $0) }
  }

  public func scatter(_ dim: Int, _ index: Tensor, _ source: Tensor) throws -> Tensor {
    try produce("scatter(\(dim))", self, index, source) {
      ct_scatter(handle, Int64(dim), index.handle, source.handle, $0)
    }
  }

  public func scatterAdd(_ dim: Int, _ index: Tensor, _ source: Tensor) throws -> Tensor {
    try produce("scatter_add(\(dim))", self, index, source) {
      ct_scatter_add(handle, Int64(dim), index.handle, source.handle, $0)
    }
  }

  /// `self[index] = values` (index: a boolean mask or an index tensor on the first dimension).
  public func indexPut_(_ index: Tensor, _ values: Tensor, accumulate: Bool = false) throws {
    try checked("index_put_", [self, index, values]) {
      ct_index_put_(handle, index.handle, values.handle, accumulate ? 1 : 0)
    }
  }

  public func maskedSelect(_ mask: Tensor) throws -> Tensor {
    try produce("masked_select", self, mask) { ct_masked_select(handle, mask.handle, $0) }
  }

  public func maskedFill(_ mask: Tensor, _ value: Double) throws -> Tensor {
    try produce("masked_fill", self, mask) { ct_masked_fill(handle, mask.handle, value, $0) }
  }

  /// `condition ? a : b`, elementwise with broadcasting.
  public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
    try produce("where", condition, a, b) { ct_where(condition.handle, a.handle, b.handle, $0) }
  }

  public static func cat(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
    try join("cat", tensors, dim, ct_cat)
  }

  public static func stack(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
    try join("stack", tensors, dim, ct_stack)
  }

  private static func join(_ name: String, _ tensors: [Tensor], _ dim: Int,
                           _ fn: (UnsafePointer<ct_tensor?>?, Int64, Int64, UnsafeMutablePointer<ct_tensor?>?) -> Int32)
    throws -> Tensor
  {
    var out: ct_tensor?
    let handles: [ct_tensor?] = tensors.map { $0.handle }
    let status = withExtendedLifetime(tensors) { handles.withUnsafeBufferPointer { fn($0.baseAddress, Int64(tensors.count), Int64(dim), &out) } }
    guard status == 0, let h = out else {
      throw TorchError(operation: "\(name)(dim: \(dim))", message: lastShimError(), operands: tensors.map(\.summary))
    }
    return Tensor(handle: h)
  }

  /// Pieces of `size` along `dim` (the last may be smaller).
  public func split(size: Int, dim: Int = 0) throws -> [Tensor] { try pieces(size: size, chunks: 0, dim: dim) }

  /// `chunks` pieces along `dim`.
  public func chunk(_ chunks: Int, dim: Int = 0) throws -> [Tensor] { try pieces(size: 0, chunks: chunks, dim: dim) }

  /// Pieces of the given `sizes` along `dim` (they must add up to its length); views, whose backward concatenates.
  public func split(sizes: [Int], dim: Int = 0) throws -> [Tensor] {
    var array: UnsafeMutablePointer<ct_tensor?>?
    try checked("split(sizes: \(sizes), dim: \(dim))", [self]) {
      Tensor.withShape(sizes) { ct_split_sizes(handle, $0, $1, Int64(dim), &array) }
    }
    defer { ct_free_array(array) }
    return sizes.indices.map { Tensor(handle: array![$0]!) }
  }

  private func pieces(size: Int, chunks: Int, dim: Int) throws -> [Tensor] {
    var array: UnsafeMutablePointer<ct_tensor?>?
    var count: Int64 = 0
    try checked(chunks > 0 ? "chunk(\(chunks), dim: \(dim))" : "split(\(size), dim: \(dim))", [self]) {
      ct_split(handle, Int64(size), Int64(chunks), Int64(dim), &array, &count)
    }
    defer { ct_free_array(array) }
    return (0..<Int(count)).map { Tensor(handle: array![$0]!) }
  }

  public func tril(_ k: Int = 0) throws -> Tensor { try produce("tril(\(k))", self) { ct_tril(handle, Int64(k), $0) } }
  public func triu(_ k: Int = 0) throws -> Tensor { try produce("triu(\(k))", self) { ct_triu(handle, Int64(k), $0) } }

  /// Constant padding, PyTorch's `F.pad` order: (last-dim left, last-dim right, second-to-last left, …).
  public func padded(_ pads: [Int], value: Double = 0) throws -> Tensor {
    try produce("pad(\(pads))", self) { out in Tensor.withShape(pads) { ct_pad(handle, $0, $1, value, out) } }
  }

  public func flipped(_ dims: [Int]) throws -> Tensor {
    try produce("flip(\(dims))", self) { out in Tensor.withShape(dims) { ct_flip(handle, $0, $1, out) } }
  }
}

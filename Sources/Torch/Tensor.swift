// Tensor.swift — the Swift tensor: a final class owning exactly one libtorch handle, freed in deinit.
import CTorch
import Foundation

public final class Tensor: CustomStringConvertible {
  let handle: ct_tensor

  init(handle: ct_tensor) {
    self.handle = handle
    LiveTensors.add(1)
  }
  deinit {
    ct_free(handle)
    LiveTensors.add(-1)
  }

  /// How many Tensor handles this process holds now (made and not yet freed): what a leak check watches.
  public static var liveCount: Int { LiveTensors.count }

  /// How many times this thread has read values back to the host (`item`, `scalars`, `bytes`): on a GPU each read
  /// waits for the device to finish, so the training loop keeps them few (what a sync-count test watches).
  public static var hostReadCount: Int { Int(ct_host_reads()) }

  // MARK: Inspection

  public var rank: Int {
    var d: Int64 = 0
    _ = ct_dim(handle, &d)
    return Int(d)
  }

  public var shape: [Int] {
    let n = rank
    var buf = [Int64](repeating: 0, count: Swift.max(n, 1))
    _ = ct_sizes(handle, &buf, Int64(n))
    return buf.prefix(n).map { Int($0) }
  }

  public var strides: [Int] {
    let n = rank
    var buf = [Int64](repeating: 0, count: Swift.max(n, 1))
    _ = ct_strides(handle, &buf, Int64(n))
    return buf.prefix(n).map { Int($0) }
  }

  /// Size of one dimension; negative indices count from the end.
  public func size(_ dim: Int) -> Int {
    let s = shape
    return s[dim < 0 ? s.count + dim : dim]
  }

  public var elementCount: Int {
    var n: Int64 = 0
    _ = ct_numel(handle, &n)
    return Int(n)
  }

  public var dtype: DType {
    var code: Int32 = 0
    _ = ct_dtype(handle, &code)
    return DType(rawValue: code) ?? .float32
  }

  public var device: Device {
    var type: Int32 = 0
    var index: Int32 = 0
    _ = ct_device(handle, &type, &index)
    return type == Int32(CT_CUDA) ? .cuda(Int(index)) : .cpu
  }

  public var isContiguous: Bool {
    var c: Int32 = 0
    _ = ct_is_contiguous(handle, &c)
    return c != 0
  }

  /// "[2, 3] Float cpu" — used in error messages.
  public var summary: String {
    var buf = [CChar](repeating: 0, count: 256)
    _ = ct_describe(handle, &buf, buf.count)
    return String(cString: buf)
  }

  public var description: String {
    guard elementCount <= 64, let values = try? to(dtype: .float64).scalars(as: Double.self) else {
      return "Tensor(\(summary))"
    }
    return "Tensor(\(summary): \(values))"
  }

  // MARK: Creation

  /// A CPU tensor holding a copy of `scalars`, laid out row-major in `shape` (a 1-D tensor when omitted).
  public convenience init<T: TensorElement>(_ scalars: [T], shape: [Int]? = nil) throws {
    let dims = shape ?? [scalars.count]
    let count = dims.reduce(1, *)
    guard count == scalars.count, dims.allSatisfy({ $0 >= 0 }) else {
      throw TorchError(operation: "Tensor(_:shape:)",
                       message: "\(scalars.count) values cannot fill shape \(dims)")
    }
    var out: ct_tensor?
    let status = scalars.withUnsafeBytes { raw in
      dims.map(Int64.init).withUnsafeBufferPointer { s in
        ct_from_buffer(raw.baseAddress, s.baseAddress, Int64(dims.count), T.dtype.rawValue, &out)
      }
    }
    guard status == 0, let h = out else {
      throw TorchError(operation: "Tensor(_:shape:)", message: lastShimError())
    }
    self.init(handle: h)
  }

  /// A tensor on `device` holding a copy of `scalars` (1-D). On a CUDA device the copy is queued from page-locked
  /// memory without the host waiting for the device (`Tensor(scalars).to(device)` waits for all the work queued
  /// before it); on the CPU it is `Tensor(scalars)`.
  public convenience init<T: TensorElement>(_ scalars: [T], on device: Device) throws {
    var out: ct_tensor?
    let (type, index) = device.code
    let status = scalars.withUnsafeBytes { raw in
      [Int64(scalars.count)].withUnsafeBufferPointer { s in
        ct_from_buffer_on(raw.baseAddress, s.baseAddress, 1, T.dtype.rawValue, type, index, &out)
      }
    }
    guard status == 0, let h = out else { throw TorchError(operation: "Tensor(_:on:)", message: lastShimError()) }
    self.init(handle: h)
  }

  /// A 0-d tensor.
  public convenience init<T: TensorElement>(scalar: T) throws {
    try self.init([scalar], shape: [])
  }

  /// A CPU tensor copied from raw little-endian bytes of the given dtype.
  public convenience init(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType) throws {
    let count = shape.reduce(1, *)
    guard shape.allSatisfy({ $0 >= 0 }), count * dtype.byteCount == bytes.count else {
      throw TorchError(operation: "Tensor(bytes:shape:dtype:)",
                       message: "\(bytes.count) bytes do not hold shape \(shape) of \(dtype)")
    }
    var out: ct_tensor?
    let status = shape.map(Int64.init).withUnsafeBufferPointer { s in
      ct_from_buffer(bytes.baseAddress, s.baseAddress, Int64(shape.count), dtype.rawValue, &out)
    }
    guard status == 0, let h = out else {
      throw TorchError(operation: "Tensor(bytes:shape:dtype:)", message: lastShimError())
    }
    self.init(handle: h)
  }

  /// Wraps memory without copying. `owner` is kept alive for as long as the tensor's storage lives
  /// (used for memory-mapped checkpoints).
  public convenience init(borrowing pointer: UnsafeRawPointer, shape: [Int], dtype: DType, owner: AnyObject) throws {
    let context = Unmanaged.passRetained(owner as AnyObject).toOpaque()
    var out: ct_tensor?
    let status = shape.map(Int64.init).withUnsafeBufferPointer { s in
      ct_from_blob(UnsafeMutableRawPointer(mutating: pointer), s.baseAddress, Int64(shape.count), dtype.rawValue,
                   { ctx in if let ctx { Unmanaged<AnyObject>.fromOpaque(ctx).release() } }, context, &out)
    }
    guard status == 0, let h = out else {
      Unmanaged<AnyObject>.fromOpaque(context).release()
      throw TorchError(operation: "Tensor(borrowing:)", message: lastShimError())
    }
    self.init(handle: h)
  }

  static func withShape<R>(_ shape: [Int], _ body: (UnsafePointer<Int64>?, Int64) -> R) -> R {
    shape.map(Int64.init).withUnsafeBufferPointer { body($0.baseAddress, Int64(shape.count)) }
  }

  public static func empty(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
    let (t, i) = device.code
    return try produce("empty(\(shape))") { out in withShape(shape) { ct_empty($0, $1, dtype.rawValue, t, i, out) } }
  }

  public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32, device: Device = .cpu) throws
    -> Tensor
  {
    let (t, i) = device.code
    return try produce("full(\(shape))") { out in
      withShape(shape) { ct_full($0, $1, value, dtype.rawValue, t, i, out) }
    }
  }

  public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
    try full(shape, 0, dtype: dtype, device: device)
  }

  public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
    try full(shape, 1, dtype: dtype, device: device)
  }

  public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64,
                            device: Device = .cpu) throws -> Tensor
  {
    let (t, i) = device.code
    return try produce("arange(\(start), \(end), \(step))") { ct_arange(start, end, step, dtype.rawValue, t, i, $0) }
  }

  public static func arange(_ end: Int, dtype: DType = .int64, device: Device = .cpu) throws -> Tensor {
    try arange(0, Double(end), dtype: dtype, device: device)
  }

  /// Standard normal samples; `generator` nil uses the global (seeded by `Torch.manualSeed`) generator.
  public static func randn(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu,
                           generator: Generator? = nil) throws -> Tensor
  {
    try sample("randn", ct_randn, shape, dtype, device, generator)
  }

  /// Uniform samples in [0, 1).
  public static func rand(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu,
                          generator: Generator? = nil) throws -> Tensor
  {
    try sample("rand", ct_rand, shape, dtype, device, generator)
  }

  /// Random samples from the shim's `sampler` (ct_randn, ct_rand), named `name` in errors.
  private static func sample(
    _ name: String,
    _ sampler: (UnsafePointer<Int64>?, Int64, Int32, Int32, Int32, ct_generator?, UnsafeMutablePointer<ct_tensor?>?) -> Int32,
    _ shape: [Int], _ dtype: DType, _ device: Device, _ generator: Generator?
  ) throws -> Tensor {
    let (t, i) = device.code
    return try withExtendedLifetime(generator) {
      try produce("\(name)(\(shape))") { out in
        withShape(shape) { sampler($0, $1, dtype.rawValue, t, i, generator?.handle, out) }
      }
    }
  }

  /// Uniform samples in [low, high).
  public static func uniform(_ shape: [Int], low: Double, high: Double, dtype: DType = .float32,
                             device: Device = .cpu, generator: Generator? = nil) throws -> Tensor
  {
    let t = try empty(shape, dtype: dtype, device: device)
    try t.uniform_(low: low, high: high, generator: generator)
    return t
  }

  public static func randint(_ low: Int, _ high: Int, shape: [Int], device: Device = .cpu,
                             generator: Generator? = nil) throws -> Tensor
  {
    let (t, i) = device.code
    return try withExtendedLifetime(generator) {
      try produce("randint(\(low), \(high))") { out in
        withShape(shape) { ct_randint(Int64(low), Int64(high), $0, $1, t, i, generator?.handle, out) }
      }
    }
  }

  public static func randperm(_ n: Int, generator: Generator? = nil) throws -> Tensor {
    try withExtendedLifetime(generator) {
      try produce("randperm(\(n))") { ct_randperm(Int64(n), generator?.handle, $0) }
    }
  }

  // MARK: Reading back

  /// All elements, row-major, as Swift values. The tensor's dtype must be `T`'s (convert with `to(dtype:)`).
  public func scalars<T: TensorElement>(as type: T.Type = T.self) throws -> [T] {
    guard dtype == T.dtype else {
      throw TorchError(operation: "scalars(as: \(T.self))",
                       message: "tensor holds \(dtype), not \(T.dtype); convert with to(dtype:) first",
                       operands: [summary])
    }
    let n = elementCount
    var result = [T](unsafeUninitializedCapacity: n) { _, count in count = n }
    try result.withUnsafeMutableBytes { raw in
      try checked("scalars", [self]) { ct_copy_to_buffer(handle, raw.baseAddress, raw.count) }
    }
    return result
  }

  /// Raw bytes of the tensor (contiguous, on the CPU, in its own dtype).
  public func bytes() throws -> [UInt8] {
    let n = elementCount * dtype.byteCount
    var result = [UInt8](repeating: 0, count: n)
    try result.withUnsafeMutableBytes { raw in
      try checked("bytes", [self]) { ct_copy_to_buffer(handle, raw.baseAddress, raw.count) }
    }
    return result
  }

  /// The single value of a one-element tensor.
  public func item() throws -> Double {
    var v = 0.0
    try checked("item", [self]) { ct_item_double(handle, &v) }
    return v
  }

  public func itemInt() throws -> Int {
    var v: Int64 = 0
    try checked("item", [self]) { ct_item_int64(handle, &v) }
    return Int(v)
  }

  /// Pointer to the first element (CPU tensors; valid while the tensor lives).
  public func dataPointer() throws -> UnsafeMutableRawPointer {
    var p: UnsafeMutableRawPointer?
    try checked("dataPointer", [self]) { ct_data_ptr(handle, &p) }
    guard let p else { throw TorchError(operation: "dataPointer", message: "no storage", operands: [summary]) }
    return p
  }

  // MARK: Conversion

  public func to(dtype: DType? = nil, device: Device? = nil, copy: Bool = false) throws -> Tensor {
    let d = dtype ?? self.dtype
    let (t, i) = (device ?? self.device).code
    return try produce("to(\(d), \(device ?? self.device))", self) {
      ct_to(handle, d.rawValue, t, i, copy ? 1 : 0, $0)
    }
  }

  public func to(_ device: Device) throws -> Tensor { try to(device: device) }

  public func clone() throws -> Tensor { try produce("clone", self) { ct_clone(handle, $0) } }
  public func contiguous() throws -> Tensor { try produce("contiguous", self) { ct_contiguous(handle, $0) } }

  /// A second Swift handle onto the same libtorch tensor (same storage, same autograd identity).
  public func alias() throws -> Tensor { try produce("alias", self) { ct_shallow_clone(handle, $0) } }
}

/// The count behind `Tensor.liveCount` (a lock: tensors are freed on any thread; Synchronization's Atomic would
/// need macOS 15).
private enum LiveTensors {
  nonisolated(unsafe) private static var value = 0
  private static let lock = NSLock()
  static func add(_ delta: Int) {
    lock.lock()
    value += delta
    lock.unlock()
  }
  static var count: Int {
    lock.lock()
    defer { lock.unlock() }
    return value
  }
}

// Runtime.swift — library-wide settings: version, threads, seeding, random generators, and CUDA (loaded at run
// time so that one binary serves CPU and GPU machines).
import CTorch

public enum Torch {
  /// libtorch's version string, e.g. "2.11.0".
  public static var version: String {
    var p: UnsafePointer<CChar>?
    _ = ct_version(&p)
    return p.map { String(cString: $0) } ?? "unknown"
  }

  /// The libtorch_cpu.so this process loaded.
  public static var libraryPath: String {
    var buf = [CChar](repeating: 0, count: 4096)
    _ = ct_libtorch_path(&buf, buf.count)
    return String(cString: buf)
  }

  public static var threadCount: Int {
    get {
      var n: Int32 = 0
      _ = ct_get_num_threads(&n)
      return Int(n)
    }
    set { _ = ct_set_num_threads(Int32(newValue)) }
  }

  /// Seeds the global generators (CPU and, when loaded, CUDA): torch.manual_seed.
  public static func manualSeed(_ seed: UInt64) {
    _ = ct_manual_seed(seed)
  }

  /// The global CPU generator's state (for checkpoints).
  public static func rngState() throws -> Tensor {
    try produce("rng_state") { ct_generator_get_state(nil, $0) }
  }

  public static func setRNGState(_ state: Tensor) throws {
    try checked("set_rng_state", [state]) { ct_generator_set_state(nil, state.handle) }
  }
}

/// An independent, seeded CPU random generator.
public final class Generator {
  let handle: ct_generator

  public init(seed: UInt64) throws {
    var h: ct_generator?
    try checked("Generator(seed: \(seed))") { ct_generator_new(seed, Int32(CT_CPU), &h) }
    handle = h!
  }

  deinit { _ = ct_generator_free(handle) }

  public func state() throws -> Tensor { try produce("generator.state") { ct_generator_get_state(handle, $0) } }
  public func setState(_ state: Tensor) throws {
    try checked("generator.set_state", [state]) { ct_generator_set_state(handle, state.handle) }
  }
}

public enum CUDA {
  nonisolated(unsafe) private static var loadMessage: String?

  /// Tries once to load libtorch_cuda (beside libtorch_cpu, or `path`); afterwards `isAvailable` tells.
  @discardableResult
  public static func load(path: String? = nil) -> (available: Bool, message: String) {
    if let m = loadMessage, path == nil { return (isAvailable, m) }
    var ok: Int32 = 0
    var buf = [CChar](repeating: 0, count: 1024)
    let status = path.map { p in p.withCString { ct_cuda_load($0, &ok, &buf, buf.count) } }
      ?? ct_cuda_load(nil, &ok, &buf, buf.count)
    let message = status == 0 ? String(cString: buf) : lastShimError()
    loadMessage = message
    return (ok != 0, message)
  }

  public static var isAvailable: Bool {
    var r: Int32 = 0
    _ = ct_cuda_is_available(&r)
    return r != 0
  }

  public static var deviceCount: Int {
    var n: Int64 = 0
    _ = ct_cuda_device_count(&n)
    return Int(n)
  }

  public static func synchronize(device: Int = 0) throws {
    try checked("cuda.synchronize") { ct_cuda_synchronize(Int32(device)) }
  }

  public struct MemoryStats: Sendable {
    public var allocated: Int
    public var reserved: Int
    public var peakAllocated: Int
    public var peakReserved: Int
  }

  public static func memoryStats(device: Int = 0) throws -> MemoryStats {
    var a: Int64 = 0, r: Int64 = 0, pa: Int64 = 0, pr: Int64 = 0
    try checked("cuda.memory_stats") { ct_cuda_memory_stats(Int32(device), &a, &r, &pa, &pr) }
    return MemoryStats(allocated: Int(a), reserved: Int(r), peakAllocated: Int(pa), peakReserved: Int(pr))
  }

  public static func resetPeakMemoryStats(device: Int = 0) throws {
    try checked("cuda.reset_peak_memory_stats") { ct_cuda_reset_peak(Int32(device)) }
  }

  public static func emptyCache() throws { try checked("cuda.empty_cache") { ct_cuda_empty_cache() } }
}

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

  /// The global generator's state on `device` (for checkpoints): torch.get_rng_state / torch.cuda.get_rng_state.
  public static func rngState(device: Device = .cpu) throws -> Tensor {
    let (type, index) = device.code
    return try produce("rng_state(\(device))") { ct_default_generator_get_state(type, index, $0) }
  }

  public static func setRNGState(_ state: Tensor, device: Device = .cpu) throws {
    let (type, index) = device.code
    try checked("set_rng_state(\(device))", [state]) { ct_default_generator_set_state(type, index, state.handle) }
  }

  /// TF32 for fp32 matmuls on CUDA (TRL's `tf32: true`; torch.backends.cuda.matmul.allow_tf32). No effect on CPU.
  public static var allowTF32: Bool {
    get {
      var r: Int32 = 0
      _ = ct_get_allow_tf32(&r)
      return r != 0
    }
    set { _ = ct_set_allow_tf32(newValue ? 1 : 0) }
  }

  /// torch.use_deterministic_algorithms(value, warn_only: true): ops with a deterministic variant use it (on CUDA,
  /// index_add_ sorts instead of adding atomically, in whatever order its threads finish); an op without one, or
  /// whose deterministic variant only warn_only false selects (the memory-efficient attention's backward where it
  /// splits long keys), warns. The CPU's ops here are deterministic either way.
  public static var deterministicAlgorithms: Bool {
    get {
      var r: Int32 = 0
      _ = ct_get_deterministic(&r)
      return r != 0
    }
    set { _ = ct_set_deterministic(newValue ? 1 : 0, 1) }
  }
}

/// An independent, seeded random generator on a device (a CPU generator cannot feed a CUDA op, nor the reverse).
public final class Generator {
  let handle: ct_generator
  public let device: Device

  public init(seed: UInt64, device: Device = .cpu) throws {
    var h: ct_generator?
    let (type, index) = device.code
    try checked("Generator(seed: \(seed), device: \(device))") { ct_generator_new(seed, type, index, &h) }
    handle = h!
    self.device = device
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

  /// Why nothing can be computed on `device` here: CUDA does not start (loading it first, see `load`), or there is no
  /// CUDA device of that index. nil for the CPU and for a device that is there.
  public static func problem(with device: Device) -> String? {
    guard case .cuda(let index) = device else { return nil }
    let cuda = load()
    guard cuda.available else { return "CUDA is not usable here (\(cuda.message))" }
    let count = deviceCount
    guard index < count else {
      return "there is no CUDA device \(index) here (\(count) device\(count == 1 ? "" : "s"): cuda:0\(count > 1 ? "…cuda:\(count - 1)" : ""))"
    }
    return nil
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

  /// What the driver says about one device.
  public struct DeviceProperties: Sendable {
    public var name: String
    public var computeCapability: (major: Int, minor: Int)
    public var totalMemory: Int
    public var multiprocessors: Int
    /// bf16 tensor-core math: Ampere (8.0) and newer, as torch.cuda.is_bf16_supported.
    public var supportsBFloat16: Bool { computeCapability.major >= 8 }
  }

  public static func properties(device: Int = 0) throws -> DeviceProperties {
    var name = [CChar](repeating: 0, count: 256)
    var major: Int32 = 0, minor: Int32 = 0, sms: Int32 = 0, memory: Int64 = 0
    try checked("cuda.get_device_properties(\(device))") {
      ct_cuda_device_info(Int32(device), &name, name.count, &major, &minor, &memory, &sms)
    }
    return DeviceProperties(name: String(cString: name), computeCapability: (Int(major), Int(minor)),
                            totalMemory: Int(memory), multiprocessors: Int(sms))
  }
}

/// The fused kernels behind scaled_dot_product_attention (PyTorch's SDPBackend).
public enum AttentionKernel: Int, CaseIterable, Sendable, CustomStringConvertible {
  case math = 0, flash = 1, efficient = 2, cudnn = 3, overrideable = 4

  public var description: String {
    switch self {
    case .math: return "math"
    case .flash: return "flash"
    case .efficient: return "efficient"
    case .cudnn: return "cudnn"
    case .overrideable: return "overrideable"
    }
  }

  /// The kernel scaled_dot_product_attention picks for these inputs (at::_fused_sdp_choice).
  public static func selected(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil, isCausal: Bool = false,
                              enableGQA: Bool = false) throws -> AttentionKernel
  {
    let code = try choice(query, key, value, mask, isCausal, enableGQA, only: -1)
    guard let kernel = AttentionKernel(rawValue: code) else {
      throw TorchError(operation: "sdp_choice", message: "unknown kernel \(code)")
    }
    return kernel
  }

  /// The kernels able to run these inputs (each asked alone, math included).
  public static func usable(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil, isCausal: Bool = false,
                            enableGQA: Bool = false) throws -> [AttentionKernel]
  {
    try allCases.filter { try choice(query, key, value, mask, isCausal, enableGQA, only: $0.rawValue) == $0.rawValue }
  }

  /// Usable kernels for causal attention of typical shape ([1, 8, 128, 64]) in `dtype` on `device`.
  public static func usable(device: Device, dtype: DType) throws -> [AttentionKernel] {
    let q = try Tensor.zeros([1, 8, 128, 64], dtype: dtype, device: device)
    return try usable(query: q, key: q, value: q, isCausal: true)
  }

  private static func choice(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ mask: Tensor?, _ isCausal: Bool, _ gqa: Bool,
                             only: Int) throws -> Int
  {
    var out: Int64 = -1
    try checked("sdp_choice", [q, k, v]) {
      ct_sdp_choice(q.handle, k.handle, v.handle, mask?.handle, isCausal ? 1 : 0, gqa ? 1 : 0, Int32(only), &out)
    }
    return Int(out)
  }
}

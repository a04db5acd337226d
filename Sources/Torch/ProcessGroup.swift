// ProcessGroup.swift — a group of processes that run collectives together: libtorch's c10d (TCP-store
// rendezvous; gloo on CPU tensors, NCCL on CUDA tensors) through the shim. Data-parallel training averages gradients with it.
import CTorch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How `allReduce` combines the processes' tensors.
public enum ReduceOperation: Sendable {
  case sum, product, max, min

  var code: Int32 {
    switch self {
    case .sum: return Int32(CT_SUM)
    case .product: return Int32(CT_PROD)
    case .max: return Int32(CT_AMAX)
    case .min: return Int32(CT_AMIN)
    }
  }
}

/// One process's membership of a c10d process group (gloo or NCCL backend). Collectives block until every process has
/// called them; each gives up after `timeout` (a process that died or hangs), throwing a `TorchError` that names
/// the collective and this rank.
public final class ProcessGroup {
  let handle: ct_process_group
  public let rank: Int
  public let worldSize: Int
  public let timeout: Double

  /// The c10d backend that carries the collectives: gloo for CPU tensors, NCCL for CUDA tensors.
  public enum Backend: String, Sendable {
    case gloo, nccl

    /// NCCL on CUDA devices (as torch.distributed's default for them), gloo on the CPU.
    public init(for device: Device) { self = device.isCUDA ? .nccl : .gloo }
  }

  public let backend: Backend

  /// Meets the other `worldSize - 1` processes at `host:port`. The process with `hostsStore` (rank 0 when
  /// launched without torchrun; nobody under torchrun, whose agent hosts the store) runs the TCP store.
  /// `timeout` (seconds) bounds the rendezvous and every collective.
  public convenience init(glooAt host: String, port: Int, rank: Int, worldSize: Int, hostsStore: Bool,
                          timeout: Double) throws
  {
    try self.init(.gloo, at: host, port: port, rank: rank, worldSize: worldSize, hostsStore: hostsStore,
                  timeout: timeout)
  }

  /// As `init(glooAt:...)`, with the collectives on `backend`. NCCL needs CUDA tensors and libtorch_cuda with NCCL
  /// in this process; without them it is refused at once (before the rendezvous) with the reason.
  public init(_ backend: Backend, at host: String, port: Int, rank: Int, worldSize: Int, hostsStore: Bool,
              timeout: Double) throws
  {
    var h: ct_process_group?
    let make = backend == .nccl ? ct_process_group_new_nccl : ct_process_group_new_gloo
    let status = make(host, Int32(port), Int32(rank), Int32(worldSize), hostsStore ? 1 : 0,
                      Int64((timeout * 1000).rounded()), &h)
    guard status == 0, let h else {
      throw TorchError(operation: "process group (\(backend), rank \(rank) of \(worldSize), store \(host):\(port))",
                       message: lastShimError())
    }
    handle = h
    self.backend = backend
    self.rank = rank
    self.worldSize = worldSize
    self.timeout = timeout
  }

  /// Whether an NCCL group can be made in this process, or why not.
  public static var ncclAvailability: (available: Bool, reason: String) {
    var buffer = [CChar](repeating: 0, count: 512)
    let available = ct_nccl_available(&buffer, buffer.count) == 1
    return (available, String(cString: buffer))
  }

  deinit { ct_process_group_free(handle) }

  /// Combines `tensor` (a contiguous tensor of the same shape and dtype everywhere, on the CPU for gloo, on this
  /// process's GPU for NCCL) across the group, in place.
  public func allReduce(_ tensor: Tensor, _ operation: ReduceOperation = .sum) throws {
    try checked("all_reduce", [tensor]) { ct_process_group_all_reduce(handle, tensor.handle, operation.code) }
  }

  /// Overwrites `tensor` with rank `root`'s.
  public func broadcast(_ tensor: Tensor, from root: Int = 0) throws {
    try checked("broadcast", [tensor]) { ct_process_group_broadcast(handle, tensor.handle, Int32(root)) }
  }

  /// Every process's `tensor` (same shape everywhere), stacked in rank order: [worldSize, ...tensor.shape].
  public func allGather(_ tensor: Tensor) throws -> Tensor {
    try produce("all_gather", tensor) { ct_process_group_all_gather(handle, tensor.handle, $0) }
  }

  /// Returns once every process has reached it.
  public func barrier() throws {
    try checked("barrier") { ct_process_group_barrier(handle) }
  }
}

extension ProcessGroup {
  /// A TCP port nobody on loopback listens on right now (bind to port 0, read it back, close): a rendezvous port for
  /// a group on this machine.
  public static func unusedLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
  }
}

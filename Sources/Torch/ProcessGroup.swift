// ProcessGroup.swift — a group of processes that run collectives together: libtorch's c10d (TCP-store
// rendezvous, gloo on CPU tensors) through the shim. Data-parallel training averages gradients with it.
import CTorch
import Foundation

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

/// One process's membership of a c10d process group (gloo backend). Collectives block until every process has
/// called them; each gives up after `timeout` (a process that died or hangs), throwing a `TorchError` that names
/// the collective and this rank.
public final class ProcessGroup {
  let handle: ct_process_group
  public let rank: Int
  public let worldSize: Int
  public let timeout: Double

  /// Meets the other `worldSize - 1` processes at `host:port`. The process with `hostsStore` (rank 0 when
  /// launched without torchrun; nobody under torchrun, whose agent hosts the store) runs the TCP store.
  /// `timeout` (seconds) bounds the rendezvous and every collective.
  public init(glooAt host: String, port: Int, rank: Int, worldSize: Int, hostsStore: Bool, timeout: Double) throws {
    var h: ct_process_group?
    let status = ct_process_group_new_gloo(host, Int32(port), Int32(rank), Int32(worldSize), hostsStore ? 1 : 0,
                                           Int64((timeout * 1000).rounded()), &h)
    guard status == 0, let h else {
      throw TorchError(operation: "process group (gloo, rank \(rank) of \(worldSize), store \(host):\(port))",
                       message: lastShimError())
    }
    handle = h
    self.rank = rank
    self.worldSize = worldSize
    self.timeout = timeout
  }

  deinit { ct_process_group_free(handle) }

  /// Combines `tensor` (a contiguous CPU tensor of the same shape and dtype everywhere) across the group, in place.
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

// GradientBuckets.swift — DDP's gradient averaging overlapped with backward: parameters in ~25 MB buckets (reverse
// order), each bucket's all-reduce launched from post-accumulate-grad hooks as soon as its gradients are complete.
import CTorch

/// Averages the gradients of `parameters` across a process group in buckets, as PyTorch's DDP does. `arm()` before
/// the last backward of an accumulation window (the earlier ones run without communication, DDP's `no_sync`); while
/// that backward runs, every bucket whose gradients are all accumulated is sent (asynchronously, in the same bucket
/// order on every rank); `finish()` after it sends whatever backward did not reach, waits, and writes the averages
/// (sum ÷ world size) into `.grad`. Element for element the same sums as one all-reduce of every gradient.
public final class GradientBuckets {
  let handle: ct_gradient_reducer
  /// Kept alive with the reducer (it holds hooks on their autograd state).
  public let group: ProcessGroup
  public let parameters: [Tensor]
  public let bucketCount: Int

  /// DDP's defaults: the first bucket (the last parameters, whose gradients come first) holds up to 1 MB, the others
  /// up to 25 MB (`bucket_cap_mb`). Each bucket holds one dtype and device. The parameters must be leaves that
  /// require grad and have no post-accumulate-grad hook of their own; the reducer sets one on each until it goes.
  public init(_ parameters: [Tensor], group: ProcessGroup, firstBucketBytes: Int = 1 << 20,
              bucketBytes: Int = 25 << 20) throws
  {
    var h: ct_gradient_reducer?
    let handles: [ct_tensor?] = parameters.map { $0.handle }
    let status = withExtendedLifetime(parameters) {
      handles.withUnsafeBufferPointer {
        ct_gradient_reducer_new(group.handle, $0.baseAddress, Int64(parameters.count), Int64(firstBucketBytes),
                                Int64(bucketBytes), &h)
      }
    }
    guard status == 0, let h else {
      throw TorchError(operation: "gradient buckets over \(parameters.count) parameters", message: lastShimError())
    }
    handle = h
    self.group = group
    self.parameters = parameters
    var count: Int64 = 0
    _ = ct_gradient_reducer_buckets(h, &count)
    bucketCount = Int(count)
  }

  deinit { ct_gradient_reducer_free(handle) }

  /// The next backward sends each bucket as soon as its gradients are accumulated.
  public func arm() throws {
    try checked("gradient buckets: arm") { ct_gradient_reducer_arm(handle) }
  }

  /// Sends the buckets backward did not, waits for all, and leaves the averaged gradients in `.grad`. Returns how
  /// many buckets were sent during backward (overlapped); 0 when not armed. Every rank must call it.
  @discardableResult
  public func finish() throws -> Int {
    var launched: Int64 = 0
    try checked("gradient all-reduce") { ct_gradient_reducer_finish(handle, &launched) }
    return Int(launched)
  }
}

// Autograd.swift — requires_grad, backward, gradients, the no-grad scope, and gradient checkpointing.
import CTorch

extension Tensor {
  public var requiresGrad: Bool {
    var r: Int32 = 0
    _ = ct_requires_grad(handle, &r)
    return r != 0
  }

  /// Marks a leaf tensor as trainable (or not). Returns self for chaining.
  @discardableResult
  public func requiringGrad(_ flag: Bool = true) throws -> Tensor {
    try checked("requires_grad_(\(flag))", [self]) { ct_set_requires_grad(handle, flag ? 1 : 0) }
    return self
  }

  public var isLeaf: Bool {
    var r: Int32 = 0
    _ = ct_is_leaf(handle, &r)
    return r != 0
  }

  /// Back-propagates from this tensor (a scalar unless `gradient` is given) into the leaves' `.grad`.
  public func backward(gradient: Tensor? = nil, retainGraph: Bool = false) throws {
    try withExtendedLifetime(gradient) {
      try checked("backward", [self]) { ct_backward(handle, gradient?.handle, retainGraph ? 1 : 0) }
    }
  }

  /// The accumulated gradient, or nil when none is stored.
  public var grad: Tensor? {
    var out: ct_tensor?
    guard ct_grad(handle, &out) == 0, let h = out else { return nil }
    return Tensor(handle: h)
  }

  /// Replaces (or clears, with nil) the stored gradient.
  public func setGrad(_ gradient: Tensor?) throws {
    try withExtendedLifetime(gradient) {
      try checked("set_grad", [self]) { ct_set_grad(handle, gradient?.handle) }
    }
  }

  /// The same values, cut from the graph.
  public func detached() throws -> Tensor { try produce("detach", self) { ct_detach(handle, $0) } }
}

/// torch.autograd.grad: gradients of `outputs` with respect to `inputs` (nil where an input is unused).
public func gradients(of outputs: [Tensor], withRespectTo inputs: [Tensor], gradOutputs: [Tensor]? = nil,
                      retainGraph: Bool = false, createGraph: Bool = false) throws -> [Tensor?]
{
  var array: UnsafeMutablePointer<ct_tensor?>?
  let o: [ct_tensor?] = outputs.map { $0.handle }
  let i: [ct_tensor?] = inputs.map { $0.handle }
  let g: [ct_tensor?]? = gradOutputs?.map { $0.handle }
  try withExtendedLifetime((outputs, inputs, gradOutputs)) {
    try checked("autograd.grad", outputs + inputs) {
      o.withUnsafeBufferPointer { op in
        i.withUnsafeBufferPointer { ip in
          if let g {
            return g.withUnsafeBufferPointer { gp in
              ct_autograd_grad(op.baseAddress, Int64(o.count), gp.baseAddress, ip.baseAddress, Int64(i.count),
                               retainGraph ? 1 : 0, createGraph ? 1 : 0, &array)
            }
          }
          return ct_autograd_grad(op.baseAddress, Int64(o.count), nil, ip.baseAddress, Int64(i.count),
                                  retainGraph ? 1 : 0, createGraph ? 1 : 0, &array)
        }
      }
    }
  }
  defer { ct_free_array(array) }
  return (0..<inputs.count).map { k in array![k].map { Tensor(handle: $0) } }
}

public enum GradMode {
  public static var isEnabled: Bool {
    var r: Int32 = 0
    _ = ct_is_grad_enabled(&r)
    return r != 0
  }

  /// Sets grad mode for this thread and returns the previous setting.
  @discardableResult
  public static func set(_ enabled: Bool) -> Bool {
    var previous: Int32 = 0
    _ = ct_set_grad_enabled(enabled ? 1 : 0, &previous)
    return previous != 0
  }
}

/// Runs `body` without recording a graph (inference, metrics, optimizer steps).
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
  let previous = GradMode.set(false)
  defer { GradMode.set(previous) }
  return try body()
}

/// Runs `body` with graph recording on (inside a no-grad scope, for instance).
public func withGrad<R>(_ body: () throws -> R) rethrows -> R {
  let previous = GradMode.set(true)
  defer { GradMode.set(previous) }
  return try body()
}

// MARK: - Gradient checkpointing

/// Holds the Swift block a checkpoint recomputes; owned by libtorch's graph node through `Unmanaged`.
private final class CheckpointBlock {
  let body: ([Tensor]) throws -> [Tensor]
  init(_ body: @escaping ([Tensor]) throws -> [Tensor]) { self.body = body }
}

private func runCheckpointBlock(_ context: UnsafeMutableRawPointer?, _ inputs: UnsafePointer<ct_tensor?>?,
                                _ inputCount: Int64, _ outputs: UnsafeMutablePointer<ct_tensor?>?,
                                _ outputCount: Int64) -> Int32
{
  guard let context, let outputs else { return 1 }
  let block = Unmanaged<CheckpointBlock>.fromOpaque(context).takeUnretainedValue()
  var args: [Tensor] = []
  for k in 0..<Int(inputCount) {
    // The shim frees its own input wrappers after the call: take our own handles.
    var own: ct_tensor?
    guard ct_shallow_clone(inputs![k], &own) == 0, let h = own else { return 1 }
    args.append(Tensor(handle: h))
  }
  do {
    let results = try block.body(args)
    guard results.count == Int(outputCount) else {
      ct_set_error("checkpointed block returned \(results.count) tensors, expected \(outputCount)")
      return 1
    }
    for (k, r) in results.enumerated() {
      var own: ct_tensor?
      guard ct_shallow_clone(r.handle, &own) == 0 else { return 1 }
      outputs[k] = own
    }
    return 0
  } catch {
    ct_set_error("\(error)")
    return 1
  }
}

/// Gradient checkpointing (PyTorch's reentrant `torch.utils.checkpoint`): `body` runs once without keeping its
/// activations; backward runs it again (with the RNG state of the first run) to get the gradients, which reach
/// `inputs` and accumulate into any trainable leaf tensors the block uses. Trades compute for memory.
/// Outside grad mode it simply calls `body`.
public func checkpoint(_ inputs: [Tensor], outputs outputCount: Int = 1,
                       _ body: @escaping ([Tensor]) throws -> [Tensor]) throws -> [Tensor]
{
  guard GradMode.isEnabled else { return try body(inputs) }
  let context = Unmanaged.passRetained(CheckpointBlock(body)).toOpaque()
  var outs = [ct_tensor?](repeating: nil, count: outputCount)
  let handles: [ct_tensor?] = inputs.map { $0.handle }
  try withExtendedLifetime(inputs) {
    try checked("checkpoint", inputs) {
      handles.withUnsafeBufferPointer { ip in
        ct_checkpoint(runCheckpointBlock, { ctx in
          if let ctx { Unmanaged<CheckpointBlock>.fromOpaque(ctx).release() }
        }, context, ip.baseAddress, Int64(inputs.count), &outs, Int64(outputCount))
      }
    }
  }
  return outs.map { Tensor(handle: $0!) }
}

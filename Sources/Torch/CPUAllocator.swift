// CPUAllocator.swift — where libtorch's CPU tensors get their memory: glibc's heap (libtorch's default), or the shim's
// reusing allocator (cpu_allocator.cpp), which keeps a training step's peak resident memory near its tensors' peak.
import CTorch

public enum CPUAllocator {
  /// Tensors of this many bytes or more get mappings of their own under `useReusingMappings`.
  public static let defaultThreshold = 64 << 10

  /// Makes each CPU tensor of `threshold` bytes or more its own mapping; a freed one is kept (up to `cacheLimit`
  /// bytes, nil: no limit) and resized with mremap for the next large tensor, whatever its size, so the pages the
  /// process holds are reused without page faults, and no heap holes build up. Smaller tensors stay on glibc's heap.
  ///
  /// glibc's heap fragments under training: each step's activations have that step's own sizes, and what a step frees
  /// leaves holes the next one cannot fill (default workload, f32 LoRA: peak RSS 1838 MiB for 1107 MiB of tensors);
  /// with a fixed mmap threshold every large tensor is faulted in afresh (1.75× the step time). Numbers are untouched:
  /// only where memory comes from changes. Call before the first tensor is made (tensors made before keep their own
  /// allocator, correctly, but their memory is not reused). Linux and other systems with mremap only.
  public static func useReusingMappings(threshold: Int = defaultThreshold, cacheLimit: Int? = nil) throws {
    try checked("cpu_allocator_install") { ct_cpu_allocator_install(Int64(threshold), Int64(cacheLimit ?? -1)) }
  }

  /// Unmaps the mappings kept for reuse (between the stages of a process whose peaks are measured apart); returns
  /// their bytes. Nothing when the reusing allocator is not installed.
  @discardableResult
  public static func releaseCached() -> Int {
    var released: Int64 = 0
    _ = ct_cpu_allocator_release(&released)
    return Int(released)
  }

  /// Bytes of large tensors in use, bytes kept for reuse, and the mappings holding both (all 0 when not installed).
  public static var statistics: (liveBytes: Int, cachedBytes: Int, mappings: Int) {
    var live: Int64 = 0, cached: Int64 = 0, mappings: Int64 = 0
    _ = ct_cpu_allocator_stats(&live, &cached, &mappings)
    return (Int(live), Int(cached), Int(mappings))
  }
}

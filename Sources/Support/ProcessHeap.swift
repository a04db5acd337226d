// ProcessHeap.swift — how this process's C heap (glibc malloc, which libtorch's CPU allocator uses) hands freed
// memory back to the system: a fixed mmap threshold, so a training step's freed activations do not stay resident.
import Foundation

#if os(Linux)
/// glibc's `int mallopt(int param, int value)` and `int malloc_trim(size_t pad)` (malloc.h, which Swift's Glibc
/// module does not include).
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

public enum ProcessHeap {
  /// The mmap threshold `keepLargeBlocksOutOfTheHeap` sets: glibc's own starting value, 128 KiB.
  public static let mmapThreshold = 128 * 1024

  /// Makes every allocation of `mmapThreshold` bytes or more its own mapping, returned to the system when freed.
  ///
  /// glibc starts at 128 KiB but raises the threshold to the size of each mapped block freed (up to 32 MiB), so after
  /// the first training step most activations come from the heap, whose freed holes stay resident and fragment: the
  /// default workload's peak RSS was 1946 MiB with glibc's sliding threshold and 1510 MiB with it fixed at 128 KiB
  /// (64 KiB: 1516, 256 KiB: 1540, 512 KiB: 1581, 1 MiB: 1945; one arena instead of glibc's default: no change).
  /// Numbers are untouched: only where freed memory goes changes. Does nothing when the environment already sets
  /// the threshold (`MALLOC_MMAP_THRESHOLD_`, or `mmap_threshold` in `GLIBC_TUNABLES`), or off glibc.
  /// Returns whether it set the threshold.
  @discardableResult
  public static func keepLargeBlocksOutOfTheHeap(environment: [String: String] = ProcessInfo.processInfo.environment)
    -> Bool
  {
    guard !environmentSetsThreshold(environment) else { return false }
    #if os(Linux)
    return glibcMallopt(-3 /* M_MMAP_THRESHOLD */, Int32(mmapThreshold)) == 1
    #else
    return false
    #endif
  }

  /// Whether `environment` chooses glibc's mmap threshold itself.
  public static func environmentSetsThreshold(_ environment: [String: String]) -> Bool {
    environment["MALLOC_MMAP_THRESHOLD_"] != nil
      || (environment["GLIBC_TUNABLES"]?.contains("glibc.malloc.mmap_threshold") ?? false)
  }

  /// Hands the free memory at the top of the heap (and in free pages inside it) back to the system (glibc's
  /// `malloc_trim(0)`). Returns whether any was released.
  @discardableResult
  public static func trim() -> Bool {
    #if os(Linux)
    return glibcMallocTrim(0) == 1
    #else
    return false
    #endif
  }
}

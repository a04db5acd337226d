// CPUAllocatorTests.swift — the reusing CPU allocator (cpu_allocator.cpp): large tensors get mappings that are kept
// when freed and reused for tensors of other sizes, their contents intact while alive; small ones stay on the heap.
import Testing
@testable import Torch

@Suite(.serialized) struct CPUAllocatorTests {
  #if os(Linux)
  @Test func largeTensorsReuseFreedMappings() throws {
    try CPUAllocator.useReusingMappings()
    CPUAllocator.releaseCached()
    let before = CPUAllocator.statistics
    // 1 MiB of float32 (over the 64 KiB threshold), filled with a pattern that must survive its neighbours' churn.
    let kept = try Tensor.arange(0, 262_144, dtype: .float32)
    #expect(CPUAllocator.statistics.liveBytes >= before.liveBytes + 1 << 20)
    var reused = 0
    for elements in [300_000, 200_000, 262_144, 500_000, 40_000] {  // longer, shorter, equal, grown; the last small
      let cachedBefore = CPUAllocator.statistics.cachedBytes
      let t = try Tensor.full([elements], 3, dtype: .float32)
      #expect(try t.sum().item() == 3 * Double(elements))
      if CPUAllocator.statistics.cachedBytes < cachedBefore { reused += 1 }
    }
    #expect(reused >= 3)  // each large one after the first came from a freed mapping
    #expect(CPUAllocator.statistics.cachedBytes > 0)
    #expect(try kept.narrow(0, start: 262_140, length: 4).scalars(as: Float.self) == [262_140, 262_141, 262_142, 262_143])
    let released = CPUAllocator.releaseCached()
    #expect(released > 0 && CPUAllocator.statistics.cachedBytes == 0)
  }
  #endif
}

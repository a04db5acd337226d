// ProcessHeapTests.swift — the fixed mmap threshold is set unless the environment chose one.
import Foundation
import Testing
import Support

@Test func theEnvironmentsOwnMmapThresholdWins() {
  #expect(ProcessHeap.environmentSetsThreshold(["MALLOC_MMAP_THRESHOLD_": "65536"]))
  #expect(ProcessHeap.environmentSetsThreshold(["GLIBC_TUNABLES": "glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=65536"]))
  #expect(!ProcessHeap.environmentSetsThreshold(["GLIBC_TUNABLES": "glibc.malloc.arena_max=1"]))
  #expect(!ProcessHeap.environmentSetsThreshold([:]))
  #expect(!ProcessHeap.keepLargeBlocksOutOfTheHeap(environment: ["MALLOC_MMAP_THRESHOLD_": "65536"]))
}

@Test func glibcTakesTheFixedMmapThreshold() {
  #if os(Linux)
  #expect(ProcessHeap.keepLargeBlocksOutOfTheHeap(environment: [:]))
  #endif
}

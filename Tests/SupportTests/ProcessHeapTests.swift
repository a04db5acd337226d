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

/// Under AddressSanitizer (`make asan`) malloc is the sanitizer's, whose mallopt sets nothing.
private let addressSanitizerIsLoaded = dlsym(nil, "__asan_init") != nil

@Test(.disabled(if: addressSanitizerIsLoaded, "AddressSanitizer's malloc has no mmap threshold"))
func glibcTakesTheFixedMmapThreshold() {
  #if os(Linux)
  #expect(ProcessHeap.keepLargeBlocksOutOfTheHeap(environment: [:]))
  #endif
}

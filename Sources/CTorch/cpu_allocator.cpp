// cpu_allocator.cpp — an allocator for libtorch's CPU tensors that gives each large tensor its own mapping and keeps
// freed mappings for the next large tensor (resized with mremap, so their resident pages serve a tensor of any size):
// no heap holes (glibc's heap fragments as each training step's activations, of that step's own sizes, come and
// go), and no page faults for memory the process already holds (glibc with a fixed mmap threshold faults every large
// tensor in afresh). Small tensors stay on glibc's heap. Linux only (mremap): elsewhere installing does nothing.
#include "common.h"
#ifdef __linux__
#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

namespace {
constexpr size_t kPage = 4096;

// Never destroyed: tensors may be freed after static destructors have run.
struct State {
  std::mutex mu;
  std::unordered_map<void *, size_t> live;  // large blocks in use: their mapping's length
  std::multimap<size_t, void *> cache;      // freed mappings by length
  size_t cached = 0;
  size_t threshold = 64 << 10;
  size_t cap = SIZE_MAX;
};
State &state() {
  static State *s = new State();
  return *s;
}

// Takes `s.mu`. Mappings over the cap go back to the system, the longest first.
void trim_cache(State &s) {
  while (s.cached > s.cap && !s.cache.empty()) {
    auto last = std::prev(s.cache.end());
    s.cached -= last->first;
    munmap(last->second, last->first);
    s.cache.erase(last);
  }
}

// Every block's deleter (and raw_deleter): a large block's mapping goes to the cache, a small block to free().
void release(void *p) {
  if (!p) return;
  State &s = state();
  {
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.live.find(p);
    if (it != s.live.end()) {
      s.cache.emplace(it->second, p);
      s.cached += it->second;
      s.live.erase(it);
      trim_cache(s);
      return;
    }
  }
  free(p);
}

// Faults in a new range's pages in one call (the tensor is about to be written whole): the same zeroed pages, far
// cheaper than a page fault each. Kernels before 5.14 refuse, and the pages fault in as written.
void populate(void *p, size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  if (bytes > 0) madvise(p, bytes, MADV_POPULATE_WRITE);
#endif
}

// Takes `s.mu`. A mapping of `bytes` (a page multiple) from the cache, disturbing as few pages as it can: one of that
// length or up to 1/8 longer as it is; else one up to 1/8 shorter, grown (mremap keeps its pages); else a longer one
// with its tail unmapped; else the longest one grown. Null when the cache is empty.
void *from_cache(State &s, size_t bytes, size_t *length) {
  if (s.cache.empty()) return nullptr;
  auto it = s.cache.lower_bound(bytes);
  if (it == s.cache.end() || it->first - bytes > bytes / 8) {
    auto shorter = s.cache.lower_bound(bytes - bytes / 8);
    if (shorter != s.cache.end() && shorter->first < bytes) it = shorter;
    else if (it == s.cache.end()) it = std::prev(s.cache.end());
  }
  void *p = it->second;
  size_t have = it->first;
  s.cache.erase(it);
  s.cached -= have;
  if (have >= bytes) {
    if (have - bytes > bytes / 8) {
      munmap(static_cast<char *>(p) + bytes, have - bytes);
      have = bytes;
    }
    *length = have;
    return p;
  }
  void *q = mremap(p, have, bytes, MREMAP_MAYMOVE);
  if (q == MAP_FAILED) {
    munmap(p, have);
    return nullptr;
  }
  populate(static_cast<char *>(q) + have, bytes - have);
  *length = bytes;
  return q;
}

void *allocate_bytes(size_t n) {
  State &s = state();
  if (n >= s.threshold) {
    size_t bytes = (n + kPage - 1) / kPage * kPage, length = 0;
    std::lock_guard<std::mutex> lock(s.mu);
    void *p = from_cache(s, bytes, &length);
    if (!p) {
      p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      length = bytes;
      if (p == MAP_FAILED) p = nullptr;  // out of mappings (vm.max_map_count): the heap below
      else populate(p, bytes);
    }
    if (p) {
      s.live.emplace(p, length);
      return p;
    }
  }
  void *p = nullptr;
  if (posix_memalign(&p, 64, n > 0 ? n : 1) != 0) throw std::bad_alloc();  // libtorch's alignment
  return p;
}

struct ReusingAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t n) override {
    void *p = allocate_bytes(n);
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
  void copy_data(void *dest, const void *src, std::size_t count) const override { std::memcpy(dest, src, count); }
};
}  // namespace
#endif

extern "C" {
int ct_cpu_allocator_install(int64_t threshold, int64_t cache_limit) {
#ifndef __linux__
  return 0;
#else
  CT_PROTECT({
    static ReusingAllocator *allocator = new ReusingAllocator();
    State &s = state();
    {
      std::lock_guard<std::mutex> lock(s.mu);
      s.threshold = (size_t)std::max<int64_t>(threshold, 1);
      s.cap = cache_limit < 0 ? SIZE_MAX : (size_t)cache_limit;
      trim_cache(s);
    }
    c10::SetCPUAllocator(allocator, /*priority=*/10);
  })
#endif
}

int ct_cpu_allocator_release(int64_t *released) {
  *released = 0;
#ifdef __linux__
  CT_PROTECT({
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    *released = (int64_t)s.cached;
    for (auto &[bytes, p] : s.cache) munmap(p, bytes);
    s.cache.clear();
    s.cached = 0;
  })
#else
  return 0;
#endif
}

int ct_cpu_allocator_stats(int64_t *live_bytes, int64_t *cached_bytes, int64_t *mappings) {
  *live_bytes = *cached_bytes = *mappings = 0;
#ifdef __linux__
  CT_PROTECT({
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    size_t live = 0;
    for (auto &kv : s.live) live += kv.second;
    *live_bytes = (int64_t)live;
    *cached_bytes = (int64_t)s.cached;
    *mappings = (int64_t)(s.live.size() + s.cache.size());
  })
#else
  return 0;
#endif
}
}

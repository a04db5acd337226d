// cuda.cpp — CUDA loaded at run time: one binary links only libtorch_cpu and serves CPU and GPU machines.
#include "common.h"
#include <ATen/DeviceAccelerator.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>
#include <cstring>
using namespace ctorch;

static std::string libtorch_dir() {
  Dl_info info;
  if (dladdr((void *)&at::get_num_threads, &info) && info.dli_fname) {
    std::string p = info.dli_fname;
    auto slash = p.rfind('/');
    return slash == std::string::npos ? std::string(".") : p.substr(0, slash);
  }
  return "";
}

static void copy_out(const std::string &s, char *buf, size_t capacity) {
  if (!buf || !capacity) return;
  std::strncpy(buf, s.c_str(), capacity - 1);
  buf[capacity - 1] = 0;
}

extern "C" {
int ct_libtorch_path(char *buf, size_t capacity) {
  CT_PROTECT({
    Dl_info info;
    std::string p = dladdr((void *)&at::get_num_threads, &info) && info.dli_fname ? info.dli_fname : "";
    copy_out(p, buf, capacity);
  })
}

int ct_cuda_load(const char *path, int *out, char *message, size_t capacity) {
  CT_PROTECT({
    *out = 0;
    if (at::detail::getCUDAHooks().hasCUDA()) {
      *out = 1;
      copy_out("CUDA already loaded", message, capacity);
      return 0;
    }
    std::string lib = path ? std::string(path) : libtorch_dir() + "/libtorch_cuda.so";
    void *h = dlopen(lib.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
      const char *e = dlerror();
      copy_out(std::string("no CUDA: ") + (e ? e : lib + " did not load"), message, capacity);
      return 0;
    }
    *out = at::detail::getCUDAHooks().hasCUDA() ? 1 : 0;
    copy_out(*out ? "CUDA loaded from " + lib : lib + " loaded, but no CUDA device is usable", message, capacity);
  })
}
int ct_cuda_is_available(int *out) { CT_PROTECT(*out = at::detail::getCUDAHooks().hasCUDA() ? 1 : 0) }
int ct_cuda_device_count(int64_t *out) {
  CT_PROTECT(*out = at::detail::getCUDAHooks().hasCUDA() ? at::detail::getCUDAHooks().deviceCount() : 0)
}
int ct_cuda_synchronize(int device_index) { CT_PROTECT(at::accelerator::synchronizeDevice((c10::DeviceIndex)device_index)) }
int ct_cuda_memory_stats(int device_index, int64_t *allocated, int64_t *reserved, int64_t *peak_allocated,
                         int64_t *peak_reserved) {
  CT_PROTECT({
    auto s = at::accelerator::getDeviceStats((c10::DeviceIndex)device_index);
    const size_t all = 0;  // StatType::AGGREGATE
    *allocated = s.allocated_bytes[all].current;
    *reserved = s.reserved_bytes[all].current;
    *peak_allocated = s.allocated_bytes[all].peak;
    *peak_reserved = s.reserved_bytes[all].peak;
  })
}
int ct_cuda_reset_peak(int device_index) { CT_PROTECT(at::accelerator::resetPeakStats((c10::DeviceIndex)device_index)) }
int ct_cuda_empty_cache(void) { CT_PROTECT(at::accelerator::emptyCache()) }
}

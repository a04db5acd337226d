// cuda.cpp — CUDA loaded at run time: one binary links only libtorch_cpu and serves CPU and GPU machines.
#include "common.h"
#include <ATen/DeviceAccelerator.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>
#include <ATen/Context.h>
#include <ATen/ops/_fused_sdp_choice.h>
#include <cstring>
#include <typeinfo>
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
    // Never ask ATen about CUDA before libtorch_cuda is in: getCUDAHooks() answers once per process, and an early
    // answer is the CPU-only stub for good. RTLD_NOLOAD tells whether the library is already loaded.
    std::string lib = path ? std::string(path) : libtorch_dir() + "/libtorch_cuda.so";
    void *h = dlopen(lib.c_str(), RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    if (!h) h = dlopen(lib.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
      const char *e = dlerror();
      copy_out(std::string("no CUDA: ") + (e ? e : lib + " did not load"), message, capacity);
      return 0;
    }
    const auto &hooks = at::detail::getCUDAHooks();
    if (typeid(hooks) == typeid(at::CUDAHooksInterface)) {
      copy_out(lib + " loaded, but ATen had already been asked about CUDA in this process, so CUDA stays off: "
                     "load it first (CUDA.load() before any other libtorch call)", message, capacity);
      return 0;
    }
    *out = hooks.hasCUDA() ? 1 : 0;
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

// ---- the driver API, for what ATen keeps inside libtorch_cuda (device properties) -----------------------------
namespace {
using CUresult = int;
struct Driver {
  CUresult (*init)(unsigned) = nullptr;
  CUresult (*get)(int *, int) = nullptr;
  CUresult (*name)(char *, int, int) = nullptr;
  CUresult (*total_mem)(size_t *, int) = nullptr;
  CUresult (*attribute)(int *, int, int) = nullptr;
  bool ok = false;
};
const Driver &driver() {
  static Driver d = [] {
    Driver d;
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
    if (!h) return d;
    d.init = (CUresult(*)(unsigned))dlsym(h, "cuInit");
    d.get = (CUresult(*)(int *, int))dlsym(h, "cuDeviceGet");
    d.name = (CUresult(*)(char *, int, int))dlsym(h, "cuDeviceGetName");
    d.total_mem = (CUresult(*)(size_t *, int))dlsym(h, "cuDeviceTotalMem_v2");
    d.attribute = (CUresult(*)(int *, int, int))dlsym(h, "cuDeviceGetAttribute");
    d.ok = d.init && d.get && d.name && d.total_mem && d.attribute && d.init(0) == 0;
    return d;
  }();
  return d;
}
}  // namespace

extern "C" {
int ct_cuda_device_info(int device_index, char *name, size_t capacity, int *major, int *minor, int64_t *total_memory,
                        int *multiprocessors) {
  CT_PROTECT({
    const Driver &d = driver();
    if (!d.ok) throw std::runtime_error("the CUDA driver (libcuda.so.1) is not usable here");
    int dev = 0;
    if (d.get(&dev, device_index) != 0) throw std::runtime_error("no CUDA device " + std::to_string(device_index));
    char buf[256] = {0};
    size_t bytes = 0;
    // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75, _MINOR = 76, MULTIPROCESSOR_COUNT = 16
    if (d.name(buf, sizeof buf - 1, dev) != 0 || d.total_mem(&bytes, dev) != 0 || d.attribute(major, 75, dev) != 0 ||
        d.attribute(minor, 76, dev) != 0 || d.attribute(multiprocessors, 16, dev) != 0)
      throw std::runtime_error("the CUDA driver refused a device query");
    copy_out(buf, name, capacity);
    *total_memory = (int64_t)bytes;
  })
}

int ct_set_allow_tf32(int allow) {
  CT_PROTECT({
    at::globalContext().setAllowTF32CuBLAS(allow != 0);
    at::globalContext().setAllowTF32CuDNN(allow != 0);
  })
}
int ct_get_allow_tf32(int *out) { CT_PROTECT(*out = at::globalContext().allowTF32CuBLAS() ? 1 : 0) }
int ct_set_deterministic(int on, int warn_only) {
  CT_PROTECT(at::globalContext().setDeterministicAlgorithms(on != 0, warn_only != 0))
}
int ct_get_deterministic(int *out) { CT_PROTECT(*out = at::globalContext().deterministicAlgorithms() ? 1 : 0) }

int ct_sdp_choice(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask, int is_causal, int enable_gqa, int only,
                  int64_t *out) {
  CT_PROTECT({
    std::optional<at::Tensor> m;
    if (mask) m = T(mask);
    // A kernel that refuses these inputs says why in warnings (CUDA's dispatcher, one per failed condition, every
    // time): a question asked of each kernel alone, and per layer by the grouped-heads probe, so not printed here (the
    // call that runs the attention still warns if it falls back to the math kernel).
    struct Silent : c10::WarningHandler {
      void process(const c10::Warning &) override {}
    } silent;
    c10::WarningUtils::WarningHandlerGuard quiet(&silent);
    if (only < 0) {  // the kernel ct_sdpa's call would run
      ctorch::NoCuDNNForMaskedAttention guard(T(q), m.has_value());
      *out = at::_fused_sdp_choice(T(q), T(k), T(v), m, 0.0, is_causal != 0, std::nullopt, enable_gqa != 0);
      return 0;
    }
    auto &ctx = at::globalContext();
    const bool flash = ctx.userEnabledFlashSDP(), efficient = ctx.userEnabledMemEfficientSDP(),
               math = ctx.userEnabledMathSDP(), cudnn = ctx.userEnabledCuDNNSDP(),
               overrideable = ctx.userEnabledOverrideableSDP();
    auto set = [&](bool f, bool e, bool ma, bool c, bool o) {
      ctx.setSDPUseFlash(f);
      ctx.setSDPUseMemEfficient(e);
      ctx.setSDPUseMath(ma);
      ctx.setSDPUseCuDNN(c);
      ctx.setSDPUseOverrideable(o);
    };
    set(only == CT_SDP_FLASH, only == CT_SDP_EFFICIENT, only == CT_SDP_MATH, only == CT_SDP_CUDNN,
        only == CT_SDP_OVERRIDEABLE);
    int64_t choice = -1;
    try {
      choice = at::_fused_sdp_choice(T(q), T(k), T(v), m, 0.0, is_causal != 0, std::nullopt, enable_gqa != 0);
    } catch (...) {
      choice = -1;
    }
    set(flash, efficient, math, cudnn, overrideable);
    *out = choice == only ? choice : -1;
  })
}
}

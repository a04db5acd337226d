// core.cpp — errors, version, threads, RNG, tensor lifetime/inspection, creation and conversion.
#include "common.h"
#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/headeronly/version.h>
#include <cstring>

static thread_local std::string g_last_error;

namespace ctorch {
void set_error(std::string message) { g_last_error = std::move(message); }

at::ScalarType scalar_type(int code) {
  switch (code) {
    case CT_F32: return at::kFloat;
    case CT_F64: return at::kDouble;
    case CT_F16: return at::kHalf;
    case CT_BF16: return at::kBFloat16;
    case CT_I64: return at::kLong;
    case CT_I32: return at::kInt;
    case CT_I16: return at::kShort;
    case CT_I8: return at::kChar;
    case CT_U8: return at::kByte;
    case CT_BOOL: return at::kBool;
    case CT_U16: return at::kUInt16;
    case CT_U32: return at::kUInt32;
    case CT_U64: return at::kUInt64;
    case CT_F8E4M3: return at::kFloat8_e4m3fn;
    case CT_F8E5M2: return at::kFloat8_e5m2;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(code));
}

int dtype_code(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return CT_F32;
    case at::kDouble: return CT_F64;
    case at::kHalf: return CT_F16;
    case at::kBFloat16: return CT_BF16;
    case at::kLong: return CT_I64;
    case at::kInt: return CT_I32;
    case at::kShort: return CT_I16;
    case at::kChar: return CT_I8;
    case at::kByte: return CT_U8;
    case at::kBool: return CT_BOOL;
    case at::kUInt16: return CT_U16;
    case at::kUInt32: return CT_U32;
    case at::kUInt64: return CT_U64;
    case at::kFloat8_e4m3fn: return CT_F8E4M3;
    case at::kFloat8_e5m2: return CT_F8E5M2;
    default: break;
  }
  throw std::invalid_argument(std::string("unsupported dtype ") + c10::toString(t));
}

at::Device device(int type, int index) {
  if (type == CT_CPU) return at::Device(at::kCPU);
  if (type == CT_CUDA) return at::Device(at::kCUDA, (c10::DeviceIndex)index);
  throw std::invalid_argument("unknown device type " + std::to_string(type));
}
}  // namespace ctorch

using namespace ctorch;

extern "C" {

const char *ct_last_error(void) { return g_last_error.c_str(); }
void ct_set_error(const char *message) { g_last_error = message ? message : ""; }

int ct_version(const char **out) { CT_PROTECT(*out = TORCH_VERSION) }
int ct_get_num_threads(int *out) { CT_PROTECT(*out = at::get_num_threads()) }
int ct_set_num_threads(int n) { CT_PROTECT(at::set_num_threads(n)) }
int ct_manual_seed(uint64_t seed) { CT_PROTECT(at::manual_seed(seed)) }

int ct_generator_new(uint64_t seed, int device_type, int device_index, ct_generator *out) {
  CT_PROTECT({
    at::Generator g;
    if (device_type == CT_CPU) {
      g = at::make_generator<at::CPUGeneratorImpl>(seed);
    } else {
      // CUDA's generator type lives in libtorch_cuda: ask its hooks (loaded at process start) for a fresh one.
      g = at::detail::getCUDAHooks().getNewGenerator((c10::DeviceIndex)device_index);
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_current_seed(seed);
    }
    *out = new ct_generator_s{g};
  })
}
int ct_generator_free(ct_generator g) { CT_PROTECT(delete g) }
int ct_generator_device(ct_generator g, int *device_type, int *device_index) {
  CT_PROTECT({
    auto d = g->g.device();
    *device_type = d.is_cuda() ? CT_CUDA : CT_CPU;
    *device_index = d.is_cuda() ? d.index() : 0;
  })
}
int ct_generator_get_state(ct_generator g, ct_tensor *out) {
  CT_PROTECT({
    at::Generator gen = g ? g->g : at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    CT_OUT(out, gen.get_state());
  })
}
int ct_generator_set_state(ct_generator g, ct_tensor state) {
  CT_PROTECT({
    at::Generator gen = g ? g->g : at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(T(state));
  })
}
int ct_default_generator_get_state(int device_type, int device_index, ct_tensor *out) {
  CT_PROTECT({
    auto gen = at::globalContext().defaultGenerator(device(device_type, device_index));
    std::lock_guard<std::mutex> lock(gen.mutex());
    CT_OUT(out, gen.get_state());
  })
}
int ct_default_generator_set_state(int device_type, int device_index, ct_tensor state) {
  CT_PROTECT({
    auto gen = at::globalContext().defaultGenerator(device(device_type, device_index));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(T(state));
  })
}

void ct_free(ct_tensor t) { delete t; }
void ct_free_array(ct_tensor *ts) { free(ts); }
int ct_shallow_clone(ct_tensor t, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t))) }
int ct_dim(ct_tensor t, int64_t *out) { CT_PROTECT(*out = T(t).dim()) }
int ct_sizes(ct_tensor t, int64_t *buf, int64_t capacity) {
  CT_PROTECT({
    auto s = T(t).sizes();
    for (int64_t i = 0; i < (int64_t)s.size() && i < capacity; ++i) buf[i] = s[i];
  })
}
int ct_strides(ct_tensor t, int64_t *buf, int64_t capacity) {
  CT_PROTECT({
    auto s = T(t).strides();
    for (int64_t i = 0; i < (int64_t)s.size() && i < capacity; ++i) buf[i] = s[i];
  })
}
int ct_numel(ct_tensor t, int64_t *out) { CT_PROTECT(*out = T(t).numel()) }
int ct_dtype(ct_tensor t, int *out) { CT_PROTECT(*out = dtype_code(T(t).scalar_type())) }
int ct_device(ct_tensor t, int *type, int *index) {
  CT_PROTECT({
    auto d = T(t).device();
    *type = d.is_cuda() ? CT_CUDA : CT_CPU;
    *index = d.has_index() ? d.index() : 0;
  })
}
int ct_is_contiguous(ct_tensor t, int *out) { CT_PROTECT(*out = T(t).is_contiguous()) }
int ct_defined(ct_tensor t, int *out) { CT_PROTECT(*out = T(t).defined()) }
int ct_data_ptr(ct_tensor t, void **out) { CT_PROTECT(*out = T(t).data_ptr()) }
// Values read back to the host on this thread (item, scalars, bytes): on a GPU each one waits for the device.
static thread_local int64_t host_reads = 0;
int64_t ct_host_reads(void) { return host_reads; }

int ct_item_double(ct_tensor t, double *out) { CT_PROTECT(++host_reads; *out = T(t).item<double>()) }
int ct_item_int64(ct_tensor t, int64_t *out) { CT_PROTECT(++host_reads; *out = T(t).item<int64_t>()) }

int ct_copy_to_buffer(ct_tensor t, void *dst, size_t nbytes) {
  CT_PROTECT({
    ++host_reads;
    at::Tensor c = T(t).detach().to(at::kCPU).contiguous();
    size_t want = (size_t)c.numel() * c.element_size();
    if (want != nbytes)
      throw std::invalid_argument("buffer holds " + std::to_string(nbytes) + " bytes, tensor needs " +
                                  std::to_string(want));
    if (want) std::memcpy(dst, c.data_ptr(), want);
  })
}

int ct_describe(ct_tensor t, char *buf, size_t capacity) {
  CT_PROTECT({
    std::string s;
    if (!t || !t->t.defined()) {
      s = "undefined";
    } else {
      s = "[";
      auto sz = t->t.sizes();
      for (size_t i = 0; i < sz.size(); ++i) s += (i ? ", " : "") + std::to_string(sz[i]);
      s += "] ";
      s += c10::toString(t->t.scalar_type());
      s += " ";
      s += t->t.device().str();
    }
    if (capacity) {
      std::strncpy(buf, s.c_str(), capacity - 1);
      buf[capacity - 1] = 0;
    }
  })
}

int ct_from_buffer(const void *data, const int64_t *sizes, int64_t ndim, int dtype, ct_tensor *out) {
  return ct_from_buffer_on(data, sizes, ndim, dtype, CT_CPU, 0, out);
}

int ct_from_buffer_on(const void *data, const int64_t *sizes, int64_t ndim, int dtype, int device_type,
                      int device_index, ct_tensor *out) {
  CT_PROTECT({
    const bool cuda = device_type == CT_CUDA;
    at::Tensor host;
    if (cuda) {
      try {
        host = at::empty(dims(sizes, ndim), opts(dtype, CT_CPU, 0).pinned_memory(true));
      } catch (...) {
        host = at::Tensor();
      }
    }
    if (!host.defined()) host = at::empty(dims(sizes, ndim), opts(dtype, CT_CPU, 0));
    size_t n = (size_t)host.numel() * host.element_size();
    if (n) std::memcpy(host.data_ptr(), data, n);
    // non_blocking from page-locked memory: libtorch's caching host allocator keeps the block from reuse until the
    // copy has run, so `host` may go now.
    CT_OUT(out, cuda ? host.to(device(device_type, device_index), host.scalar_type(), host.is_pinned(), false) : host);
  })
}

int ct_from_blob(void *data, const int64_t *sizes, int64_t ndim, int dtype, void (*deleter)(void *),
                 void *context, ct_tensor *out) {
  CT_PROTECT({
    auto del = [deleter, context](void *) {
      if (deleter) deleter(context);
    };
    CT_OUT(out, at::from_blob(data, dims(sizes, ndim), del, opts(dtype, CT_CPU, 0)));
  })
}

int ct_empty(const int64_t *sizes, int64_t ndim, int dtype, int device_type, int device_index, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, at::empty(dims(sizes, ndim), opts(dtype, device_type, device_index))))
}
int ct_full(const int64_t *sizes, int64_t ndim, double value, int dtype, int device_type, int device_index,
            ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, at::full(dims(sizes, ndim), value, opts(dtype, device_type, device_index))))
}
int ct_arange(double start, double end, double step, int dtype, int device_type, int device_index, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, at::arange(start, end, step, opts(dtype, device_type, device_index))))
}
int ct_randn(const int64_t *sizes, int64_t ndim, int dtype, int device_type, int device_index, ct_generator g,
             ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, at::randn(dims(sizes, ndim), gen(g), opts(dtype, device_type, device_index))))
}
int ct_rand(const int64_t *sizes, int64_t ndim, int dtype, int device_type, int device_index, ct_generator g,
            ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, at::rand(dims(sizes, ndim), gen(g), opts(dtype, device_type, device_index))))
}
int ct_randint(int64_t low, int64_t high, const int64_t *sizes, int64_t ndim, int device_type, int device_index,
               ct_generator g, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, at::randint(low, high, dims(sizes, ndim), gen(g), opts(CT_I64, device_type, device_index))))
}
int ct_uniform_(ct_tensor t, double low, double high, ct_generator g) { CT_PROTECT(T(t).uniform_(low, high, gen(g))) }
int ct_normal_(ct_tensor t, double mean, double std, ct_generator g) { CT_PROTECT(T(t).normal_(mean, std, gen(g))) }
int ct_randperm(int64_t n, ct_generator g, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, at::randperm(n, gen(g), at::TensorOptions().dtype(at::kLong))))
}

int ct_to(ct_tensor t, int dtype, int device_type, int device_index, int copy, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, T(t).to(device(device_type, device_index), scalar_type(dtype), false, copy != 0)))
}
int ct_clone(ct_tensor t, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).clone())) }
int ct_contiguous(ct_tensor t, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).contiguous())) }

}  // extern "C"

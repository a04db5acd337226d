// common.h — private helpers shared by the shim's .cpp files: the error-catching macro and handle conversion.
#pragma once
#include "ctorch.h"
#include <ATen/ATen.h>
#include <string>
#include <vector>

struct ct_tensor_s { at::Tensor t; };
struct ct_generator_s { at::Generator g; };

namespace ctorch {
void set_error(std::string message);
// RMSNorm over the last dimension with a frozen weight as one autograd node (autograd.cpp).
at::Tensor rms_norm_node(const at::Tensor &x, const at::Tensor &weight, double eps);

// While alive: SDPA on CUDA with an explicit mask does not pick cuDNN's kernel. cuDNN before 9.26 can give non-finite
// query gradients on SM90 for non-causal attention whose key length is 64 modulo 128 (libtorch 2.15 says so and
// refuses it there; 2.11 requires cuDNN 9.19, and later releases' dispatch puts cuDNN first on SM90 with cuDNN
// above 9.15), and every masked call here is non-causal: a packed row's blocks, a padded batch, any of whose lengths.
// Such calls take the memory-efficient kernel instead; unmasked (causal) ones keep every kernel.
// The flag is process-wide: set around one call on the thread that runs it.
struct NoCuDNNForMaskedAttention {
  bool restore = false;
  NoCuDNNForMaskedAttention(const at::Tensor &query, bool masked) {
    if (masked && query.is_cuda() && at::globalContext().userEnabledCuDNNSDP()) {
      at::globalContext().setSDPUseCuDNN(false);
      restore = true;
    }
  }
  ~NoCuDNNForMaskedAttention() {
    if (restore) at::globalContext().setSDPUseCuDNN(true);
  }
};

inline ct_tensor wrap(at::Tensor t) { return new ct_tensor_s{std::move(t)}; }
inline const at::Tensor &T(ct_tensor h) {
  if (!h) throw std::invalid_argument("null tensor handle");
  return h->t;
}
// The tensors of n handles (a TensorList's argument).
inline std::vector<at::Tensor> tensors(const ct_tensor *ts, int64_t n) {
  std::vector<at::Tensor> v;
  v.reserve((size_t)n);
  for (int64_t i = 0; i < n; ++i) v.push_back(T(ts[i]));
  return v;
}
inline std::optional<at::Generator> gen(ct_generator g) {
  if (!g) return std::nullopt;
  return g->g;
}
at::ScalarType scalar_type(int code);
int dtype_code(at::ScalarType t);
at::Device device(int type, int index);
inline at::IntArrayRef dims(const int64_t *p, int64_t n) { return at::IntArrayRef(p, (size_t)n); }
inline at::TensorOptions opts(int dtype, int device_type, int device_index) {
  return at::TensorOptions().dtype(scalar_type(dtype)).device(device(device_type, device_index));
}
}  // namespace ctorch

// Every entry point's body goes inside CT_PROTECT( ... ): C++ exceptions become status 1 + ct_last_error().
#define CT_PROTECT(...)                                                         \
  try {                                                                         \
    __VA_ARGS__;                                                                    \
    return 0;                                                                   \
  } catch (const c10::Error &e) {                                               \
    ctorch::set_error(e.what_without_backtrace());                              \
  } catch (const std::exception &e) {                                           \
    ctorch::set_error(e.what());                                                \
  } catch (...) {                                                               \
    ctorch::set_error("unknown C++ exception");                                 \
  }                                                                             \
  return 1;

#define CT_OUT(ptr, expr) (*(ptr) = ctorch::wrap(expr))
// The body of an entry point that returns the (values, indices) pair a libtorch call gives.
#define CT_OUT_PAIR(values, indices, ...)                                       \
  CT_PROTECT({                                                                  \
    auto [v_, i_] = __VA_ARGS__;                                                \
    CT_OUT(values, v_);                                                         \
    CT_OUT(indices, i_);                                                        \
  })

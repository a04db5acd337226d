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

inline ct_tensor wrap(at::Tensor t) { return new ct_tensor_s{std::move(t)}; }
inline const at::Tensor &T(ct_tensor h) {
  if (!h) throw std::invalid_argument("null tensor handle");
  return h->t;
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

// math.cpp — elementwise, matmul, reductions, softmax, losses, attention, and in-place optimizer updates.
#include "common.h"
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <cmath>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
using namespace ctorch;

// Square roots on the CPU, correctly rounded on every CPU. at::sqrt there goes through MKL's vector math (vmsSqrt,
// vmdSqrt), whose result depends on the CPU: correctly rounded on some, one ulp up for about 15% of float32 inputs
// on others (AMD EPYC Zen 4, measured 6 Dec 2026, with every ATEN_CPU_CAPABILITY and MKL_CBWR setting). The optimizers
// divide by √v, so their parameters differed by an ulp from machine to machine, and from the reference fixtures.
// Float32 and float64 outside a graph take the IEEE instruction here (SSE's sqrtps/sqrtpd, scalar std::sqrt
// elsewhere); everything else, and anything autograd records, stays at::sqrt.
static bool ieee_sqrt_applies(const at::Tensor &t) {
  return t.device().is_cpu() && (t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble) &&
         !(t.requires_grad() && at::GradMode::is_enabled());
}

template <typename F> static void ieee_sqrt_range(const F *src, F *dst, int64_t n) {
  int64_t i = 0;
#if defined(__x86_64__)
  if constexpr (std::is_same_v<F, float>) {
    for (; i + 4 <= n; i += 4) _mm_storeu_ps(dst + i, _mm_sqrt_ps(_mm_loadu_ps(src + i)));
  } else {
    for (; i + 2 <= n; i += 2) _mm_storeu_pd(dst + i, _mm_sqrt_pd(_mm_loadu_pd(src + i)));
  }
#endif
  for (; i < n; ++i) dst[i] = std::sqrt(src[i]);
}

// sqrt of a contiguous `src` into the contiguous `dst` of its size (the same tensor for sqrt_).
static void ieee_sqrt_into(const at::Tensor &src, at::Tensor &dst) {
  AT_DISPATCH_FLOATING_TYPES(src.scalar_type(), "ieee_sqrt", [&] {
    const scalar_t *s = src.data_ptr<scalar_t>();
    scalar_t *d = dst.data_ptr<scalar_t>();
    at::parallel_for(0, src.numel(), at::internal::GRAIN_SIZE,
                     [&](int64_t begin, int64_t end) { ieee_sqrt_range(s + begin, d + begin, end - begin); });
  });
}

static at::Tensor sqrt_ieee(const at::Tensor &t) {
  if (!ieee_sqrt_applies(t)) return t.sqrt();
  at::Tensor src = t.contiguous(), out = at::empty_like(src, at::MemoryFormat::Contiguous);
  ieee_sqrt_into(src, out);
  return out;
}

static at::Tensor unary(int op, const at::Tensor &t) {
  switch (op) {
    case CT_EXP: return t.exp();
    case CT_LOG: return t.log();
    case CT_LOG1P: return t.log1p();
    case CT_EXPM1: return t.expm1();
    case CT_SQRT: return sqrt_ieee(t);
    case CT_RSQRT: return t.rsqrt();
    case CT_ABS: return t.abs();
    case CT_NEG: return t.neg();
    case CT_SIGMOID: return t.sigmoid();
    case CT_LOGSIGMOID: return at::log_sigmoid(t);
    case CT_SILU: return at::silu(t);
    case CT_GELU: return at::gelu(t);
    case CT_GELU_TANH: return at::gelu(t, "tanh");
    case CT_RELU: return t.relu();
    case CT_TANH: return t.tanh();
    case CT_SIN: return t.sin();
    case CT_COS: return t.cos();
    case CT_LOGICAL_NOT: return t.logical_not();
    case CT_ISNAN: return t.isnan();
    case CT_ISINF: return t.isinf();
    case CT_RECIPROCAL: return t.reciprocal();
    case CT_SQUARE: return t.square();
    case CT_FLOOR: return t.floor();
    case CT_CEIL: return t.ceil();
    case CT_ROUND: return t.round();
    case CT_SIGN: return t.sign();
  }
  throw std::invalid_argument("unknown unary op " + std::to_string(op));
}

template <typename B>
static at::Tensor binary(int op, const at::Tensor &a, const B &b) {
  switch (op) {
    case CT_ADD: return at::add(a, b);
    case CT_SUB: return at::sub(a, b);
    case CT_MUL: return at::mul(a, b);
    case CT_DIV: return at::div(a, b);
    case CT_POW: return at::pow(a, b);
    case CT_EQ: return at::eq(a, b);
    case CT_NE: return at::ne(a, b);
    case CT_LT: return at::lt(a, b);
    case CT_LE: return at::le(a, b);
    case CT_GT: return at::gt(a, b);
    case CT_GE: return at::ge(a, b);
    case CT_REMAINDER: return at::remainder(a, b);
    case CT_FLOOR_DIVIDE: return at::floor_divide(a, b);
  }
  if constexpr (std::is_same_v<B, at::Tensor>) {
    switch (op) {
      case CT_MAXIMUM: return at::maximum(a, b);
      case CT_MINIMUM: return at::minimum(a, b);
      case CT_LOGICAL_AND: return at::logical_and(a, b);
      case CT_LOGICAL_OR: return at::logical_or(a, b);
      case CT_ATAN2: return at::atan2(a, b);
    }
  } else {
    switch (op) {
      case CT_MAXIMUM: return at::clamp_min(a, b);
      case CT_MINIMUM: return at::clamp_max(a, b);
    }
  }
  throw std::invalid_argument("unsupported binary op " + std::to_string(op));
}

extern "C" {
int ct_unary(int op, ct_tensor t, ct_tensor *out) { CT_PROTECT(CT_OUT(out, unary(op, T(t)))) }
int ct_binary(int op, ct_tensor a, ct_tensor b, ct_tensor *out) { CT_PROTECT(CT_OUT(out, binary(op, T(a), T(b)))) }
int ct_binary_scalar(int op, ct_tensor a, double b, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, binary(op, T(a), at::Scalar(b))))
}
int ct_rbinary_scalar(int op, double a, ct_tensor b, ct_tensor *out) {
  CT_PROTECT({
    const at::Tensor &t = T(b);
    at::Tensor r;
    switch (op) {
      case CT_SUB: r = at::rsub(t, a); break;
      case CT_DIV: r = at::mul(t.reciprocal(), a); break;
      case CT_POW: r = at::pow(at::Scalar(a), t); break;
      default: r = binary(op, t, at::Scalar(a)); break;  // commutative
    }
    CT_OUT(out, r);
  })
}
int ct_matmul(ct_tensor a, ct_tensor b, ct_tensor *out) { CT_PROTECT(CT_OUT(out, at::matmul(T(a), T(b)))) }
int ct_linear(ct_tensor x, ct_tensor w, ct_tensor b, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, b ? at::linear(T(x), T(w), T(b)) : at::linear(T(x), T(w))))
}
// y + scaling · (h · wᵀ) in one GEMM (addmm's beta = 1, alpha = scaling): y [*, out], h [*, r], w [out, r].
int ct_add_scaled_linear(ct_tensor y, ct_tensor h, ct_tensor w, double scaling, ct_tensor *out) {
  CT_PROTECT({
    const at::Tensor &ty = T(y), &th = T(h);
    auto r = at::addmm(ty.reshape({-1, ty.size(-1)}), th.reshape({-1, th.size(-1)}), T(w).t(), 1, scaling);
    CT_OUT(out, r.view(ty.sizes()));
  })
}
int ct_clamp(ct_tensor t, const double *mn, const double *mx, ct_tensor *out) {
  CT_PROTECT({
    std::optional<at::Scalar> lo, hi;
    if (mn) lo = *mn;
    if (mx) hi = *mx;
    CT_OUT(out, at::clamp(T(t), lo, hi));
  })
}
int ct_reduce(int op, ct_tensor t, const int64_t *d, int64_t n, int keepdim, ct_tensor *out) {
  CT_PROTECT({
    const at::Tensor &x = T(t);
    bool all = d == nullptr;
    std::vector<int64_t> every;
    if (all) for (int64_t i = 0; i < x.dim(); ++i) every.push_back(i);
    at::IntArrayRef ds = all ? at::IntArrayRef(every) : dims(d, n);
    bool kd = keepdim != 0;
    at::Tensor r;
    switch (op) {
      case CT_SUM: r = all && !kd ? x.sum() : x.sum(ds, kd); break;
      case CT_MEAN: r = all && !kd ? x.mean() : x.mean(ds, kd); break;
      case CT_PROD:
        if (all) r = x.prod();
        else if (n == 1) r = x.prod(ds[0], kd);
        else throw std::invalid_argument("prod reduces over one dim or all");
        break;
      case CT_AMAX: r = x.amax(ds, kd); break;
      case CT_AMIN: r = x.amin(ds, kd); break;
      case CT_LOGSUMEXP: r = at::logsumexp(x, ds, kd); break;
      case CT_ANY: r = all && !kd ? x.any() : x.any(ds, kd); break;
      case CT_ALL: r = all && !kd ? x.all() : x.all(ds, kd); break;
      case CT_NORM2: r = at::linalg_vector_norm(x, 2, all ? at::OptionalIntArrayRef() : ds, kd); break;
      default: throw std::invalid_argument("unknown reduction " + std::to_string(op));
    }
    CT_OUT(out, r);
  })
}
int ct_max_dim(ct_tensor t, int64_t dim, int keepdim, ct_tensor *values, ct_tensor *indices) {
  CT_OUT_PAIR(values, indices, T(t).max(dim, keepdim != 0))
}
int ct_min_dim(ct_tensor t, int64_t dim, int keepdim, ct_tensor *values, ct_tensor *indices) {
  CT_OUT_PAIR(values, indices, T(t).min(dim, keepdim != 0))
}
int ct_argmax(ct_tensor t, int64_t dim, int keepdim, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).argmax(dim, keepdim != 0))) }
int ct_cumsum(ct_tensor t, int64_t dim, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).cumsum(dim))) }
int ct_softmax(ct_tensor t, int64_t dim, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).softmax(dim))) }
int ct_log_softmax(ct_tensor t, int64_t dim, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).log_softmax(dim))) }
int ct_topk(ct_tensor t, int64_t k, int64_t dim, int largest, int sorted, ct_tensor *values, ct_tensor *indices) {
  CT_OUT_PAIR(values, indices, T(t).topk(k, dim, largest != 0, sorted != 0))
}
int ct_sort(ct_tensor t, int64_t dim, int descending, ct_tensor *values, ct_tensor *indices) {
  CT_OUT_PAIR(values, indices, T(t).sort(dim, descending != 0))
}
int ct_linalg_svd(ct_tensor t, ct_tensor *u, ct_tensor *s, ct_tensor *vh) {
  CT_PROTECT({
    auto [u_, s_, vh_] = at::linalg_svd(T(t), /*full_matrices=*/false);
    CT_OUT(u, u_);
    CT_OUT(s, s_);
    CT_OUT(vh, vh_);
  })
}
int ct_multinomial(ct_tensor probs, int64_t n, int replacement, ct_generator g, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, at::multinomial(T(probs), n, replacement != 0, gen(g))))
}
int ct_cross_entropy(ct_tensor logits, ct_tensor target, int64_t ignore_index, int reduction, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, at::cross_entropy_loss(T(logits), T(target), {}, reduction, ignore_index, 0.0)))
}
int ct_nll_loss(ct_tensor logp, ct_tensor target, int64_t ignore_index, int reduction, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, at::nll_loss_nd(T(logp), T(target), {}, reduction, ignore_index)))
}
int ct_embedding(ct_tensor weight, ct_tensor indices, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, at::embedding(T(weight), T(indices))))
}
int ct_dropout(ct_tensor t, double p, int train, ct_tensor *out) { CT_PROTECT(CT_OUT(out, at::dropout(T(t), p, train != 0))) }
int ct_rms_norm(ct_tensor t, ct_tensor weight, double eps, ct_tensor *out) {
  CT_PROTECT({
    const at::Tensor &x = T(t);
    std::optional<at::Tensor> w;
    if (weight) w = T(weight);
    // Training through a frozen weight in the input's dtype: one autograd node (autograd.cpp), the same values.
    if (weight && at::GradMode::is_enabled() && x.requires_grad() && !T(weight).requires_grad() &&
        T(weight).scalar_type() == x.scalar_type() && x.scalar_type() == at::kFloat)
      CT_OUT(out, ctorch::rms_norm_node(x, T(weight), eps));
    else
      CT_OUT(out, at::rms_norm(x, {x.size(-1)}, w, eps));
  })
}
int ct_sdpa(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask, double dropout, int is_causal, const double *scale,
            int enable_gqa, ct_tensor *out) {
  CT_PROTECT({
    std::optional<at::Tensor> m;
    if (mask) m = T(mask);
    std::optional<double> s;
    if (scale) s = *scale;
    ctorch::NoCuDNNForMaskedAttention guard(T(q), m.has_value());
    CT_OUT(out, at::scaled_dot_product_attention(T(q), T(k), T(v), m, dropout, is_causal != 0, s, enable_gqa != 0));
  })
}
int ct_equal(ct_tensor a, ct_tensor b, int *out) { CT_PROTECT(*out = at::equal(T(a), T(b))) }
int ct_allclose(ct_tensor a, ct_tensor b, double rtol, double atol, int *out) {
  CT_PROTECT(*out = at::allclose(T(a), T(b), rtol, atol))
}

int ct_inplace(int op, ct_tensor t, ct_tensor other) {
  CT_PROTECT({
    at::Tensor x = T(t);
    const at::Tensor &o = T(other);
    switch (op) {
      case CT_ADD_: x.add_(o); break;
      case CT_SUB_: x.sub_(o); break;
      case CT_MUL_: x.mul_(o); break;
      case CT_DIV_: x.div_(o); break;
      case CT_COPY_: x.copy_(o); break;
      case CT_MAXIMUM_: at::maximum_out(x, x, o); break;
      case CT_POW_: x.pow_(o); break;
      default: throw std::invalid_argument("unknown in-place op " + std::to_string(op));
    }
  })
}
int ct_inplace_scalar(int op, ct_tensor t, double value) {
  CT_PROTECT({
    at::Tensor x = T(t);
    switch (op) {
      case CT_ADD_: x.add_(value); break;
      case CT_SUB_: x.sub_(value); break;
      case CT_MUL_: x.mul_(value); break;
      case CT_DIV_: x.div_(value); break;
      case CT_COPY_: x.fill_(value); break;
      case CT_MAXIMUM_: x.clamp_min_(value); break;
      case CT_POW_: x.pow_(value); break;
      default: throw std::invalid_argument("unknown in-place op " + std::to_string(op));
    }
  })
}
int ct_add_scaled_(ct_tensor t, ct_tensor other, double alpha) { CT_PROTECT({ at::Tensor x = T(t); x.add_(T(other), alpha); }) }
int ct_addcmul_(ct_tensor t, ct_tensor a, ct_tensor b, double value) { CT_PROTECT({ at::Tensor x = T(t); x.addcmul_(T(a), T(b), value); }) }
int ct_addcdiv_(ct_tensor t, ct_tensor a, ct_tensor b, double value) { CT_PROTECT({ at::Tensor x = T(t); x.addcdiv_(T(a), T(b), value); }) }
int ct_lerp_(ct_tensor t, ct_tensor end, double weight) { CT_PROTECT({ at::Tensor x = T(t); x.lerp_(T(end), weight); }) }
int ct_fused_adamw_(const ct_tensor *params, const ct_tensor *grads, const ct_tensor *exp_avgs,
                    const ct_tensor *exp_avg_sqs, const ct_tensor *steps, int64_t n, double lr, double beta1,
                    double beta2, double weight_decay, double eps) {
  CT_PROTECT({
    at::_fused_adamw_(tensors(params, n), tensors(grads, n), tensors(exp_avgs, n), tensors(exp_avg_sqs, n), {},
                      tensors(steps, n), lr, beta1, beta2, weight_decay, eps, /*amsgrad=*/false, /*maximize=*/false);
  })
}
int ct_zero_(ct_tensor t) { CT_PROTECT({ at::Tensor x = T(t); x.zero_(); }) }
int ct_fill_(ct_tensor t, double value) { CT_PROTECT({ at::Tensor x = T(t); x.fill_(value); }) }
int ct_sqrt_(ct_tensor t) {
  CT_PROTECT({
    at::Tensor x = T(t);
    if (ieee_sqrt_applies(x) && x.is_contiguous() && !x.requires_grad()) {
      ieee_sqrt_into(x, x);
      x.unsafeGetTensorImpl()->bump_version();  // as an ATen in-place op does
    } else {
      x.sqrt_();
    }
  })
}
int ct_clamp_(ct_tensor t, const double *mn, const double *mx) {
  CT_PROTECT({
    std::optional<at::Scalar> lo, hi;
    if (mn) lo = *mn;
    if (mx) hi = *mx;
    at::Tensor x = T(t);
    x.clamp_(lo, hi);
  })
}
}

// quant.cpp — bitsandbytes' block quantization (4-bit NF4/FP4 codes with a float32 absmax per block; the 8-bit
// dynamic codes that double quantization stores those absmax values in), written as tensor ops so it runs on any
// device, and a linear layer whose frozen weight is rebuilt (dequantized) in forward and again in backward.
#include "common.h"
#include <torch/csrc/autograd/custom_function.h>
using namespace ctorch;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {
// bitsandbytes.functional.get_4bit_type: NF4 as listed there; FP4 as its bit patterns' values divided by their
// largest magnitude (12), in float32.
at::Tensor code_4bit(int quant_type, const at::Device &device) {
  static const float nf4[16] = {-1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
                                -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
                                0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f,
                                0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
                                0.7229568362236023f, 1.0f};
  static const float fp4[16] = {0.0f, 0.0625f, 8.0f, 12.0f, 4.0f, 6.0f, 2.0f, 3.0f,
                                -0.0f, -0.0625f, -8.0f, -12.0f, -4.0f, -6.0f, -2.0f, -3.0f};
  at::Tensor code;
  if (quant_type == CT_NF4) {
    code = at::from_blob((void *)nf4, {16}, at::kFloat).clone();
  } else if (quant_type == CT_FP4) {
    code = at::from_blob((void *)fp4, {16}, at::kFloat).clone();
    code.div_(code.abs().max());
  } else {
    throw std::invalid_argument("unknown 4-bit quant type " + std::to_string(quant_type));
  }
  return code.to(device);
}

void check_blocksize(int64_t blocksize) {
  if (blocksize <= 0 || blocksize % 2 != 0) throw std::invalid_argument("block size must be a positive even number");
}

// Rows of at most this many elements are quantized at a time (whole blocks), to bound the float32 temporaries.
constexpr int64_t kQuantizeChunk = 1 << 22;

// bitsandbytes' quantize_4bit (backends/default/ops.py), operation for operation: per block absmax, values times
// its reciprocal clamped to [-1, 1] (the partial last block divides), nearest code by the sorted midpoints
// (bucketize, ties to the lower), FP4 mapped back through the sort order; two codes a byte, the first high.
void quantize_4bit(const at::Tensor &w, int quant_type, int64_t blocksize, at::Tensor &codes, at::Tensor &absmax) {
  check_blocksize(blocksize);
  at::Tensor flat = w.reshape({-1});
  const int64_t n = flat.numel();
  if (n == 0) throw std::invalid_argument("cannot quantize an empty tensor");
  at::Tensor code = code_4bit(quant_type, w.device());
  auto sorted = at::sort(code, /*stable=*/true, /*dim=*/0, /*descending=*/false);
  at::Tensor values = std::get<0>(sorted), order = std::get<1>(sorted);
  at::Tensor bounds = (values.slice(0, 0, 15) + values.slice(0, 1, 16)) / 2;
  const int64_t blocks = (n + blocksize - 1) / blocksize;
  codes = at::empty({(n + 1) / 2}, w.options().dtype(at::kByte));
  absmax = at::empty({blocks}, w.options().dtype(at::kFloat));
  const int64_t chunk = std::max<int64_t>(blocksize, kQuantizeChunk / blocksize * blocksize);
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t len = std::min(chunk, n - start);
    at::Tensor a = flat.slice(0, start, start + len).to(at::kFloat);
    const int64_t full = len / blocksize * blocksize, rem = len - full;
    std::vector<at::Tensor> parts, maxes;
    if (full > 0) {
      at::Tensor com = a.slice(0, 0, full).reshape({full / blocksize, blocksize});
      at::Tensor am = std::get<0>(com.abs().max(-1));
      parts.push_back(at::clamp(com * at::reciprocal(am.clamp_min(1e-38)).view({-1, 1}), -1, 1).reshape({-1}));
      maxes.push_back(am);
    }
    if (rem > 0) {
      at::Tensor tail = a.slice(0, full, len);
      at::Tensor am = tail.abs().max().clamp_min(1e-38);
      parts.push_back(at::clamp(tail / am, -1, 1));
      maxes.push_back(am.reshape({1}));
    }
    at::Tensor scaled = parts.size() == 1 ? parts[0] : at::cat(parts);
    if (scaled.numel() % 2) scaled = at::constant_pad_nd(scaled, {0, 1}, 0);
    at::Tensor q = at::bucketize(scaled, bounds, /*out_int32=*/false, /*right=*/false);
    q = order.index_select(0, q).to(at::kByte);
    at::Tensor packed = q.slice(0, 0, q.numel(), 2).bitwise_left_shift(4).bitwise_or(q.slice(0, 1, q.numel(), 2));
    codes.slice(0, start / 2, start / 2 + packed.numel()).copy_(packed);
    at::Tensor am = maxes.size() == 1 ? maxes[0] : at::cat(maxes);
    absmax.slice(0, start / blocksize, start / blocksize + am.numel()).copy_(am);
  }
}

// Code of every element times its block's absmax, in float32, then `dtype` (bitsandbytes' dequantize_4bit). Each
// byte indexes a 256 × 2 table of its two codes' values: one gather a byte.
at::Tensor dequantize_4bit(const at::Tensor &codes, const at::Tensor &absmax, int quant_type, int64_t blocksize,
                           at::IntArrayRef sizes, at::ScalarType dtype) {
  check_blocksize(blocksize);
  int64_t n = 1;
  for (auto s : sizes) n *= s;
  if (codes.numel() != (n + 1) / 2) {
    throw std::invalid_argument("4-bit codes hold " + std::to_string(codes.numel() * 2) + " values, expected " +
                                std::to_string(n));
  }
  const int64_t blocks = (n + blocksize - 1) / blocksize;
  if (absmax.numel() != blocks) {
    throw std::invalid_argument("absmax has " + std::to_string(absmax.numel()) + " entries, expected " +
                                std::to_string(blocks));
  }
  at::Tensor code = code_4bit(quant_type, codes.device());
  at::Tensor byte = at::arange(256, codes.options().dtype(at::kInt));
  // [256, 2]: value of the high nibble, value of the low nibble
  at::Tensor table = at::stack({code.index_select(0, byte.bitwise_right_shift(4)),
                                code.index_select(0, byte.bitwise_and(15))}, 1);
  at::Tensor values = table.index_select(0, codes.reshape({-1}).to(at::kInt)).reshape({-1});  // [2·bytes]
  if (values.numel() != n) values = values.slice(0, 0, n);
  at::Tensor scale = absmax.to(at::kFloat);
  const int64_t full = n / blocksize * blocksize;
  if (full == n) {
    values = values.view({blocks, blocksize}).mul_(scale.view({-1, 1}));
  } else {
    values = values.contiguous();
    if (full > 0) values.slice(0, 0, full).view({full / blocksize, blocksize}).mul_(scale.slice(0, 0, blocks - 1).view({-1, 1}));
    values.slice(0, full, n).mul_(scale[blocks - 1]);
  }
  return values.reshape(sizes).to(dtype);
}

// bitsandbytes' CPU quantize_blockwise (csrc/cpu_ops.cpp, 0.50): a 65536-entry table maps [-1, 1] to the nearest
// entry of `code` (ties to the lower); per block the absmax, x · (1/absmax) clamped to [-1, 1], then the table index
// ((v + 1) · 0.5 · 65535 + 0.5, truncated), each step rounded to float32. An all-zero block gets code 0.
void quantize_blockwise(const at::Tensor &x, const at::Tensor &code, int64_t blocksize, at::Tensor &codes,
                        at::Tensor &absmax) {
  if (blocksize <= 0) throw std::invalid_argument("block size must be positive");
  if (code.numel() != 256) throw std::invalid_argument("an 8-bit code table has 256 entries");
  at::Tensor a = x.reshape({-1}).to(at::kFloat);
  const int64_t n = a.numel();
  if (n == 0) throw std::invalid_argument("cannot quantize an empty tensor");
  at::Tensor table = code.to(at::kFloat).to(a.device());
  at::Tensor mid = (table.slice(0, 0, 255) + table.slice(0, 1, 256)) * 0.5;
  at::Tensor grid = at::arange(65536, a.options()).mul_(2.0).div_(65535.0).add_(-1.0);
  at::Tensor lut = at::bucketize(grid, mid, /*out_int32=*/false, /*right=*/false);  // count of midpoints below
  const int64_t blocks = (n + blocksize - 1) / blocksize;
  at::Tensor padded = at::constant_pad_nd(a, {0, blocks * blocksize - n}, 0).view({blocks, blocksize});
  absmax = std::get<0>(padded.abs().max(-1));
  at::Tensor zero = absmax.eq(0);
  at::Tensor inverse = at::reciprocal(absmax).masked_fill_(zero, 0);  // no 0 · ∞ in an all-zero block
  at::Tensor v = (padded * inverse.view({-1, 1})).clamp(-1, 1);
  at::Tensor index = v.add(1.0).mul_(0.5).mul_(65535.0).add_(0.5).to(at::kLong);
  at::Tensor q = lut.index_select(0, index.reshape({-1})).view({blocks, blocksize});
  q.masked_fill_(zero.view({-1, 1}), 0);
  codes = q.reshape({-1}).slice(0, 0, n).to(at::kByte).reshape(x.sizes());
}

at::Tensor dequantize_blockwise(const at::Tensor &codes, const at::Tensor &absmax, const at::Tensor &code,
                                int64_t blocksize) {
  if (blocksize <= 0) throw std::invalid_argument("block size must be positive");
  const int64_t n = codes.numel();
  const int64_t blocks = (n + blocksize - 1) / blocksize;
  if (absmax.numel() != blocks) {
    throw std::invalid_argument("absmax has " + std::to_string(absmax.numel()) + " entries, expected " +
                                std::to_string(blocks));
  }
  at::Tensor values = code.to(at::kFloat).to(codes.device()).index_select(0, codes.reshape({-1}).to(at::kInt));
  at::Tensor scale = absmax.to(at::kFloat).repeat_interleave(blocksize).slice(0, 0, n);
  return (values * scale).reshape(codes.sizes());
}

// The Swift closure that rebuilds a weight; released (through the Swift callback) when the last user dies.
struct WeightSource : torch::CustomClassHolder {
  ct_weight_fn fn;
  void (*release)(void *);
  void *context;
  WeightSource(ct_weight_fn f, void (*r)(void *), void *c) : fn(f), release(r), context(c) {}
  ~WeightSource() override {
    if (release) release(context);
  }
  at::Tensor make() const {
    ct_tensor h = nullptr;
    int status = fn(context, &h);
    if (status != 0 || !h) {
      delete h;
      throw std::runtime_error(std::string("rebuilding a weight failed: ") + ct_last_error());
    }
    at::Tensor w = h->t;
    delete h;
    return w;
  }
};

// y = x · Wᵀ with W rebuilt in forward and, when x needs a gradient, again in backward (dx = dy · W); nothing
// dense is kept in between, and W (frozen) gets no gradient.
struct RebuiltWeightLinear : torch::autograd::Function<RebuiltWeightLinear> {
  static at::Tensor forward(AutogradContext *ctx, c10::intrusive_ptr<WeightSource> source, const at::Tensor &x) {
    ctx->saved_data["source"] = c10::IValue::make_capsule(source);
    at::Tensor w = source->make();
    return at::linear(x, w);
  }
  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto source = c10::static_intrusive_pointer_cast<WeightSource>(ctx->saved_data["source"].toCapsule());
    at::Tensor dx;
    // Edge 0 is x (the source is no tensor).
    if (ctx->needs_input_grad(0) && grads[0].defined()) dx = at::matmul(grads[0], source->make());
    return {at::Tensor(), dx};
  }
};
}  // namespace

extern "C" {
int ct_code_4bit(int quant_type, ct_tensor *out) { CT_PROTECT(CT_OUT(out, code_4bit(quant_type, at::kCPU))) }

int ct_quantize_4bit(ct_tensor w, int quant_type, int64_t blocksize, ct_tensor *codes, ct_tensor *absmax) {
  CT_PROTECT({
    at::Tensor c, a;
    quantize_4bit(T(w), quant_type, blocksize, c, a);
    *codes = wrap(c);
    *absmax = wrap(a);
  })
}

int ct_dequantize_4bit(ct_tensor codes, ct_tensor absmax, int quant_type, int64_t blocksize, const int64_t *sizes,
                       int64_t ndim, int dtype, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, dequantize_4bit(T(codes), T(absmax), quant_type, blocksize, dims(sizes, ndim),
                                         scalar_type(dtype))))
}

int ct_quantize_blockwise(ct_tensor x, ct_tensor code, int64_t blocksize, ct_tensor *codes, ct_tensor *absmax) {
  CT_PROTECT({
    at::Tensor c, a;
    quantize_blockwise(T(x), T(code), blocksize, c, a);
    *codes = wrap(c);
    *absmax = wrap(a);
  })
}

int ct_dequantize_blockwise(ct_tensor codes, ct_tensor absmax, ct_tensor code, int64_t blocksize, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, dequantize_blockwise(T(codes), T(absmax), T(code), blocksize)))
}

int ct_rebuilt_weight_linear(ct_weight_fn fn, void (*release)(void *), void *context, ct_tensor x, ct_tensor *out) {
  // The source owns `context` from here on, even if something below throws.
  auto source = c10::make_intrusive<WeightSource>(fn, release, context);
  CT_PROTECT({
    const at::Tensor &input = T(x);
    if (at::GradMode::is_enabled() && input.requires_grad()) {
      *out = wrap(RebuiltWeightLinear::apply(source, input));
    } else {
      *out = wrap(at::linear(input, source->make()));
    }
  })
}
}

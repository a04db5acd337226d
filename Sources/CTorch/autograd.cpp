// autograd.cpp — requires_grad, backward, torch.autograd.grad, grad mode, gradient checkpointing, the token
// log-probabilities of the fused loss (a backward that reuses the logits' buffer) and the gated MLP activation (a
// backward that recomputes act(gate) instead of keeping it).
#include "common.h"
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
using namespace ctorch;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {
// The Swift block a checkpoint recomputes; released (through the Swift callback) when the graph node dies.
struct Block : torch::CustomClassHolder {
  ct_block_fn fn;
  void (*release)(void *);
  void *context;
  int64_t n_out;
  at::Tensor cpu_rng_state;  // default CPU generator state at forward time, replayed in backward
  // The same for the default generator of each CUDA device the block's inputs live on (dropout there draws from it).
  std::vector<std::pair<at::Device, at::Tensor>> device_rng_states;
  Block(ct_block_fn f, void (*r)(void *), void *c, int64_t n) : fn(f), release(r), context(c), n_out(n) {}
  ~Block() override {
    if (release) release(context);
  }
  variable_list run(const variable_list &inputs) const {
    std::vector<ct_tensor> in;
    in.reserve(inputs.size());
    for (auto &x : inputs) in.push_back(wrap(x));
    std::vector<ct_tensor> out((size_t)n_out, nullptr);
    int status = fn(context, in.data(), (int64_t)in.size(), out.data(), n_out);
    for (auto h : in) delete h;
    variable_list result;
    for (auto h : out) {
      if (h) {
        result.push_back(h->t);
        delete h;
      }
    }
    if (status != 0) throw std::runtime_error(std::string("checkpointed block failed: ") + ct_last_error());
    if ((int64_t)result.size() != n_out) throw std::runtime_error("checkpointed block returned too few outputs");
    return result;
  }
};

at::Tensor cpu_rng_state() {
  auto g = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(g.mutex());
  return g.get_state();
}
void set_cpu_rng_state(const at::Tensor &s) {
  auto g = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_state(s);
}

// States of the default generators of the CUDA devices among `inputs` (torch.utils.checkpoint's
// get_device_states), and putting them back.
std::vector<std::pair<at::Device, at::Tensor>> device_rng_states(const variable_list &inputs) {
  std::vector<std::pair<at::Device, at::Tensor>> states;
  for (auto &x : inputs) {
    if (!x.defined() || !x.is_cuda()) continue;
    bool seen = false;
    for (auto &s : states) seen = seen || s.first == x.device();
    if (seen) continue;
    auto g = at::globalContext().defaultGenerator(x.device());
    std::lock_guard<std::mutex> lock(g.mutex());
    states.emplace_back(x.device(), g.get_state());
  }
  return states;
}
void set_device_rng_states(const std::vector<std::pair<at::Device, at::Tensor>> &states) {
  for (auto &s : states) {
    auto g = at::globalContext().defaultGenerator(s.first);
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(s.second);
  }
}

// Reentrant checkpoint (torch.utils.checkpoint with use_reentrant=True): forward without a graph, backward
// recomputes with a graph and runs a nested backward that also accumulates into the block's leaf parameters.
struct CheckpointFunction : torch::autograd::Function<CheckpointFunction> {
  static variable_list forward(AutogradContext *ctx, c10::intrusive_ptr<Block> block, at::TensorList input_list) {
    variable_list inputs = input_list.vec();
    block->cpu_rng_state = cpu_rng_state();
    block->device_rng_states = device_rng_states(inputs);
    ctx->saved_data["block"] = c10::IValue::make_capsule(block);
    ctx->save_for_backward(inputs);
    return block->run(inputs);  // grad mode is off inside Function::forward
  }
  static variable_list backward(AutogradContext *ctx, variable_list grad_outputs) {
    auto block = c10::static_intrusive_pointer_cast<Block>(ctx->saved_data["block"].toCapsule());
    variable_list saved = ctx->get_saved_variables();
    variable_list inputs;
    for (auto &x : saved) {
      at::Tensor d = x.detach();
      d.requires_grad_(x.requires_grad());
      inputs.push_back(d);
    }
    at::Tensor now = cpu_rng_state();
    auto deviceNow = device_rng_states(inputs);
    set_cpu_rng_state(block->cpu_rng_state);
    set_device_rng_states(block->device_rng_states);
    variable_list outputs;
    {
      at::AutoGradMode enable(true);
      outputs = block->run(inputs);
    }
    set_cpu_rng_state(now);
    set_device_rng_states(deviceNow);
    variable_list outs, grads;
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (outputs[i].requires_grad() && i < grad_outputs.size() && grad_outputs[i].defined()) {
        outs.push_back(outputs[i]);
        grads.push_back(grad_outputs[i]);
      }
    }
    if (!outs.empty()) torch::autograd::backward(outs, grads);
    variable_list result{at::Tensor()};  // for the Block argument
    for (auto &x : inputs) result.push_back(x.requires_grad() ? x.grad() : at::Tensor());
    return result;
  }
};

// The log-probs both token log-prob functions compute, from logits [n, V]: out [m] float32 and lse [n] float32 (the
// formula below). And the part of their backward they share: the picked logits' grads in the logits' dtype [m], and
// per row the sum of the grads of its lse [n] float32 (negative: logsumexp's).
std::pair<at::Tensor, at::Tensor> token_logprobs_values(const at::Tensor &logits, const at::Tensor &flat,
                                                        const at::Tensor &source, bool round) {
  at::Tensor lse = logits.to(at::kFloat).logsumexp({-1});                              // [n]
  at::Tensor picked = logits.view({-1}).index_select(0, flat);                         // [m]
  at::Tensor partition = lse.index_select(0, source);                                  // [m]
  at::Tensor out = round ? (picked - partition.to(logits.scalar_type())).to(at::kFloat)
                         : picked.to(at::kFloat) - partition;
  return {out, lse};
}
std::pair<at::Tensor, at::Tensor> token_logprobs_grads(const at::Tensor &g, at::ScalarType dtype, bool round,
                                                       const at::Tensor &source, int64_t rows) {
  at::Tensor picked = g.to(dtype);                                                     // the picked logits' grads
  at::Tensor partition = round ? picked.neg().to(at::kFloat) : g.neg();                 // lse[source]'s grads
  return {picked, at::zeros({rows}, g.options().dtype(at::kFloat)).index_add_(0, source, partition)};
}
// What the two output-layer nodes keep for backward, and the hidden states' gradient from it (float32):
//   Σ g·W[target] − (Σ g)·(p·W) per position, p·W (`mixed`, [n, C]) computed in forward.
void save_head(AutogradContext *ctx, const at::Tensor &mixed, const at::Tensor &weight, const at::Tensor &source,
               const at::Tensor &target) {
  ctx->saved_data["mixed"] = mixed;
  ctx->saved_data["weight"] = weight;
  ctx->saved_data["source"] = source;
  ctx->saved_data["target"] = target;
}
at::Tensor head_hidden_grad(AutogradContext *ctx, const at::Tensor &g, at::ScalarType dtype, bool round) {
  at::Tensor mixed = ctx->saved_data["mixed"].toTensor(), weight = ctx->saved_data["weight"].toTensor();
  at::Tensor source = ctx->saved_data["source"].toTensor(), target = ctx->saved_data["target"].toTensor();
  auto [picked, rows] = token_logprobs_grads(g, dtype, round, source, mixed.size(0));
  at::Tensor grad = mixed.to(at::kFloat).mul_(rows.unsqueeze(-1));                      // [n, C]
  grad.index_add_(0, source, weight.index_select(0, target).to(at::kFloat).mul_(picked.to(at::kFloat).unsqueeze(-1)));
  return grad;
}

// log p(target) per prediction, the same values and gradients as autograd gives for
//   z = logits.to(float32); lse = z.logsumexp(-1); picked = logits.view(-1).index_select(0, flat)
//   out = round ? (picked − lse[source].to(logits.dtype)).to(float32) : picked.to(float32) − lse[source]
// but whose backward writes the logits' gradient into the saved logits themselves (when nothing else holds them):
//   d logits = exp(z − lse) · G (G[i] = −Σ of the grads whose source is i: logsumexp's backward), then + the grads at
//   the picked entries (index_select's backward).
struct TokenLogprobsFunction : torch::autograd::Function<TokenLogprobsFunction> {
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &input, const at::Tensor &flat,
                            const at::Tensor &source, bool round) {
    at::Tensor logits = input.contiguous();
    auto [out, lse] = token_logprobs_values(logits, flat, source, round);
    ctx->saved_data["logits"] = logits;
    ctx->saved_data["lse"] = lse;
    ctx->saved_data["flat"] = flat;
    ctx->saved_data["source"] = source;
    ctx->saved_data["round"] = round;
    ctx->saved_data["sizes"] = input.sizes();
    return out;
  }
  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    at::Tensor g = grads[0];
    at::Tensor logits = ctx->saved_data["logits"].toTensor();
    ctx->saved_data.erase("logits");
    if (!g.defined()) return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    at::Tensor lse = ctx->saved_data["lse"].toTensor(), flat = ctx->saved_data["flat"].toTensor();
    at::Tensor source = ctx->saved_data["source"].toTensor();
    bool round = ctx->saved_data["round"].toBool();
    auto dtype = logits.scalar_type();
    auto [picked, rows] = token_logprobs_grads(g, dtype, round, source, lse.size(0));
    // The float32 logits, ours to overwrite: the saved buffer itself when nothing else holds it.
    at::Tensor z;
    if (dtype != at::kFloat) z = logits.to(at::kFloat);
    else if (logits.use_count() == 1 && logits.storage().use_count() == 1) z = logits;
    else z = logits.clone();
    logits.reset();
    z.sub_(lse.unsqueeze(-1)).exp_().mul_(rows.unsqueeze(-1));                          // logsumexp's backward
    at::Tensor grad = dtype == at::kFloat ? z : z.to(dtype);
    z.reset();
    grad.view({-1}).index_add_(0, flat, picked);                                       // index_select's backward
    return {grad.view(ctx->saved_data["sizes"].toIntVector()), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};
// log p(target) through a frozen output layer without keeping or recomputing the [n, V] logits (Liger Kernel's fused
// linear loss, for a loss whose per-token gradients come later). With p = softmax(logits) and g_k the gradient of
// prediction k (target t_k at position s_k), the gradient of logits row i is Σ_{k: s_k = i} g_k (onehot(t_k) − p_i),
// so that of the hidden state is Σ_k g_k W[t_k] − (Σ_k g_k) (p_i · W). Forward takes the logits (computed without a
// graph by the caller, which reads its statistics from them first), turns them into p in place and keeps only
// S = p · W [n, C]: one [n, V] · [V, C] product in forward instead of recomputing the logits in backward.
struct HeadTokenLogprobsFunction : torch::autograd::Function<HeadTokenLogprobsFunction> {
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &hidden, const at::Tensor &weight,
                            const at::Tensor &logits_in, const at::Tensor &flat, const at::Tensor &source,
                            const at::Tensor &target, bool round) {
    at::Tensor logits = logits_in.contiguous();
    auto dtype = logits.scalar_type();
    auto [out, lse] = token_logprobs_values(logits, flat, source, round);
    // p in float32, in the logits' own buffer (the caller gave them up) when they are float32.
    at::Tensor p = dtype == at::kFloat ? logits : logits.to(at::kFloat);
    logits.reset();
    p.sub_(lse.unsqueeze(-1)).exp_();
    at::Tensor mixed = at::mm(p.to(weight.scalar_type()), weight);                     // [n, C]
    save_head(ctx, mixed, weight, source, target);
    ctx->saved_data["round"] = round;
    ctx->saved_data["dtype"] = (int64_t)dtype;
    ctx->saved_data["hidden_dtype"] = (int64_t)hidden.scalar_type();
    return out;
  }
  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    at::Tensor g = grads[0];
    variable_list none(7);
    if (!g.defined()) return none;
    at::Tensor grad = head_hidden_grad(ctx, g, (at::ScalarType)ctx->saved_data["dtype"].toInt(),
                                       ctx->saved_data["round"].toBool());
    none[0] = grad.to((at::ScalarType)ctx->saved_data["hidden_dtype"].toInt());
    return none;
  }
};
// The output layer a vocabulary block at a time, float32 (online log-sum-exp): log p(target) per prediction, the
// mean logit per position and, when `mix`, p·W [n, C] — Σ over blocks of exp(logit − running max)·W_block, rescaled
// as the maximum grows, divided by the sum at the end. With `stats`, each position's entropy and arg-max too (TRL's
// completion statistics): entropy = log S − A / S with S = Σ exp(z − m) and A = Σ exp(z − m)·(z − m), A rescaled with
// S (when m grows by d: A ← r·(A − d·S), r = exp(−d)); the arg-max the first block's index of the largest value, as
// argmax gives the first of equal maxima. No [n, V] logits buffer; the same numbers as the whole logits' up to
// float32 rounding.
struct BlockedHead { at::Tensor logps, mean_logits, mixed, entropy, argmax; };
BlockedHead blocked_head(const at::Tensor &h, const at::Tensor &w, const at::Tensor &src, const at::Tensor &tgt,
                         int64_t block, bool mix, bool stats = false) {
  const int64_t vocabulary = w.size(0);
  at::Tensor running_max, scaled_sum, logit_sum, mixed, picked = at::zeros({src.size(0)}, h.options());
  at::Tensor weighted, argmax;                                                          // A and the arg-max (stats)
  for (int64_t start = 0; start < vocabulary; start += block) {
    const int64_t width = std::min(block, vocabulary - start);
    at::Tensor wb = w.narrow(0, start, width);
    at::Tensor logits = at::mm(h, wb.t());                                              // [n, width]
    at::Tensor block_max, block_argmax;
    if (stats) std::tie(block_max, block_argmax) = logits.max(-1);
    else block_max = at::amax(logits, {-1});
    // The targets inside this block take their logit from it (before the buffer becomes exp's).
    at::Tensor inside = tgt.ge(start).logical_and_(tgt.lt(start + width));
    at::Tensor flat = src * width + (tgt - start).clamp_(0, width - 1);
    picked = at::where(inside, logits.view({-1}).index_select(0, flat), picked);
    at::Tensor sum = logits.sum(-1);
    const bool first = !running_max.defined();
    at::Tensor grown = first ? block_max : at::maximum(running_max, block_max);
    at::Tensor shifted = logits.sub_(grown.unsqueeze(1));                               // z − m, in place
    at::Tensor e = stats ? shifted.exp() : shifted.exp_();                              // exp(z − m)
    if (first) {
      logit_sum = sum;
      scaled_sum = e.sum(-1);
      if (mix) mixed = at::mm(e, wb);                                                   // [n, C]
      if (stats) {
        weighted = (e * shifted).sum(-1);
        argmax = block_argmax;
      }
    } else {
      at::Tensor rescale = (running_max - grown).exp_();
      if (stats) {
        weighted = weighted.sub_((grown - running_max) * scaled_sum).mul_(rescale).add_((e * shifted).sum(-1));
        argmax = at::where(block_max.gt(running_max), block_argmax + start, argmax);
      }
      scaled_sum = scaled_sum.mul_(rescale).add_(e.sum(-1));
      if (mix) mixed = mixed.mul_(rescale.unsqueeze(1)).addmm_(e, wb);
      logit_sum.add_(sum);
    }
    running_max = grown;
  }
  at::Tensor log_sum = at::log(scaled_sum);
  at::Tensor lse = running_max + log_sum;                                               // [n]
  BlockedHead out{picked - lse.index_select(0, src), logit_sum.div_(static_cast<double>(vocabulary)), at::Tensor(),
                  at::Tensor(), at::Tensor()};
  if (stats) {
    out.entropy = log_sum - weighted / scaled_sum;
    out.argmax = argmax;
  }
  if (mix) out.mixed = mixed.div_(scaled_sum.unsqueeze(1));
  return out;
}
// HeadTokenLogprobsFunction's gradient (float32, no rounding), its forward computed by blocked_head: outputs the
// log-probs and the (non-differentiable) mean logits, entropy and arg-max (the last two empty without `stats`).
struct HeadTokenLogprobsBlockedFunction : torch::autograd::Function<HeadTokenLogprobsBlockedFunction> {
  static variable_list forward(AutogradContext *ctx, const at::Tensor &hidden, const at::Tensor &weight,
                               const at::Tensor &source, const at::Tensor &target, int64_t block, bool stats) {
    BlockedHead head = blocked_head(hidden, weight, source, target, block, true, stats);
    save_head(ctx, head.mixed, weight, source, target);
    if (!stats) {
      head.entropy = at::empty({0}, head.mean_logits.options());
      head.argmax = at::empty({0}, source.options());
    }
    ctx->mark_non_differentiable({head.mean_logits, head.entropy, head.argmax});
    return {head.logps, head.mean_logits, head.entropy, head.argmax};
  }
  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    at::Tensor g = grads[0];
    variable_list none(6);
    if (!g.defined()) return none;
    none[0] = head_hidden_grad(ctx, g, at::kFloat, false);
    return none;
  }
};
// A LoRA layer over a frozen dense base, y = x·Wᵀ (+ b) + s·(xa·Aᵀ)·Bᵀ (xa: the dropped-out input, or x itself), as
// one autograd node instead of the ~ten that linear + linear + addmm leave (transposes, views, the scale's
// multiplications, the sum of the two input gradients): forward adds the update into the base output in place,
// backward gives the input one buffer, x's gradient g·W with gh·A added in place (gh = s·g·B), and A and B theirs.
// Mixed precision: A and B may be float32 over a half-precision base and input; they are cast to the input's dtype
// for the products (as autocast casts a linear layer's weight) and their gradients cast back.
struct LoRALinearFunction : torch::autograd::Function<LoRALinearFunction> {
  // (Custom functions take no undefined tensors: `separate` false means xa_in is x, an empty bias means none.)
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &x, const at::Tensor &xa_in, const at::Tensor &weight,
                            const at::Tensor &bias, const at::Tensor &a, const at::Tensor &b, double scaling,
                            bool separate) {
    int64_t in = x.size(-1);
    at::Tensor x2 = x.reshape({-1, in});
    at::Tensor xa2 = separate ? xa_in.reshape({-1, in}) : x2;
    at::Tensor y = bias.numel() ? at::addmm(bias, x2, weight.t()) : at::mm(x2, weight.t());      // [M, out]
    at::Tensor wa = a.to(x.scalar_type()), wb = b.to(x.scalar_type());                        // A, B as computed
    at::Tensor h = at::mm(xa2, wa.t());                                                         // [M, r]
    y.addmm_(h, wb.t(), 1.0, scaling);
    ctx->save_for_backward({xa2, h, weight, wa, wb});
    ctx->saved_data["adapter_dtype"] = static_cast<int64_t>(a.scalar_type());
    ctx->saved_data["scaling"] = scaling;
    ctx->saved_data["separate"] = separate;
    ctx->saved_data["x_sizes"] = x.sizes();
    ctx->saved_data["xa_sizes"] = xa_in.sizes();
    std::vector<int64_t> sizes = x.sizes().vec();
    sizes.back() = weight.size(0);
    return y.view(sizes);
  }
  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    variable_list out(8);
    if (!grads[0].defined()) return out;
    variable_list saved = ctx->get_saved_variables();
    const at::Tensor &xa2 = saved[0], &h = saved[1], &weight = saved[2], &a = saved[3], &b = saved[4];
    double s = ctx->saved_data["scaling"].toDouble();
    bool separate = ctx->saved_data["separate"].toBool();
    at::Tensor g = grads[0].reshape({-1, weight.size(0)});                                      // [M, out]
    auto adapter = static_cast<at::ScalarType>(ctx->saved_data["adapter_dtype"].toInt());
    at::Tensor gh = at::mm(g, b).mul_(s);                                                       // [M, r]
    if (ctx->needs_input_grad(5)) out[5] = at::mm(g.t(), h).mul_(s).to(adapter);                // B: [out, r]
    if (ctx->needs_input_grad(4)) out[4] = at::mm(gh.t(), xa2).to(adapter);                     // A: [r, in]
    auto x_sizes = ctx->saved_data["x_sizes"].toIntVector();
    if (separate) {
      if (ctx->needs_input_grad(0)) out[0] = at::mm(g, weight).view(x_sizes);
      if (ctx->needs_input_grad(1)) out[1] = at::mm(gh, a).view(ctx->saved_data["xa_sizes"].toIntVector());
    } else if (ctx->needs_input_grad(0)) {
      out[0] = at::mm(g, weight).addmm_(gh, a).view(x_sizes);
    }
    return out;
  }
};
// RMSNorm with a frozen weight, y = x·r·w with r = 1/√(mean(x²) + ε) over the last dimension, as one autograd node:
// forward is at::rms_norm itself (the same values; on the CPU it composes pow, mean, add, rsqrt and two products,
// which autograd would keep as six nodes), backward the closed form
//   dx = r·(g·w) − x·r³·mean(g·w·x)
// (the composed backward's value up to the order of additions).
struct RMSNormFunction : torch::autograd::Function<RMSNormFunction> {
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &x, const at::Tensor &weight, double eps) {
    at::Tensor r = at::rsqrt(at::pow(x, 2).mean({-1}, true).add_(eps));                 // [*, 1]
    ctx->save_for_backward({x, weight, r});
    return at::rms_norm(x, {x.size(-1)}, weight, eps);
  }
  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    if (!grads[0].defined()) return {at::Tensor(), at::Tensor(), at::Tensor()};
    variable_list saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1], &r = saved[2];
    at::Tensor gw = grads[0] * weight;
    at::Tensor dot = (gw * x).mean({-1}, true);                                           // mean(g·w·x)
    return {gw.mul_(r).sub_(x * (r * r * r * dot)), at::Tensor(), at::Tensor()};
  }
};
// RoPE in the rotate-half layout, x·cos + rotate_half(x)·sin with rotate_half(x) = [−x₂, x₁], as one autograd node
// (the composed ops leave eight: two narrows, a negation, a concatenation, two products, a sum). Forward runs the same
// ops, so the same values; backward g·cos + [(g·sin)₂, −(g·sin)₁] is what autograd sums, term for term (each element
// gets g·cos plus one term, the other part adding zeros).
struct RotaryFunction : torch::autograd::Function<RotaryFunction> {
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &x, const at::Tensor &cos, const at::Tensor &sin) {
    at::Tensor c = cos.unsqueeze(1), s = sin.unsqueeze(1);                              // [B, 1, T, d]
    int64_t half = x.size(-1) / 2;
    at::Tensor rotated = at::cat({x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)}, -1);
    ctx->save_for_backward({c, s});
    return x * c + rotated * s;
  }
  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    const at::Tensor &g = grads[0];
    if (!g.defined()) return {at::Tensor(), at::Tensor(), at::Tensor()};
    variable_list saved = ctx->get_saved_variables();
    at::Tensor gs = g * saved[1];
    int64_t half = g.size(-1) / 2;
    return {g * saved[0] + at::cat({gs.narrow(-1, half, half), gs.narrow(-1, 0, half).neg()}, -1), at::Tensor(),
            at::Tensor()};
  }
};
// act(gate) · up, a gated MLP's activation (act = silu for SwiGLU, tanh-approximated gelu for GeGLU), with the same
// values and gradients as autograd gives for `act(gate) * up`, but keeping only gate and up for backward: act(gate),
// which autograd's product would also keep, is recomputed there (one elementwise pass) instead.
//   d up = g · act(gate);   d gate = act'(gate) applied to g · up (at::silu_backward / at::gelu_backward, as autograd)
struct GatedActivationFunction : torch::autograd::Function<GatedActivationFunction> {
  static at::Tensor activation(const at::Tensor &gate, bool gelu) {
    return gelu ? at::gelu(gate, "tanh") : at::silu(gate);
  }
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &gate, const at::Tensor &up, bool gelu) {
    ctx->save_for_backward({gate, up});
    ctx->saved_data["gelu"] = gelu;
    return times(activation(gate, gelu), up);
  }
  // a · b, in place on `a` (a fresh activation: one [*, I] buffer instead of two) where that gives the same tensor.
  static at::Tensor times(at::Tensor a, const at::Tensor &b) {
    if (a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes()) return a.mul_(b);
    return a * b;
  }
  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    variable_list saved = ctx->get_saved_variables();
    const at::Tensor &g = grads[0], &gate = saved[0], &up = saved[1];
    bool gelu = ctx->saved_data["gelu"].toBool();
    at::Tensor dGate, dUp;
    if (!g.defined()) return {dGate, dUp, at::Tensor()};
    if (ctx->needs_input_grad(1)) dUp = times(activation(gate, gelu), g);
    if (ctx->needs_input_grad(0)) {
      at::Tensor dAct = g * up;
      dGate = gelu ? at::gelu_backward(dAct, gate, "tanh") : at::silu_backward(dAct, gate);
    }
    return {dGate, dUp, at::Tensor()};
  }
};
}  // namespace

namespace ctorch {
at::Tensor rms_norm_node(const at::Tensor &x, const at::Tensor &weight, double eps) {
  return RMSNormFunction::apply(x, weight, eps);
}
}  // namespace ctorch

extern "C" {
int ct_set_requires_grad(ct_tensor t, int requires_grad) {
  CT_PROTECT({ at::Tensor x = T(t); x.requires_grad_(requires_grad != 0); })
}
int ct_requires_grad(ct_tensor t, int *out) { CT_PROTECT(*out = T(t).requires_grad()) }
int ct_is_leaf(ct_tensor t, int *out) { CT_PROTECT(*out = T(t).is_leaf()) }
int ct_backward(ct_tensor t, ct_tensor gradient, int retain_graph) {
  CT_PROTECT({
    std::optional<at::Tensor> g;
    if (gradient) g = T(gradient);
    T(t).backward(g.value_or(at::Tensor()), retain_graph != 0);
  })
}
int ct_autograd_grad(const ct_tensor *outputs, int64_t n_out, const ct_tensor *grad_outputs, const ct_tensor *inputs,
                     int64_t n_in, int retain_graph, int create_graph, ct_tensor **grads) {
  CT_PROTECT({
    variable_list outs, gouts, ins;
    for (int64_t i = 0; i < n_out; ++i) outs.push_back(T(outputs[i]));
    if (grad_outputs)
      for (int64_t i = 0; i < n_out; ++i) gouts.push_back(grad_outputs[i] ? T(grad_outputs[i]) : at::Tensor());
    for (int64_t i = 0; i < n_in; ++i) ins.push_back(T(inputs[i]));
    auto gs = torch::autograd::grad(outs, ins, gouts, retain_graph != 0, create_graph != 0, /*allow_unused=*/true);
    auto arr = (ct_tensor *)malloc(sizeof(ct_tensor) * (gs.size() ? gs.size() : 1));
    if (!arr) throw std::bad_alloc();
    for (size_t i = 0; i < gs.size(); ++i) arr[i] = gs[i].defined() ? wrap(gs[i]) : nullptr;
    *grads = arr;
  })
}
int ct_grad(ct_tensor t, ct_tensor *out) {
  CT_PROTECT({
    const at::Tensor &g = T(t).grad();
    *out = g.defined() ? wrap(g) : nullptr;
  })
}
int ct_set_grad(ct_tensor t, ct_tensor grad) {
  CT_PROTECT({
    at::Tensor x = T(t);
    x.mutable_grad() = grad ? T(grad) : at::Tensor();
  })
}
int ct_detach(ct_tensor t, ct_tensor *out) { CT_PROTECT(CT_OUT(out, T(t).detach())) }
int ct_is_grad_enabled(int *out) { CT_PROTECT(*out = at::GradMode::is_enabled()) }
int ct_set_grad_enabled(int enabled, int *previous) {
  CT_PROTECT({
    if (previous) *previous = at::GradMode::is_enabled();
    at::GradMode::set_enabled(enabled != 0);
  })
}

int ct_checkpoint(ct_block_fn fn, void (*release)(void *), void *context, const ct_tensor *inputs, int64_t n_in,
                  ct_tensor *outputs, int64_t n_out) {
  // The Block owns `context` from here on, even if something below throws.
  auto block = c10::make_intrusive<Block>(fn, release, context, n_out);
  CT_PROTECT({
    variable_list ins;
    for (int64_t i = 0; i < n_in; ++i) ins.push_back(T(inputs[i]));
    variable_list outs;
    if (at::GradMode::is_enabled()) {
      // A leaf that requires grad makes the outputs part of the graph even when no input requires grad
      // (the first decoder layer's input comes from a frozen embedding), so parameter gradients still flow.
      ins.push_back(at::empty({0}).requires_grad_(true));
      // A TensorList (not a std::vector) so that apply() records each tensor as an input.
      outs = CheckpointFunction::apply(block, at::TensorList(ins));
    } else {
      outs = block->run(ins);
    }
    for (int64_t i = 0; i < n_out; ++i) outputs[i] = wrap(outs[(size_t)i]);
  })
}
int ct_token_logprobs(ct_tensor logits, ct_tensor flat, ct_tensor source, int round_to_logits_dtype, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, TokenLogprobsFunction::apply(T(logits), T(flat), T(source), round_to_logits_dtype != 0)))
}
int ct_head_token_logprobs(ct_tensor hidden, ct_tensor weight, ct_tensor logits, ct_tensor flat, ct_tensor source,
                           ct_tensor target, int round_to_logits_dtype, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, HeadTokenLogprobsFunction::apply(T(hidden), T(weight), T(logits), T(flat), T(source), T(target),
                                                          round_to_logits_dtype != 0)))
}
int ct_head_token_logprobs_blocked(ct_tensor hidden, ct_tensor weight, ct_tensor source, ct_tensor target, int64_t block,
                                   int graph, ct_tensor *out, ct_tensor *mean_logits, ct_tensor *entropy,
                                   ct_tensor *argmax) {
  CT_PROTECT({
    if (block < 1) throw std::invalid_argument("block must be at least 1");
    const bool stats = entropy != nullptr && argmax != nullptr;
    if (graph) {
      variable_list outs = HeadTokenLogprobsBlockedFunction::apply(T(hidden), T(weight), T(source), T(target), block,
                                                                   stats);
      CT_OUT(out, outs[0]);
      CT_OUT(mean_logits, outs[1]);
      if (stats) {
        CT_OUT(entropy, outs[2]);
        CT_OUT(argmax, outs[3]);
      }
    } else {
      at::NoGradGuard no_grad;
      BlockedHead head = blocked_head(T(hidden).detach(), T(weight).detach(), T(source), T(target), block, false, stats);
      CT_OUT(out, head.logps);
      CT_OUT(mean_logits, head.mean_logits);
      if (stats) {
        CT_OUT(entropy, head.entropy);
        CT_OUT(argmax, head.argmax);
      }
    }
  })
}
int ct_lora_linear(ct_tensor x, ct_tensor xa, ct_tensor weight, ct_tensor bias, ct_tensor a, ct_tensor b, double scaling,
                   ct_tensor *out) {
  CT_PROTECT({
    at::Tensor none = bias ? at::Tensor() : at::empty({0}, T(weight).options());
    CT_OUT(out, LoRALinearFunction::apply(T(x), xa ? T(xa) : T(x), T(weight), bias ? T(bias) : none, T(a), T(b),
                                          scaling, xa != nullptr));
  })
}
int ct_rotary(ct_tensor x, ct_tensor cos, ct_tensor sin, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, RotaryFunction::apply(T(x), T(cos), T(sin))))
}
int ct_gated_activation(ct_tensor gate, ct_tensor up, int gelu_tanh, ct_tensor *out) {
  CT_PROTECT(CT_OUT(out, GatedActivationFunction::apply(T(gate), T(up), gelu_tanh != 0)))
}
}

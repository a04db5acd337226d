// ctorch.h — the plain-C face of libtorch that Swift sees. Boring on purpose (tch-rs style):
// every entry point returns 0 on success and 1 on failure (message in ct_last_error()), results come back
// through out-parameters, every name starts with `ct_`. No C++ exception ever crosses this boundary.
#ifndef CTORCH_H
#define CTORCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_tensor_s *ct_tensor;        // owns one at::Tensor; free with ct_free
typedef struct ct_generator_s *ct_generator;  // owns one at::Generator; free with ct_generator_free

// dtype codes (stable; Swift's DType mirrors them)
enum {
  CT_F32 = 0, CT_F64 = 1, CT_F16 = 2, CT_BF16 = 3, CT_I64 = 4, CT_I32 = 5, CT_I16 = 6, CT_I8 = 7,
  CT_U8 = 8, CT_BOOL = 9, CT_U16 = 10, CT_U32 = 11, CT_U64 = 12, CT_F8E4M3 = 13, CT_F8E5M2 = 14
};
// device types
enum { CT_CPU = 0, CT_CUDA = 1 };

// unary ops for ct_unary
enum {
  CT_EXP = 0, CT_LOG, CT_LOG1P, CT_EXPM1, CT_SQRT, CT_RSQRT, CT_ABS, CT_NEG, CT_SIGMOID, CT_LOGSIGMOID,
  CT_SILU, CT_GELU, CT_GELU_TANH, CT_RELU, CT_TANH, CT_SIN, CT_COS, CT_LOGICAL_NOT, CT_ISNAN, CT_ISINF,
  CT_RECIPROCAL, CT_SQUARE, CT_FLOOR, CT_CEIL, CT_ROUND, CT_SIGN
};
// binary ops for ct_binary / ct_binary_scalar
enum {
  CT_ADD = 0, CT_SUB, CT_MUL, CT_DIV, CT_POW, CT_MAXIMUM, CT_MINIMUM, CT_EQ, CT_NE, CT_LT, CT_LE, CT_GT, CT_GE,
  CT_LOGICAL_AND, CT_LOGICAL_OR, CT_REMAINDER, CT_ATAN2, CT_FLOOR_DIVIDE
};
// reductions for ct_reduce
enum { CT_SUM = 0, CT_MEAN, CT_PROD, CT_AMAX, CT_AMIN, CT_LOGSUMEXP, CT_ANY, CT_ALL, CT_NORM2 };
// in-place updates for ct_inplace / ct_inplace_scalar
enum { CT_ADD_ = 0, CT_SUB_, CT_MUL_, CT_DIV_, CT_COPY_, CT_MAXIMUM_, CT_POW_ };

// ---- errors, version, threads, seeding ------------------------------------------------------------------
const char *ct_last_error(void);
int ct_version(const char **out);
int ct_get_num_threads(int *out);
int ct_set_num_threads(int n);
int ct_manual_seed(uint64_t seed);
// An operator profile (orpo bench train --profile): per ATen operator and backward node, self and total seconds and
// calls on the calling threads, from begin to end. `end` returns the table (malloc'd; free it), most self time first.
int ct_profile_begin(int shapes);  // shapes: tell matrix products apart by operand shapes (slow)
int ct_profile_end(int64_t limit, char **out);
// A new generator on a device (CUDA needs libtorch_cuda loaded), seeded.
int ct_generator_new(uint64_t seed, int device_type, int device_index, ct_generator *out);
int ct_generator_free(ct_generator g);
int ct_generator_device(ct_generator g, int *device_type, int *device_index);
// Serialise a generator's state into an uint8 tensor and back (checkpoints: bit-identical resume).
int ct_generator_get_state(ct_generator g, ct_tensor *out);   // g == NULL: the default CPU generator
int ct_generator_set_state(ct_generator g, ct_tensor state);
// The default generator of a device (the one unseeded ops draw from, seeded by ct_manual_seed).
int ct_default_generator_get_state(int device_type, int device_index, ct_tensor *out);
int ct_default_generator_set_state(int device_type, int device_index, ct_tensor state);

// ---- lifetime and inspection ----------------------------------------------------------------------------
void ct_free(ct_tensor t);
void ct_free_array(ct_tensor *ts);   // frees the array only (the tensors are owned by the caller)
int ct_shallow_clone(ct_tensor t, ct_tensor *out);
int ct_dim(ct_tensor t, int64_t *out);
int ct_sizes(ct_tensor t, int64_t *buf, int64_t capacity);
int ct_strides(ct_tensor t, int64_t *buf, int64_t capacity);
int ct_numel(ct_tensor t, int64_t *out);
int ct_dtype(ct_tensor t, int *out);
int ct_device(ct_tensor t, int *type, int *index);
int ct_is_contiguous(ct_tensor t, int *out);
int ct_defined(ct_tensor t, int *out);
int ct_data_ptr(ct_tensor t, void **out);
/// Values this thread has read back to the host so far (item, scalars, bytes).
int64_t ct_host_reads(void);
int ct_item_double(ct_tensor t, double *out);
int ct_item_int64(ct_tensor t, int64_t *out);
// Copies a tensor (any device, any layout) into `dst` as its own dtype; nbytes must equal numel*elemsize.
int ct_copy_to_buffer(ct_tensor t, void *dst, size_t nbytes);
int ct_describe(ct_tensor t, char *buf, size_t capacity);  // "[2, 3] f32 cpu" for error messages

// ---- creation -------------------------------------------------------------------------------------------
// Copies `data` (numel*elemsize bytes) into a new CPU tensor.
int ct_from_buffer(const void *data, const int64_t *sizes, int64_t ndim, int dtype, ct_tensor *out);
// Copies `data` into a new tensor on the given device. For a CUDA device the bytes go through page-locked host
// memory and the copy is queued without the host waiting for the device (pageable memory would wait for all the
// work queued before it); where page-locked memory cannot be had, the plain copy.
int ct_from_buffer_on(const void *data, const int64_t *sizes, int64_t ndim, int dtype, int device_type,
                      int device_index, ct_tensor *out);
// Wraps memory it does not own (no copy). `deleter(context)` is called when the tensor storage dies.
int ct_from_blob(void *data, const int64_t *sizes, int64_t ndim, int dtype, void (*deleter)(void *),
                 void *context, ct_tensor *out);
int ct_empty(const int64_t *sizes, int64_t ndim, int dtype, int device_type, int device_index, ct_tensor *out);
int ct_full(const int64_t *sizes, int64_t ndim, double value, int dtype, int device_type, int device_index,
            ct_tensor *out);
int ct_arange(double start, double end, double step, int dtype, int device_type, int device_index, ct_tensor *out);
int ct_randn(const int64_t *sizes, int64_t ndim, int dtype, int device_type, int device_index, ct_generator g,
             ct_tensor *out);
int ct_rand(const int64_t *sizes, int64_t ndim, int dtype, int device_type, int device_index, ct_generator g,
            ct_tensor *out);
int ct_randint(int64_t low, int64_t high, const int64_t *sizes, int64_t ndim, int device_type, int device_index,
               ct_generator g, ct_tensor *out);
int ct_uniform_(ct_tensor t, double low, double high, ct_generator g);
int ct_normal_(ct_tensor t, double mean, double std, ct_generator g);
int ct_randperm(int64_t n, ct_generator g, ct_tensor *out);

// ---- conversion -----------------------------------------------------------------------------------------
int ct_to(ct_tensor t, int dtype, int device_type, int device_index, int copy, ct_tensor *out);
int ct_clone(ct_tensor t, ct_tensor *out);
int ct_contiguous(ct_tensor t, ct_tensor *out);

// ---- views and indexing ---------------------------------------------------------------------------------
int ct_reshape(ct_tensor t, const int64_t *sizes, int64_t ndim, ct_tensor *out);
int ct_view(ct_tensor t, const int64_t *sizes, int64_t ndim, ct_tensor *out);
int ct_transpose(ct_tensor t, int64_t d0, int64_t d1, ct_tensor *out);
int ct_permute(ct_tensor t, const int64_t *dims, int64_t ndim, ct_tensor *out);
int ct_narrow(ct_tensor t, int64_t dim, int64_t start, int64_t length, ct_tensor *out);
int ct_slice(ct_tensor t, int64_t dim, int64_t start, int64_t end, int64_t step, ct_tensor *out);
int ct_select(ct_tensor t, int64_t dim, int64_t index, ct_tensor *out);
int ct_squeeze(ct_tensor t, int64_t dim, ct_tensor *out);
int ct_unsqueeze(ct_tensor t, int64_t dim, ct_tensor *out);
int ct_flatten(ct_tensor t, int64_t start, int64_t end, ct_tensor *out);
int ct_expand(ct_tensor t, const int64_t *sizes, int64_t ndim, ct_tensor *out);
int ct_repeat_interleave(ct_tensor t, int64_t repeats, int64_t dim, ct_tensor *out);
int ct_index_select(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor *out);
int ct_gather(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor *out);
int ct_scatter(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor src, ct_tensor *out);
int ct_scatter_add(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor src, ct_tensor *out);
int ct_index_put_(ct_tensor t, ct_tensor index, ct_tensor values, int accumulate);  // t[index] = values
int ct_masked_select(ct_tensor t, ct_tensor mask, ct_tensor *out);
int ct_masked_fill(ct_tensor t, ct_tensor mask, double value, ct_tensor *out);
int ct_where(ct_tensor cond, ct_tensor a, ct_tensor b, ct_tensor *out);
int ct_cat(const ct_tensor *ts, int64_t n, int64_t dim, ct_tensor *out);
int ct_stack(const ct_tensor *ts, int64_t n, int64_t dim, ct_tensor *out);
// split into pieces of `size` (chunks == 0) or into `chunks` pieces; *out is malloc'd, free with ct_free_array.
int ct_split(ct_tensor t, int64_t size, int64_t chunks, int64_t dim, ct_tensor **out, int64_t *count);
// split into pieces of the given sizes along dim (split_with_sizes: views; backward concatenates); n pieces.
int ct_split_sizes(ct_tensor t, const int64_t *sizes, int64_t n, int64_t dim, ct_tensor **out);
int ct_tril(ct_tensor t, int64_t k, ct_tensor *out);
int ct_triu(ct_tensor t, int64_t k, ct_tensor *out);
int ct_pad(ct_tensor t, const int64_t *pads, int64_t npads, double value, ct_tensor *out);
int ct_flip(ct_tensor t, const int64_t *dims, int64_t ndim, ct_tensor *out);

// ---- math -----------------------------------------------------------------------------------------------
int ct_unary(int op, ct_tensor t, ct_tensor *out);
int ct_binary(int op, ct_tensor a, ct_tensor b, ct_tensor *out);
int ct_binary_scalar(int op, ct_tensor a, double b, ct_tensor *out);
int ct_rbinary_scalar(int op, double a, ct_tensor b, ct_tensor *out);  // scalar on the left
int ct_matmul(ct_tensor a, ct_tensor b, ct_tensor *out);
int ct_linear(ct_tensor x, ct_tensor w, ct_tensor b /* nullable */, ct_tensor *out);
int ct_add_scaled_linear(ct_tensor y, ct_tensor h, ct_tensor w, double scaling, ct_tensor *out);
int ct_clamp(ct_tensor t, const double *min /* nullable */, const double *max /* nullable */, ct_tensor *out);
int ct_reduce(int op, ct_tensor t, const int64_t *dims /* nullable: all */, int64_t ndim, int keepdim,
              ct_tensor *out);
int ct_max_dim(ct_tensor t, int64_t dim, int keepdim, ct_tensor *values, ct_tensor *indices);
int ct_min_dim(ct_tensor t, int64_t dim, int keepdim, ct_tensor *values, ct_tensor *indices);
int ct_argmax(ct_tensor t, int64_t dim, int keepdim, ct_tensor *out);
int ct_cumsum(ct_tensor t, int64_t dim, ct_tensor *out);
int ct_softmax(ct_tensor t, int64_t dim, ct_tensor *out);
int ct_log_softmax(ct_tensor t, int64_t dim, ct_tensor *out);
int ct_topk(ct_tensor t, int64_t k, int64_t dim, int largest, int sorted, ct_tensor *values, ct_tensor *indices);
int ct_sort(ct_tensor t, int64_t dim, int descending, ct_tensor *values, ct_tensor *indices);
/* torch.linalg.svd(t, full_matrices=False): t = U diag(S) Vh. */
int ct_linalg_svd(ct_tensor t, ct_tensor *u, ct_tensor *s, ct_tensor *vh);
int ct_multinomial(ct_tensor probs, int64_t n, int replacement, ct_generator g, ct_tensor *out);
// reduction: 0 none, 1 mean, 2 sum (PyTorch's order)
int ct_cross_entropy(ct_tensor logits, ct_tensor target, int64_t ignore_index, int reduction, ct_tensor *out);
int ct_nll_loss(ct_tensor logp, ct_tensor target, int64_t ignore_index, int reduction, ct_tensor *out);
int ct_embedding(ct_tensor weight, ct_tensor indices, ct_tensor *out);
int ct_dropout(ct_tensor t, double p, int train, ct_tensor *out);
int ct_rms_norm(ct_tensor t, ct_tensor weight /* nullable */, double eps, ct_tensor *out);
int ct_sdpa(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask /* nullable */, double dropout, int is_causal,
            const double *scale /* nullable */, int enable_gqa, ct_tensor *out);
int ct_equal(ct_tensor a, ct_tensor b, int *out);
int ct_allclose(ct_tensor a, ct_tensor b, double rtol, double atol, int *out);

// ---- in-place (optimizers) ------------------------------------------------------------------------------
int ct_inplace(int op, ct_tensor t, ct_tensor other);
int ct_inplace_scalar(int op, ct_tensor t, double value);
int ct_add_scaled_(ct_tensor t, ct_tensor other, double alpha);                  // t += alpha * other
int ct_addcmul_(ct_tensor t, ct_tensor a, ct_tensor b, double value);            // t += value * a * b
int ct_addcdiv_(ct_tensor t, ct_tensor a, ct_tensor b, double value);            // t += value * a / b
int ct_lerp_(ct_tensor t, ct_tensor end, double weight);
// torch.optim.AdamW(fused=True)'s update of n parameters in one call (at::_fused_adamw_, no AMSGrad): params, their
// grads, both moments and one float32 step count each (already advanced), all on one device.
int ct_fused_adamw_(const ct_tensor *params, const ct_tensor *grads, const ct_tensor *exp_avgs,
                    const ct_tensor *exp_avg_sqs, const ct_tensor *steps, int64_t n, double lr, double beta1,
                    double beta2, double weight_decay, double eps);
int ct_zero_(ct_tensor t);
int ct_fill_(ct_tensor t, double value);
int ct_sqrt_(ct_tensor t);
int ct_clamp_(ct_tensor t, const double *min, const double *max);

// ---- CPU memory (cpu_allocator.cpp) -----------------------------------------------------------------------
// Makes libtorch's CPU tensors of `threshold` bytes or more each their own mapping, kept when freed (up to
// `cache_limit` bytes; negative: no limit) and resized with mremap for the next large tensor; smaller ones stay on
// the heap. Call before the first tensor.
int ct_cpu_allocator_install(int64_t threshold, int64_t cache_limit);
// Unmaps the kept mappings; *released: their bytes.
int ct_cpu_allocator_release(int64_t *released);
// Bytes of large tensors in use, bytes kept for reuse, and the mappings of both.
int ct_cpu_allocator_stats(int64_t *live_bytes, int64_t *cached_bytes, int64_t *mappings);

// ---- autograd -------------------------------------------------------------------------------------------
int ct_set_requires_grad(ct_tensor t, int requires_grad);
int ct_requires_grad(ct_tensor t, int *out);
int ct_is_leaf(ct_tensor t, int *out);
int ct_backward(ct_tensor t, ct_tensor gradient /* nullable */, int retain_graph);
// Gradients of `outputs` with respect to `inputs` (torch.autograd.grad); *grads is malloc'd, entries may be
// NULL where an input is unused (allow_unused). Free the array with ct_free_array.
int ct_autograd_grad(const ct_tensor *outputs, int64_t n_out, const ct_tensor *grad_outputs /* nullable */,
                     const ct_tensor *inputs, int64_t n_in, int retain_graph, int create_graph, ct_tensor **grads);
int ct_grad(ct_tensor t, ct_tensor *out);  // *out == NULL when no gradient is stored
int ct_set_grad(ct_tensor t, ct_tensor grad /* nullable: clears */);
int ct_detach(ct_tensor t, ct_tensor *out);
int ct_is_grad_enabled(int *out);
int ct_set_grad_enabled(int enabled, int *previous);

// Gradient checkpointing. `fn(context, inputs, n_in, outputs, n_out)` computes the block; it is run once
// without building a graph, and again in backward (RNG state restored) to obtain the gradients, which flow
// to the block's inputs and accumulate into any leaf parameters it uses. `release(context)` is called when
// the graph node dies. `fn` returns 0 on success; on failure it should leave a message via ct_set_error.
typedef int (*ct_block_fn)(void *context, const ct_tensor *inputs, int64_t n_in, ct_tensor *outputs,
                           int64_t n_out);
int ct_checkpoint(ct_block_fn fn, void (*release)(void *), void *context, const ct_tensor *inputs, int64_t n_in,
                  ct_tensor *outputs, int64_t n_out);
void ct_set_error(const char *message);

// log p(target) of each prediction k from logits [n, V]: logits[flat[k]] − logsumexp(logits[source[k]]) (`flat` indexes
// the flattened logits, `source` the row), the log-sum-exp in float32; `round_to_logits_dtype`: the difference taken
// in the logits' dtype (TRL's padded batch), else the picked logit in float32. [m] float32, with a backward that
// turns the saved logits into their own gradient in place (softmax · −Σ grads, plus the grads at the picked
// entries): one [n, V] buffer where autograd's ops keep four or five.
int ct_token_logprobs(ct_tensor logits, ct_tensor flat, ct_tensor source, int round_to_logits_dtype, ct_tensor *out);
// ct_token_logprobs from the hidden states [n, C] through a frozen output weight [V, C] (logits = hidden · weightᵀ,
// given without a graph; consumed): backward keeps p · weight [n, C] instead of the logits. Gradient: hidden only.
int ct_head_token_logprobs(ct_tensor hidden, ct_tensor weight, ct_tensor logits, ct_tensor flat, ct_tensor source,
                           ct_tensor target, int round_to_logits_dtype, ct_tensor *out);
// Float32: log p(target) per prediction [m] and the mean logit per position [n] (no gradient) from the hidden states
// [n, C] and the output weight [V, C], the vocabulary `block` columns at a time (online log-sum-exp): the [n, V]
// logits never exist whole. The same numbers as the logits' logsumexp and mean up to float32 rounding. With `graph`,
// one autograd node whose backward is ct_head_token_logprobs' (p·W accumulated over the blocks in forward). With
// `entropy` and `argmax` given (both or neither), each position's entropy [n] and arg-max [n] (int64) too.
int ct_head_token_logprobs_blocked(ct_tensor hidden, ct_tensor weight, ct_tensor source, ct_tensor target, int64_t block,
                                   int graph, ct_tensor *out, ct_tensor *mean_logits, ct_tensor *entropy,
                                   ct_tensor *argmax);
// LoRA over a frozen dense base as one autograd node: x·weightᵀ (+ bias) + scaling·(xa·aᵀ)·bᵀ; xa (the dropped-out
// input) NULL means x. Gradients: x, xa, a, b.
int ct_lora_linear(ct_tensor x, ct_tensor xa /* nullable */, ct_tensor weight, ct_tensor bias /* nullable */, ct_tensor a,
                   ct_tensor b, double scaling, ct_tensor *out);
// RoPE (rotate-half): x [B, H, T, d] rotated by cos/sin [B, T, d] as one autograd node (gradient: x only).
int ct_rotary(ct_tensor x, ct_tensor cos, ct_tensor sin, ct_tensor *out);
// act(gate) * up (act = silu, or gelu with the tanh approximation when gelu_tanh != 0); backward keeps gate and up only.
int ct_gated_activation(ct_tensor gate, ct_tensor up, int gelu_tanh, ct_tensor *out);

// ---- block quantization (bitsandbytes' scheme) and layers over rebuilt weights (quant.cpp) -------------------
enum { CT_NF4 = 0, CT_FP4 = 1 };
// The 16 float32 values a 4-bit code stands for (bitsandbytes' get_4bit_type).
int ct_code_4bit(int quant_type, ct_tensor *out);
// bitsandbytes' quantize_4bit: codes uint8 [ceil(n/2)] (two a byte, the first element in the high nibble) and
// absmax float32 [ceil(n/blocksize)], on w's device.
int ct_quantize_4bit(ct_tensor w, int quant_type, int64_t blocksize, ct_tensor *codes, ct_tensor *absmax);
// code value × block absmax, computed in float32, shaped `sizes`, converted to `dtype`.
int ct_dequantize_4bit(ct_tensor codes, ct_tensor absmax, int quant_type, int64_t blocksize, const int64_t *sizes,
                       int64_t ndim, int dtype, ct_tensor *out);
// bitsandbytes' CPU quantize_blockwise with a 256-entry sorted `code`: codes uint8 (x's shape), absmax float32.
int ct_quantize_blockwise(ct_tensor x, ct_tensor code, int64_t blocksize, ct_tensor *codes, ct_tensor *absmax);
int ct_dequantize_blockwise(ct_tensor codes, ct_tensor absmax, ct_tensor code, int64_t blocksize, ct_tensor *out);
// y = x · Wᵀ where `weight(context, &W)` builds the frozen weight [out, in] in forward and again in backward for
// dx (nothing dense is kept in between; W gets no gradient). `release(context)` is called when nothing needs the
// weight any more. The callback returns 0, or 1 after ct_set_error.
typedef int (*ct_weight_fn)(void *context, ct_tensor *weight);
int ct_rebuilt_weight_linear(ct_weight_fn weight, void (*release)(void *), void *context, ct_tensor x,
                             ct_tensor *out);

// ---- devices --------------------------------------------------------------------------------------------
// Loads libtorch_cuda (path, or found beside libtorch_cpu when NULL) so CUDA becomes usable. *out = 1 if CUDA
// is usable afterwards. A machine without it gives 0, not an error; `message` explains (may be NULL).
int ct_cuda_load(const char *path, int *out, char *message, size_t capacity);
int ct_cuda_is_available(int *out);
int ct_cuda_device_count(int64_t *out);
int ct_cuda_synchronize(int device_index);
// allocated, reserved, peak allocated, peak reserved (bytes)
int ct_cuda_memory_stats(int device_index, int64_t *allocated, int64_t *reserved, int64_t *peak_allocated,
                         int64_t *peak_reserved);
int ct_cuda_reset_peak(int device_index);
int ct_cuda_empty_cache(void);
int ct_libtorch_path(char *buf, size_t capacity);  // the libtorch_cpu.so this process loaded
// One CUDA device through the driver API (libcuda.so.1): name, compute capability, memory, multiprocessors.
int ct_cuda_device_info(int device_index, char *name, size_t capacity, int *major, int *minor, int64_t *total_memory,
                        int *multiprocessors);
// TF32 for fp32 matmuls and convolutions on CUDA (torch.backends.cuda.matmul.allow_tf32 + cudnn.allow_tf32).
int ct_set_allow_tf32(int allow);
int ct_get_allow_tf32(int *out);
// torch.use_deterministic_algorithms(on, warn_only=...): where an op has a deterministic variant (index_add_ on CUDA)
// it is used; with `warn_only`, an op without one (or whose variant only warn_only false selects) warns instead.
int ct_set_deterministic(int on, int warn_only);
int ct_get_deterministic(int *out);
// Which fused attention kernel scaled_dot_product_attention picks for these inputs (at::_fused_sdp_choice):
// CT_SDP_MATH, _FLASH, _EFFICIENT, _CUDNN, _OVERRIDEABLE. `only` >= 0 enables that kernel alone for the
// question (math off too) and gives -1 where it cannot run these inputs; `only` < 0 asks with today's settings.
enum { CT_SDP_MATH = 0, CT_SDP_FLASH = 1, CT_SDP_EFFICIENT = 2, CT_SDP_CUDNN = 3, CT_SDP_OVERRIDEABLE = 4 };
int ct_sdp_choice(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask /* nullable */, int is_causal, int enable_gqa,
                  int only, int64_t *out);

// ---- process groups (c10d: TCP-store rendezvous, gloo collectives on CPU tensors) ---------------------------------
typedef struct ct_process_group_s *ct_process_group;   // free with ct_process_group_free
// Rendezvous at host:port (the process with is_store_server hosts the TCP store; torchrun's agent hosts it when
// TORCHELASTIC_USE_AGENT_STORE is set), then gloo. Store waits and every collective give up after timeout_ms.
int ct_process_group_new_gloo(const char *host, int port, int rank, int world_size, int is_store_server,
                              int64_t timeout_ms, ct_process_group *out);
// NCCL for CUDA tensors: ProcessGroupNCCL from the loaded libtorch_cuda (refused, with the reason as the error,
// where there is none). ct_nccl_available: 1 when it can be made, else 0 and the reason in `message`.
int ct_process_group_new_nccl(const char *host, int port, int rank, int world_size, int is_store_server,
                              int64_t timeout_ms, ct_process_group *out);
int ct_nccl_available(char *message, size_t capacity);
void ct_process_group_free(ct_process_group pg);
int ct_process_group_rank(ct_process_group pg, int *rank, int *world_size);
int ct_process_group_all_reduce(ct_process_group pg, ct_tensor t, int op);   // in place; op CT_SUM/PROD/AMAX/AMIN
int ct_process_group_broadcast(ct_process_group pg, ct_tensor t, int root);  // in place, from rank `root`
int ct_process_group_all_gather(ct_process_group pg, ct_tensor t, ct_tensor *out);  // [world, ...t.shape]
int ct_process_group_barrier(ct_process_group pg);
// DDP's gradient buckets over `params` (leaf tensors that require grad; a post-accumulate-grad hook is set on each,
// removed by free). arm: the next backward launches each bucket's all-reduce (sum) as its gradients are accumulated;
// finish: launches the rest, waits, divides by the world size, writes the averages into the gradients and returns
// how many buckets backward launched.
typedef struct ct_gradient_reducer_s *ct_gradient_reducer;  // free with ct_gradient_reducer_free
int ct_gradient_reducer_new(ct_process_group pg, const ct_tensor *params, int64_t count, int64_t first_bucket_bytes,
                            int64_t bucket_bytes, ct_gradient_reducer *out);
void ct_gradient_reducer_free(ct_gradient_reducer r);
int ct_gradient_reducer_buckets(ct_gradient_reducer r, int64_t *count);
int ct_gradient_reducer_arm(ct_gradient_reducer r);
int ct_gradient_reducer_finish(ct_gradient_reducer r, int64_t *launched_during_backward);

#ifdef __cplusplus
}
#endif
#endif

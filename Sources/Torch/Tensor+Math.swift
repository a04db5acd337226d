// Tensor+Math.swift — elementwise math (throwing operators), matmul, reductions, activations, losses,
// attention, and in-place updates for optimizers.
import CTorch

enum Unary: Int32 {
  case exp = 0, log, log1p, expm1, sqrt, rsqrt, abs, neg, sigmoid, logsigmoid, silu, gelu, geluTanh, relu, tanh, sin
  case cos, logicalNot, isnan, isinf, reciprocal, square, floor, ceil, round, sign
}

enum Binary: Int32 {
  case add = 0, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, logicalAnd, logicalOr, remainder
  case atan2, floorDivide
}

enum Reduction: Int32 { case sum = 0, mean, prod, amax, amin, logsumexp, any, all, norm2 }

/// How a loss reduces over its elements (PyTorch's codes).
public enum LossReduction: Int32, Sendable { case none = 0, mean = 1, sum = 2 }

extension Tensor {
  func unary(_ op: Unary) throws -> Tensor { try produce("\(op)", self) { ct_unary(op.rawValue, handle, $0) } }
  func binary(_ op: Binary, _ other: Tensor) throws -> Tensor {
    try produce("\(op)", self, other) { ct_binary(op.rawValue, handle, other.handle, $0) }
  }
  func binary(_ op: Binary, _ scalar: Double) throws -> Tensor {
    try produce("\(op)(\(scalar))", self) { ct_binary_scalar(op.rawValue, handle, scalar, $0) }
  }

  // MARK: Operators (broadcasting)
  public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.add, b) }
  public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.sub, b) }
  public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.mul, b) }
  public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.div, b) }
  public static func + (a: Tensor, b: Double) throws -> Tensor { try a.binary(.add, b) }
  public static func - (a: Tensor, b: Double) throws -> Tensor { try a.binary(.sub, b) }
  public static func * (a: Tensor, b: Double) throws -> Tensor { try a.binary(.mul, b) }
  public static func / (a: Tensor, b: Double) throws -> Tensor { try a.binary(.div, b) }
  public static func + (a: Double, b: Tensor) throws -> Tensor { try b.binary(.add, a) }
  public static func * (a: Double, b: Tensor) throws -> Tensor { try b.binary(.mul, a) }
  public static func - (a: Double, b: Tensor) throws -> Tensor {
    try produce("rsub(\(a))", b) { ct_rbinary_scalar(Binary.sub.rawValue, a, b.handle, $0) }
  }
  public static func / (a: Double, b: Tensor) throws -> Tensor {
    try produce("rdiv(\(a))", b) { ct_rbinary_scalar(Binary.div.rawValue, a, b.handle, $0) }
  }
  public static prefix func - (a: Tensor) throws -> Tensor { try a.unary(.neg) }

  public func pow(_ exponent: Double) throws -> Tensor { try binary(.pow, exponent) }
  public func pow(_ exponent: Tensor) throws -> Tensor { try binary(.pow, exponent) }
  /// `base ** exponent`, elementwise (torch.pow(scalar, tensor)).
  public static func pow(base: Double, _ exponent: Tensor) throws -> Tensor {
    try produce("pow(\(base), tensor)", exponent) { ct_rbinary_scalar(Binary.pow.rawValue, base, exponent.handle, $0) }
  }
  public func maximum(_ other: Tensor) throws -> Tensor { try binary(.maximum, other) }
  public func minimum(_ other: Tensor) throws -> Tensor { try binary(.minimum, other) }
  public func remainder(_ other: Double) throws -> Tensor { try binary(.remainder, other) }

  // MARK: Comparisons (boolean tensors)
  public func eq(_ other: Tensor) throws -> Tensor { try binary(.eq, other) }
  public func ne(_ other: Tensor) throws -> Tensor { try binary(.ne, other) }
  public func lt(_ other: Tensor) throws -> Tensor { try binary(.lt, other) }
  public func le(_ other: Tensor) throws -> Tensor { try binary(.le, other) }
  public func gt(_ other: Tensor) throws -> Tensor { try binary(.gt, other) }
  public func ge(_ other: Tensor) throws -> Tensor { try binary(.ge, other) }
  public func eq(_ value: Double) throws -> Tensor { try binary(.eq, value) }
  public func ne(_ value: Double) throws -> Tensor { try binary(.ne, value) }
  public func lt(_ value: Double) throws -> Tensor { try binary(.lt, value) }
  public func le(_ value: Double) throws -> Tensor { try binary(.le, value) }
  public func gt(_ value: Double) throws -> Tensor { try binary(.gt, value) }
  public func ge(_ value: Double) throws -> Tensor { try binary(.ge, value) }
  public func logicalAnd(_ other: Tensor) throws -> Tensor { try binary(.logicalAnd, other) }
  public func logicalOr(_ other: Tensor) throws -> Tensor { try binary(.logicalOr, other) }
  public func logicalNot() throws -> Tensor { try unary(.logicalNot) }
  public func isNaN() throws -> Tensor { try unary(.isnan) }
  public func isInfinite() throws -> Tensor { try unary(.isinf) }

  // MARK: Elementwise functions
  public func exp() throws -> Tensor { try unary(.exp) }
  public func log() throws -> Tensor { try unary(.log) }
  public func log1p() throws -> Tensor { try unary(.log1p) }
  public func expm1() throws -> Tensor { try unary(.expm1) }
  public func sqrt() throws -> Tensor { try unary(.sqrt) }
  public func rsqrt() throws -> Tensor { try unary(.rsqrt) }
  public func abs() throws -> Tensor { try unary(.abs) }
  public func neg() throws -> Tensor { try unary(.neg) }
  public func reciprocal() throws -> Tensor { try unary(.reciprocal) }
  public func square() throws -> Tensor { try unary(.square) }
  public func sin() throws -> Tensor { try unary(.sin) }
  public func cos() throws -> Tensor { try unary(.cos) }
  public func tanh() throws -> Tensor { try unary(.tanh) }
  public func floor() throws -> Tensor { try unary(.floor) }
  public func sign() throws -> Tensor { try unary(.sign) }
  public func sigmoid() throws -> Tensor { try unary(.sigmoid) }
  public func logSigmoid() throws -> Tensor { try unary(.logsigmoid) }
  public func silu() throws -> Tensor { try unary(.silu) }
  public func gelu(approximateTanh: Bool = false) throws -> Tensor { try unary(approximateTanh ? .geluTanh : .gelu) }
  public func relu() throws -> Tensor { try unary(.relu) }

  public func clamped(min: Double? = nil, max: Double? = nil) throws -> Tensor {
    var lo = min ?? 0
    var hi = max ?? 0
    return try produce("clamp(\(min.map { "\($0)" } ?? "-"), \(max.map { "\($0)" } ?? "-"))", self) { out in
      withUnsafePointer(to: &lo) { l in
        withUnsafePointer(to: &hi) { h in ct_clamp(handle, min == nil ? nil : l, max == nil ? nil : h, out) }
      }
    }
  }

  // MARK: Linear algebra
  public func matmul(_ other: Tensor) throws -> Tensor {
    try produce("matmul", self, other) { ct_matmul(handle, other.handle, $0) }
  }

  /// `x · wᵀ + b`, PyTorch's `F.linear`: x [*, in], weight [out, in], bias [out] -> [*, out].
  public func linear(weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
    try produce("linear", self, weight, bias) { ct_linear(handle, weight.handle, bias?.handle, $0) }
  }

  /// `self + scaling · (h · wᵀ)` as one GEMM (`torch.addmm(self, h, w.t(), alpha: scaling)` over the flattened leading
  /// dimensions): self [*, out], h [*, r], w [out, r] -> [*, out]. A LoRA update added to its base layer's output
  /// without the separate scale and add over [*, out].
  public func addingScaledLinear(_ h: Tensor, weight w: Tensor, scaling: Double) throws -> Tensor {
    try produce("add_scaled_linear", self, h, w) { ct_add_scaled_linear(handle, h.handle, w.handle, scaling, $0) }
  }

  // MARK: Reductions
  func reduce(_ op: Reduction, _ dims: [Int]?, keepDim: Bool) throws -> Tensor {
    try produce("\(op)(dims: \(dims.map { "\($0)" } ?? "all"), keepDim: \(keepDim))", self) { out in
      if let dims {
        return Tensor.withShape(dims) { ct_reduce(op.rawValue, handle, $0, $1, keepDim ? 1 : 0, out) }
      }
      return ct_reduce(op.rawValue, handle, nil, 0, keepDim ? 1 : 0, out)
    }
  }

  public func sum(dims: [Int]? = nil, keepDim: Bool = false) throws -> Tensor { try reduce(.sum, dims, keepDim: keepDim) }
  public func sum(dim: Int, keepDim: Bool = false) throws -> Tensor { try reduce(.sum, [dim], keepDim: keepDim) }
  public func mean(dims: [Int]? = nil, keepDim: Bool = false) throws -> Tensor { try reduce(.mean, dims, keepDim: keepDim) }
  public func mean(dim: Int, keepDim: Bool = false) throws -> Tensor { try reduce(.mean, [dim], keepDim: keepDim) }
  public func prod() throws -> Tensor { try reduce(.prod, nil, keepDim: false) }
  public func max(dims: [Int]? = nil, keepDim: Bool = false) throws -> Tensor { try reduce(.amax, dims, keepDim: keepDim) }
  public func min(dims: [Int]? = nil, keepDim: Bool = false) throws -> Tensor { try reduce(.amin, dims, keepDim: keepDim) }
  public func logSumExp(dim: Int, keepDim: Bool = false) throws -> Tensor { try reduce(.logsumexp, [dim], keepDim: keepDim) }
  public func any() throws -> Tensor { try reduce(.any, nil, keepDim: false) }
  public func all() throws -> Tensor { try reduce(.all, nil, keepDim: false) }
  /// Euclidean norm over all elements (or `dims`).
  public func norm(dims: [Int]? = nil, keepDim: Bool = false) throws -> Tensor { try reduce(.norm2, dims, keepDim: keepDim) }

  /// Maximum along `dim` with its indices.
  public func max(dim: Int, keepDim: Bool = false) throws -> (values: Tensor, indices: Tensor) {
    try producePair("max(dim: \(dim))", self) { ct_max_dim(handle, Int64(dim), keepDim ? 1 : 0, $0, $1) }
  }
  public func min(dim: Int, keepDim: Bool = false) throws -> (values: Tensor, indices: Tensor) {
    try producePair("min(dim: \(dim))", self) { ct_min_dim(handle, Int64(dim), keepDim ? 1 : 0, $0, $1) }
  }
  public func argmax(dim: Int, keepDim: Bool = false) throws -> Tensor {
    try produce("argmax(dim: \(dim))", self) { ct_argmax(handle, Int64(dim), keepDim ? 1 : 0, $0) }
  }
  public func cumsum(dim: Int) throws -> Tensor { try produce("cumsum(\(dim))", self) { ct_cumsum(handle, Int64(dim), $0) } }
  public func softmax(dim: Int) throws -> Tensor { try produce("softmax(\(dim))", self) { ct_softmax(handle, Int64(dim), $0) } }
  public func logSoftmax(dim: Int) throws -> Tensor {
    try produce("log_softmax(\(dim))", self) { ct_log_softmax(handle, Int64(dim), $0) }
  }
  public func topk(_ k: Int, dim: Int = -1, largest: Bool = true, sorted: Bool = true) throws
    -> (values: Tensor, indices: Tensor)
  {
    try producePair("topk(\(k), dim: \(dim))", self) {
      ct_topk(handle, Int64(k), Int64(dim), largest ? 1 : 0, sorted ? 1 : 0, $0, $1)
    }
  }
  public func sorted(dim: Int = -1, descending: Bool = false) throws -> (values: Tensor, indices: Tensor) {
    try producePair("sort(dim: \(dim))", self) { ct_sort(handle, Int64(dim), descending ? 1 : 0, $0, $1) }
  }
  /// torch.linalg.svd(self, full_matrices=False) of a matrix [m, n]: U [m, k], S [k], Vh [k, n], k = min(m, n),
  /// singular values descending (LAPACK's gesdd on the CPU, as PyTorch).
  public func singularValueDecomposition() throws -> (u: Tensor, s: Tensor, vh: Tensor) {
    var u: ct_tensor?, s: ct_tensor?, vh: ct_tensor?
    try checked("linalg_svd", [self]) { ct_linalg_svd(handle, &u, &s, &vh) }
    guard let u, let s, let vh else { throw TorchError(operation: "linalg_svd", message: "no result", operands: [summary]) }
    return (Tensor(handle: u), Tensor(handle: s), Tensor(handle: vh))
  }
  /// Samples indices from each row's (unnormalised) probabilities.
  public func multinomial(_ samples: Int, replacement: Bool = false, generator: Generator? = nil) throws -> Tensor {
    try withExtendedLifetime(generator) {
      try produce("multinomial(\(samples))", self) {
        ct_multinomial(handle, Int64(samples), replacement ? 1 : 0, generator?.handle, $0)
      }
    }
  }

  public func equals(_ other: Tensor) throws -> Bool {
    var r: Int32 = 0
    try checked("equal", [self, other]) { ct_equal(handle, other.handle, &r) }
    return r != 0
  }

  public func isClose(to other: Tensor, relativeTolerance: Double = 1e-5, absoluteTolerance: Double = 1e-8) throws -> Bool {
    var r: Int32 = 0
    try checked("allclose", [self, other]) { ct_allclose(handle, other.handle, relativeTolerance, absoluteTolerance, &r) }
    return r != 0
  }

  // MARK: In-place updates (optimizers; on tensors outside the graph)
  public func add_(_ other: Tensor, alpha: Double = 1) throws {
    try checked("add_", [self, other]) { ct_add_scaled_(handle, other.handle, alpha) }
  }
  public func sub_(_ other: Tensor) throws { try checked("sub_", [self, other]) { ct_inplace(1, handle, other.handle) } }
  public func mul_(_ other: Tensor) throws { try checked("mul_", [self, other]) { ct_inplace(2, handle, other.handle) } }
  public func div_(_ other: Tensor) throws { try checked("div_", [self, other]) { ct_inplace(3, handle, other.handle) } }
  public func copy_(_ source: Tensor) throws { try checked("copy_", [self, source]) { ct_inplace(4, handle, source.handle) } }
  public func add_(_ value: Double) throws { try checked("add_", [self]) { ct_inplace_scalar(0, handle, value) } }
  public func mul_(_ value: Double) throws { try checked("mul_", [self]) { ct_inplace_scalar(2, handle, value) } }
  public func div_(_ value: Double) throws { try checked("div_", [self]) { ct_inplace_scalar(3, handle, value) } }
  public func addcmul_(_ a: Tensor, _ b: Tensor, value: Double = 1) throws {
    try checked("addcmul_", [self, a, b]) { ct_addcmul_(handle, a.handle, b.handle, value) }
  }
  public func addcdiv_(_ a: Tensor, _ b: Tensor, value: Double = 1) throws {
    try checked("addcdiv_", [self, a, b]) { ct_addcdiv_(handle, a.handle, b.handle, value) }
  }
  public func lerp_(_ end: Tensor, weight: Double) throws {
    try checked("lerp_", [self, end]) { ct_lerp_(handle, end.handle, weight) }
  }
  /// torch.optim.AdamW(fused=True)'s update (`torch._fused_adamw_`, no AMSGrad) of every parameter in one call:
  /// `steps` holds each parameter's step count, already advanced, as a float32 scalar (torch keeps it so).
  public static func fusedAdamW_(parameters: [Tensor], gradients: [Tensor], firstMoments: [Tensor],
                                 secondMoments: [Tensor], steps: [Tensor], learningRate: Double, beta1: Double,
                                 beta2: Double, weightDecay: Double, epsilon: Double) throws
  {
    let lists = [parameters, gradients, firstMoments, secondMoments, steps]
    precondition(lists.allSatisfy { $0.count == parameters.count }, "fusedAdamW_: one of each per parameter")
    // One run of handles, the five lists one after another.
    let handles: [ct_tensor?] = lists.flatMap { $0.map(\.handle) }
    let n = parameters.count
    try withExtendedLifetime(lists) {
      try checked("fusedAdamW_", parameters) {
        handles.withUnsafeBufferPointer { h in
          let list = { (k: Int) in h.baseAddress.map { $0 + k * n } }
          return ct_fused_adamw_(list(0), list(1), list(2), list(3), list(4), Int64(n), learningRate, beta1, beta2,
                                 weightDecay, epsilon)
        }
      }
    }
  }
  public func zero_() throws { try checked("zero_", [self]) { ct_zero_(handle) } }
  public func fill_(_ value: Double) throws { try checked("fill_", [self]) { ct_fill_(handle, value) } }
  public func sqrt_() throws { try checked("sqrt_", [self]) { ct_sqrt_(handle) } }
  public func uniform_(low: Double, high: Double, generator: Generator? = nil) throws {
    try withExtendedLifetime(generator) {
      try checked("uniform_", [self]) { ct_uniform_(handle, low, high, generator?.handle) }
    }
  }
  public func normal_(mean: Double = 0, std: Double = 1, generator: Generator? = nil) throws {
    try withExtendedLifetime(generator) {
      try checked("normal_", [self]) { ct_normal_(handle, mean, std, generator?.handle) }
    }
  }
}

// MARK: - Neural-network functions (PyTorch's torch.nn.functional)

public enum Functional {
  /// Cross-entropy of logits [N, C] (or [N, C, d…]) against class indices [N]; `ignoreIndex` targets are skipped
  /// and, with `.mean`, left out of the denominator.
  public static func crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex: Int = -100,
                                  reduction: LossReduction = .mean) throws -> Tensor
  {
    try produce("cross_entropy", logits, targets) {
      ct_cross_entropy(logits.handle, targets.handle, Int64(ignoreIndex), reduction.rawValue, $0)
    }
  }

  public static func nllLoss(logProbabilities: Tensor, targets: Tensor, ignoreIndex: Int = -100,
                             reduction: LossReduction = .mean) throws -> Tensor
  {
    try produce("nll_loss", logProbabilities, targets) {
      ct_nll_loss(logProbabilities.handle, targets.handle, Int64(ignoreIndex), reduction.rawValue, $0)
    }
  }

  /// log p(target) of each prediction from `logits` [n, V]: `logits.view(-1)[flat[k]] − logsumexp(logits[source[k]])`,
  /// the log-sum-exp in float32; with `roundToLogitsDType` the difference is taken in the logits' dtype (TRL's padded
  /// batch), else the picked logit is converted to float32. [m] float32. The same values and gradients as those ops
  /// under autograd, but backward turns the saved logits into their own gradient in place: one [n, V] buffer instead
  /// of four or five (the fused loss's peak).
  public static func tokenLogProbabilities(_ logits: Tensor, flat: Tensor, source: Tensor, roundToLogitsDType: Bool)
    throws -> Tensor
  {
    try produce("token_logprobs", logits, flat, source) {
      ct_token_logprobs(logits.handle, flat.handle, source.handle, roundToLogitsDType ? 1 : 0, $0)
    }
  }

  /// `tokenLogProbabilities(hidden · weightᵀ, …)` for a frozen output `weight` [V, C], the gradient going to `hidden`
  /// [n, C] only: `logits` (computed by the caller without a graph) are consumed — turned into probabilities in place
  /// and multiplied by `weight` — so backward needs neither the logits nor their recomputation, only [n, C].
  /// `target` [m]: each prediction's token (`flat = source · V + target`).
  public static func headTokenLogProbabilities(hidden: Tensor, weight: Tensor, logits: Tensor, flat: Tensor,
                                               source: Tensor, target: Tensor, roundToLogitsDType: Bool) throws -> Tensor
  {
    try withExtendedLifetime((flat, source, target)) {
      try produce("head_token_logprobs", hidden, weight, logits) {
        ct_head_token_logprobs(hidden.handle, weight.handle, logits.handle, flat.handle, source.handle, target.handle,
                               roundToLogitsDType ? 1 : 0, $0)
      }
    }
  }

  /// Float32: log p(target) per prediction and the mean logit per position (no gradient) from `hidden` [n, C] through a
  /// frozen output weight [V, C], `block` vocabulary columns at a time (online log-sum-exp): no [n, V] logits buffer,
  /// and W read once per chunk of rows. Prediction i is position `source[i]` predicting `target[i]`. The numbers of
  /// `tokenLogProbabilities` over the whole logits (and their mean) up to float32 rounding. When `hidden` is in a
  /// graph, one autograd node with `headTokenLogProbabilities`' gradient (p·W accumulated over the blocks).
  /// With `statistics`, each position's entropy [n] and arg-max [n] (int64) too (TRL's completion statistics), from
  /// the same blocks.
  public static func headTokenLogProbabilitiesBlocked(hidden: Tensor, weight: Tensor, source: Tensor, target: Tensor,
                                                      block: Int = 8192, statistics: Bool = false) throws
    -> (logps: Tensor, meanLogits: Tensor, entropy: Tensor?, argmax: Tensor?)
  {
    var first: ct_tensor?, second: ct_tensor?, third: ct_tensor?, fourth: ct_tensor?
    let graph = GradMode.isEnabled && hidden.requiresGrad
    let status = withExtendedLifetime((hidden, weight, source, target)) {
      statistics
        ? ct_head_token_logprobs_blocked(hidden.handle, weight.handle, source.handle, target.handle, Int64(block),
                                         graph ? 1 : 0, &first, &second, &third, &fourth)
        : ct_head_token_logprobs_blocked(hidden.handle, weight.handle, source.handle, target.handle, Int64(block),
                                         graph ? 1 : 0, &first, &second, nil, nil)
    }
    guard status == 0, let first, let second, !statistics || (third != nil && fourth != nil) else {
      throw TorchError(operation: "head_token_logprobs_blocked", message: lastShimError(),
                       operands: [hidden.summary, weight.summary])
    }
    return (Tensor(handle: first), Tensor(handle: second), third.map { Tensor(handle: $0) }, fourth.map { Tensor(handle: $0) })
  }

  /// A LoRA layer over a frozen dense base, `x·weightᵀ (+ bias) + scaling·(xa·aᵀ)·bᵀ` with `xa` the dropped-out input
  /// (nil: `x`), as one autograd node: the same values as linear + linear + addmm, and their gradients up to the
  /// order of additions (the input's two parts summed in one GEMM). x [*, in], a [r, in], b [out, r] -> [*, out].
  /// `a` and `b` may be float32 over a half-precision `x` and `weight` (mixed precision): they are cast to x's dtype
  /// for the products, as autocast casts a linear layer's weight, and get float32 gradients.
  public static func loraLinear(_ x: Tensor, droppedOut xa: Tensor?, weight: Tensor, bias: Tensor?, a: Tensor, b: Tensor,
                                scaling: Double) throws -> Tensor
  {
    try withExtendedLifetime((xa, bias, b)) {
      try produce("lora_linear", x, weight, a) {
        ct_lora_linear(x.handle, xa?.handle, weight.handle, bias?.handle, a.handle, b.handle, scaling, $0)
      }
    }
  }

  /// RoPE in the rotate-half layout: `x·cos + [−x₂, x₁]·sin`, x [B, H, T, d], cos and sin [B, T, d], as one autograd
  /// node with the composed ops' values and gradients bit for bit (gradient: x only).
  public static func rotary(_ x: Tensor, cos: Tensor, sin: Tensor) throws -> Tensor {
    try produce("rotary", x, cos, sin) { ct_rotary(x.handle, cos.handle, sin.handle, $0) }
  }

  /// A gated MLP's activation, `act(gate) * up` (act: silu for SwiGLU, tanh-approximated gelu for GeGLU), the same
  /// values and gradients as those two ops under autograd; backward keeps only `gate` and `up` and recomputes
  /// act(gate), so a [*, I] tensor per MLP fewer lives until backward.
  public static func gatedActivation(gate: Tensor, up: Tensor, geluTanh: Bool = false) throws -> Tensor {
    try produce(geluTanh ? "gelu_tanh(gate) * up" : "silu(gate) * up", gate, up) {
      ct_gated_activation(gate.handle, up.handle, geluTanh ? 1 : 0, $0)
    }
  }

  /// Rows of `weight` [V, D] picked by integer `indices` [*] -> [*, D].
  public static func embedding(_ indices: Tensor, weight: Tensor) throws -> Tensor {
    try produce("embedding", weight, indices) { ct_embedding(weight.handle, indices.handle, $0) }
  }

  public static func dropout(_ x: Tensor, probability: Double, training: Bool) throws -> Tensor {
    if !training || probability == 0 { return x }
    return try produce("dropout(\(probability))", x) { ct_dropout(x.handle, probability, 1, $0) }
  }

  /// RMSNorm over the last dimension: x / sqrt(mean(x²) + eps) · weight.
  public static func rmsNorm(_ x: Tensor, weight: Tensor?, epsilon: Double) throws -> Tensor {
    try produce("rms_norm", x, weight) { ct_rms_norm(x.handle, weight?.handle, epsilon, $0) }
  }

  /// Scaled dot-product attention: q [B, H, Tq, D], k/v [B, Hkv, Tk, D] -> [B, H, Tq, D].
  /// `mask` is boolean (true = attend) or additive float; `isCausal` applies a lower-triangular mask.
  /// `enableGQA` lets H be a multiple of Hkv (grouped-query attention).
  public static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil,
                                               dropout: Double = 0, isCausal: Bool = false, scale: Double? = nil,
                                               enableGQA: Bool = false) throws -> Tensor
  {
    var s = scale ?? 0
    return try withExtendedLifetime(mask) {
      try produce("scaled_dot_product_attention", query, key, value) { out in
        withUnsafePointer(to: &s) { sp in
          ct_sdpa(query.handle, key.handle, value.handle, mask?.handle, dropout, isCausal ? 1 : 0,
                  scale == nil ? nil : sp, enableGQA ? 1 : 0, out)
        }
      }
    }
  }
}

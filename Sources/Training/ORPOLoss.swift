// ORPOLoss.swift — ORPO (Hong, Lee & Thorne 2024, arXiv 2403.07691, eqs. 4–7) exactly as TRL 1.16 computes it:
// trl/experimental/orpo/orpo_trainer.py, `odds_ratio_loss`, `get_batch_logps`, `concatenated_forward`,
// `get_batch_loss_metrics` (see ../shared/reference/TRL-ORPO-SEMANTICS.md).
import Torch

/// One training batch of preference pairs, chosen rows first: rows 0..<pairs are chosen, pairs..<2·pairs rejected
/// (TRL's `concatenated_inputs`), right-padded to a common length.
public struct PairBatch {
  public var inputIDs: Tensor       // [2B, T] int64
  public var attentionMask: Tensor  // [2B, T] int64, 1 = real token
  public var labels: Tensor         // [2B, T] int64, -100 over prompt and padding
  public var pairs: Int
  /// Real (non-pad) tokens in the batch, for throughput figures.
  public var realTokens: Int

  public init(inputIDs: Tensor, attentionMask: Tensor, labels: Tensor, pairs: Int, realTokens: Int) {
    self.inputIDs = inputIDs
    self.attentionMask = attentionMask
    self.labels = labels
    self.pairs = pairs
    self.realTokens = realTokens
  }
}

/// TRL's ORPO metrics for one batch, under TRL's names (without the `eval_` prefix).
public struct ORPOMetrics: Equatable, Sendable {
  public var loss = 0.0
  public var rewardsChosen = 0.0, rewardsRejected = 0.0, rewardsAccuracies = 0.0, rewardsMargins = 0.0
  public var logpsChosen = 0.0, logpsRejected = 0.0, logitsChosen = 0.0, logitsRejected = 0.0
  public var nllLoss = 0.0, logOddsRatio = 0.0, logOddsChosen = 0.0

  public init() {}

  /// (name, value) in TRL's order and spelling.
  public var named: [(String, Double)] {
    [("rewards/chosen", rewardsChosen), ("rewards/rejected", rewardsRejected),
     ("rewards/accuracies", rewardsAccuracies), ("rewards/margins", rewardsMargins),
     ("logps/rejected", logpsRejected), ("logps/chosen", logpsChosen), ("logits/rejected", logitsRejected),
     ("logits/chosen", logitsChosen), ("nll_loss", nllLoss), ("log_odds_ratio", logOddsRatio),
     ("log_odds_chosen", logOddsChosen)]
  }
}

public struct ORPOLoss {
  /// λ in the paper, `beta` in TRL.
  public var beta: Double
  /// NLL over prompt + completion (TRL's behaviour) when true; completion only (the paper's `disable_prompt_loss`)
  /// when false.
  public var promptLoss: Bool

  public init(beta: Double = 0.1, promptLoss: Bool = true) {
    self.beta = beta
    self.promptLoss = promptLoss
  }

  /// log(1 − exp(x)) for x < 0, branching at −ln 2 (TRL's `log1mexp`).
  static func log1mexp(_ x: Tensor) throws -> Tensor {
    try Tensor.where(x.lt(-0.6931471805599453), (try x.exp().neg()).log1p(), (try x.expm1().neg()).log())
  }

  /// The odds-ratio term from per-sequence average log-probs [B] (chosen) and [B] (rejected):
  /// returns (losses = β·logσ(log_odds) [B], log_odds [B]).
  public func oddsRatio(chosen: Tensor, rejected: Tensor) throws -> (losses: Tensor, logOdds: Tensor) {
    let lc = try chosen.to(dtype: .float32)
    let lr = try rejected.to(dtype: .float32)
    let logOdds = try (lc - lr) - (Self.log1mexp(lc) - Self.log1mexp(lr))
    return (try logOdds.logSigmoid() * beta, logOdds)
  }

  /// Loss and metrics from the model's logits [2B, T, V] for `batch`.
  public func callAsFunction(logits: Tensor, batch: PairBatch) throws -> (loss: Tensor, metrics: ORPOMetrics) {
    let r = try evaluate(logits: logits, batch: batch)
    return (r.loss, r.metrics)
  }

  /// Loss, metrics, and each pair's average log-probs (chosen [B], rejected [B], detached).
  public func evaluate(logits: Tensor, batch: PairBatch) throws
    -> (loss: Tensor, metrics: ORPOMetrics, chosenLogps: Tensor, rejectedLogps: Tensor)
  {
    let b = batch.pairs
    let t = logits.size(1)
    // Shift: position i predicts token i+1.  [2B, T-1, V]
    let shifted = try logits.narrow(1, start: 0, length: t - 1)
    let next = try batch.inputIDs.narrow(1, start: 1, length: t - 1)               // [2B, T-1]
    let completionMask = try batch.labels.narrow(1, start: 1, length: t - 1).ne(-100)  // [2B, T-1]
    // log p(next token) = logit[next] − logsumexp(logits): one pass serves the NLL and the average log-probs.
    let tokenLogps = try shifted.gather(2, next.unsqueezed(-1)).squeezed(-1)
      - shifted.to(dtype: .float32).logSumExp(dim: -1).to(dtype: shifted.dtype)    // [2B, T-1]
    let logps32 = try tokenLogps.to(dtype: .float32)
    let completion = try completionMask.to(dtype: .float32)
    let averageLogps = try (logps32 * completion).sum(dim: 1) / completion.sum(dim: 1)  // [2B]
    let chosenLogps = try averageLogps.narrow(0, start: 0, length: b)
    let rejectedLogps = try averageLogps.narrow(0, start: b, length: b)

    // NLL of the chosen rows: every non-pad predicted token (TRL), or the completion only.
    let nllMask = try promptLoss
      ? batch.attentionMask.narrow(1, start: 1, length: t - 1).narrow(0, start: 0, length: b).to(dtype: .float32)
      : completion.narrow(0, start: 0, length: b)
    let nll = try -((logps32.narrow(0, start: 0, length: b) * nllMask).sum() / nllMask.sum())

    let (losses, logOdds) = try oddsRatio(chosen: chosenLogps, rejected: rejectedLogps)
    let loss = try nll - losses.mean()

    var m = ORPOMetrics()
    try withNoGrad {
      m = try metrics(loss: loss, nll: nll, chosenLogps: chosenLogps, rejectedLogps: rejectedLogps, losses: losses,
                      logOdds: logOdds,
                      logitsChosen: shifted.narrow(0, start: 0, length: b).to(dtype: .float32).mean().item(),
                      logitsRejected: shifted.narrow(0, start: b, length: b).to(dtype: .float32).mean().item())
    }
    return (loss, m, try chosenLogps.detached(), try rejectedLogps.detached())
  }

  /// TRL's metrics from the per-pair values (shared by the padded and packed paths).
  func metrics(loss: Tensor, nll: Tensor, chosenLogps: Tensor, rejectedLogps: Tensor, losses: Tensor, logOdds: Tensor,
               logitsChosen: Double, logitsRejected: Double) throws -> ORPOMetrics
  {
    var m = ORPOMetrics()
    let rc = try chosenLogps.detached() * beta
    let rr = try rejectedLogps.detached() * beta
    m.loss = try loss.item()
    m.rewardsChosen = try rc.mean().item()
    m.rewardsRejected = try rr.mean().item()
    m.rewardsAccuracies = try rc.gt(rr).to(dtype: .float32).mean().item()
    m.rewardsMargins = try (rc - rr).mean().item()
    m.logpsChosen = try chosenLogps.mean().item()
    m.logpsRejected = try rejectedLogps.mean().item()
    m.logitsChosen = logitsChosen
    m.logitsRejected = logitsRejected
    m.nllLoss = try nll.item()
    m.logOddsRatio = try logOdds.logSigmoid().mean().item()
    m.logOddsChosen = try logOdds.mean().item()
    return m
  }
}

// OptimizerChoice.swift — the recipe's `optim` under TRL / transformers' OptimizerNames, and the optimizer it builds
// for the trainable parameters, as transformers' Trainer.create_optimizer does (trainer_optimizer.py, 5.23).
import Torch

/// `optim:` — which optimizer updates the trainable weights (transformers' `OptimizerNames` values).
public enum OptimizerName: String, ConfigurationChoice, Sendable {
  /// torch.optim.AdamW (AdamW.swift).
  case adamwTorch = "adamw_torch"
  /// bitsandbytes' AdamW with 8-bit block-wise states (BitsAndBytesAdamW.swift).
  case adamw8bit = "adamw_8bit"
  /// The same with paged buffers: CUDA unified memory on a GPU; on the CPU the plain 8-bit optimizer.
  case pagedAdamw8bit = "paged_adamw_8bit"
  /// bitsandbytes' AdamW with float32 states, paged on a GPU; its own 32-bit arithmetic.
  case pagedAdamw32bit = "paged_adamw_32bit"

  /// bitsandbytes' state width, or nil for torch's AdamW.
  var bitsAndBytesStateBits: Int? {
    switch self {
    case .adamwTorch: return nil
    case .adamw8bit, .pagedAdamw8bit: return 8
    case .pagedAdamw32bit: return 32
    }
  }
}

extension TrainingConfiguration {
  /// The optimizer `optim` names over `trainable` (sorted parameter paths and tensors), with the recipe's learning
  /// rate, betas, ε and weight decay. Under an 8-bit bitsandbytes optimizer, embedding weights keep 32-bit states
  /// (transformers' `register_module_override(module, "weight", {"optim_bits": 32})` for every nn.Embedding).
  public func makeOptimizer(for trainable: [(key: String, tensor: Tensor)]) throws -> any Optimizer {
    let tensors = trainable.map(\.tensor)
    if let bits = optim.bitsAndBytesStateBits {
      let embeddings = Set(trainable.indices.filter { trainable[$0].key.split(separator: ".").contains("embed_tokens") })
      return try BitsAndBytesAdamW(parameters: tensors, learningRate: learningRate, beta1: adamBeta1, beta2: adamBeta2,
                                   epsilon: adamEpsilon, weightDecay: weightDecay, stateBits: bits,
                                   fullPrecision: bits == 8 ? embeddings : [])
    }
    return try AdamW(parameters: tensors, learningRate: learningRate, beta1: adamBeta1, beta2: adamBeta2,
                     epsilon: adamEpsilon, weightDecay: weightDecay)
  }
}

// Qwen3.swift — the Qwen3 decoder (transformers' `Qwen3ForCausalLM`): the Llama family's blocks with an RMSNorm over
// each head's queries and keys (`q_norm`, `k_norm`, over head_dim) before RoPE (`LlamaAttention` builds them when
// `config.queryKeyNorms`); no q/k/v biases unless attention_bias.
import NN

/// The shared decoder stack (Decoder.swift) over Qwen3's layers.
public typealias Qwen3ForCausalLM = DecoderForCausalLM<Qwen3Architecture>

public enum Qwen3Architecture: DecoderArchitecture {
  public typealias Layer = PreNormDecoderLayer<LlamaAttention, LlamaMLP>  // SwiGLU, as Llama's
  public static func check(_ config: LlamaConfiguration) throws {
    guard config.isQwen3 else { throw ModelError("Qwen3ForCausalLM needs a qwen3 config, got \(config.architecture)") }
    if config.useSlidingWindow == true {
      throw ModelError("Qwen3 with use_sliding_window (per-layer windows) is not supported; its released models leave it off")
    }
  }
}

// DefaultRecipe.swift — what `orpo train` runs with no arguments: LoRA ORPO on the default SmolLM2 GGUF with the
// built-in synthetic preferences, sized for a few minutes on 2 CPU cores. configs/default.yaml holds the same text.
import Foundation

public enum DefaultRecipe {
  /// The built-in recipe with `overrides` applied. A `method` override drops the recipe's keys that method does not
  /// take (its `beta: 0.1` is ORPO's), so `--set method=sft` is the default job trained with SFT.
  public static func configuration(overrides: [ConfigurationOverride] = []) throws -> TrainingConfiguration {
    try TrainingConfiguration.load(recipeText: yaml, name: "built-in default recipe", overrides: overrides,
                                   methodKeysYield: true)
  }

  /// The recipe at `path` with `overrides` applied, or the built-in one (`configuration(overrides:)`) without a path:
  /// what every verb's `--config` means.
  public static func configuration(recipe path: String?, overrides: [ConfigurationOverride] = []) throws
    -> TrainingConfiguration
  {
    guard let path else { return try configuration(overrides: overrides) }
    return try TrainingConfiguration.load(recipe: URL(fileURLWithPath: path), overrides: overrides)
  }

  public static let yaml = """
  # orpo train --config configs/default.yaml   (the same as `orpo train` with no arguments)
  # LoRA ORPO on SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized to float32) with built-in synthetic preferences.
  output_dir: runs/default
  dataset: synthetic
  synthetic_train_size: 2000
  synthetic_test_size: 200
  method: orpo
  beta: 0.1
  max_length: 256
  finetuning_type: lora
  lora:
    r: 16
    lora_alpha: 32
    lora_dropout: 0.0
    target_modules: [q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj]
  learning_rate: 5.0e-4
  lr_scheduler_type: linear
  warmup_steps: 0
  per_device_train_batch_size: 4
  per_device_eval_batch_size: 16
  gradient_accumulation_steps: 1
  max_steps: 120
  max_grad_norm: 1.0
  weight_decay: 0.0
  logging_steps: 5
  eval_strategy: "no"
  save_steps: 60
  save_total_limit: 2
  report_to: [jsonl, tensorboard]
  seed: 42

  """
}

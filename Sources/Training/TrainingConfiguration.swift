// TrainingConfiguration.swift — a training run's settings under TRL / Hugging Face TrainingArguments key names, as
// typed values, and `keys`: the one table that declares each recipe key (its type, rule, methods and meaning).
import Data
import Foundation
import Models
import RunMetrics
import NN
import Torch

/// The preference-optimisation method (`method:`): ORPO, or one of the baselines it is compared with, each pinned
/// to the TRL 1.16 trainer that defines it.
public enum TrainingMethod: String, ConfigurationChoice, Sendable {
  /// Odds Ratio Preference Optimization: NLL + λ · odds-ratio term, one stage, no reference (ORPOLoss.swift).
  case orpo
  /// Supervised fine-tuning on the chosen answers (SFTLoss.swift).
  case sft
  /// Direct Preference Optimization against the reference model (DPOLoss.swift; `loss_type`).
  case dpo
  /// DPO with the IPO loss (`dpo` with `loss_type: ipo`).
  case ipo
  /// SimPO: length-normalised rewards with a margin, no reference (CPOLoss.swift; CPO's `loss_type: simpo`, `cpo_alpha: 0`).
  case simpo
  /// Contrastive Preference Optimization: a reference-free DPO-like loss + `cpo_alpha` × NLL (CPOLoss.swift).
  case cpo
  /// Kahneman-Tversky Optimization on desirable/undesirable answers (KTOLoss.swift); preference pairs are unpaired.
  case kto

  /// Whether the method compares against the reference model (the policy with its adapters disabled).
  public var needsReference: Bool { self == .dpo || self == .ipo || self == .kto }

  /// The TRL trainer whose tokenization the method follows.
  public var tokenization: PairTokenization {
    switch self {
    case .orpo, .cpo, .simpo: return .orpo
    case .dpo, .ipo: return .dpo
    case .sft, .kto: return .sft
    }
  }
}

/// `loss_type:` of the DPO and CPO families (DPOLoss.swift, CPOLoss.swift); which ones a method takes is checked
/// with the method.
public enum PreferenceLossType: String, ConfigurationChoice, Sendable {
  case sigmoid, hinge, ipo, robust, simpo
}

/// Which weights train (`finetuning_type:`).
public enum FinetuningType: String, ConfigurationChoice, Sendable {
  case lora, full
}

/// When to evaluate (`eval_strategy:`), as Hugging Face's IntervalStrategy.
public enum EvalStrategy: String, ConfigurationChoice, Sendable {
  case no, steps, epoch
}

/// How the frozen base weights are held (`quantization.quant_method`, or `quantization: gguf` for short), as
/// transformers' `quantization_config` names it.
public enum QuantizationMethod: String, ConfigurationChoice, Sendable {
  /// Dense in `torch_dtype`, unless `load_in_4bit` asks for bitsandbytes.
  case none
  /// bitsandbytes' 4-bit blocks (QLoRA): needs `load_in_4bit: true`.
  case bitsandbytes
  /// A .gguf model's own quantized blocks, dequantized per layer as it computes.
  case gguf
}

/// The `quantization:` section under BitsAndBytesConfig's names.
public struct QuantizationSettings: Equatable, Sendable {
  public var quantMethod: QuantizationMethod = .none
  public var loadIn4bit = false
  public var loadIn8bit = false
  /// TRL's ModelConfig default (nf4); BitsAndBytesConfig's own default is fp4.
  public var bnb4bitQuantType: FourBitType = .nf4
  public var bnb4bitUseDoubleQuant = false
  public var bnb4bitComputeDType: DType = .float32
}

public struct TrainingConfiguration: Equatable {
  // Model and data
  public var model: String? = nil                 // HF folder or .gguf; nil = the default SmolLM2 GGUF
  public var dataset: String? = nil               // train file or dataset folder; nil or "synthetic" = built-in data
  public var datasetSplit: String? = nil          // the folder's split (Hub file names); nil = train
  public var datasetShuffleSeed: Int? = nil       // datasets' shuffle(seed) before dataset_num_rows
  public var datasetNumRows: Int? = nil           // datasets' select(range(n)); with `datasets`, the mixture's size
  public var columnMapping: ColumnMapping = .none // datasets' rename_columns({old: new})
  public var datasets: [DatasetSource] = []       // several sets mixed, instead of `dataset`
  public var evalDataset: String? = nil
  public var evalDatasetSplit: String? = nil
  public var testSize: Double? = nil              // fraction (< 1) or count (>= 1) split off the train data
  public var syntheticTrainSize: Int = 2000
  public var syntheticTestSize: Int = 200
  public var skipInvalid: Bool = false
  public var chatTemplate: String? = nil          // a file holding a Jinja chat template
  public var setupChatFormat: Bool = false        // TRL's setup_chat_format (ChatML tokens) for base models
  public var cloneChatTemplate: String? = nil     // TRL's clone_chat_template: a tokenizer folder or Hub id
  public var outputDir: String = "runs/orpo"
  public var torchDtype: DType = .float32
  public var device: Device = .cpu
  public var tf32: Bool = false                   // TF32 for fp32 matmuls on CUDA (transformers' tf32)
  public var bf16: Bool = false                   // mixed precision: base in bfloat16, adapters and optimizer float32
  public var fp16: Bool = false                   // the same in float16, with dynamic loss scaling
  // Method
  public var method: TrainingMethod = .orpo
  public var beta: Double = 0.1
  public var betaEnd: Double? = nil               // anneal λ from `beta` to `beta_end`
  public var betaSchedule: BetaSchedule.Shape = .constant
  public var maxLength: Int = 1024
  public var disablePromptLoss: Bool = false
  public var lossType: PreferenceLossType = .sigmoid
  public var labelSmoothing: Double = 0
  public var precomputeRefLogProbs: Bool = false
  public var simpoGamma: Double = 0.5
  public var cpoAlpha: Double? = nil              // nil: 1.0 for cpo, 0.0 for simpo (TRL's SimPO recipe)
  public var desirableWeight: Double = 1
  public var undesirableWeight: Double = 1
  /// Prompt-prefix sharing without padding (PackedPairs.swift). Same loss and gradients as TRL's padded batch;
  /// logits/* metrics then average over real tokens only. false = TRL's padded batch exactly.
  public var paddingFree: Bool = true
  /// Log-probabilities from the final hidden states a chunk of `lossChunkSize` tokens at a time, recomputed in
  /// backward (FusedLogProbabilities.swift): the [tokens, vocabulary] logits never exist whole. Same loss, metrics
  /// and gradients; false computes all the logits at once.
  public var fusedLoss: Bool = true
  public var lossChunkSize: Int = PairScorer.defaultLossChunkSize
  // Optimisation
  public var finetuningType: FinetuningType = .lora
  public var lora = LoRAConfiguration()  // NN's, read from the `lora:` section under PEFT's key names
  public var learningRate: Double = 1e-6
  public var perDeviceTrainBatchSize: Int = 8
  public var perDeviceEvalBatchSize: Int = 8
  /// Evaluation scores a batch in consecutive parts of at most this many tokens (prompts counted once with
  /// padding_free), so that a large eval batch of long pairs never needs one huge forward; the metrics are those of
  /// the whole batch. padding_free only (TRL's padded batch averages logits over its padding too).
  public var evalMaxTokensPerForward: Int = 8192
  public var gradientAccumulationSteps: Int = 1
  public var numTrainEpochs: Double = 3
  public var maxSteps: Int = -1
  public var lrSchedulerType: LRSchedulerType = .linear
  public var warmupRatio: Double = 0
  public var warmupSteps: Int = 0
  public var weightDecay: Double = 0
  public var adamBeta1: Double = 0.9
  public var adamBeta2: Double = 0.999
  public var adamEpsilon: Double = 1e-8
  public var maxGradNorm: Double = 1.0
  public var optim: OptimizerName = .adamwTorchFused
  public var optimTargetModules: OptimizerTargets? = nil
  public var optimArgs: String? = nil
  public var gradientCheckpointing: Bool = false
  public var seed: Int = 42
  public var shuffle: Bool = true
  // Output
  public var loggingSteps: Int = 10
  public var probePairs: Int = 8
  public var evalStrategy: EvalStrategy = .no
  public var evalSteps: Int? = nil
  public var saveSteps: Int? = nil
  public var saveTotalLimit: Int? = nil
  public var reportTo: [MetricsSinkKind] = [.jsonl]
  public var resumeFromCheckpoint: String? = nil
  public var overwriteOutputDir: Bool = false
  public var forceResume: Bool = false
  public var maxNonfiniteSteps: Int = 5
  public var threads: Int? = nil
  public var ddpTimeout: Int = 1800
  /// Data parallel: the gradient buckets' size in MiB (DDP's `bucket_cap_mb`); nil: DDP's default, 1 MiB for the first
  /// bucket and 25 MiB for the others.
  public var ddpBucketCapMB: Int? = nil
  public var averageTokensAcrossDevices: Bool = true
  // Quantized base weights
  public var quantization = QuantizationSettings()

  /// Where each key's value came from (keys set by a recipe, flag or `--set`); see `source(of:)`.
  var sources: [String: ValueSource] = [:]

  public init() {}

  /// Every recipe key, in the order `orpo train --list-keys` prints them. A key is a stored property above and one
  /// row here: reading recipes and overrides, the checks, "did you mean" and the key reference all come from it.
  public static let keys: [ConfigurationKey] = [
    // Model and data
    .init("model", \.model, help: "A Hugging Face model folder or a .gguf file (null: the default SmolLM2-135M-Instruct GGUF)."),
    .init("dataset", \.dataset,
          help: "Training preferences: a .jsonl, .json or .parquet file, a dataset folder (Hub layout), or synthetic for the built-in set."),
    .init("dataset_split", \.datasetSplit,
          help: "The split of a dataset folder, named as the Hub names files (data/train_prefs-00000-of-00001.parquet: train_prefs); default train."),
    .init("dataset_shuffle_seed", \.datasetShuffleSeed, .atLeast(0),
          help: "Shuffle the training set first, as datasets' shuffle(seed=...) (numpy's PCG64)."),
    .init("dataset_num_rows", \.datasetNumRows, .atLeast(1),
          help: "Take this many rows of the training set (datasets' select(range(n)), after the shuffle); with datasets, the mixture's size."),
    .init("column_mapping", \.columnMapping, help: "Rename the data's columns before reading rows, {old: new} (datasets' rename_columns)."),
    .init("datasets", \.datasets,
          help: "Several training sets mixed instead of dataset: each {path, split, column_mapping, shuffle_seed, num_rows or weight}."),
    .init("eval_dataset", \.evalDataset, help: "Held-out preferences for evaluation (a file or a dataset folder)."),
    .init("eval_dataset_split", \.evalDatasetSplit, help: "The split of an eval_dataset folder; default test."),
    .init("test_size", \.testSize, .positive,
          help: "Split off the training data for evaluation: a fraction (< 1) or a number of pairs (>= 1)."),
    .init("synthetic_train_size", \.syntheticTrainSize, .atLeast(1), help: "Built-in synthetic training pairs."),
    .init("synthetic_test_size", \.syntheticTestSize, .atLeast(0), help: "Built-in synthetic held-out pairs."),
    .init("skip_invalid", \.skipInvalid, help: "Skip bad data rows (reported) instead of stopping at the first."),
    .init("chat_template", \.chatTemplate, help: "A file holding a Jinja chat template (default: the tokenizer's)."),
    .init("setup_chat_format", \.setupChatFormat, help: "Add ChatML tokens and template to a base model (TRL's setup_chat_format)."),
    .init("clone_chat_template", \.cloneChatTemplate,
          help: "Copy the chat template, added tokens and EOS of another tokenizer (a folder or Hub id) to the model, embeddings resized to a multiple of 64 (TRL's clone_chat_template)."),
    .init("output_dir", \.outputDir, help: "Where the run writes adapter, metrics, checkpoints and summary."),
    .init("torch_dtype", \.torchDtype, help: "The dtype the base weights are loaded in."),
    .init("device", \.device, help: "Where to compute."),
    .init("tf32", \.tf32, help: "Let CUDA run fp32 matmuls in TF32 (Ampere and newer; no effect on the CPU)."),
    .init("bf16", \.bf16,
          help: "Mixed precision: frozen base in bfloat16, LoRA weights and optimizer state float32, matmuls in bfloat16, loss in float32."),
    .init("fp16", \.fp16, help: "Mixed precision as bf16, in float16, with dynamic loss scaling (PyTorch's GradScaler)."),
    // Method
    .init("method", \.method, help: "The preference-optimisation method."),
    .init("beta", \.beta, .nonNegative, methods: [.orpo, .dpo, .ipo, .simpo, .cpo, .kto],
          help: "ORPO's λ (the weight of the odds-ratio term); the β of DPO, IPO, SimPO, CPO and KTO (reward scale)."),
    .init("beta_end", \.betaEnd, .nonNegative, methods: [.orpo], help: "Anneal λ from beta to this value (needs beta_schedule)."),
    .init("beta_schedule", \.betaSchedule, methods: [.orpo], help: "How λ moves from beta to beta_end over training."),
    .init("disable_prompt_loss", \.disablePromptLoss, methods: [.orpo],
          help: "Restrict the NLL term to the completion (the paper's option; TRL's covers prompt + completion)."),
    .init("loss_type", \.lossType, methods: [.dpo, .cpo],
          help: "dpo: sigmoid, hinge, ipo or robust; cpo: sigmoid, hinge, ipo or simpo (TRL's loss_type)."),
    .init("label_smoothing", \.labelSmoothing, Rule("in [0, 0.5)") { $0 >= 0 && $0 < 0.5 }, methods: [.dpo, .cpo, .simpo],
          help: "Assumed probability that a preference label is flipped (dpo: loss_type robust; cpo/simpo: sigmoid, simpo)."),
    .init("precompute_ref_log_probs", \.precomputeRefLogProbs, methods: [.dpo, .ipo, .kto],
          help: "Score the reference once per data set before training instead of once per batch."),
    .init("simpo_gamma", \.simpoGamma, Rule("a finite number") { $0.isFinite }, methods: [.simpo, .cpo],
          help: "SimPO's target reward margin γ."),
    .init("cpo_alpha", \.cpoAlpha, .nonNegative, methods: [.cpo, .simpo],
          help: "Weight of the chosen answers' NLL (default 1 for cpo, 0 for simpo)."),
    .init("desirable_weight", \.desirableWeight, .positive, methods: [.kto], help: "KTO's weight of desirable answers."),
    .init("undesirable_weight", \.undesirableWeight, .positive, methods: [.kto], help: "KTO's weight of undesirable answers."),
    .init("max_length", \.maxLength, .atLeast(2), help: "Tokens per prompt + completion; longer completions are cut."),
    .init("padding_free", \.paddingFree,
          help: "Compute each prompt once for its chosen and rejected answers, without padding (false: TRL's padded batch)."),
    .init("fused_loss", \.fusedLoss,
          help: "Compute the logits and log-probs a chunk of tokens at a time, again in backward (false: all logits at once)."),
    .init("loss_chunk_size", \.lossChunkSize, .atLeast(1), help: "Tokens per chunk of the fused loss (at least 256 through a frozen float32 output layer, which is computed 8,192 vocabulary ids at a time)."),
    // Optimisation
    .init("finetuning_type", \.finetuningType, help: "Train LoRA adapters or every weight."),
    .init("lora.r", \.lora.rank, .atLeast(1), help: "LoRA rank."),
    .init("lora.lora_alpha", \.lora.alpha, .positive, help: "LoRA scaling numerator (scaling = lora_alpha / r)."),
    .init("lora.lora_dropout", \.lora.dropout, .fraction, help: "Dropout on the adapter's input."),
    .init("lora.target_modules", \.lora.targetModules, help: "The layers that get adapters."),
    .init("lora.use_rslora", \.lora.useRSLoRA, help: "Rank-stabilised scaling, lora_alpha / √r."),
    .init("learning_rate", \.learningRate, .positive, help: "AdamW's peak learning rate."),
    .init("per_device_train_batch_size", \.perDeviceTrainBatchSize, .atLeast(1), help: "Pairs per forward pass in training."),
    .init("per_device_eval_batch_size", \.perDeviceEvalBatchSize, .atLeast(1), help: "Pairs per forward pass in evaluation."),
    .init("eval_max_tokens_per_forward", \.evalMaxTokensPerForward, .atLeast(1),
          help: "Evaluation splits a batch into forwards of at most this many tokens (padding_free; same metrics)."),
    .init("gradient_accumulation_steps", \.gradientAccumulationSteps, .atLeast(1), help: "Batches per optimizer step."),
    .init("num_train_epochs", \.numTrainEpochs, .positive, help: "Passes over the training data (when max_steps is -1)."),
    .init("max_steps", \.maxSteps, Rule("-1 (use num_train_epochs) or at least 1") { $0 == -1 || $0 >= 1 },
          help: "Optimizer steps; -1 runs num_train_epochs."),
    .init("lr_scheduler_type", \.lrSchedulerType, help: "The learning-rate schedule after warm-up."),
    .init("warmup_ratio", \.warmupRatio, .fraction, help: "Warm-up as a fraction of the steps (warmup_steps wins when set)."),
    .init("warmup_steps", \.warmupSteps, .atLeast(0), help: "Warm-up steps."),
    .init("weight_decay", \.weightDecay, .nonNegative, help: "AdamW's decoupled weight decay."),
    .init("adam_beta1", \.adamBeta1, .fraction, help: "AdamW's β1."),
    .init("adam_beta2", \.adamBeta2, .fraction, help: "AdamW's β2."),
    .init("adam_epsilon", \.adamEpsilon, .positive, help: "AdamW's ε."),
    .init("max_grad_norm", \.maxGradNorm, .positive, help: "Clip the gradients' global norm to this."),
    .init("optim", \.optim,
          help: "The optimizer, by transformers' name: adamw_torch_fused (transformers' and TRL's default: PyTorch's fused AdamW kernel), adamw_torch (its single-tensor arithmetic), bitsandbytes' AdamW with 8-bit block-wise states (adamw_8bit; paged_* are the same on the CPU), or GaLore (galore_adamw; galore_adamw_8bit with 8-bit moments)."),
    .init("optim_target_modules", \.optimTargetModules,
          help: "The linear layers GaLore projects: a regular expression over module paths, all-linear, or a list of names or expressions."),
    .init("optim_args", \.optimArgs,
          help: "GaLore's arguments as TRL passes them: \"rank=128,update_proj_gap=200,scale=0.25,proj_type=std\" (these are the defaults)."),
    .init("gradient_checkpointing", \.gradientCheckpointing, help: "Recompute activations in backward to save memory."),
    .init("seed", \.seed, .atLeast(0), help: "Seed of LoRA's initialisation, the data order and the split."),
    .init("shuffle", \.shuffle, help: "Shuffle the training pairs every epoch (false: file order)."),
    // Output
    .init("logging_steps", \.loggingSteps, .atLeast(1), help: "Log averaged metrics every this many steps."),
    .init("probe_pairs", \.probePairs, .atLeast(0),
          help: "Training pairs scored without a graph at every log for the log-prob trend (logps_trend/*, rejected_gained); 0: off."),
    .init("eval_strategy", \.evalStrategy, help: "When to evaluate during training."),
    .init("eval_steps", \.evalSteps, .atLeast(1), help: "Evaluate every this many steps (eval_strategy steps; default logging_steps)."),
    .init("save_steps", \.saveSteps, .atLeast(1), help: "Write a resumable checkpoint every this many steps."),
    .init("save_total_limit", \.saveTotalLimit, .atLeast(1), help: "Keep at most this many checkpoints."),
    .init("report_to", \.reportTo, help: "Where metrics go (one name or a list)."),
    .init("resume_from_checkpoint", \.resumeFromCheckpoint, help: "A checkpoint folder, or latest for this run's newest in output_dir."),
    .init("overwrite_output_dir", \.overwriteOutputDir,
          help: "Replace output_dir when it holds an earlier run (otherwise such a folder is refused)."),
    .init("force_resume", \.forceResume,
          help: "Resume a checkpoint even when its run fingerprint (configuration, data, model) differs from this run's."),
    .init("max_nonfinite_steps", \.maxNonfiniteSteps, .atLeast(1),
          help: "Stop after this many optimizer steps in a row with a NaN or infinite loss or gradient (each is skipped)."),
    .init("threads", \.threads, .atLeast(1), help: "libtorch's intra-op threads (default: libtorch's choice)."),
    .init("ddp_timeout", \.ddpTimeout, .atLeast(1),
          help: "Data parallel: seconds a process waits for the others (rendezvous, each collective) before the run stops."),
    .init("ddp_bucket_cap_mb", \.ddpBucketCapMB, .atLeast(1),
          help: "Data parallel: MiB of gradients per all-reduce bucket, each sent as soon as backward completes it (default: 1 for the first bucket, then 25, as DDP)."),
    .init("average_tokens_across_devices", \.averageTokensAcrossDevices,
          help: "Data parallel: token means (the NLL) over every process's tokens, as on one device (false: each process's own mean, as TRL under accelerate)."),
    // Quantized base weights
    .init("quantization.quant_method", \.quantization.quantMethod,
          help: "How the frozen base weights are held (quantization: gguf for short): gguf keeps a .gguf model's own blocks."),
    .init("quantization.load_in_4bit", \.quantization.loadIn4bit,
          help: "QLoRA: the projections as bitsandbytes' 4-bit blocks, quantized as they load; the rest float32."),
    .init("quantization.load_in_8bit", \.quantization.loadIn8bit, help: "LLM.int8 base weights: not supported (use load_in_4bit)."),
    .init("quantization.bnb_4bit_quant_type", \.quantization.bnb4bitQuantType, help: "The 4-bit data type."),
    .init("quantization.bnb_4bit_use_double_quant", \.quantization.bnb4bitUseDoubleQuant,
          help: "Quantize the block scales too (8 bits in blocks of 256): about 0.4 bit a weight less."),
    .init("quantization.bnb_4bit_compute_dtype", \.quantization.bnb4bitComputeDType,
          help: "The dtype 4-bit layers dequantize to and multiply in."),
  ]

  /// A section that also takes one scalar, as short for one of its keys (`quantization: gguf`).
  static let sectionShorthands: [String: String] = ["quantization": "quantization.quant_method"]

  /// Checks that involve more than one key, or that no single rule says; each blames the key at fault.
  func crossKeyProblem() -> (key: String, problem: String)? {
    if maxSteps == -1 && numTrainEpochs <= 0 { return ("num_train_epochs", "must be positive when max_steps is -1") }
    if betaEnd != nil && betaSchedule == .constant {
      return ("beta_end", "needs beta_schedule linear or cosine (beta_schedule is constant, so beta_end would be ignored)")
    }
    if betaEnd == nil && betaSchedule != .constant {
      return ("beta_schedule", "\(betaSchedule.rawValue) needs beta_end, the λ to anneal to")
    }
    if evalDataset != nil && testSize != nil {
      return ("test_size", "eval_dataset is also set; give one of them")
    }
    if !datasets.isEmpty, let dataset, dataset != "synthetic" {
      return ("datasets", "dataset (\(dataset)) is also set; give one of them")
    }
    let usesBuiltInData = datasets.isEmpty && (dataset == nil || dataset == "synthetic")
    for key in ["dataset_split", "dataset_shuffle_seed", "column_mapping"] + (datasets.isEmpty ? ["dataset_num_rows"] : [])
    where source(of: key) != .builtInDefault && (usesBuiltInData || !datasets.isEmpty) {
      return (key, usesBuiltInData ? "applies to a dataset file or folder, not the built-in synthetic data"
                                   : "applies to dataset; give each entry of datasets its own")
    }
    if cloneChatTemplate != nil && setupChatFormat {
      return ("clone_chat_template", "setup_chat_format is also set; give one of them")
    }
    if evalDatasetSplit != nil && evalDataset == nil {
      return ("eval_dataset_split", "needs eval_dataset, a dataset folder")
    }
    if let problem = methodProblem() { return problem }
    if let problem = quantizationProblem() { return problem }
    if let problem = precisionProblem() { return problem }
    if let problem = optimizerProblem() { return problem }
    return nil
  }

  /// The dtype the frozen base weights are held in: bf16/fp16's low dtype, else torch_dtype.
  public var baseDType: DType { bf16 ? .bfloat16 : fp16 ? .float16 : torchDtype }

  /// The dtype LoRA's matmuls run in under mixed precision (autocast's rule for linear layers); nil: the adapter's.
  public var adapterComputeDType: DType? { bf16 ? .bfloat16 : fp16 ? .float16 : nil }

  /// bf16 / fp16 against each other, torch_dtype and full fine-tuning.
  func precisionProblem() -> (key: String, problem: String)? {
    guard bf16 || fp16 else { return nil }
    let key = bf16 ? "bf16" : "fp16"
    if bf16 && fp16 { return ("fp16", "bf16 is also true; give one of them") }
    if source(of: "torch_dtype") != .builtInDefault && torchDtype != .float32 && torchDtype != baseDType {
      return (key, "torch_dtype is \(torchDtype.recipeText); \(key) holds the base in \(baseDType.recipeText) (leave torch_dtype out)")
    }
    if finetuningType == .full {
      return (key, "needs finetuning_type lora: full fine-tuning would train the weights themselves in \(baseDType.recipeText)")
    }
    return nil
  }

  /// The `quantization:` section's rules, then what quantized weights rule out.
  func quantizationProblem() -> (key: String, problem: String)? {
    let q = quantization
    if q.loadIn8bit {
      return ("quantization.load_in_8bit", "8-bit base weights (LLM.int8) are not supported; use load_in_4bit: true (QLoRA, NF4)")
    }
    if q.loadIn4bit && q.quantMethod == .gguf {
      return ("quantization.load_in_4bit", "quant_method is gguf (the file's own blocks); give one of them")
    }
    if q.quantMethod == .bitsandbytes && !q.loadIn4bit {
      return ("quantization.quant_method", "bitsandbytes needs load_in_4bit: true")
    }
    if !q.loadIn4bit {
      for key in ["quantization.bnb_4bit_quant_type", "quantization.bnb_4bit_use_double_quant", "quantization.bnb_4bit_compute_dtype"]
      where source(of: key) != .builtInDefault {
        return (key, "applies to load_in_4bit: true")
      }
    }
    if weightQuantization.isQuantized && finetuningType == .full {
      let key = q.loadIn4bit ? "quantization.load_in_4bit" : "quantization.quant_method"
      return (key, "quantized base weights are frozen; finetuning_type full trains every weight (use finetuning_type: lora)")
    }
    return nil
  }

  /// The base weights' form the loader builds (`WeightQuantization`).
  public var weightQuantization: WeightQuantization {
    if quantization.loadIn4bit {
      return .fourBit(FourBitConfiguration(type: quantization.bnb4bitQuantType,
                                           doubleQuantization: quantization.bnb4bitUseDoubleQuant,
                                           computeDType: quantization.bnb4bitComputeDType))
    }
    return quantization.quantMethod == .gguf ? .gguf : .none
  }

  /// The method's own rules: which loss types it takes, and keys that only some loss types read.
  func methodProblem() -> (key: String, problem: String)? {
    switch method {
    case .dpo:
      if lossType == .simpo { return ("loss_type", "simpo is CPO's loss (use method: simpo); dpo takes sigmoid, hinge, ipo, robust") }
      if labelSmoothing != 0 && lossType != .robust {
        return ("label_smoothing", "applies to loss_type robust (TRL 1.16's \(lossType.rawValue) loss ignores it)")
      }
    case .cpo:
      if lossType == .robust { return ("loss_type", "robust is DPO's loss; cpo takes sigmoid, hinge, ipo, simpo") }
      if labelSmoothing != 0 && (lossType == .hinge || lossType == .ipo) {
        return ("label_smoothing", "applies to loss_type sigmoid and simpo (the \(lossType.rawValue) loss ignores it)")
      }
      if source(of: "simpo_gamma") != .builtInDefault && lossType != .simpo {
        return ("simpo_gamma", "applies to loss_type simpo (loss_type is \(lossType.rawValue))")
      }
    case .kto:
      if perDeviceTrainBatchSize < 2 {
        return ("per_device_train_batch_size", "must be at least 2 for kto: the KL term pairs each prompt with another row's answer in the batch")
      }
    default:
      break
    }
    return nil
  }

  /// DPOLoss's loss type: `ipo` for method ipo, else `loss_type`.
  public var dpoLossType: DPOLossType { method == .ipo ? .ipo : DPOLossType(rawValue: lossType.rawValue) ?? .sigmoid }
  /// CPOLoss's loss type: `simpo` for method simpo, else `loss_type`.
  public var cpoLossType: CPOLossType { method == .simpo ? .simpo : CPOLossType(rawValue: lossType.rawValue) ?? .sigmoid }
  /// `cpo_alpha`, or the method's default (CPO 1, SimPO 0).
  public var cpoAlphaValue: Double { cpoAlpha ?? (method == .simpo ? 0 : 1) }

  /// The scorer's chunk size: `loss_chunk_size` with the fused loss on, nil (all logits at once) with it off.
  public var scoringChunkSize: Int? { fusedLoss ? lossChunkSize : nil }

  // MARK: Checking

  /// Where the value of `key` came from: the recipe, flag or `--set` that set it, else the built-in default (or
  /// `.code` when a program changed it after loading).
  public func source(of key: String) -> ValueSource {
    if let source = sources[key] { return source }
    guard let row = Self.keys.first(where: { $0.name == key }) else { return .code }
    return row.equal(self, TrainingConfiguration()) ? .builtInDefault : .code
  }

  /// An error about `key`'s value, blaming the place that set it.
  public func error(_ key: String, _ problem: String) -> ConfigurationError {
    ConfigurationError(problem, key: key, source: source(of: key))
  }

  /// Every key's rule, that each key applies to `method`, then the checks across keys.
  public func validate() throws {
    try validate(keys: Self.keys)
  }

  func validate(keys: [ConfigurationKey]) throws {
    for key in keys {
      if let problem = key.problem(self) { throw error(key.name, problem) }
    }
    for key in keys {
      guard let methods = key.methods, !methods.contains(method), source(of: key.name) != .builtInDefault else { continue }
      let takes = keys.filter { $0.methods?.contains(method) == true }.map(\.name)
      throw error(key.name, "does not apply to method \(method.rawValue) (\(method.rawValue) takes "
                    + (takes.isEmpty ? "no method keys" : takes.joined(separator: ", ")) + ")")
    }
    if let (key, problem) = crossKeyProblem() { throw error(key, problem) }
  }

  public static func == (a: TrainingConfiguration, b: TrainingConfiguration) -> Bool {
    keys.allSatisfy { $0.equal(a, b) }
  }

  // MARK: Derived values

  /// Steps per epoch and total optimizer steps (Hugging Face: batches per epoch / accumulation, rounded up).
  public func stepPlan(trainPairs: Int) -> (stepsPerEpoch: Int, totalSteps: Int) {
    let batches = Swift.max(1, (trainPairs + perDeviceTrainBatchSize - 1) / perDeviceTrainBatchSize)
    let perEpoch = Swift.max(1, (batches + gradientAccumulationSteps - 1) / gradientAccumulationSteps)
    let total = maxSteps > 0 ? maxSteps : Int((Double(perEpoch) * numTrainEpochs).rounded(.up))
    return (perEpoch, total)
  }

  public var betaScheduleValue: BetaSchedule {
    guard let end = betaEnd, betaSchedule != .constant else { return BetaSchedule(constant: beta) }
    return BetaSchedule(shape: betaSchedule, start: beta, end: end)
  }

  /// Every key with its value as a recipe writes it, in `keys` order (MLflow's params for a run).
  public var recipeValues: [(key: String, value: String)] {
    Self.keys.map { ($0.name, $0.text(self)) }
  }

  /// The key reference: one line per key with what it takes, its default and what it means.
  public static var keyReference: String {
    let defaults = TrainingConfiguration()
    let width = keys.map(\.name.count).max() ?? 0
    return keys.map { key in
      let methods = key.methods.map { " (" + $0.map(\.rawValue).joined(separator: ", ") + ")" } ?? ""
      return key.name.padding(toLength: width, withPad: " ", startingAt: 0)
        + "  \(key.help)\(methods)\n" + String(repeating: " ", count: width + 2)
        + key.expectation + (key.rule.map { "; must be \($0)" } ?? "") + "; default \(key.text(defaults))"
    }.joined(separator: "\n") + "\n"
  }
}

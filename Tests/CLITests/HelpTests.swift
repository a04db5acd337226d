// HelpTests.swift — the exact `--help` text of every verb (laid out for 100 columns), as swift-argument-parser's
// examples test theirs: a changed flag or description shows up here as a reviewed diff.
import Testing

@Suite(.serialized, .enabled(if: OrpoProcess.executable != nil, "the orpo executable is not built beside the tests"))
struct HelpTests {
  /// `orpo VERB --help` prints `expected` exactly, on stdout, with exit status 0.
  func expectHelp(_ verb: [String], _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let run = try OrpoProcess.run(verb + ["--help"])
    #expect(run.status == 0 && run.errors.isEmpty, sourceLocation: sourceLocation)
    #expect(run.output == expected, sourceLocation: sourceLocation)
  }

  @Test func root() throws {
    try expectHelp([], """
    OVERVIEW: Fine-tune open-weight LLMs with ORPO (odds ratio preference optimization) on libtorch.

    USAGE: orpo <subcommand>

    OPTIONS:
      --version               Show the version.
      -h, --help              Show help information.

    SUBCOMMANDS:
      train                   Fine-tune with ORPO, or a baseline (--method), the default run when given
                              no arguments.
      evaluate                ORPO loss, TRL's metrics and preference accuracy over a data set (no
                              training).
      generate                Generate text with a model, printing it as it is produced.
      export                  Export a LoRA adapter as a PEFT folder, or merge it into the base model
                              as a Hugging Face folder or a GGUF file.
      inspect                 Describe a model: architecture, parameters, dtypes, vocabulary, special
                              tokens, chat template, RoPE.
      data                    Preference data: generate the built-in set, or check a file.
      curate                  Curate preference data: import prompts, generate candidates, annotate in
                              a browser, export.
      bench                   Benchmarks (matmul throughput through the Swift API; ORPO steps on the
                              default workload).
      rouge                   Mean ROUGE-1/2/L F-measures of predictions against references
                              (rouge-score's tokenizer and stemmer).
      compare                 Compare the base model, SFT, ORPO and SFT → DPO: accuracy, NLL, ROUGE and
                              training cost.
      plot                    Plot the training curves of run folders (metrics.jsonl) as SVG charts,
                              one per metric.
      doctor                  Diagnose an ORPO run from its folder: weak preference term, flat
                              accuracy, falling log-probs, and more.
      sweep                   Train the recipe once per value of one key (--set beta=0.05,0.1,0.2) and
                              compare them on held-out pairs.
      judge                   Judge two runs' answers with a model: win/tie/loss of A against B, both
                              orders per prompt.
      env                     Show libtorch's version, threads, devices, CUDA and where the default
                              model is.
      selftest                Check a device: logits, loss and gradients against the CPU, bf16,
                              checkpointing, attention kernel, resume, matmul peak.
      demo                    Fit a line with libtorch autograd from Swift.

      See 'orpo help <subcommand>' for detailed help.

    """)
  }

  @Test func doctor() throws {
    try expectHelp(["doctor"], """
    OVERVIEW: Diagnose an ORPO run from its folder: weak preference term, flat accuracy, falling
    log-probs, and more.

    Reads RUN_DIR/metrics.jsonl, and summary.json and run.json when present. Findings: non_finite,
    weak_preference_term, flat_accuracy, both_logps_falling, rising_eval_loss, truncation,
    lambda_schedule.

    USAGE: orpo doctor <run-dir> [--json]

    ARGUMENTS:
      <run-dir>               A run folder (output_dir of orpo train), finished or still running.

    OPTIONS:
      --json                  Print {"findings": [...]} as one JSON object.
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func sweep() throws {
    try expectHelp(["sweep"], """
    OVERVIEW: Train the recipe once per value of one key (--set beta=0.05,0.1,0.2) and compare them on
    held-out pairs.

    Exactly one --set lists several values, separated by commas; the other --set and flags apply to
    every run. Runs go to OUTPUT_DIR/<key>-<value>/ (each with its metrics, adapter and summary, as
    orpo train writes them), one after the other. Each trained model is measured on the held-out pairs:
    preference accuracy and margin, NLL of the chosen answers, and ROUGE-1/2/L of greedy answers to the
    first --generations prompts (0: no ROUGE). The table goes to stdout and OUTPUT_DIR/sweep.json.

    USAGE: orpo sweep --set KEY=V1,V2,... [--set KEY=VALUE ...] [--model M] [--max-steps N] [<options>]

    OPTIONS:
      --config <config>       A YAML recipe (default: the built-in default recipe).
      --model <model>         Model: a Hugging Face folder or a .gguf file (default: the recipe's, or
                              the default model).
      --set <key=value>       A recipe key, as KEY=VALUE or KEY=V1,V2,... for the swept one
                              (repeatable).
      --max-steps <max-steps> Optimizer steps per run (default: the recipe's).
      --device <device>       Where to train and evaluate every run: cpu, cuda or cuda:N (default: the
                              recipe's device, cpu).
      --output-dir <output-dir>
                              Where the runs and sweep.json go. (default: runs/sweep)
      --generations <generations>
                              Held-out prompts answered greedily for ROUGE (0: no generation).
                              (default: 16)
      --max-new-tokens <max-new-tokens>
                              Longest generated answer, in tokens. (default: 48)
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func train() throws {
    try expectHelp(["train"], """
    OVERVIEW: Fine-tune with ORPO, or a baseline (--method), the default run when given no arguments.

    Recipe keys follow TRL / Hugging Face TrainingArguments; --list-keys prints them all. Flags
    override the recipe, and --set KEY=VALUE (applied last, in order) reaches any key: --set lora.r=8.

    USAGE: orpo train <options>

    MODEL:
      --model <model>         A Hugging Face model folder, a .gguf file, or a Hub id
                              org/name[@revision] (from the Hugging Face cache, downloaded when
                              missing; default: SmolLM2-135M-Instruct from `make setup`).
      --chat-template <chat-template>
                              A file holding a Jinja chat template, used instead of the model's own.
      --dtype <dtype>         The weights' dtype (default float32). (values: float32, bfloat16, float16)
      --device <device>       Where to compute: cpu, cuda or cuda:N (default cpu).

    DATA:
      --data <data>           Preference data: a .jsonl, .json or .parquet file, a dataset folder (Hub
                              layout), or synthetic for the built-in set (the default).
      --split <split>         The split of a dataset folder (Hub file names:
                              data/train_prefs-00000-of-00001.parquet is train_prefs).
      --skip-invalid          Skip bad data rows (reported) instead of stopping at the first.
      --max-length <max-length>
                              Tokens per prompt + completion (default 1024; longer completions are cut).

    OPTIONS:
      --config <config>       A YAML recipe (default: the built-in default recipe).
      --eval-data <eval-data> Held-out preferences for evaluation (a file or a dataset folder).
                              (eval_dataset)
      --output-dir <output-dir>
                              Where the run writes adapter, metrics, checkpoints and summary.
                              (output_dir)
      --learning-rate <learning-rate>
                              AdamW's peak learning rate. (learning_rate)
      --method <method>       The preference-optimisation method. (method) (values: orpo, sft, dpo,
                              ipo, simpo, cpo, kto)
      --beta <beta>           ORPO's λ (the weight of the odds-ratio term); the β of DPO, IPO, SimPO,
                              CPO and KTO (reward scale). (beta)
      --max-steps <max-steps> Optimizer steps; -1 runs num_train_epochs. (max_steps)
      --num-train-epochs <num-train-epochs>
                              Passes over the training data (when max_steps is -1). (num_train_epochs)
      --per-device-train-batch-size <per-device-train-batch-size>
                              Pairs per forward pass in training. (per_device_train_batch_size)
      --gradient-accumulation-steps <gradient-accumulation-steps>
                              Batches per optimizer step. (gradient_accumulation_steps)
      --seed <seed>           Seed of LoRA's initialisation, the data order and the split. (seed)
      --logging-steps <logging-steps>
                              Log averaged metrics every this many steps. (logging_steps)
      --save-steps <save-steps>
                              Write a resumable checkpoint every this many steps. (save_steps)
      --resume-from-checkpoint <resume-from-checkpoint>
                              A checkpoint folder, or latest for this run's newest in output_dir.
                              (resume_from_checkpoint)
      --overwrite-output-dir  Replace output_dir when it holds an earlier run (otherwise such a folder
                              is refused). (overwrite_output_dir)
      --force-resume          Resume a checkpoint even when its run fingerprint (configuration, data,
                              model) differs from this run's. (force_resume)
      --set <key=value>       Any recipe key, as KEY=VALUE (repeatable).
      --nproc-per-node <N>    Data parallel on this machine: start N worker processes with torchrun's
                              environment (RANK, WORLD_SIZE, MASTER_ADDR, ...); each takes its share of
                              every batch (global batch = per-device batch × N × accumulation).
      --list-keys             Print every recipe key with its type, default and meaning, and exit.
      --dry-run               Check the recipe against the model's config.json (no weights or data
                              read), print parameter counts and the estimated peak memory, and exit.
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func evaluate() throws {
    try expectHelp(["evaluate"], """
    OVERVIEW: ORPO loss, TRL's metrics and preference accuracy over a data set (no training).

    Without --data, the built-in held-out set (200 pairs whose questions the default run never trains
    on). With --per-device-eval-batch-size at least the number of pairs, the numbers equal TRL's
    trainer.evaluate() on the same model and data.

    USAGE: orpo evaluate [<options>]

    MODEL:
      --model <model>         A Hugging Face model folder, a .gguf file, or a Hub id
                              org/name[@revision] (from the Hugging Face cache, downloaded when
                              missing; default: SmolLM2-135M-Instruct from `make setup`).
      --chat-template <chat-template>
                              A file holding a Jinja chat template, used instead of the model's own.
      --dtype <dtype>         The weights' dtype (default float32). (values: float32, bfloat16, float16)
      --device <device>       Where to compute: cpu, cuda or cuda:N (default cpu).
      --adapter <adapter>     A PEFT LoRA adapter folder (adapter_config.json +
                              adapter_model.safetensors).

    DATA:
      --data <data>           Preference data: a .jsonl, .json or .parquet file, a dataset folder (Hub
                              layout), or synthetic for the built-in set (the default).
      --split <split>         The split of a dataset folder (Hub file names:
                              data/train_prefs-00000-of-00001.parquet is train_prefs).
      --skip-invalid          Skip bad data rows (reported) instead of stopping at the first.
      --max-length <max-length>
                              Tokens per prompt + completion (default 1024; longer completions are cut).

    OPTIONS:
      --beta <beta>           ORPO's λ. (default: 0.1)
      --per-device-eval-batch-size <per-device-eval-batch-size>
                              Pairs per forward pass. (default: 8)
      --padding-free          Share each prompt between chosen and rejected, no padding (faster;
                              logits/* over real tokens only).
      --generations <generations>
                              Answer this many held-out prompts greedily and score them with ROUGE
                              against the chosen answers. (default: 0)
      --max-new-tokens <max-new-tokens>
                              Longest generated answer, in tokens. (default: 48)
      --samples <samples>     Print this many of the generations beside their reference answers.
                              (default: 0)
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func generate() throws {
    try expectHelp(["generate"], """
    OVERVIEW: Generate text with a model, printing it as it is produced.

    --prompt sends raw text (the tokenizer adds its usual special tokens, e.g. BOS); --chat sends a
    user message through the model's chat template, ending with the assistant's generation prompt.
    --temperature 0 is greedy.

    USAGE: orpo generate <options>

    MODEL:
      --model <model>         A Hugging Face model folder, a .gguf file, or a Hub id
                              org/name[@revision] (from the Hugging Face cache, downloaded when
                              missing; default: SmolLM2-135M-Instruct from `make setup`).
      --chat-template <chat-template>
                              A file holding a Jinja chat template, used instead of the model's own.
      --dtype <dtype>         The weights' dtype (default float32). (values: float32, bfloat16, float16)
      --device <device>       Where to compute: cpu, cuda or cuda:N (default cpu).
      --adapter <adapter>     A PEFT LoRA adapter folder (adapter_config.json +
                              adapter_model.safetensors).

    OPTIONS:
      --prompt <prompt>       Raw text to continue.
      --chat <chat>           A user message, rendered with the model's chat template.
      --system <system>       A system message to put before --chat.
      --max-new-tokens <max-new-tokens>
                              New tokens to generate, at most. (default: 128)
      --temperature <temperature>
                              Sampling temperature; 0 picks the most likely token every time. (default:
                              0.7)
      --top-p <top-p>         Nucleus sampling: keep the smallest set of tokens whose probability
                              exceeds P (1 = off). (default: 1.0)
      --top-k <top-k>         Keep only the K most likely tokens (0 = off). (default: 0)
      --seed <seed>           Random seed for sampling. (default: 0)
      --ignore-eos            Keep going past the model's end-of-sequence token (always make
                              --max-new-tokens tokens; for benchmarks).
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func export() throws {
    try expectHelp(["export"], """
    OVERVIEW: Export a LoRA adapter as a PEFT folder, or merge it into the base model as a Hugging Face
    folder or a GGUF file.

    Without --merge, the adapter in --adapter is checked against --model (every tensor must fit a
    layer) and written again to --out as adapter_config.json (base_model_name_or_path = --model) and
    adapter_model.safetensors, which peft.PeftModel.from_pretrained loads.
    With --merge, W + scaling·B·A is written for every adapted layer, with config.json,
    generation_config.json and the tokenizer (copied from a Hugging Face folder, written as
    tokenizer.json from a GGUF file), for AutoModelForCausalLM / AutoTokenizer.from_pretrained. Without
    --adapter, --merge converts the model as it is (e.g. a GGUF file to a Hugging Face folder).
    --dtype is the dtype of the written weights (merging is done in float32). The output appears whole
    or not at all; an existing --out is replaced only if it is empty or an earlier export of the same
    kind.
    With --merge --format gguf, --out is one GGUF file for llama.cpp, Ollama or LM Studio: llama.cpp's
    tensor names and metadata (Llama, Mistral, SmolLM2, Qwen2, Qwen3, Phi-3, Gemma 3), the tokenizer
    metadata of the GGUF model it was read from, or a Hugging Face folder's byte-level BPE
    tokenizer.json converted as llama.cpp's convert_hf_to_gguf.py does (tokenizer.ggml.pre by
    llama.cpp's checksum of the tokenizer), the 2-D weights in --quant: f32, f16, bf16, q8_0, q4_0, or
    q4_k_m (llama-quantize's Q4_K_M mixture of Q4_K, Q6_K and, for rows not a multiple of 256,
    Q5_0/Q8_0), bit-identical to gguf-py's and ggml's reference quantizers; norms stay f32.

    USAGE: orpo export --out <out> (--adapter <adapter> | --merge [--format gguf [--quant <quant>]]) [<options>]

    MODEL:
      --model <model>         A Hugging Face model folder, a .gguf file, or a Hub id
                              org/name[@revision] (from the Hugging Face cache, downloaded when
                              missing; default: SmolLM2-135M-Instruct from `make setup`).
      --chat-template <chat-template>
                              A file holding a Jinja chat template, used instead of the model's own.
      --dtype <dtype>         The weights' dtype (default float32). (values: float32, bfloat16, float16)
      --device <device>       Where to compute: cpu, cuda or cuda:N (default cpu).
      --adapter <adapter>     A PEFT LoRA adapter folder (adapter_config.json +
                              adapter_model.safetensors).

    OPTIONS:
      --out <out>             Output folder (a .gguf file with --format gguf).
      --merge                 Merge the adapter into the base weights and write a full model folder.
      --format <format>       What --merge writes: hf (a Hugging Face folder) or gguf (one file).
                              (values: hf, gguf; default: hf)
      --quant <quant>         The GGUF weights' type, with --format gguf (default f16). (values: f32,
                              f16, bf16, q8_0, q4_0, q4_k_m)
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func inspect() throws {
    try expectHelp(["inspect"], """
    OVERVIEW: Describe a model: architecture, parameters, dtypes, vocabulary, special tokens, chat
    template, RoPE.

    USAGE: orpo inspect <path> [--json]

    ARGUMENTS:
      <path>                  A Hugging Face model folder, a .gguf file, or a Hub id
                              org/name[@revision] (from the Hugging Face cache, downloaded when
                              missing).

    OPTIONS:
      --json                  Print one JSON object.
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func data() throws {
    try expectHelp(["data"], """
    OVERVIEW: Preference data: generate the built-in set, or check a file.

    USAGE: orpo data <subcommand>

    OPTIONS:
      --version               Show the version.
      -h, --help              Show help information.

    SUBCOMMANDS:
      synth                   Write the built-in synthetic preference data (train.jsonl, test.jsonl,
                              manifest, README).
      check                   Read a preference file (or a dataset folder's split) and report its rows
                              and any errors.

      See 'orpo help data <subcommand>' for detailed help.

    """)
  }

  @Test func dataSynth() throws {
    try expectHelp(["data", "synth"], """
    OVERVIEW: Write the built-in synthetic preference data (train.jsonl, test.jsonl, manifest, README).

    USAGE: orpo data synth --out <out> [--seed <seed>] [--train <train>] [--test <test>]

    OPTIONS:
      --out <out>             Output folder.
      --seed <seed>           Seed of the train split (the test split uses seed + 1). (default: 1234)
      --train <train>         Training pairs. (default: 2000)
      --test <test>           Held-out pairs (questions never seen in train). (default: 200)
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func dataCheck() throws {
    try expectHelp(["data", "check"], """
    OVERVIEW: Read a preference file (or a dataset folder's split) and report its rows and any errors.

    USAGE: orpo data check <file> [--split <split>] [--skip-invalid]

    ARGUMENTS:
      <file>                  A .jsonl, .json or .parquet file, or a dataset folder (Hub layout).

    OPTIONS:
      --split <split>         The split of a dataset folder (default: train).
      --skip-invalid          Report every bad row instead of stopping at the first.
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func curate() throws {
    try expectHelp(["curate"], """
    OVERVIEW: Curate preference data: import prompts, generate candidates, annotate in a browser,
    export.

    A typical loop, one SQLite database per project:
      orpo curate import --db prefs.db --data prompts.jsonl
      orpo curate generate --db prefs.db --candidates 2 --temperature 0.8
      orpo curate add-annotator --db prefs.db alice          (optional: per-annotator tokens)
      orpo curate serve --db prefs.db                        (open the printed address)
      orpo curate stats --db prefs.db
      orpo curate export --db prefs.db --out prefs.jsonl --min-annotations 2
      orpo train --data prefs.jsonl

    USAGE: orpo curate <subcommand>

    OPTIONS:
      --version               Show the version.
      -h, --help              Show help information.

    SUBCOMMANDS:
      import                  Add prompts (and candidates made elsewhere) to a curation database,
                              creating it if needed.
      generate                Sample candidate responses for every prompt that has fewer than
                              --candidates from this model.
      serve                   Serve the comparison page and its JSON API (Ctrl-C stops).
      add-annotator           Create an annotator with their own token (printed once).
      judge                   Let a local model answer every pair it has not seen, as one more
                              annotator.
      stats                   Per-annotator counts, pairwise agreement, Cohen's kappa (two annotators)
                              or Fleiss' kappa (more).
      export                  Write the agreed pairs as conversational preference rows (JSON Lines)
                              that `orpo train --data` reads.

      See 'orpo help curate <subcommand>' for detailed help.

    """)
  }

  @Test func bench() throws {
    try expectHelp(["bench"], """
    OVERVIEW: Benchmarks (matmul throughput through the Swift API; ORPO steps on the default workload).

    USAGE: orpo bench <subcommand>

    OPTIONS:
      --version               Show the version.
      -h, --help              Show help information.

    SUBCOMMANDS:
      matmul                  fp32 (or bf16) square matmul GFLOP/s through the Swift Tensor API.
      train                   Seconds per ORPO step, pairs/s, tokens/s, FLOPs and MFU on the default
                              workload (no files; evaluation with --eval-pairs).
      memory                  Peak memory and s/step of f32 LoRA, bf16 LoRA, QLoRA, QLoRA + 8-bit AdamW
                              + checkpointing and GaLore, each in its own process.

      See 'orpo help bench <subcommand>' for detailed help.

    """)
  }

  @Test func benchMatmul() throws {
    try expectHelp(["bench", "matmul"], """
    OVERVIEW: fp32 (or bf16) square matmul GFLOP/s through the Swift Tensor API.

    USAGE: orpo bench matmul [--size <size>] [--repeats <repeats>] [--dtype <dtype>] [--device <device>]

    OPTIONS:
      --size <size>           Matrix size n (n×n · n×n). (default: 2048)
      --repeats <repeats>     Timed repetitions (the median and the fastest are reported). (default: 10)
      --dtype <dtype>         The matrices' dtype (default float32). (values: float32, bfloat16,
                              float16)
      --device <device>       Where to compute: cpu, cuda or cuda:N (default cpu).
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func benchTrain() throws {
    try expectHelp(["bench", "train"], """
    OVERVIEW: Seconds per ORPO step, pairs/s, tokens/s, FLOPs and MFU on the default workload (no
    files; evaluation with --eval-pairs).

    FLOPs are the matmul work of the positions the layout computes (each prompt once with prompt
    sharing, every padded position with --padded) and the causal attention they need, forward and
    backward, without gradient checkpointing's recomputation. MFU divides their rate by the matmul peak
    measured in the same process (the faster of a measurement before the timed steps and one after
    them, so that a slow moment does not inflate it). The run logs nothing, saves nothing and scores no
    probe pairs (probe_pairs: 0): it times the training work TRL's trainer does.

    USAGE: orpo bench train [<options>]

    MODEL:
      --model <model>         A Hugging Face model folder, a .gguf file, or a Hub id
                              org/name[@revision] (from the Hugging Face cache, downloaded when
                              missing; default: SmolLM2-135M-Instruct from `make setup`).
      --chat-template <chat-template>
                              A file holding a Jinja chat template, used instead of the model's own.
      --dtype <dtype>         The weights' dtype (default float32). (values: float32, bfloat16, float16)
      --device <device>       Where to compute: cpu, cuda or cuda:N (default cpu).

    DATA:
      --data <data>           Preference data: a .jsonl, .json or .parquet file, a dataset folder (Hub
                              layout), or synthetic for the built-in set (the default).
      --split <split>         The split of a dataset folder (Hub file names:
                              data/train_prefs-00000-of-00001.parquet is train_prefs).
      --skip-invalid          Skip bad data rows (reported) instead of stopping at the first.
      --max-length <max-length>
                              Tokens per prompt + completion (default 1024; longer completions are cut).

    OPTIONS:
      --per-device-train-batch-size <per-device-train-batch-size>
                              Pairs per forward pass (default: the recipe's).
      --lora-r <lora-r>       LoRA rank (default: the recipe's).
      --steps <steps>         Timed steps (after warm-up). (default: 10)
      --warmup <warmup>       Warm-up steps excluded from the timing. (default: 2)
      --padded                TRL's padded batch instead of prompt sharing.
      --eval-pairs <pairs>    Then evaluate this many held-out pairs (the recipe's evaluation,
                              per_device_eval_batch_size pairs a forward) and print its tokens/s beside
                              training's (0: no evaluation). (default: 0)
      --set <key=value>       Any recipe key, as KEY=VALUE (repeatable).
      --random-weights <config>
                              Train a model of this config.json's shape (a file or its folder) with
                              random weights, with the recipe model's tokenizer.
      --json                  Print one JSON object.
      --profile               Also list the operators that took the timed steps' time: seconds per step
                              in each (self, without the operators it called; total) and calls per step.
      --profile-shapes        --profile with matrix products told apart by their operands' shapes
                              (recording them slows the run).
      --profile-rows <n>      Operators --profile lists, for the timed steps and for the evaluation
                              alike. (default: 40)
      --compare-trl <python>  Then run TRL's ORPO trainer on the same workload with this Python
                              (reference/trl_bench.py; TRL, peft and transformers installed) and print
                              the ratios.
      --rounds <n>            With --compare-trl: time ours and TRL's this many times, alternating, and
                              give each round's pairs/s ratio and their median (a fresh run of ours
                              each round). (default: 1)
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func benchMemory() throws {
    try expectHelp(["bench", "memory"], """
    OVERVIEW: Peak memory and s/step of f32 LoRA, bf16 LoRA, QLoRA, QLoRA + 8-bit AdamW + checkpointing
    and GaLore, each in its own process.

    USAGE: orpo bench memory [--model PATH] [--data FILE] [--steps N] [--json]

    OPTIONS:
      --model <model>         A Hugging Face model folder or a .gguf file (default:
                              SmolLM2-135M-Instruct from `make setup`).
      --data <data>           Preference data (a file or a dataset folder; default: the built-in
                              synthetic pairs).
      --steps <steps>         Timed steps per set-up (after one warm-up step). (default: 3)
      --device <device>       Where to compute: cpu, cuda or cuda:N (default cpu).
      --only <names>          Run only these set-ups (comma-separated names).
      --set <key=value>       A recipe key for every set-up, as KEY=VALUE (repeatable).
      --json                  Print one JSON object {set-up: {peak_rss_mib, s_per_step, …} or {error}}.
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func rouge() throws {
    try expectHelp(["rouge"], """
    OVERVIEW: Mean ROUGE-1/2/L F-measures of predictions against references (rouge-score's tokenizer
    and stemmer).

    Each file holds one text per line, or, when its name ends in .jsonl, one JSON object per line with
    a "text" field. Line i of the predictions is scored against line i of the references. Prints
    {"rouge1": …, "rouge2": …, "rougeL": …}: the mean F-measures over all pairs.

    USAGE: orpo rouge --predictions <predictions> --references <references>

    OPTIONS:
      --predictions <predictions>
                              The generated texts.
      --references <references>
                              The reference texts, one per prediction.
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func compare() throws {
    try expectHelp(["compare"], """
    OVERVIEW: Compare the base model, SFT, ORPO and SFT → DPO: accuracy, NLL, ROUGE and training cost.

    Every training stage starts from the same recipe (default: the built-in default recipe; --config
    FILE) with the same step budget (--max-steps); SFT → DPO trains DPO's adapter on the SFT-merged
    weights. All models are measured on the same held-out pairs: preference accuracy and margin
    (overall and per family), NLL of the chosen answers, ROUGE-1/2/L of greedy answers against them.
    Writes DIR/report.json, report.md, report.html, and each stage's metrics.jsonl under DIR/<stage>/.

    USAGE: orpo compare --output-dir <output-dir> [<options>]

    OPTIONS:
      --model <model>         Model: a Hugging Face folder or a .gguf file (default: the recipe's, or
                              the default model).
      --data <data>           Training preferences (.jsonl, .json, .parquet), or 'synthetic' (default:
                              the recipe's).
      --eval-data <eval-data> Held-out preferences (default: the recipe's; the built-in set has its
                              own).
      --max-steps <max-steps> Optimizer steps per training stage (SFT → DPO runs two stages).
      --config <config>       A YAML recipe for every stage (default: the built-in default recipe).
      --output-dir <output-dir>
                              Where the reports and the stages' runs go.
      --generations <generations>
                              Held-out prompts answered greedily for ROUGE (0: no generation).
                              (default: 64)
      --max-new-tokens <max-new-tokens>
                              Longest generated answer, in tokens. (default: 48)
      --samples <samples>     Generations shown side by side in the report. (default: 6)
      --device <device>       Where to train and evaluate every stage: cpu, cuda or cuda:N (default:
                              the recipe's device, cpu).
      --set <set>             Any recipe key, as KEY=VALUE (repeatable).
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func plot() throws {
    try expectHelp(["plot"], """
    OVERVIEW: Plot the training curves of run folders (metrics.jsonl) as SVG charts, one per metric.

    USAGE: orpo plot <runs> ... [--metric <metric> ...] [--output-dir <output-dir>]

    ARGUMENTS:
      <runs>                  Run folders (each holding metrics.jsonl), e.g. runs/default or a compare
                              stage folder.

    OPTIONS:
      --metric <metric>       A metric to plot (repeatable; default: loss, nll_loss, log_odds_ratio,
                              rewards/margins, rewards/accuracies, eval_accuracy).
      --output-dir <output-dir>
                              Where the SVG files go. (default: plots)
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func judge() throws {
    try expectHelp(["judge"], """
    OVERVIEW: Judge two runs' answers with a model: win/tie/loss of A against B, both orders per
    prompt.

    A and B are run folders holding generations.jsonl (orpo compare writes one per pipeline: DIR/orpo,
    DIR/sft_dpo, …) or such files; their prompts must match line for line. The judge reads each prompt
    with A's answer first, then B's first, and compares its next-token scores for "1" and "2": A wins a
    prompt when it is preferred in both orders, loses when B is, and ties when the preference follows
    the position. Prints one JSON object with the counts, A's win rate ((wins + ties/2) / prompts) and
    its 95% confidence interval.

    USAGE: orpo judge --a <run-or-file> --b <run-or-file> [<options>]

    JUDGE MODEL:
      --model <model>         A Hugging Face model folder, a .gguf file, or a Hub id
                              org/name[@revision] (from the Hugging Face cache, downloaded when
                              missing; default: SmolLM2-135M-Instruct from `make setup`).
      --chat-template <chat-template>
                              A file holding a Jinja chat template, used instead of the model's own.
      --dtype <dtype>         The weights' dtype (default float32). (values: float32, bfloat16, float16)
      --device <device>       Where to compute: cpu, cuda or cuda:N (default cpu).

    OPTIONS:
      --a <a>                 Run A: a run folder with generations.jsonl, or the file.
      --b <b>                 Run B: a run folder with generations.jsonl, or the file.
      --limit <limit>         Judge only the first N prompts.
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func env() throws {
    try expectHelp(["env"], """
    OVERVIEW: Show libtorch's version, threads, devices, CUDA and where the default model is.

    USAGE: orpo env [--json]

    OPTIONS:
      --json                  Print as one JSON object.
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func selftest() throws {
    try expectHelp(["selftest"], """
    OVERVIEW: Check a device: logits, loss and gradients against the CPU, bf16, checkpointing,
    attention kernel, resume, matmul peak.

    USAGE: orpo selftest [--device <device>] [--json]

    OPTIONS:
      --device <device>       The device to check: cpu, cuda or cuda:N (default cuda when CUDA is
                              usable, else cpu).
      --json                  Print one JSON object instead of one line per check.
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }

  @Test func demo() throws {
    try expectHelp(["demo"], """
    OVERVIEW: Fit a line with libtorch autograd from Swift.

    USAGE: orpo demo [--steps <steps>]

    OPTIONS:
      --steps <steps>         Gradient-descent steps. (default: 200)
      --version               Show the version.
      -h, --help              Show help information.


    """)
  }
}

#!/usr/bin/env python3
"""TRL's ORPO trainer + peft LoRA on one workload, timed: what `orpo bench train --compare-trl PYTHON` runs beside
itself and divides by. Not a fixture script: it prints numbers, it dumps nothing.

Pinned versions: reference/requirements.txt (TRL 1.16.0, transformers 5.23.0, peft 0.21.2, torch 2.15.0); on the GPU
machine torch 2.11 is preinstalled and TRL comes as a wheel. Adapted from the project's anchor benchmark
(shared reference trl_orpo_cpu.py): steps are timed between `on_step_end` callbacks, the first --warmup excluded;
tokens are the real (non-pad) tokens of chosen + rejected, as TRL's batch holds them.

The last stdout line is one JSON object: seconds_per_step, pairs_per_second, tokens_per_second,
padded_positions_per_second, peak_rss_mib, peak_device_mib (CUDA), final_loss, versions.

Example:
  python reference/trl_bench.py --model HF_FOLDER --train train.jsonl --steps 10 --warmup 2 \
      --batch-size 4 --max-length 256 --lora-r 16
"""
import argparse
import json
import resource
import statistics
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="a Hugging Face model folder")
    ap.add_argument("--train", required=True, help="preference rows, JSON lines (prompt, chosen, rejected)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps")
    ap.add_argument("--warmup", type=int, default=2, help="steps before the timed ones")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--gradient-accumulation-steps", type=int, default=1)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--lora-alpha", type=float, default=32)
    ap.add_argument("--lora-dropout", type=float, default=0.0)
    ap.add_argument("--target-modules", default="q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj")
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--learning-rate", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--fp16", action="store_true")
    ap.add_argument("--gradient-checkpointing", action="store_true")
    ap.add_argument("--output-dir", default="/tmp/orpo-trl-bench")
    args = ap.parse_args()

    import torch
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    import peft
    import transformers
    import trl
    from datasets import load_dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl.experimental.orpo import ORPOConfig, ORPOTrainer

    cuda = args.device.startswith("cuda")
    tok = AutoTokenizer.from_pretrained(args.model)
    # With --bf16 the base is loaded in bfloat16, as the bf16 recipes load it (and as `bf16: true` holds ours): frozen
    # bf16 weights, peft's adapters in float32 (its autocast_adapter_dtype), autocast for the products. Otherwise
    # float32 (fp16 too: the Trainer's GradScaler runs over a float32 model).
    dtype = torch.bfloat16 if args.bf16 else torch.float32
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype).to(args.device)
    train = load_dataset("json", data_files=args.train, split="train")
    train = train.select_columns([c for c in ("prompt", "chosen", "rejected") if c in train.column_names])

    peft_config = LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout, bias="none",
                             task_type="CAUSAL_LM", target_modules=args.target_modules.split(","))
    cfg = ORPOConfig(
        output_dir=args.output_dir, beta=args.beta, learning_rate=args.learning_rate,
        per_device_train_batch_size=args.batch_size, gradient_accumulation_steps=args.gradient_accumulation_steps,
        max_length=args.max_length, max_steps=args.steps + args.warmup, logging_steps=1, report_to="none",
        eval_strategy="no", save_strategy="no", seed=args.seed, data_seed=args.seed,
        bf16=args.bf16, fp16=args.fp16, use_cpu=not cuda, gradient_checkpointing=args.gradient_checkpointing,
        remove_unused_columns=False, dataloader_num_workers=0, disable_tqdm=True,
    )

    class Counted(ORPOTrainer):
        real = 0
        padded = 0

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if model.training:
                c, r = inputs["chosen_attention_mask"], inputs["rejected_attention_mask"]
                Counted.real += int(c.sum()) + int(r.sum())
                Counted.padded += 2 * c.shape[0] * max(c.shape[1], r.shape[1])
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    class Timer(TrainerCallback):
        def __init__(self):
            self.steps = []  # (wall seconds, real tokens, padded positions) per step
            self.last = (0, 0)
            self.t = None

        def on_step_begin(self, a, state, control, **kw):
            if self.t is None:
                if cuda:
                    torch.cuda.synchronize()
                self.t = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):
            if cuda:
                torch.cuda.synchronize()
            now = time.perf_counter()
            self.steps.append((now - self.t, Counted.real - self.last[0], Counted.padded - self.last[1]))
            self.last = (Counted.real, Counted.padded)
            self.t = now

    timer = Timer()
    trainer = Counted(model=model, args=cfg, train_dataset=train, processing_class=tok, peft_config=peft_config,
                      callbacks=[timer])
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    timed = timer.steps[args.warmup:]
    seconds = sum(s for s, _, _ in timed)
    pairs = args.batch_size * args.gradient_accumulation_steps * len(timed)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    out = {
        "bench": "trl_orpo", "device": args.device, "steps": len(timed),
        "seconds_per_step": round(seconds / len(timed), 3),
        "median_seconds_per_step": round(statistics.median(s for s, _, _ in timed), 3),
        "pairs_per_second": round(pairs / seconds, 3),
        "tokens_per_second": round(sum(t for _, t, _ in timed) / seconds, 1),
        "padded_positions_per_second": round(sum(p for _, _, p in timed) / seconds, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0),
        "final_loss": losses[-1] if losses else None, "threads": torch.get_num_threads(),
        "versions": {"trl": trl.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
                     "torch": torch.__version__},
    }
    if cuda:
        out["peak_device_mib"] = round(torch.cuda.max_memory_allocated() / 1048576)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""TRL 1.16 ORPO on a tiny random Llama, for Tests/TrainingTests/Fixtures/orpo/.

Writes: the base model (config.json, model.safetensors), the tokenizer (a 900-token SmolLM2-style BPE from the
tokenizer fixtures, with SmolLM2's special tokens), data.jsonl (string rows), adapter_init/ (PEFT adapter with the
initial LoRA weights, B randomised so that every gradient is non-zero), and expected.json:
  * `rows`: TRL's tokenized rows (ids and labels) for every data row;
  * `batch`: one batch of 4 pairs: loss, every metric, and the gradient of every LoRA weight;
  * `train`: a 20-step run (batch 2, gradient accumulation 2, linear schedule with 2 warm-up steps, AdamW with
    weight decay, clipping at 1.0, sequential data order, dropout off): TRL's log history and the final adapter
    (adapter_final.safetensors);
  * `eval`: trainer.evaluate() over the first 8 rows in one batch.
"""
import json
import os
import random
import shutil
import sys
import tempfile

import peft
import torch
import transformers
import trl
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file
from torch.utils.data import SequentialSampler
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from datasets import Dataset
from trl.experimental.orpo import ORPOConfig, ORPOTrainer

ROOT = os.path.join(os.path.dirname(__file__), "..")
TOKENIZER = os.path.join(ROOT, "Tests", "TokenizationTests", "Fixtures", "smollm2", "tokenizer.json")
OUT = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures", "orpo")
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class SequentialORPOTrainer(ORPOTrainer):
    def _get_train_sampler(self, *args, **kwargs):
        return SequentialSampler(self.train_dataset)


def make_rows(n, seed):
    rng = random.Random(seed)
    words = ["the", "cat", "sat", "on", "a", "mat", "red", "blue", "fast", "slow", "sum", "of", "is", "and"]
    rows = []
    for i in range(n):
        a, b = rng.randint(2, 60), rng.randint(2, 60)
        q = f"What is {a} plus {b}?" + (" " + " ".join(rng.choice(words) for _ in range(rng.randint(0, 12))))
        good = f"{a} plus {b} is {a + b}."
        bad = f"{a} plus {b} is {a + b + rng.choice([-2, -1, 1, 3])}." + " " + " ".join(
            rng.choice(words) for _ in range(rng.randint(0, 20)))
        rows.append({"prompt": q, "chosen": good, "rejected": bad})
    return rows


def lora_state(model):
    # PEFT's saved key names: base_model.model.<path>.lora_A.weight (adapter name removed)
    return {k.replace(".default", ""): v.detach().clone().contiguous()
            for k, v in model.state_dict().items() if "lora_" in k}


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    tok = PreTrainedTokenizerFast(tokenizer_file=TOKENIZER, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                  pad_token="<|im_end|>", unk_token="<|endoftext|>")
    tok.save_pretrained(OUT)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                      tie_word_embeddings=False, rms_norm_eps=1e-5, bos_token_id=tok.bos_token_id,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    base = LlamaForCausalLM(cfg).float()
    with torch.no_grad():
        for n, p in base.named_parameters():
            if n.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
    base.save_pretrained(OUT, safe_serialization=True)
    gen_cfg = os.path.join(OUT, "generation_config.json")
    if os.path.exists(gen_cfg):
        os.remove(gen_cfg)

    rows = make_rows(40, seed=1)
    with open(os.path.join(OUT, "data.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")

    lcfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS, task_type="CAUSAL_LM")
    model = get_peft_model(LlamaForCausalLM.from_pretrained(OUT).float(), lcfg)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.copy_(0.02 * torch.randn_like(p))
    init = lora_state(model)
    model.save_pretrained(os.path.join(OUT, "adapter_init"))

    args = ORPOConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=2, gradient_accumulation_steps=2,
                      per_device_eval_batch_size=8, max_steps=20, learning_rate=2e-3, lr_scheduler_type="linear",
                      warmup_steps=2, weight_decay=0.01, max_grad_norm=1.0, beta=0.1, max_length=64,
                      logging_steps=1, report_to=[], seed=42, save_strategy="no", use_cpu=True,
                      dataloader_num_workers=0, remove_unused_columns=False)
    ds = Dataset.from_list(rows)
    trainer = SequentialORPOTrainer(model=model, args=args, train_dataset=ds, eval_dataset=Dataset.from_list(rows[:8]),
                                    processing_class=tok)
    tokenized = [{k: trainer.train_dataset[i][k] for k in
                  ("prompt_input_ids", "chosen_input_ids", "chosen_labels", "rejected_input_ids", "rejected_labels")}
                 for i in range(len(rows))]

    # One batch of 4 pairs: loss, metrics, LoRA gradients.
    collate = trainer.data_collator
    batch = collate([trainer.train_dataset[i] for i in range(4)])
    model.train()
    model.zero_grad()
    loss, metrics = trainer.get_batch_loss_metrics(model, batch, train_eval="train")
    loss.backward()
    grads = {k.replace(".default", ""): p.grad.detach().clone()
             for k, p in model.named_parameters() if "lora_" in k}
    save_file({k: v.contiguous() for k, v in grads.items()}, os.path.join(OUT, "batch_grads.safetensors"))
    model.zero_grad()
    batch_expected = {"loss": loss.item(), "metrics": metrics, "rows": [0, 1, 2, 3]}

    eval_metrics = trainer.evaluate()
    trainer.train()
    history = [h for h in trainer.state.log_history if "loss" in h]
    save_file(lora_state(model), os.path.join(OUT, "adapter_final.safetensors"))

    expected = {
        "versions": {"trl": trl.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
                     "torch": torch.__version__, "python": sys.version.split()[0]},
        "config": {"lora_r": 4, "lora_alpha": 8, "beta": 0.1, "max_length": 64, "learning_rate": 2e-3,
                   "per_device_train_batch_size": 2, "gradient_accumulation_steps": 2, "max_steps": 20,
                   "warmup_steps": 2, "weight_decay": 0.01, "max_grad_norm": 1.0, "lr_scheduler_type": "linear"},
        "rows": tokenized,
        "batch": batch_expected,
        "eval": eval_metrics,
        "train": history,
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=0)
    print("loss curve:", [round(h["loss"], 5) for h in history])
    print("eval:", {k: round(v, 5) for k, v in eval_metrics.items() if isinstance(v, float)})


if __name__ == "__main__":
    main()

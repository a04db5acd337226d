#!/usr/bin/env python3
"""TRL 1.16 baselines (SFT, DPO, CPO/SimPO, KTO) on the ORPO fixture's tiny Llama, for
Tests/TrainingTests/Fixtures/baselines/.

Reuses Tests/TrainingTests/Fixtures/orpo/ (written by make_orpo_fixtures.py): the base model, tokenizer, data.jsonl
and adapter_init/ (LoRA with B randomised, so that policy and reference differ and every gradient is non-zero).
Writes expected.json and grads.safetensors:
  * per method, TRL's tokenized rows (`rows`), so the Swift encoders can be checked token for token;
  * per method and loss variant, one batch (rows 0-3 unless said otherwise) in training mode: TRL's loss, its
    `_metrics` (or `get_batch_loss_metrics` for the experimental CPO trainer) and the gradient of every LoRA weight
    (grads.safetensors, keys `<case>/<peft key>`);
  * `train`: short runs (sequential data order, dropout off) with TRL's log history: DPO (sigmoid) and SFT.
Set-up: python3 -m venv .venv-ref && .venv-ref/bin/pip install -r reference/requirements.txt
"""
import copy
import json
import os
import sys
import tempfile
import warnings

import peft
import torch
import transformers
import trl
from datasets import Dataset
from peft import LoraConfig, set_peft_model_state_dict
from safetensors.torch import load_file, save_file
from torch.utils.data import SequentialSampler
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast
from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer, SFTConfig, SFTTrainer
from trl.experimental.cpo import CPOConfig, CPOTrainer

warnings.filterwarnings("ignore")
ROOT = os.path.join(os.path.dirname(__file__), "..")
ORPO = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures", "orpo")
OUT = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures", "baselines")
MAX_LENGTH = 64
# bf16=False: TRL 1.16's configs default to bf16 mixed precision, which on CPU autocasts the reference precompute and
# the training runs; the fixtures are float32 throughout.
COMMON = dict(report_to=[], use_cpu=True, dataloader_num_workers=0, save_strategy="no", seed=42,
              max_length=MAX_LENGTH, logging_steps=1, bf16=False)


def sequential(cls):
    class Sequential(cls):
        def _get_train_sampler(self, *args, **kwargs):
            return SequentialSampler(self.train_dataset)
    return Sequential


def make_trainer(cls, args, data):
    """`cls` on the base model with a new LoRA adapter (TRL wraps it from `peft_config`), whose weights are then set
    to adapter_init's. TRL's reference is then the base model (adapters disabled), as in the Swift trainer; handing
    TRL an already wrapped PeftModel would make it keep a copy of the initial adapter as the reference instead."""
    tok = PreTrainedTokenizerFast.from_pretrained(ORPO)
    base = LlamaForCausalLM.from_pretrained(ORPO).float()
    with open(os.path.join(ORPO, "adapter_init", "adapter_config.json")) as f:
        saved = json.load(f)
    config = LoraConfig(r=saved["r"], lora_alpha=saved["lora_alpha"], lora_dropout=0.0,
                        target_modules=sorted(saved["target_modules"]), task_type="CAUSAL_LM")
    trainer = cls(model=base, args=args, train_dataset=Dataset.from_list(data), processing_class=tok,
                  peft_config=config)
    init = load_file(os.path.join(ORPO, "adapter_init", "adapter_model.safetensors"))
    result = set_peft_model_state_dict(trainer.model, init)
    assert not result.unexpected_keys, result.unexpected_keys
    assert "ref" not in trainer.model.peft_config
    return trainer, trainer.model


def lora_grads(model, case, into):
    for k, p in model.named_parameters():
        if "lora_" in k:
            key = k.replace(".default", "")
            into[f"{case}/{key}"] = p.grad.detach().clone().contiguous()


def metrics_of(trainer, mode="train"):
    return {k: sum(v) / len(v) for k, v in trainer._metrics[mode].items()}


def batch_case(trainer, model, rows, case, grads, with_grads=True):
    """TRL's loss and metrics for the collated `rows` in training mode (and the LoRA gradients)."""
    batch = trainer.data_collator([trainer.train_dataset[i] for i in rows])
    model.train()
    model.zero_grad()
    trainer._metrics["train"].clear()
    if hasattr(trainer, "_total_train_tokens"):
        trainer._total_train_tokens = 0
    loss = trainer.compute_loss(model, batch)
    if with_grads:
        loss.backward()
        lora_grads(model, case, grads)
    model.zero_grad()
    return {"loss": loss.item(), "metrics": metrics_of(trainer), "rows": rows}


def history(trainer):
    return [h for h in trainer.state.log_history if "loss" in h]


def dpo(rows, grads):
    out = {"cases": {}}
    variants = [("sigmoid", {}), ("hinge", {}), ("ipo", {}), ("robust", {"label_smoothing": 0.1})]
    for loss_type, extra in variants:
        args = DPOConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=4, beta=0.1, loss_type=[loss_type],
                         **extra, **COMMON)
        trainer, model = make_trainer(DPOTrainer, args, rows)
        if loss_type == "sigmoid":
            out["rows"] = [{k: trainer.train_dataset[i][k] for k in ("prompt_ids", "chosen_ids", "rejected_ids")}
                           for i in range(len(rows))]
        out["cases"][loss_type] = {"beta": 0.1, **extra,
                                   **batch_case(trainer, model, [0, 1, 2, 3], f"dpo_{loss_type}", grads,
                                                with_grads=loss_type in ("sigmoid", "ipo"))}
    # The reference log-probs precomputed once per data set: the same batch, the same numbers.
    args = DPOConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=4, beta=0.1,
                     precompute_ref_log_probs=True, **COMMON)
    trainer, model = make_trainer(DPOTrainer, args, rows)
    out["precomputed_ref"] = {
        "ref_chosen_logps": [trainer.train_dataset[i]["ref_chosen_logps"] for i in range(len(rows))],
        "ref_rejected_logps": [trainer.train_dataset[i]["ref_rejected_logps"] for i in range(len(rows))],
        **batch_case(trainer, model, [0, 1, 2, 3], "dpo_precomputed", grads, with_grads=False)}
    # A short run: 6 steps of 2 pairs x 2 accumulation, linear schedule with warm-up, AdamW with weight decay.
    args = DPOConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=2, gradient_accumulation_steps=2,
                     max_steps=6, learning_rate=2e-3, lr_scheduler_type="linear", warmup_steps=2, weight_decay=0.01,
                     max_grad_norm=1.0, beta=0.1, **COMMON)
    trainer, model = make_trainer(sequential(DPOTrainer), args, rows)
    trainer.train()
    out["train"] = {"config": {"per_device_train_batch_size": 2, "gradient_accumulation_steps": 2, "max_steps": 6,
                               "learning_rate": 2e-3, "lr_scheduler_type": "linear", "warmup_steps": 2,
                               "weight_decay": 0.01, "max_grad_norm": 1.0, "beta": 0.1},
                    "history": history(trainer)}
    return out


def sft(rows, grads):
    data = [{"prompt": r["prompt"], "completion": r["chosen"]} for r in rows]
    args = SFTConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=4, **COMMON)
    trainer, model = make_trainer(SFTTrainer, args, data)
    out = {"rows": [{k: trainer.train_dataset[i][k] for k in ("input_ids", "labels")}
                    for i in range(len(rows))],
           "completion_only_loss": args.completion_only_loss}
    out["cases"] = {"default": batch_case(trainer, model, [0, 1, 2, 3], "sft", grads)}
    args = SFTConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=2, gradient_accumulation_steps=1,
                     max_steps=6, learning_rate=2e-3, lr_scheduler_type="linear", warmup_steps=2, weight_decay=0.01,
                     max_grad_norm=1.0, **COMMON)
    trainer, model = make_trainer(sequential(SFTTrainer), args, data)
    trainer.train()
    out["train"] = {"config": {"per_device_train_batch_size": 2, "gradient_accumulation_steps": 1, "max_steps": 6,
                               "learning_rate": 2e-3, "lr_scheduler_type": "linear", "warmup_steps": 2,
                               "weight_decay": 0.01, "max_grad_norm": 1.0},
                    "history": history(trainer)}
    return out


def cpo(rows, grads):
    out = {"cases": {}}
    variants = [("sigmoid", {"cpo_alpha": 1.0}), ("simpo", {"cpo_alpha": 0.0, "simpo_gamma": 0.5}),
                ("simpo_cpo", {"cpo_alpha": 0.5, "simpo_gamma": 0.5})]
    for name, extra in variants:
        loss_type = "simpo" if name.startswith("simpo") else name
        args = CPOConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=4, beta=0.1, loss_type=loss_type,
                         remove_unused_columns=False, **extra, **COMMON)
        trainer, model = make_trainer(CPOTrainer, args, rows)
        if name == "sigmoid":
            out["rows"] = [{k: trainer.train_dataset[i][k] for k in
                            ("prompt_input_ids", "chosen_input_ids", "chosen_labels", "rejected_input_ids",
                             "rejected_labels")} for i in range(len(rows))]
        batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
        model.train()
        model.zero_grad()
        loss, metrics = trainer.get_batch_loss_metrics(model, batch, train_eval="train")
        loss.backward()
        lora_grads(model, f"cpo_{name}", grads)
        model.zero_grad()
        out["cases"][name] = {"loss_type": loss_type, "beta": 0.1, **extra, "loss": loss.item(), "metrics": metrics,
                              "rows": [0, 1, 2, 3]}
    return out


def kto(rows, grads):
    out = {}
    # Paired rows, unpaired on the fly by TRL: the order and the KL completions the Swift side must reproduce.
    args = KTOConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=4, beta=0.1,
                     remove_unused_columns=False, **COMMON)
    trainer, model = make_trainer(KTOTrainer, args, rows[:10])
    out["unpaired_rows"] = [{k: trainer.train_dataset[i][k] for k in
                             ("prompt_ids", "completion_ids", "KL_completion_ids", "label")}
                            for i in range(len(trainer.train_dataset))]
    # Unpaired data, desirable and undesirable interleaved, so that one batch holds both; undesirable weighted.
    unpaired = []
    for r in rows[:8]:
        unpaired.append({"prompt": r["prompt"], "completion": r["chosen"], "label": True})
        unpaired.append({"prompt": r["prompt"], "completion": r["rejected"], "label": False})
    args = KTOConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=4, beta=0.1, desirable_weight=1.0,
                     undesirable_weight=1.5, remove_unused_columns=False, **COMMON)
    trainer, model = make_trainer(KTOTrainer, args, unpaired)
    out["rows"] = [{k: trainer.train_dataset[i][k] for k in ("prompt_ids", "completion_ids", "KL_completion_ids",
                                                              "label")} for i in range(len(unpaired))]
    # Every batch of the epoch (the KL estimate is clamped at 0 in some, positive in others); gradients of the first.
    out["cases"] = {f"batch{b}": {"beta": 0.1, "desirable_weight": 1.0, "undesirable_weight": 1.5,
                                  **batch_case(trainer, model, list(range(4 * b, 4 * b + 4)), f"kto_batch{b}", grads,
                                               with_grads=b == 0)}
                    for b in range(4)}
    return out


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(ORPO, "data.jsonl")) as f:
        rows = [json.loads(line) for line in f][:16]
    grads = {}
    expected = {
        "versions": {"trl": trl.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
                     "torch": torch.__version__, "python": sys.version.split()[0]},
        "max_length": MAX_LENGTH, "rows_used": len(rows),
        "dpo": dpo(rows, grads),
        "sft": sft(rows, grads),
        "cpo": cpo(rows, grads),
        "kto": kto(rows, grads),
    }
    save_file(grads, os.path.join(OUT, "grads.safetensors"))
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=0)
    for method in ("dpo", "sft", "cpo", "kto"):
        for name, case in expected[method]["cases"].items():
            print(method, name, round(case["loss"], 6), {k: round(v, 4) for k, v in case["metrics"].items()})


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""TRL's clone_chat_template on a tiny model, for Tests/ModelsTests/Fixtures/clone_chat_template/:
`target/` a base model folder (a tiny random Llama whose vocabulary is its byte-level BPE tokenizer's, no chat
template), `source/` a tokenizer with a ChatML template, special and plain added tokens and its own EOS, and
`expected.json`: what `trl.clone_chat_template(model, tokenizer, "source")` (default resize_to_multiple_of=64) leaves
(the returned ids, the tokenizer's added tokens, EOS/PAD/BOS, len(vocab), the embedding size, new embedding and
lm_head rows, the template, and ids of a rendered conversation and of text holding the new tokens).

Pins: reference/requirements.txt (trl 1.16.0, transformers 5.23.0, tokenizers 0.23.3, torch 2.15.0):
    .venv-ref/bin/python reference/make_clone_chat_template_fixtures.py
"""
import json
import os
import shutil
import sys

import tokenizers
import torch
import transformers
import trl
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, PreTrainedTokenizerFast

assert trl.__version__ == "1.16.0", trl.__version__
assert transformers.__version__ == "5.23.0", transformers.__version__
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "ModelsTests", "Fixtures", "clone_chat_template")

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "What is the capital of France? The capital of France is Paris.",
    "Convert 3 kilometres to metres: 3000 metres.",
    "Sort these words: banana, apple, cherry -> apple, banana, cherry.",
    "Answer with one word. Hello there, how are you today?",
] * 20

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def byte_level_bpe(vocab_size, special):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def main():
    torch.manual_seed(0)
    shutil.rmtree(OUT, ignore_errors=True)
    target_dir, source_dir = os.path.join(OUT, "target"), os.path.join(OUT, "source")

    # The base model's tokenizer: no chat template, <|endoftext|> as BOS/EOS, and "<think>" already a token there
    # (clone_chat_template skips source tokens the target vocabulary has).
    target = PreTrainedTokenizerFast(tokenizer_object=byte_level_bpe(290, ["<|endoftext|>"]),
                                     bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    target.add_tokens(["<think>"])
    # The source: ChatML markers (special), a plain added token, its own EOS and PAD, a template.
    source = PreTrainedTokenizerFast(tokenizer_object=byte_level_bpe(280, ["<|endoftext|>"]),
                                     eos_token="<|im_end|>", pad_token="<|endoftext|>")
    source.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    source.add_tokens(["<think>", "</think>", "<tool_call>"])
    source.chat_template = CHATML
    source.save_pretrained(source_dir)

    config = LlamaConfig(vocab_size=len(target.vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64,
                         tie_word_embeddings=False, bos_token_id=target.bos_token_id,
                         eos_token_id=target.eos_token_id)
    model = AutoModelForCausalLM.from_config(config).float().eval()
    model.save_pretrained(target_dir, safe_serialization=True)
    target.save_pretrained(target_dir)
    path = os.path.join(target_dir, "generation_config.json")
    if os.path.exists(path):
        os.remove(path)

    model = AutoModelForCausalLM.from_pretrained(target_dir).float().eval()
    tokenizer = AutoTokenizer.from_pretrained(target_dir)
    old_rows = model.get_input_embeddings().weight.shape[0]
    model, tokenizer, added = trl.clone_chat_template(model, tokenizer, source_dir)

    embed = model.get_input_embeddings().weight.detach()
    head = model.get_output_embeddings().weight.detach()
    messages = [{"role": "user", "content": "What is the capital of France?"},
                {"role": "assistant", "content": "<think>Paris</think> Paris."}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    expected = {
        "versions": {"trl": trl.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "torch": torch.__version__,
                     "python": sys.version.split()[0]},
        "old_embedding_rows": old_rows,
        "added_token_ids": added,
        "added_tokens": [{"id": i, "content": t.content, "special": t.special}
                         for i, t in sorted(tokenizer.added_tokens_decoder.items())],
        "len_vocab": len(tokenizer.vocab),
        "vocab_size": model.config.vocab_size,
        "embedding_rows": embed.shape[0],
        "eos_token": tokenizer.eos_token, "eos_token_id": tokenizer.eos_token_id,
        "config_eos_token_id": model.config.eos_token_id,
        "bos_token": tokenizer.bos_token, "bos_token_id": tokenizer.bos_token_id,
        "pad_token": tokenizer.pad_token, "pad_token_id": tokenizer.pad_token_id,
        "chat_template": tokenizer.chat_template,
        "messages": messages,
        "rendered": rendered,
        "rendered_ids": tokenizer(rendered, add_special_tokens=False)["input_ids"],
        "prompt_ids": tokenizer.apply_chat_template(messages[:1], add_generation_prompt=True, tokenize=True,
                                                    return_dict=False),
        "text": "a <think> b <extra_id_3> c <|im_end|>",
        "text_ids": tokenizer("a <think> b <extra_id_3> c <|im_end|>", add_special_tokens=False)["input_ids"],
        # transformers' mean_resizing samples new rows around the old rows' mean (covariance 1e-9 x theirs).
        "new_embedding_row": embed[old_rows].tolist(),
        "new_lm_head_row": head[old_rows].tolist(),
        "old_embedding_mean": embed[:old_rows].mean(0).tolist(),
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f)
    print("written:", sorted(os.listdir(OUT)), "added", len(added), "vocab", len(tokenizer.vocab))


if __name__ == "__main__":
    main()

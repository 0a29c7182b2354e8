"""A tiny random Llama with a word-level tokenizer and a chat template, saved as a checkpoint
folder: real transformers/TRL training in a second, no download."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = [
    "tea",
    "river",
    "cloud",
    "stone",
    "garden",
    "bread",
    "light",
    "water",
    "tree",
    "road",
    "city",
    "music",
    "paper",
    "glass",
    "winter",
    "summer",
    "morning",
    "night",
    "story",
    "book",
    "window",
    "market",
    "bridge",
    "field",
    "letter",
]
SPECIAL = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>"]
TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def save_tiny_checkpoint(folder: Path, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate([*SPECIAL, "system", "user", "assistant", *WORDS])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>", eos_token="<|im_end|>",
        bos_token=None, additional_special_tokens=["<|im_start|>"],
    )  # fmt: skip
    tokenizer.chat_template = TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=512, pad_token_id=vocab["<pad>"],
        eos_token_id=vocab["<|im_end|>"], bos_token_id=None,
    )  # fmt: skip
    model = LlamaForCausalLM(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def sentence(words: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words))


def conversation(prompt_words: int, answer_words: int, seed: int) -> dict:
    return {"messages": [{"role": "user", "content": sentence(prompt_words, seed)},
                         {"role": "assistant", "content": sentence(answer_words, seed + 1)}]}  # fmt: skip

"""Hugging Face models made from GGUF files (needs the `train` extra: torch, transformers).

Transformers reads a GGUF file directly and de-quantises it. The result is an ordinary float32
model once the quantisation markers are cleared: it trains, and saving it gives a plain
checkpoint that `transformers serve`, training and evaluation can all load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from longwrite.core.errors import BackendError
from longwrite.core.extras import require


def load_gguf(gguf: Path) -> tuple[Any, Any]:
    """(float32 model, tokenizer with its chat template) read from a GGUF file."""
    require("train", "Loading a GGUF model with transformers")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not gguf.is_file():
        raise BackendError(f"{gguf} is not a file; give the path of a .gguf model.")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The weights are de-quantised already; left marked as quantised, transformers refuses to
    # save them and the Trainer refuses to train them.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model, tokenizer


def export_checkpoint(gguf: Path, out_dir: Path) -> Path:
    """Write a float32 safetensors checkpoint (model, tokenizer, chat template) of `gguf` to `out_dir`."""
    model, tokenizer = load_gguf(gguf)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir

"""Hugging Face checkpoints made from GGUF files (needs the `train` extra: torch, transformers).

Transformers reads a GGUF file directly and de-quantises it; saving the result gives a plain
float32 checkpoint that `transformers serve`, training and evaluation can all load.
"""

from __future__ import annotations

from pathlib import Path

from longwrite.errors import BackendError


def export_checkpoint(gguf: Path, out_dir: Path) -> Path:
    """Write a float32 safetensors checkpoint (model, tokenizer, chat template) of `gguf` to `out_dir`."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as error:
        raise BackendError("Exporting a checkpoint needs the train extra: pip install 'longwrite[train]'.") from error
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # the weights are de-quantised already; without this transformers refuses to save them
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir

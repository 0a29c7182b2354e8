"""Serving what was trained with llama.cpp: a PEFT LoRA adapter written as a GGUF LoRA adapter,
or a fully fine-tuned checkpoint written as a whole GGUF model.

llama.cpp applies a GGUF adapter on top of the (quantised) base model at run time, so the
project ships a few MB of adapter instead of a whole model. Two things differ from the Hugging
Face layout: tensor names (`model.layers.3.self_attn.q_proj` is `blk.3.attn_q`), and the rows
of the query and key projections, which llama.cpp's converter reorders for its rotary embedding
(each head's two rotary halves interleaved). The LoRA B matrix of those projections gets the
same reordering, so B @ A lands on the weight rows llama.cpp holds.

A whole model takes its metadata (hyper-parameters, tokenizer, chat template) from the GGUF it
was trained from, since fine-tuning changes none of it, and its tensors from the checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from longwrite.core.errors import InputError
from longwrite.core.extras import require

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
MODEL_WEIGHTS = "model.safetensors"
GGUF_FILE_TYPE_F16 = 1  # general.file_type of a model whose matrices are float16

# Hugging Face Llama module -> llama.cpp tensor name (within blk.N)
_GGUF_NORMS = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}
_GGUF_NAMES = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


def lora_to_gguf(adapter_dir: Path, out_file: Path, n_head: int, n_head_kv: int) -> Path:
    """Write the PEFT adapter in `adapter_dir` as a llama.cpp GGUF LoRA adapter (float16: half the
    size of float32, and far finer than the Q4_1 base it sits on)."""
    require("train", "Exporting an adapter to GGUF")
    import gguf
    from safetensors.numpy import load_file

    config = _adapter_config(adapter_dir)
    tensors = load_file(str(adapter_dir / ADAPTER_WEIGHTS))
    writer = gguf.GGUFWriter(str(out_file), "llama")
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(config["lora_alpha"]))
    for name, array in sorted(tensors.items()):
        target, kind = _gguf_name(name)
        if target.endswith("attn_q.weight") and kind == "lora_b":
            array = _rotary_rows(array, n_head)
        elif target.endswith("attn_k.weight") and kind == "lora_b":
            array = _rotary_rows(array, n_head_kv)
        writer.add_tensor(f"{target}.{kind}", array.astype("float16"))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out_file


def _adapter_config(adapter_dir: Path) -> dict[str, Any]:
    path = adapter_dir / ADAPTER_CONFIG
    if not path.is_file() or not (adapter_dir / ADAPTER_WEIGHTS).is_file():
        raise InputError(
            f"{adapter_dir} holds no PEFT LoRA adapter ({ADAPTER_CONFIG} and {ADAPTER_WEIGHTS}); "
            "train with use_peft: true and merge_lora: false."
        )
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("use_dora") or config.get("use_rslora"):
        raise InputError("DoRA and rsLoRA adapters have no llama.cpp form; train a plain LoRA.")
    return config


def _gguf_name(name: str) -> tuple[str, str]:
    """('blk.3.attn_q.weight', 'lora_a') for 'base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight'."""
    parts = name.split(".")
    try:
        layer = int(parts[parts.index("layers") + 1])
        kind = "lora_a" if "lora_A" in parts else "lora_b" if "lora_B" in parts else ""
        module = ".".join(parts[parts.index("layers") + 2 : parts.index("lora_A" if kind == "lora_a" else "lora_B")])
    except ValueError as error:
        raise InputError(f"Adapter tensor {name} is not a LoRA weight of a decoder layer.") from error
    if module not in _GGUF_NAMES:
        raise InputError(f"Adapter tensor {name} adapts {module}, which has no llama.cpp name.")
    return f"blk.{layer}.{_GGUF_NAMES[module]}.weight", kind


def _rotary_rows(matrix: Any, heads: int) -> Any:
    """The rows of a query/key projection (or its LoRA B) in llama.cpp's rotary order."""
    rows = matrix.shape[0]
    return matrix.reshape(heads, 2, rows // heads // 2, *matrix.shape[1:]).swapaxes(1, 2).reshape(matrix.shape)


def full_to_gguf(model_dir: Path, out_file: Path, base_gguf: Path) -> Path:
    """Write the fully fine-tuned Llama checkpoint in `model_dir` as a GGUF model (float16 matrices,
    float32 norms) with the metadata of `base_gguf`, the GGUF it was trained from."""
    require("train", "Exporting a model to GGUF")
    import gguf
    from safetensors.numpy import load_file

    weights = model_dir / MODEL_WEIGHTS
    if not weights.is_file():
        raise InputError(f"{model_dir} holds no {MODEL_WEIGHTS}; give the folder a training stage wrote.")
    base = gguf.GGUFReader(str(base_gguf))
    heads = int(base.fields["llama.attention.head_count"].contents())
    kv_heads = int(base.fields["llama.attention.head_count_kv"].contents())
    config_file = model_dir / "config.json"
    config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
    tied = bool(config.get("tie_word_embeddings", True))
    writer = gguf.GGUFWriter(str(out_file), "llama")
    _copy_metadata(base, writer)
    writer.add_file_type(GGUF_FILE_TYPE_F16)
    for name, array in sorted(load_file(str(weights)).items()):
        target = _gguf_model_name(name)
        if target == "output.weight" and tied:  # llama.cpp reuses token_embd for a tied head
            continue
        if target.endswith("attn_q.weight"):
            array = _rotary_rows(array, heads)
        elif target.endswith("attn_k.weight"):
            array = _rotary_rows(array, kv_heads)
        writer.add_tensor(target, array.astype("float16" if array.ndim == 2 else "float32"))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out_file


def _copy_metadata(base: Any, writer: Any) -> None:
    """Every key of the base GGUF but those the writer sets itself or that describe its quantisation."""
    import gguf

    skipped = {"general.architecture", "general.file_type", "general.quantization_version"}
    for key, field in base.fields.items():
        if key.startswith("GGUF.") or key in skipped:
            continue
        kind = gguf.GGUFValueType(field.types[0])
        sub_kind = gguf.GGUFValueType(field.types[-1]) if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), kind, sub_kind)


def _gguf_model_name(name: str) -> str:
    """'blk.3.attn_q.weight' for 'model.layers.3.self_attn.q_proj.weight'."""
    top = {
        "model.embed_tokens.weight": "token_embd.weight",
        "model.norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
    }
    if name in top:
        return top[name]
    parts = name.split(".")
    if parts[:2] != ["model", "layers"] or parts[-1] != "weight":
        raise InputError(f"Checkpoint tensor {name} is not a weight of a Llama decoder; export a Llama model.")
    module = ".".join(parts[3:-1])
    target = _GGUF_NORMS.get(module) or _GGUF_NAMES.get(module)
    if target is None:
        raise InputError(f"Checkpoint tensor {name} has no llama.cpp name.")
    return f"blk.{parts[2]}.{target}.weight"

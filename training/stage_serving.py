"""The base or the trained model behind an endpoint for as long as a stage needs it: the embedded
llama.cpp server with the exported GGUF adapter (or the exported whole model), or a vLLM /
transformers server."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from longwrite.core.errors import InputError
from longwrite.core.settings import Settings
from longwrite.training.pipeline import StageRun
from longwrite.training.pipeline_io import ADAPTER_GGUF, MODEL_DIR, MODEL_GGUF, base_settings, needs, trained_model


def head_counts(adapter_config: dict[str, Any]) -> tuple[int, int]:
    """Attention heads of the adapter's base model (the embedded model's, read from its GGUF)."""
    base = adapter_config.get("base_model_name_or_path") or ""
    from transformers import AutoConfig

    if base and Path(base, "config.json").is_file():
        config = AutoConfig.from_pretrained(base)
    else:
        from longwrite.model.embedded import gguf_path

        gguf = gguf_path()
        config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    return config.num_attention_heads, config.num_key_value_heads


@contextlib.contextmanager
def serving(run: StageRun, trained: bool, upto: tuple[str, ...] = ()) -> Iterator[Settings]:
    """Settings that reach the base model or the trained one, for the block's duration.

    On the embedded default the trained model is the base GGUF with the exported adapter on
    top; on vLLM or transformers serve a server is started for the block.
    """
    section = run.settings("eval")
    if section.serve == "embedded":
        update = {}
        if trained:
            update = _gguf_for(run, upto) if upto else _exported(run)
        yield base_settings().model_copy(update=update)
        return
    from longwrite.model.engines import ModelServerSpec, check_spec, start

    sft = run.settings("sft")
    model = str(trained_model(run)) if trained else str(sft.get("model_name_or_path") or sft.get("model"))
    spec = ModelServerSpec(engine=section.serve, model=model, port=_free_port())
    check_spec(spec)
    server = start(spec, Settings())
    try:
        yield Settings(base_url=spec.base_url, model=spec.name)
    finally:
        server.stop()


def _exported(run: StageRun) -> dict[str, str]:
    """Settings for the embedded server with what the export stage wrote: the whole fine-tuned
    model in place of the shipped one, or the shipped one with the adapter on top."""
    if (run.of("export") / MODEL_GGUF).is_file():
        return {"embedded_model_file": str(needs(run, "export", MODEL_GGUF))}
    return {"embedded_adapter": str(needs(run, "export", ADAPTER_GGUF))}


def _gguf_for(run: StageRun, stages: tuple[str, ...]) -> dict[str, str]:
    """Settings for the embedded server with the newest of `stages` as a GGUF (for sampling pairs
    before the export stage)."""
    for name in stages:
        if run.recipe.section(name) is not None:
            return to_gguf(needs(run, name, MODEL_DIR), run.folder)
    raise InputError("No trained model to sample from.")


def to_gguf(model_dir: Path, folder: Path) -> dict[str, str]:
    """The trained model in `model_dir` written as a GGUF into `folder`, as the embedded server's
    setting that serves it: a LoRA adapter on top of the shipped model, or after full fine-tuning a
    whole model in its place."""
    from longwrite.model.embedded import gguf_path
    from longwrite.training.export import full_to_gguf, lora_to_gguf

    adapter_config = model_dir / "adapter_config.json"
    if not adapter_config.is_file():
        return {"embedded_model_file": str(full_to_gguf(model_dir, folder / MODEL_GGUF, gguf_path()))}
    heads = head_counts(json.loads(adapter_config.read_text(encoding="utf-8")))
    return {"embedded_adapter": str(lora_to_gguf(model_dir, folder / ADAPTER_GGUF, *heads))}


def _free_port() -> int:
    from longwrite.model.process import free_port

    return free_port()

"""What every training run does around the trainer: the output folder, the base model, LoRA,
and saving a checkpoint that `serve-model` serves.

Loss averaging: transformers' Trainer counts the target tokens of the whole optimiser step
(every micro-batch of the gradient accumulation, and every device when
`average_tokens_across_devices` is on) and passes that count to the model's loss as
`num_items_in_batch`; the loss is then the sum of token losses divided by it. So a step's loss is
the mean over all its target tokens, as LongWriter prescribes: a 10,000-token answer weighs 100
times a 100-token one, instead of both weighing as one sample each.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from longwrite.core.errors import InputError
from longwrite.training.examples import Prepared
from longwrite.training.train_config import TrainConfig

log = logging.getLogger(__name__)

RUN_FILE = "longwrite-run.json"  # the recipe of the run that owns an output folder


@dataclass(frozen=True)
class TrainSummary:
    steps: int
    tokens: int
    seconds: float
    final_loss: float | None
    first_loss: float | None
    checkpoint: Path
    samples: int
    dropped_overlong: int

    def line(self) -> str:
        rate = self.tokens / self.seconds if self.seconds else 0.0
        loss = f"{self.final_loss:.4f}" if self.final_loss is not None else "-"
        dropped = f", {self.dropped_overlong} over max_length dropped" if self.dropped_overlong else ""
        return (
            f"trained {self.steps} steps on {self.samples} samples{dropped}: {self.tokens:,} tokens in "
            f"{self.seconds:.0f} s ({rate:,.0f} tokens/s), final loss {loss} -> {self.checkpoint}"
        )


def prepare_output(config: TrainConfig, overwrite: bool) -> str | None:
    """The checkpoint to resume from, if any; refuses an output folder that holds another run."""
    out = config.output_dir
    resume = config.trainer.resume_from_checkpoint
    if resume == "latest":
        from transformers.trainer_utils import get_last_checkpoint

        resume = get_last_checkpoint(str(out)) if out.is_dir() else None
        if resume is None:
            raise InputError(f"{out} holds no checkpoint-N folder to resume from; drop --resume_from_checkpoint.")
    elif resume is not None and not Path(resume).is_dir():
        raise InputError(f"resume_from_checkpoint {resume} is not a folder; give a checkpoint-N folder or 'latest'.")
    if out.exists() and not out.is_dir():
        raise InputError(f"output_dir {out} is a file; give a folder.")
    if out.is_dir() and any(out.iterdir()) and resume is None:
        if not overwrite:
            raise InputError(
                f"{out} already holds another run; choose another output_dir, resume it with "
                "--resume_from_checkpoint latest, or pass --overwrite to replace it."
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    run = {"longwrite": asdict(config.ours), "model": asdict(config.model), "trainer": config.trainer.to_dict()}
    (out / RUN_FILE).write_text(json.dumps(run, indent=2, default=str) + "\n", encoding="utf-8")
    return resume


def load_base(config: TrainConfig) -> tuple[Any, Any]:
    """(model, tokenizer) from a checkpoint folder, a hub id in the cache, a GGUF file, or the
    embedded default. The model stays where it loads: the Trainer places it (or DeepSpeed shards it)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from longwrite.model.checkpoints import load_gguf
    from longwrite.model.embedded import gguf_path

    name = config.model.model_name_or_path
    if config.ours.gguf_file or (config.ours.embedded_model and not name):
        gguf = Path(name or ".") / config.ours.gguf_file if config.ours.gguf_file else gguf_path()
        model, tokenizer = load_gguf(gguf)
    else:
        try:
            tokenizer = AutoTokenizer.from_pretrained(name, revision=config.model.model_revision)
            model = AutoModelForCausalLM.from_pretrained(
                name,
                revision=config.model.model_revision,
                dtype=config.model.dtype,
                attn_implementation=config.model.attn_implementation,
            )
        except OSError as error:
            raise InputError(f"Could not load model {name!r} ({error}); give a checkpoint folder.") from error
    if tokenizer.chat_template is None:
        raise InputError(f"The tokenizer of {name} has no chat template; use a chat (instruct) model.")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    adapter = config.ours.init_adapter
    if adapter:
        from peft import PeftModel

        if not Path(adapter, "adapter_config.json").is_file():
            raise InputError(f"init_adapter {adapter} holds no PEFT adapter (adapter_config.json).")
        model = PeftModel.from_pretrained(model, adapter, is_trainable=True)
    return model, tokenizer


def lora_config(config: TrainConfig) -> Any:
    """TRL's LoraConfig from ModelConfig when use_peft is on, else None (full fine-tuning, or an
    adapter already on the model)."""
    if config.ours.init_adapter:
        return None
    from trl import get_peft_config

    return get_peft_config(config.model)


@dataclass(frozen=True)
class PreparedRun:
    resume: str | None
    model: Any
    tokenizer: Any
    prepared: Prepared


def prepare_run(
    config: TrainConfig, overwrite: bool, make_examples: Callable[[list[dict[str, Any]], str], list]
) -> PreparedRun:
    """Every check before training, cheapest first (the device was checked with the config): the
    data, the output folder; then the model, and the samples fitted to max_length (counted)."""
    from longwrite.training.examples import chat_token_counter, fit_to_length
    from longwrite.training.rows import read_rows

    data = str(config.ours.data)
    examples = make_examples(read_rows(Path(data)), data)  # bad data fails before the model loads
    resume = prepare_output(config, overwrite)
    model, tokenizer = load_base(config)
    max_length = config.trainer.max_length
    prepared = fit_to_length(examples, chat_token_counter(tokenizer), max_length, config.ours.overlong)
    check_counts(prepared, max_length)
    return PreparedRun(resume, model, tokenizer, prepared)


def check_counts(prepared: Prepared, max_length: int) -> None:
    if prepared.dropped_overlong:
        log.warning(
            "dropped %d samples longer than max_length %d tokens (the longest has %d)",
            prepared.dropped_overlong,
            max_length,
            prepared.longest_tokens,
        )
    if prepared.truncated:
        log.warning("%d samples are cut at max_length %d tokens", prepared.truncated, max_length)


def train_and_save(trainer: Any, config: TrainConfig, run: PreparedRun) -> TrainSummary:
    """Train, then save the final model (LoRA merged when asked) with its tokenizer and chat template."""
    started = time.monotonic()
    with contextlib.redirect_stdout(sys.stderr):  # the per-step logs are progress; stdout keeps the summary
        result = trainer.train(resume_from_checkpoint=run.resume)
    seconds = time.monotonic() - started
    trainer.save_state()  # trainer_state.json: the loss of every logged step
    model = trainer.model
    if config.uses_lora and config.ours.merge_lora:
        model = model.merge_and_unload()
    model.save_pretrained(config.output_dir)
    trainer.processing_class.save_pretrained(config.output_dir)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    tokens = max((int(entry.get("num_tokens", 0)) for entry in trainer.state.log_history), default=0)
    return TrainSummary(
        steps=result.global_step,
        tokens=tokens,
        seconds=seconds,
        final_loss=losses[-1] if losses else None,
        first_loss=losses[0] if losses else None,
        checkpoint=config.output_dir,
        samples=len(run.prepared.examples),
        dropped_overlong=run.prepared.dropped_overlong,
    )

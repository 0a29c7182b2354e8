"""What every training run does around the trainer: device checks, the output folder, the base
model, the arguments TRL shares, LoRA, and saving a checkpoint that `serve-model` serves.

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

from longwrite.errors import InputError
from training.examples import Prepared
from training.recipe import TrainRecipe

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


def training_device(recipe: TrainRecipe, source: str) -> str:
    """'cuda' or 'cpu'; InputError before anything loads when the recipe needs a GPU that is not here."""
    import torch

    has_cuda = torch.cuda.is_available()
    # bf16 with device: cpu is CPU autocast (worth it where the CPU has AVX512-BF16 or AMX);
    # elsewhere bf16 means a GPU recipe
    if (recipe.device == "cuda" or (recipe.bf16 and recipe.device != "cpu")) and not has_cuda:
        needs = "device: cuda" if recipe.device == "cuda" else "bf16: true"
        raise InputError(
            f"{source} needs a CUDA GPU ({needs}) and this machine has none. Run it on a GPU machine "
            "(see the README's `accelerate launch` lines), or try it here with "
            "training/recipes/smollm2-135m-cpu.yaml (or --device cpu --bf16 false)."
        )
    return "cuda" if recipe.device != "cpu" and has_cuda else "cpu"


def prepare_output(recipe: TrainRecipe, overwrite: bool) -> tuple[Path, str | None]:
    """(the output folder, the checkpoint to resume from); refuses a folder that holds another run."""
    out = Path(recipe.output_dir)
    resume = recipe.resume_from_checkpoint
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
    (out / RUN_FILE).write_text(json.dumps(asdict(recipe), indent=2) + "\n", encoding="utf-8")
    return out, resume


def load_base(recipe: TrainRecipe, device: str) -> tuple[Any, Any]:
    """(model, tokenizer) from a checkpoint folder, a hub id, a GGUF file, or the embedded default."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from model.checkpoints import load_gguf
    from model.embedded import gguf_path

    if recipe.embedded_model or recipe.gguf_file:
        gguf = gguf_path() if recipe.embedded_model else Path(recipe.model or ".") / (recipe.gguf_file or "")
        model, tokenizer = load_gguf(gguf)
    else:
        dtype = torch.bfloat16 if recipe.bf16 else torch.float32
        try:
            tokenizer = AutoTokenizer.from_pretrained(recipe.model)
            model = AutoModelForCausalLM.from_pretrained(recipe.model, dtype=dtype)
        except OSError as error:
            raise InputError(f"Could not load model {recipe.model!r} ({error}); give a checkpoint folder.") from error
    if tokenizer.chat_template is None:
        raise InputError(f"The tokenizer of {recipe.model} has no chat template; use a chat (instruct) model.")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if recipe.init_adapter:
        from peft import PeftModel

        if not Path(recipe.init_adapter, "adapter_config.json").is_file():
            raise InputError(f"init_adapter {recipe.init_adapter} holds no PEFT adapter (adapter_config.json).")
        model = PeftModel.from_pretrained(model, recipe.init_adapter, is_trainable=True)
    return model.to(device), tokenizer


def common_arguments(recipe: TrainRecipe, out: Path, device: str) -> dict[str, Any]:
    """The TrainingArguments both SFTConfig and DPOConfig take from a recipe."""
    return {
        "output_dir": str(out),
        "use_cpu": device == "cpu",
        "bf16": recipe.bf16,
        "max_length": recipe.max_length,
        "learning_rate": recipe.learning_rate,
        "lr_scheduler_type": recipe.lr_scheduler_type,
        "warmup_steps": recipe.warmup_ratio,  # transformers 5 reads a float below 1 as a share of the steps
        "weight_decay": recipe.weight_decay,
        "max_grad_norm": recipe.max_grad_norm,
        "optim": recipe.optim,
        "num_train_epochs": recipe.num_train_epochs,
        "max_steps": recipe.max_steps,
        "per_device_train_batch_size": recipe.per_device_train_batch_size,
        "gradient_accumulation_steps": recipe.gradient_accumulation_steps,
        "activation_checkpointing": recipe.gradient_checkpointing,  # the name transformers 5 gives it
        "logging_steps": recipe.logging_steps,
        "save_steps": recipe.save_steps,
        "save_total_limit": recipe.save_total_limit,
        "seed": recipe.seed,
        "average_tokens_across_devices": True,  # the loss is a mean over every target token of the step
        "report_to": [],
        "disable_tqdm": False,
    }


def lora_config(recipe: TrainRecipe) -> Any:
    """A peft LoraConfig when the recipe asks for LoRA, else None (full fine-tuning)."""
    if recipe.lora_r == 0 or recipe.init_adapter:
        return None  # full fine-tuning, or an adapter already on the model
    from peft import LoraConfig

    return LoraConfig(
        r=recipe.lora_r,
        lora_alpha=recipe.lora_alpha,
        lora_dropout=recipe.lora_dropout,
        target_modules=recipe.lora_target_modules,
        task_type="CAUSAL_LM",
    )


@dataclass(frozen=True)
class PreparedRun:
    out: Path
    resume: str | None
    device: str
    model: Any
    tokenizer: Any
    prepared: Prepared


def prepare_run(
    recipe: TrainRecipe, source: str, overwrite: bool, make_examples: Callable[[list[dict[str, Any]], str], list]
) -> PreparedRun:
    """Every check before training, cheapest first: the GPU, the data, the output folder; then the
    model, and the samples fitted to max_length (counted)."""
    from training.examples import chat_token_counter, fit_to_length
    from training.rows import read_rows

    device = training_device(recipe, source)
    examples = make_examples(read_rows(Path(recipe.data)), recipe.data)  # bad data fails before the model loads
    out, resume = prepare_output(recipe, overwrite)
    model, tokenizer = load_base(recipe, device)
    prepared = fit_to_length(examples, chat_token_counter(tokenizer), recipe.max_length, recipe.overlong)
    check_counts(prepared, recipe.max_length)
    return PreparedRun(out, resume, device, model, tokenizer, prepared)


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


def train_and_save(
    trainer: Any, recipe: TrainRecipe, out: Path, resume: str | None, prepared: Prepared
) -> TrainSummary:
    """Train, then save the final model (LoRA merged when asked) with its tokenizer and chat template."""
    started = time.monotonic()
    with contextlib.redirect_stdout(sys.stderr):  # the per-step logs are progress; stdout keeps the summary
        result = trainer.train(resume_from_checkpoint=resume)
    seconds = time.monotonic() - started
    trainer.save_state()  # trainer_state.json: the loss of every logged step
    model = trainer.model
    if (recipe.lora_r or recipe.init_adapter) and recipe.merge_lora:
        model = model.merge_and_unload()
    model.save_pretrained(out)
    trainer.processing_class.save_pretrained(out)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    tokens = max((int(entry.get("num_tokens", 0)) for entry in trainer.state.log_history), default=0)
    return TrainSummary(
        steps=result.global_step,
        tokens=tokens,
        seconds=seconds,
        final_loss=losses[-1] if losses else None,
        first_loss=losses[0] if losses else None,
        checkpoint=out,
        samples=len(prepared.examples),
        dropped_overlong=prepared.dropped_overlong,
    )

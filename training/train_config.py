"""A training run's configuration in TRL's own classes: SFTConfig or DPOConfig, ModelConfig (the
model and LoRA) and LongwriteArguments (ours: the data, the embedded model, overlong samples).

Every TRL and Trainer option works under its TRL name, from the recipe and from the command line
(`--report_to tensorboard`, `--push_to_hub`, `--deepspeed`, `--gradient_checkpointing`, ...). The
config is built before any model is loaded: under `accelerate launch` with DeepSpeed ZeRO-3,
building the TrainingArguments is what makes `from_pretrained` shard the weights as they load.

Where longwrite's defaults differ from TRL's they are listed in LONGWRITE_DEFAULTS (the recipes
were written against them); keys of longwrite's earlier recipes still work, with a one-line
notice naming TRL's key.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from longwrite.core.errors import InputError
from longwrite.core.extras import require
from longwrite.training.recipe import LongwriteArguments, build, flag_key, parse_recipe, recipe_file_values

log = logging.getLogger(__name__)

Kind = Literal["sft", "dpo"]

# longwrite's defaults where TRL's differ: the loss on answers only, the papers' cosine schedule,
# a loss line every step, no activation recomputation unless asked (TRL turns it on), LoRA on
# the attention projections when use_peft is on
LONGWRITE_DEFAULTS: dict[str, dict[str, Any]] = {
    "common": {
        "learning_rate": 1e-5,
        "lr_scheduler_type": "cosine",
        "num_train_epochs": 1.0,
        "max_length": 2048,
        "optim": "adamw_torch",
        "bf16": False,
        "gradient_checkpointing": None,  # off (TRL's is on), without transformers 5's warning on the old name
        "logging_steps": 1,
        "save_total_limit": 2,
        "dataset_num_proc": 1,
        "disable_tqdm": False,
        "lora_alpha": 16,
        "lora_target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
    },
    "sft": {"packing": True, "completion_only_loss": True},
    "dpo": {},
}

# keys of longwrite's own recipe format before TRL's parser read them: old name -> TRL's name
RENAMED = {"model": "model_name_or_path", "warmup_ratio": "warmup_steps"}


@dataclass(frozen=True)
class TrainConfig:
    kind: Kind
    ours: LongwriteArguments
    trainer: Any  # trl.SFTConfig or trl.DPOConfig
    model: Any  # trl.ModelConfig
    device: str  # "cuda" or "cpu"
    source: str

    @property
    def output_dir(self) -> Path:
        return Path(self.trainer.output_dir)

    @property
    def uses_lora(self) -> bool:
        return bool(self.model.use_peft or self.ours.init_adapter)


def load_train_config(kind: Kind, path: Path | None, overrides: list[str]) -> TrainConfig:
    """`longwrite train sft|dpo --config RECIPE [--key value ...]`."""
    source = str(path) if path else "the command line"
    return train_config(kind, recipe_file_values(path), overrides, source)


def train_config(kind: Kind, values: dict[str, Any], overrides: list[str], source: str) -> TrainConfig:
    """The three configs, checked; InputError before anything heavy when one cannot be met here."""
    namespace = train_namespace(kind, values, overrides, source)
    ours = build(LongwriteArguments, namespace, source)
    _check_required(ours, namespace, source)
    device = training_device(ours.device, namespace.bf16, namespace.use_cpu, source)
    namespace.use_cpu = device == "cpu"
    if ours.logging_dir:  # transformers 5 reads TensorBoard's folder from the environment
        os.environ["TENSORBOARD_LOGGING_DIR"] = ours.logging_dir
    trainer_kind, model_kind = _trl_kinds(kind)
    trainer = build(trainer_kind, namespace, source)
    _check_numbers(trainer, source)
    return TrainConfig(kind, ours, trainer, build(model_kind, namespace, source), device, source)


def train_namespace(kind: Kind, values: dict[str, Any], overrides: list[str], source: str) -> argparse.Namespace:
    """Every key of the recipe and the command line, parsed and typed, nothing built: what a
    pipeline checks its training sections with (a GPU recipe reads fine on a CPU machine)."""
    _refuse_renamed_flags(overrides, source)
    trainer_kind, model_kind = _trl_kinds(kind)
    defaults = LONGWRITE_DEFAULTS["common"] | LONGWRITE_DEFAULTS[kind]
    return parse_recipe(
        [LongwriteArguments, trainer_kind, model_kind], defaults | renamed(values, source), overrides, source
    )


def renamed(values: dict[str, Any], source: str) -> dict[str, Any]:
    """Earlier longwrite keys under TRL's names, each with a one-line notice."""
    values = dict(values)
    for old, new in RENAMED.items():
        if old in values and new not in values:
            log.warning("%s: recipe key %r is now %r (TRL's name); read as such", source, old, new)
            values[new] = values.pop(old)
    if "lora_r" in values and "use_peft" not in values:
        # LoRA used to be on whenever lora_r was above 0; TRL switches it with use_peft
        values["use_peft"] = bool(values["lora_r"])
        switch = str(values["use_peft"]).lower()
        log.warning(
            "%s: LoRA is now switched by use_peft; read lora_r: %s as use_peft: %s", source, values["lora_r"], switch
        )
        if not values["lora_r"]:
            values.pop("lora_r")
    if isinstance(values.get("loss_type"), str):  # DPOConfig takes a list of losses
        values["loss_type"] = [values["loss_type"]]
    return values


def _refuse_renamed_flags(overrides: list[str], source: str) -> None:
    for item in overrides:
        key = flag_key(item)
        if item.startswith("--") and key in RENAMED:
            raise InputError(f"--{key} is now --{RENAMED[key]} (TRL's name); {source} was not run.")


def _trl_kinds(kind: Kind) -> tuple[type, type]:
    require("train", f"Training (longwrite train {kind}, a pipeline's training sections)")
    from trl import DPOConfig, ModelConfig, SFTConfig

    return (SFTConfig if kind == "sft" else DPOConfig), ModelConfig


def _check_required(ours: LongwriteArguments, namespace: argparse.Namespace, source: str) -> None:
    if not ours.data:
        raise InputError(f"{source} names no data; set data in the YAML or --data FILE.")
    if not namespace.output_dir:
        raise InputError(f"{source} names no output_dir; set it in the YAML or --output_dir FOLDER.")
    if not ours.embedded_model and not namespace.model_name_or_path:
        raise InputError(f"{source} names no model: set model_name_or_path (or embedded_model: true).")


def _check_numbers(trainer: Any, source: str) -> None:
    """What TrainingArguments lets through but would fail (or silently do nothing) later."""
    if not trainer.learning_rate > 0:
        raise InputError(f"{source}: learning_rate must be above 0, got {trainer.learning_rate}.")
    if trainer.max_steps == 0 or trainer.max_steps < -1:
        raise InputError(f"{source}: max_steps must be -1 (run the epochs) or positive, got {trainer.max_steps}.")
    for key in ("per_device_train_batch_size", "gradient_accumulation_steps", "max_length"):
        if getattr(trainer, key) is not None and getattr(trainer, key) < 1:
            raise InputError(f"{source}: {key} must be at least 1, got {getattr(trainer, key)}.")


def training_device(device: str, bf16: bool | None, use_cpu: bool, source: str) -> str:
    """'cuda' or 'cpu'; InputError before anything loads when the recipe needs a GPU that is not here."""
    import torch

    has_cuda = torch.cuda.is_available()
    wants_cpu = device == "cpu" or use_cpu
    # bf16 with device: cpu is CPU autocast (worth it where the CPU has AVX512-BF16 or AMX);
    # elsewhere bf16 means a GPU recipe
    if (device == "cuda" or (bf16 and not wants_cpu)) and not has_cuda:
        needs = "device: cuda" if device == "cuda" else "bf16: true"
        raise InputError(
            f"{source} needs a CUDA GPU ({needs}) and this machine has none. Run it on a GPU machine "
            "(see the README's `accelerate launch` lines), or try it here with "
            "training/recipes/smollm2-135m-cpu.yaml (or --device cpu --bf16 false)."
        )
    return "cuda" if not wants_cpu and has_cuda else "cpu"

"""Training recipes: one dataclass per stage, read from YAML and overridden from the command line.

A recipe file is a flat YAML mapping of field names to values. Every field carries its help text
in its metadata; `describe()` prints them for `--help`. Unknown keys and values of the wrong type
are refused with the key named, before anything heavy is loaded.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from longwrite.errors import InputError

R = TypeVar("R", bound="TrainRecipe")


def _help(text: str, default: Any = dataclasses.MISSING) -> Any:
    if default is dataclasses.MISSING:
        return field(metadata={"help": text})
    return field(default=default, metadata={"help": text})


@dataclass
class TrainRecipe:
    """What SFT and DPO share: the model, the data, the optimiser, saving and LoRA."""

    data: str = _help("training rows: JSONL, Parquet or a dataset folder saved with save_to_disk")
    output_dir: str = _help("where checkpoints and the final model go")
    model: str | None = _help(
        "a Hugging Face checkpoint folder, or a hub id already in the local cache; "
        "with gguf_file, the folder that holds the GGUF",
        None,
    )
    gguf_file: str | None = _help("load the model from this GGUF file in `model` (de-quantised to float32)", None)
    embedded_model: bool = _help("train the embedded default (SmolLM2-135M-Instruct GGUF); model is ignored", False)
    device: Literal["auto", "cpu", "cuda"] = _help(
        "auto uses CUDA when present; cuda refuses to run without it", "auto"
    )
    bf16: bool = _help("bfloat16 mixed precision: on a GPU, or CPU autocast with device: cpu", False)
    max_length: int = _help("the longest sample in tokens (with packing: the packed sequence length)", 2048)
    overlong: Literal["drop", "truncate"] = _help(
        "samples over max_length: drop them (as the papers did) or truncate them", "drop"
    )
    learning_rate: float = _help("peak learning rate", 1e-5)
    lr_scheduler_type: str = _help("learning-rate schedule (transformers names: cosine, linear, constant...)", "cosine")
    warmup_ratio: float = _help("share of the steps spent warming up", 0.0)
    weight_decay: float = _help("AdamW weight decay", 0.0)
    max_grad_norm: float = _help("gradient clipping (0 = off)", 1.0)
    optim: str = _help("optimiser (transformers names: adamw_torch, adamw_torch_fused, sgd...)", "adamw_torch")
    num_train_epochs: float = _help("passes over the data", 1.0)
    max_steps: int = _help("stop after this many optimiser steps (-1 = run the epochs)", -1)
    per_device_train_batch_size: int = _help("samples per device per micro-batch", 1)
    gradient_accumulation_steps: int = _help("micro-batches per optimiser step", 1)
    gradient_checkpointing: bool = _help("recompute activations in the backward pass to save memory", False)
    lora_r: int = _help("LoRA rank; 0 trains every weight", 0)
    lora_alpha: int = _help("LoRA scaling", 16)
    lora_dropout: float = _help("LoRA dropout", 0.05)
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"], metadata={"help": "modules LoRA adapts"}
    )
    init_adapter: str | None = _help(
        "continue training this PEFT LoRA adapter (a folder) instead of starting a new "
        "one: an anneal or DPO stage after a LoRA SFT",
        None,
    )
    merge_lora: bool = _help("merge the LoRA weights into the model when saving, so it serves as one checkpoint", True)
    resume_from_checkpoint: str | None = _help(
        "a checkpoint folder to resume from, or 'latest' for the newest one in output_dir", None
    )
    logging_steps: int = _help("log the loss every N steps", 1)
    save_steps: int = _help("save a checkpoint every N steps", 500)
    save_total_limit: int = _help("checkpoints kept", 2)
    seed: int = _help("random seed", 42)

    def __post_init__(self) -> None:
        _positive(
            self,
            "max_length",
            "per_device_train_batch_size",
            "gradient_accumulation_steps",
            "logging_steps",
            "save_steps",
            "save_total_limit",
        )
        if not self.learning_rate > 0:
            raise InputError(f"learning_rate must be above 0, got {self.learning_rate}.")
        if self.max_steps == 0 or self.max_steps < -1:
            raise InputError(f"max_steps must be -1 (run the epochs) or a positive number, got {self.max_steps}.")
        if not 0 <= self.warmup_ratio < 1:
            raise InputError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}.")
        if self.lora_r < 0:
            raise InputError(f"lora_r must be 0 (off) or positive, got {self.lora_r}.")
        if not self.embedded_model and not self.model:
            raise InputError("The recipe names no model: set model (or embedded_model: true).")


@dataclass
class SftRecipe(TrainRecipe):
    """Supervised fine-tuning on long-output conversations (TRL SFTTrainer)."""

    packing: bool = _help("pack several samples into each max_length sequence (no cross-sample attention)", True)


@dataclass
class DpoRecipe(TrainRecipe):
    """Direct preference optimisation on (prompt, chosen, rejected) rows (TRL DPOTrainer)."""

    beta: float = _help("how far the policy may move from the reference model", 0.1)
    loss_type: str = _help("DPO loss (TRL names: sigmoid, ipo, ...)", "sigmoid")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.beta > 0:
            raise InputError(f"beta must be above 0, got {self.beta}.")


@dataclass
class PairsRecipe:
    """Preference pairs: k answers per instruction from an endpoint, scored, best against worst."""

    data: str = _help("instructions: JSONL/Parquet rows with `prompt` (or `instruction`) or with messages")
    output: str = _help("the DPO rows (JSONL) to write")
    samples_per_prompt: int = _help("answers sampled per instruction (k)", 4)
    temperature: float = _help("sampling temperature for the answers", 0.8)
    max_tokens_factor: float = _help("cap each answer at this many times the target, in tokens", 2.0)
    min_margin: float = _help("keep a pair only when chosen beats rejected by this many points", 5.0)
    limit: int | None = _help("use at most this many instructions", None)
    base_url: str | None = _help(
        "the endpoint that answers (usually the SFT model); unset = the embedded default", None
    )
    model: str | None = _help("the model id at base_url", None)
    seed: int = _help("random seed for sampling order", 42)

    def __post_init__(self) -> None:
        _positive(self, "samples_per_prompt")
        if self.samples_per_prompt < 2:
            raise InputError("samples_per_prompt must be at least 2: a pair needs two answers.")
        if not 0 < self.max_tokens_factor <= 10:
            raise InputError(f"max_tokens_factor must be in (0, 10], got {self.max_tokens_factor}.")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"limit must be positive, got {self.limit}.")


def _positive(recipe: object, *names: str) -> None:
    for name in names:
        if getattr(recipe, name) < 1:
            raise InputError(f"{name} must be at least 1, got {getattr(recipe, name)}.")


# ---------------------------------------------------------------- loading


def load_recipe(kind: type[R] | type[PairsRecipe], path: Path | None, overrides: list[str]) -> Any:
    """The recipe in `path` (YAML) with `--key value` overrides applied on top, checked."""
    values: dict[str, Any] = {}
    if path is not None:
        values = read_yaml(path)
    values.update(parse_overrides(overrides))
    return recipe_from_values(kind, values, str(path) if path else "the command line")


def recipe_from_values(kind: type[R] | type[PairsRecipe], values: dict[str, Any], source: str) -> Any:
    """The recipe made from a mapping of keys to values, checked (errors name `source`)."""
    values = dict(values)
    hints = typing.get_type_hints(kind)
    known = [f.name for f in dataclasses.fields(kind)]
    for key, value in values.items():
        if key not in hints:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise InputError(f"Unknown recipe key {key!r} in {source}{hint}; the keys are listed by --help.")
        values[key] = checked_value(key, value, hints[key])
    missing = [
        f.name
        for f in dataclasses.fields(kind)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and f.name not in values
    ]
    if missing:
        raise InputError(f"The recipe lacks {', '.join(missing)}; set them in the YAML or as --{missing[0]} VALUE.")
    return kind(**values)


# The recipes that ship with the package (package data), found by name: --config smollm2-135m-cpu.
SHIPPED_RECIPES = Path(__file__).parent / "recipes"


def shipped_recipe_names() -> list[str]:
    return sorted(path.stem for path in SHIPPED_RECIPES.glob("*.yaml"))


def find_recipe(path: Path) -> Path:
    """`path` itself when it is a file; otherwise, for a bare name, the shipped recipe of that name."""
    if path.is_file() or len(path.parts) != 1:
        return path
    shipped = SHIPPED_RECIPES / (path.name if path.suffix in (".yaml", ".yml") else f"{path.name}.yaml")
    return shipped if shipped.is_file() else path


def read_yaml(path: Path) -> dict[str, Any]:
    path = find_recipe(path)
    if not path.is_file():
        raise InputError(
            f"Recipe {path} does not exist; give a YAML file or the name of a shipped recipe "
            f"({', '.join(shipped_recipe_names())})."
        )
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise InputError(f"Recipe {path} is not valid YAML: {error}") from error
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise InputError(f"Recipe {path} must be a mapping of keys to values, not a {type(values).__name__}.")
    return values


def parse_overrides(arguments: list[str]) -> dict[str, Any]:
    """`--key value` and `--key=value` pairs; values are read as YAML scalars (1e-5, true, [a, b])."""
    values: dict[str, Any] = {}
    index = 0
    while index < len(arguments):
        argument = arguments[index]
        if not argument.startswith("--") or argument == "--":
            raise InputError(f"Expected --key value, got {argument!r}.")
        key, has_value, raw = argument[2:].partition("=")
        if not has_value:
            if index + 1 >= len(arguments):
                raise InputError(f"--{key} needs a value.")
            index += 1
            raw = arguments[index]
        try:
            values[key.replace("-", "_")] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            values[key.replace("-", "_")] = raw
        index += 1
    return values


def checked_value(key: str, value: Any, hint: Any) -> Any:
    """`value` if it fits the field's type (ints accepted as floats); otherwise InputError naming the key."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        if option is type(None) and value is None:
            return None
        if typing.get_origin(option) is Literal:
            if value in typing.get_args(option):
                return value
            continue
        if typing.get_origin(option) is list:
            if isinstance(value, list) and all(isinstance(item, str) for item in value):
                return value
            continue
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if option is float and isinstance(value, str):  # YAML reads 1e-5 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                continue
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option in (str, bool) and type(value) is option:
            return value
    raise InputError(f"Recipe key {key!r} must be {_describe_type(hint)}, got {value!r}.")


def _describe_type(hint: Any) -> str:
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    words = []
    for option in options:
        if typing.get_origin(option) is Literal:
            words.append(" or ".join(repr(v) for v in typing.get_args(option)))
        elif typing.get_origin(option) is list:
            words.append("a list of strings")
        elif option is type(None):
            words.append("null")
        else:
            words.append({int: "an integer", float: "a number", str: "a string", bool: "true or false"}[option])
    return " or ".join(words)


def describe(kind: type) -> str:
    """One line per recipe key: name, default and help, for --help."""
    lines = []
    for item in dataclasses.fields(kind):
        if item.default is not dataclasses.MISSING:
            default = f"default {item.default}"
        elif item.default_factory is not dataclasses.MISSING:
            default = f"default {item.default_factory()}"
        else:
            default = "required"
        lines.append(f"  {item.name} ({default}): {item.metadata['help']}")
    return "\n\n".join(lines)

"""Recipes: YAML files of keys and values, overridden by `--key value` on the command line.

Every recipe (training, preference pairs, a pipeline's sections) is read by one parser: TRL's
`TrlParser` (transformers' `HfArgumentParser`) over the recipe's dataclasses. The file's values
go through the same typed arguments as the command line's, so a value of the wrong type, an
unknown key and a missing value are refused in one line that names the key, before anything
heavy loads. Our own dataclasses carry their help text in their fields' metadata.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import yaml

from longwrite.core.errors import InputError
from longwrite.core.extras import require

if TYPE_CHECKING:
    from longwrite.core.endpoint_spec import EndpointSpec


def help_field(text: str, default: Any = None) -> Any:
    """A field with its help (the parser passes metadata to argparse, so it holds nothing else);
    a required one defaults to None and is checked after parsing, so that its value may come
    from the file or from the command line. A list default is copied for each instance, as
    dataclasses require of a mutable default."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": text})
    return field(default=default, metadata={"help": text})


def endpoint_spec(base_url: str | None, model: str | None) -> EndpointSpec:
    """The endpoint a recipe's flat `base_url`/`model` keys name (URL cleaned; unset: the embedded default)."""
    # imported here: pydantic would add a third of a second to every `longwrite --help`, which
    # reads the recipe dataclasses for its key listings
    from longwrite.core.endpoint_spec import EndpointSpec

    return EndpointSpec(base_url=base_url, model=model)


@dataclass
class LongwriteArguments:
    """What a training recipe holds beside TRL's SFTConfig/DPOConfig and ModelConfig."""

    data: str | None = help_field(
        "training rows: JSONL, Parquet, a dataset folder saved with save_to_disk, or hf:OWNER/NAME[:SPLIT]"
    )
    embedded_model: bool = help_field(
        "train the embedded default (SmolLM2-135M-Instruct GGUF) when model_name_or_path is not set", False
    )
    gguf_file: str | None = help_field(
        "load the model from this GGUF file inside model_name_or_path (de-quantised to float32)", None
    )
    device: Literal["auto", "cpu", "cuda"] = help_field(
        "auto uses CUDA when present; cuda refuses to run without it; cpu with bf16 is CPU autocast", "auto"
    )
    overlong: Literal["drop", "truncate"] = help_field(
        "samples over max_length: drop them (as the papers did) or truncate them", "drop"
    )
    init_adapter: str | None = help_field(
        "continue training this PEFT LoRA adapter (a folder) instead of starting a new one: "
        "an anneal or DPO stage after a LoRA SFT",
        None,
    )
    merge_lora: bool = help_field(
        "merge the LoRA weights into the model when saving, so it serves as one checkpoint", True
    )
    logging_dir: str | None = help_field(
        "where TensorBoard writes its event files with --report_to tensorboard (default: output_dir/runs/...)", None
    )


@dataclass
class PairsRecipe:
    """Preference pairs: k answers per instruction from an endpoint, scored, best against worst."""

    data: str | None = help_field("instructions: JSONL/Parquet rows with `prompt` (or `instruction`) or with messages")
    output: str | None = help_field("the DPO rows (JSONL) to write")
    samples_per_prompt: int = help_field("answers sampled per instruction (k)", 4)
    temperature: float = help_field("sampling temperature for the answers", 0.8)
    max_tokens_factor: float = help_field("cap each answer at this many times the target, in tokens", 2.0)
    min_margin: float = help_field("keep a pair only when chosen beats rejected by this many points", 5.0)
    limit: int | None = help_field("use at most this many instructions", None)
    base_url: str | None = help_field(
        "the endpoint that answers (usually the SFT model); unset = the embedded default", None
    )
    model: str | None = help_field("the model id at base_url", None)
    seed: int = help_field("random seed for sampling order", 42)

    @property
    def endpoint(self) -> EndpointSpec:
        """The endpoint that answers: base_url and model as one description."""
        return endpoint_spec(self.base_url, self.model)

    def __post_init__(self) -> None:
        for key in ("data", "output"):
            if not getattr(self, key):
                raise InputError(f"The recipe lacks {key}; set it in the YAML or as --{key} VALUE.")
        if self.samples_per_prompt < 2:
            raise InputError("samples_per_prompt must be at least 2: a pair needs two answers.")
        if not 0 < self.max_tokens_factor <= 10:
            raise InputError(f"max_tokens_factor must be in (0, 10], got {self.max_tokens_factor}.")
        if self.limit is not None and self.limit < 1:
            raise InputError(f"limit must be positive, got {self.limit}.")


# ---------------------------------------------------------------- files


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


def recipe_file_values(path: Path | None) -> dict[str, Any]:
    """The recipe's keys; its `env` mapping (as in TRL's config files) is set in the environment."""
    if path is None:
        return {}
    values = read_yaml(path)
    env = values.pop("env", None) or {}
    if not isinstance(env, dict):
        raise InputError(f"Recipe {path}: env must be a mapping of environment variables to values.")
    for name, value in env.items():
        os.environ[str(name)] = str(value)
    return values


# ---------------------------------------------------------------- parsing


def load_recipe(kind: type, path: Path | None, overrides: list[str]) -> Any:
    """One of our own recipe dataclasses (pairs) from `path` with `--key value` overrides on top."""
    source = str(path) if path else "the command line"
    namespace = parse_recipe([kind], recipe_file_values(path), overrides, source)
    return build(kind, namespace, source)


def parse_recipe(kinds: list[type], values: dict[str, Any], overrides: list[str], source: str) -> argparse.Namespace:
    """The recipe's values, then the command line's, through TRL's parser for `kinds`; the
    namespace holds every field of every kind. InputError names any unknown or ill-typed key."""
    parser = _parser(kinds, source)
    actions = {action.dest: action for action in parser._actions if action.dest != "help"}
    _refuse_unknown(values, actions, source)
    # null, [] and a list for a field typed "str or list" have no command-line spelling: set after parsing
    direct = {key: value for key, value in values.items() if _set_directly(key, value, actions, kinds)}
    tokens = [
        token for key, value in values.items() if key not in direct for token in _tokens(key, value, actions, source)
    ]
    namespace, remaining = parser.parse_known_args([*tokens, *overrides])
    if remaining:
        flag = next((item for item in remaining if item.startswith("-")), remaining[0])
        key = flag_key(flag)
        raise InputError(
            f"Unknown recipe key {key!r} (given as {flag}) for {source}{_suggestion(key, actions)}; "
            "--help lists the keys."
        )
    given_on_the_command_line = {flag_key(item) for item in overrides}
    for key, value in direct.items():
        if key not in given_on_the_command_line:
            setattr(namespace, key, value)
    return namespace


def flag_key(flag: str) -> str:
    """The recipe key a command-line flag sets: `--lora-r=8` -> `lora_r`."""
    return flag.lstrip("-").partition("=")[0].replace("-", "_")


def build(kind: type, namespace: argparse.Namespace, source: str) -> Any:
    """An instance of the dataclass `kind` from the parsed namespace; its own checks become InputError."""
    values = {item.name: getattr(namespace, item.name) for item in dataclasses.fields(kind) if item.init}
    try:
        return kind(**values)
    except (ValueError, TypeError) as error:
        raise InputError(f"{source}: {error}") from error


def _parser(kinds: list[type], source: str) -> Any:
    require("train", "Reading a recipe (TRL's parser)")
    from trl import TrlParser

    class RecipeParser(TrlParser):
        def error(self, message: str) -> NoReturn:  # argparse would print its usage and exit
            raise InputError(f"{source}: {message}; --help lists the keys.")

    return RecipeParser(kinds, allow_abbrev=False)


def _refuse_unknown(values: dict[str, Any], actions: dict[str, argparse.Action], source: str) -> None:
    for key in values:
        if key not in actions:
            raise InputError(
                f"Unknown recipe key {key!r} in {source}{_suggestion(key, actions)}; --help lists the keys."
            )


def _suggestion(key: str, actions: dict[str, argparse.Action]) -> str:
    close = difflib.get_close_matches(key, list(actions), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _set_directly(key: str, value: Any, actions: dict[str, argparse.Action], kinds: list[type]) -> bool:
    if value is None or value == []:
        return True
    if not isinstance(value, list) or actions[key].nargs in ("+", "*"):
        return False
    # the annotations, not the fields' types: HfArgumentParser narrows those to what it parses
    return any("list" in str(typing.get_type_hints(kind).get(key, "")) for kind in kinds)


def _tokens(key: str, value: Any, actions: dict[str, argparse.Action], source: str) -> list[str]:
    """A file value as the command line would give it, so the parser checks both alike."""
    if isinstance(value, list):
        if actions[key].nargs not in ("+", "*"):
            raise InputError(f"Recipe key {key!r} in {source} takes one value, not the list {value!r}.")
        return [f"--{key}", *(_scalar(item) for item in value)]
    return [f"--{key}={_scalar(value)}"]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def describe(kind: type, required: tuple[str, ...] = (), omit: tuple[str, ...] = ()) -> str:
    """One line per recipe key (but those in `omit`): name, default (or required) and help, for --help."""
    lines = []
    for item in dataclasses.fields(kind):
        if item.name in omit:
            continue
        default = "required" if item.name in required else f"default {default_of(item)}"
        lines.append(f"  {item.name} ({default}): {item.metadata['help']}")
    return "\n\n".join(lines)


def default_of(item: dataclasses.Field[Any]) -> Any:
    """A field's default, also where a factory makes it (a list)."""
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return item.default

"""`longwrite train sft|dpo|pairs --config RECIPE.yaml [--key value ...]`.

Training recipes are TRL configs: any key of TRL's SFTConfig/DPOConfig and ModelConfig, plus
longwrite's own (printed by `--help`); each can be overridden on the command line
(`--learning_rate 2e-6`, `--report_to tensorboard`). Heavy imports (torch, TRL) happen only when
a command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from longwrite.cli.options import ApiKey, settings_from
from longwrite.training.recipe import LongwriteArguments, PairsRecipe, describe, load_recipe

if TYPE_CHECKING:
    from longwrite.core.settings import Settings
    from longwrite.training.pairs import Judge
    from longwrite.training.train_config import Kind

train_app = typer.Typer(
    help="Fine-tune for long output with TRL: `sft` on long-output conversations, `pairs` to sample preference "
    "pairs, `dpo` on them. Recipes live in training/recipes/. A recipe's data (`--data`) may be a .jsonl or "
    ".parquet file, a dataset folder, or a Hub dataset hf:OWNER/NAME or hf:OWNER/NAME/CONFIG:SPLIT (load_dataset; "
    "offline from its cache).",
    no_args_is_help=True,
)
WITH_OVERRIDES = {"allow_extra_args": True, "ignore_unknown_options": True}
Config = Annotated[
    Path | None,
    typer.Option(
        "--config", help="the recipe: a YAML file or a shipped recipe's name; keys can be overridden after it"
    ),
]
TRL_KEYS = (
    "\n\nRecipe keys: every key of TRL's {config} and ModelConfig (model_name_or_path, dtype, use_peft, lora_r, "
    "lora_alpha, lora_target_modules, ...) under its TRL name, e.g. --report_to tensorboard, --push_to_hub, "
    "--gradient_checkpointing true, --deepspeed ds.json; longwrite's defaults where TRL's differ: {defaults}. "
    "Plus longwrite's own:\n\n"
)


def _keys(config: str, kind: str) -> str:
    from longwrite.training.train_config import LONGWRITE_DEFAULTS

    defaults = LONGWRITE_DEFAULTS["common"] | LONGWRITE_DEFAULTS[kind]
    shown = ", ".join(f"{key} {value}" for key, value in defaults.items())
    return TRL_KEYS.format(config=config, defaults=shown) + describe(LongwriteArguments, required=("data",))


Overwrite = Annotated[bool, typer.Option("--overwrite", help="replace another run already in output_dir")]


@train_app.command(
    "sft",
    context_settings=WITH_OVERRIDES,
    epilog="Example:\n\n  longwrite train sft --config smollm2-135m-cpu --max_steps 20 --report_to tensorboard"
    + _keys("SFTConfig", "sft"),
)
def train_sft(ctx: typer.Context, config: Config = None, overwrite: Overwrite = False) -> None:
    """Supervised fine-tuning: loss on the answers, averaged over all target tokens, packed."""
    _train("sft", config, ctx.args, overwrite)


@train_app.command(
    "dpo",
    context_settings=WITH_OVERRIDES,
    epilog="Example:\n\n  longwrite train dpo --config smollm2-135m-dpo-cpu" + _keys("DPOConfig", "dpo"),
)
def train_dpo(ctx: typer.Context, config: Config = None, overwrite: Overwrite = False) -> None:
    """Direct preference optimisation on the rows `longwrite train pairs` writes."""
    _train("dpo", config, ctx.args, overwrite)


def _train(kind: Kind, config: Path | None, overrides: list[str], overwrite: bool) -> None:
    from longwrite.training.train_config import load_train_config
    from longwrite.training.trainer import run_training

    typer.echo(run_training(load_train_config(kind, config, overrides), overwrite=overwrite).line())


@train_app.command(
    "pairs",
    context_settings=WITH_OVERRIDES,
    epilog="Example:\n\n  longwrite train pairs --config smollm2-135m-pairs-cpu --base_url "
    "http://localhost:8001/v1\n\nRecipe keys:\n\n" + describe(PairsRecipe, required=("data", "output")),
)
def train_pairs(
    ctx: typer.Context,
    config: Config = None,
    api_key: ApiKey = None,
    judge_base_url: Annotated[
        str | None, typer.Option("--judge-base-url", help="score quality with this judge")
    ] = None,
    judge_model: Annotated[str | None, typer.Option("--judge-model")] = None,
    judge_api_key: Annotated[str | None, typer.Option("--judge-api-key")] = None,
) -> None:
    """Sample k answers per instruction, score them, write best-versus-worst DPO rows; resumable."""
    recipe = load_recipe(PairsRecipe, config, ctx.args)
    from longwrite.training.pairs import make_pairs

    judge = _judge(settings_from(judge_base_url, judge_model, judge_api_key)) if judge_base_url else None
    counts = make_pairs(recipe, settings_from(None, None, api_key), judge)
    typer.echo(json.dumps(counts))


def _judge(settings: Settings) -> Judge:
    """The LongBench-Write judge as a 0-100 quality score for one answer."""
    from longwrite.eval.judge import judge_answer, judgement_format
    from longwrite.eval.scores import quality_score
    from longwrite.model.client import chat_model, resolve_endpoint

    endpoint = resolve_endpoint(settings)
    model = chat_model(endpoint, settings)
    response_format = judgement_format(endpoint)

    def judge(instruction: str, answer: str) -> float | None:
        scores = judge_answer(model, instruction, answer, response_format=response_format).scores
        return quality_score([scores])["S_q"] if scores else None

    return judge

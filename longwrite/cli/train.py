"""`longwrite train sft|dpo|pairs --config RECIPE.yaml [--key value ...]`.

Every recipe key can be overridden on the command line (`--learning_rate 2e-6`); the keys, their
defaults and help are printed by `--help`. Heavy imports (torch, TRL) happen only when a command
runs, after the recipe and the data have been checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from longwrite.cli.options import ApiKey, settings_from
from training.recipe import DpoRecipe, PairsRecipe, SftRecipe, describe, load_recipe

if TYPE_CHECKING:
    from longwrite.settings import Settings
    from training.pairs import Judge

train_app = typer.Typer(
    help="Fine-tune for long output with TRL: `sft` on long-output conversations, `pairs` to sample preference "
    "pairs, `dpo` on them. Recipes live in training/recipes/. A recipe's data (`--data`) may be a .jsonl or "
    ".parquet file, a dataset folder, or a Hub dataset hf:OWNER/NAME or hf:OWNER/NAME/CONFIG:SPLIT (load_dataset; "
    "offline from its cache).",
    no_args_is_help=True,
)
WITH_OVERRIDES = {"allow_extra_args": True, "ignore_unknown_options": True}
Config = Annotated[Path | None, typer.Option("--config", help="the recipe (YAML); keys can be overridden after it")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="replace another run already in output_dir")]


@train_app.command(
    "sft",
    context_settings=WITH_OVERRIDES,
    epilog="Example:\n\n  longwrite train sft --config training/recipes/smollm2-135m-cpu.yaml --max_steps 20"
    "\n\nRecipe keys:\n\n" + describe(SftRecipe),
)
def train_sft(ctx: typer.Context, config: Config = None, overwrite: Overwrite = False) -> None:
    """Supervised fine-tuning: loss on the answers, averaged over all target tokens, packed."""
    recipe = load_recipe(SftRecipe, config, ctx.args)
    from training.sft import run_sft

    summary = run_sft(recipe, source=str(config or "the recipe"), overwrite=overwrite)
    typer.echo(summary.line())


@train_app.command(
    "dpo",
    context_settings=WITH_OVERRIDES,
    epilog="Example:\n\n  longwrite train dpo --config training/recipes/smollm2-135m-dpo-cpu.yaml"
    "\n\nRecipe keys:\n\n" + describe(DpoRecipe),
)
def train_dpo(ctx: typer.Context, config: Config = None, overwrite: Overwrite = False) -> None:
    """Direct preference optimisation on the rows `longwrite train pairs` writes."""
    recipe = load_recipe(DpoRecipe, config, ctx.args)
    from training.dpo import run_dpo

    summary = run_dpo(recipe, source=str(config or "the recipe"), overwrite=overwrite)
    typer.echo(summary.line())


@train_app.command(
    "pairs",
    context_settings=WITH_OVERRIDES,
    epilog="Example:\n\n  longwrite train pairs --config smollm2-135m-pairs-cpu --base_url "
    "http://localhost:8001/v1\n\nRecipe keys:\n\n" + describe(PairsRecipe),
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
    from training.pairs import make_pairs

    judge = _judge(settings_from(judge_base_url, judge_model, judge_api_key)) if judge_base_url else None
    counts = make_pairs(recipe, settings_from(None, None, api_key), judge)
    typer.echo(json.dumps(counts))


def _judge(settings: Settings) -> Judge:
    """The LongBench-Write judge as a 0-100 quality score for one answer."""
    from eval.judge import judge_answer, judgement_format
    from eval.scores import quality_score
    from model.client import chat_model, resolve_endpoint

    endpoint = resolve_endpoint(settings)
    model = chat_model(endpoint, settings)
    response_format = judgement_format(endpoint)

    def judge(instruction: str, answer: str) -> float | None:
        scores = judge_answer(model, instruction, answer, response_format=response_format).scores
        return quality_score([scores])["S_q"] if scores else None

    return judge

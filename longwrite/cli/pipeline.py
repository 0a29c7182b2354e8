"""`longwrite pipeline RECIPE.yaml`: synth -> curate -> mix -> train -> export -> evaluate -> report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from longwrite.core.errors import InputError
from longwrite.training.pipeline_recipe import recipe_keys_help


def pipeline(
    recipe: Annotated[Path, typer.Argument(help="the pipeline recipe (YAML), e.g. training/recipes/*.yaml")],
    until: Annotated[str | None, typer.Option("--until", help="stop after this stage")] = None,
    start: Annotated[str | None, typer.Option("--from", help="start at this stage (and run it again)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan and what is done, run nothing")] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="reuse a run folder of another recipe (changed stages are redone)")
    ] = False,
    report_only: Annotated[
        bool,
        typer.Option(
            "--report-only", help="write the report again from the recipe's results_dir alone (no run folder needed)"
        ),
    ] = False,
) -> None:
    """Train a long-output model from the agent's own data and prove it, one resumable stage at a time.

    Stages: instructions, synth, curate, general, mix, sft, anneal (optional), pairs and dpo
    (optional), export, eval-base, eval-trained, ship, eval-agent, report. Each writes into
    RUN/<stage>/ and is skipped when it finished with the same settings; a killed run continues where
    it stopped when the same command is run again. The report stage publishes what a reader needs of
    the run to the recipe's results_dir and writes the report from it; --report-only writes the
    report again from that folder alone (a fresh clone has no run folder).
    """
    from longwrite.training.pipeline import Pipeline
    from longwrite.training.pipeline_recipe import load_pipeline_recipe
    from longwrite.training.pipeline_stages import report_only as write_report_only
    from longwrite.training.pipeline_stages import stages

    loaded = load_pipeline_recipe(recipe)
    if report_only:
        _check_report_only(start, until, dry_run, overwrite)
        typer.echo(json.dumps(write_report_only(loaded)))
        return
    flow = Pipeline(loaded, stages())
    if dry_run:
        typer.echo(flow.describe(start, until))
        return
    _check_device(loaded.device, recipe)
    summaries = flow.run(start, until, overwrite)
    typer.echo(json.dumps({"run_dir": str(loaded.run_dir), "stages_run": [s["stage"] for s in summaries]}))


def _check_report_only(start: str | None, until: str | None, dry_run: bool, overwrite: bool) -> None:
    """--report-only runs no stage, so the options that choose or plan stages make no sense with it."""
    options = {"--from": start, "--until": until, "--dry-run": dry_run, "--overwrite": overwrite}
    given = [name for name, value in options.items() if value]
    if given:
        raise InputError(f"--report-only runs no stage; drop {', '.join(given)}, or drop --report-only to run stages.")


def _check_device(device: str, recipe: Path) -> None:
    """A GPU recipe stops here, before any stage starts, on a machine without a CUDA GPU."""
    if device != "cuda":
        return
    try:
        import torch
    except ImportError as error:
        raise InputError(f"{recipe} is a GPU recipe (device: cuda) and torch is not installed.") from error
    if not torch.cuda.is_available():
        raise InputError(
            f"{recipe} is a GPU recipe (device: cuda) and this machine has no CUDA GPU; run it on a GPU machine, "
            "or use training/recipes/pipeline-smollm2-cpu.yaml here."
        )


epilog = (
    "Examples:\n\n  longwrite pipeline training/recipes/pipeline-smollm2-cpu.yaml\n\n"
    "  longwrite pipeline training/recipes/pipeline-smollm2-cpu.yaml --dry-run\n\n"
    "  longwrite pipeline training/recipes/pipeline-smollm2-cpu.yaml --until sft\n\n"
    "  longwrite pipeline training/recipes/pipeline-smollm2-cpu-long-only-anneal.yaml --report-only\n\n"
    "  longwrite pipeline training/recipes/pipeline-qwen2.5-7b-gpu.yaml --from eval-base\n\n"
    + recipe_keys_help()  # made from the recipe's dataclasses: each key where it is declared, with its help
)

"""The stages of `longwrite pipeline` in order, each with its work and its time estimate (from
stages_data, stages_train and stages_eval), and the last two: ship and report (which publishes
the run's reader files to the recipe's results_dir first).

Every stage reads only the folders of the stages before it and writes only its own folder;
the long ones (synthesis, general answers, training, evaluation) resume where they stopped.
"""

from __future__ import annotations

from typing import Any

from longwrite.training.pipeline import Stage, StageRun, stage_summary
from longwrite.training.pipeline_io import CURATED, MIXED, MODEL_DIR
from longwrite.training.pipeline_recipe import PipelineRecipe
from longwrite.training.stages_data import (
    estimate_general,
    estimate_synth,
    run_curate,
    run_general,
    run_instructions,
    run_mix,
    run_synth,
)
from longwrite.training.stages_eval import (
    agent_modes,
    estimate_eval,
    run_eval_agent,
    run_eval_base,
    run_eval_trained,
    run_export,
)
from longwrite.training.stages_train import (
    estimate_dpo,
    estimate_pairs,
    estimate_training,
    run_anneal,
    run_dpo_stage,
    run_pairs,
    run_sft_stage,
)


def stages() -> list[Stage]:
    return [
        Stage("instructions", "instructions", (), run_instructions, lambda run: 1.0),
        Stage("synth", "synth", ("instructions",), run_synth, estimate_synth),
        Stage("curate", "curate", ("synth",), run_curate, lambda run: 5.0),
        Stage("general", "general", ("instructions",), run_general, estimate_general),
        Stage("mix", "mix", ("curate", "general"), run_mix, lambda run: 1.0),
        Stage(
            "sft",
            "sft",
            ("mix",),
            run_sft_stage,
            lambda run: estimate_training(run, "sft", "mix", MIXED),
            untracked_output=MODEL_DIR,
        ),
        Stage(
            "anneal",
            "anneal",
            ("sft", "curate"),
            run_anneal,
            lambda run: estimate_training(run, "anneal", "curate", CURATED),
            optional=True,
            untracked_output=MODEL_DIR,
        ),
        Stage("pairs", "pairs", ("sft", "anneal", "curate"), run_pairs, estimate_pairs, optional=True),
        Stage(
            "dpo",
            "dpo",
            ("pairs", "sft", "anneal"),
            run_dpo_stage,
            estimate_dpo,
            optional=True,
            untracked_output=MODEL_DIR,
        ),
        Stage("export", "export", ("sft", "anneal", "dpo"), run_export, lambda run: 30.0),
        Stage("eval-base", "eval", (), run_eval_base, lambda run: estimate_eval(run, ["model"])),
        Stage("eval-trained", "eval", ("export",), run_eval_trained, lambda run: estimate_eval(run, ["model"])),
        Stage("ship", "export", ("eval-trained", "eval-base"), run_ship, lambda run: 1.0),
        Stage(
            "eval-agent",
            "eval",
            ("export",),
            run_eval_agent,
            lambda run: estimate_eval(run, agent_modes(run), ruler=False),
        ),
        # the report needs the model-mode evaluations; agent mode, auto and shipping go in when finished
        Stage("report", None, ("eval-trained", "eval-base"), run_report, lambda run: 10.0, always=True),
    ]


def run_ship(run: StageRun) -> dict[str, Any]:
    from longwrite.training.pipeline_report import ship

    return ship(run, stage_summary)


def run_report(run: StageRun) -> dict[str, Any]:
    """Publish the run's reader files to results_dir (when the recipe has one), then write the report
    from them: the page then shows what git keeps, and --report-only makes the same page again."""
    from longwrite.training.pipeline_report import REPORT_STAGE, publish, write_report

    results = run.recipe.results_dir
    if results is None:
        return write_report(run, _stage_names())
    publish(run.recipe.run_dir, results)
    summary = write_report(StageRun(run.recipe, results / REPORT_STAGE), _stage_names(), source=results)
    return {**summary, "published": str(results)}


def report_only(recipe: PipelineRecipe) -> dict[str, Any]:
    """`longwrite pipeline RECIPE --report-only`: the report from the published run alone."""
    from longwrite.training.pipeline_report import write_published_report

    return write_published_report(recipe, _stage_names())


def _stage_names() -> list[str]:
    return [stage.name for stage in stages()]

"""`longwrite pipeline RECIPE.yaml`: the whole training loop, one resumable stage at a time.

instructions -> synth -> curate -> general -> mix -> sft [-> anneal] [-> pairs -> dpo] -> export
-> eval-base -> eval-trained -> ship -> eval-agent -> report

Each stage writes into its own folder of the run (RUN/<stage>/) and marks it finished with
`stage.json`, which holds a fingerprint of the stage's settings and of the stages it reads. A
finished stage with the same fingerprint is skipped; an unfinished one runs again and resumes
(synthesis and evaluation keep every finished row, training restarts from its last checkpoint).
The run folder remembers the recipe that made it; another recipe is refused unless --overwrite,
which redoes only the stages whose fingerprint changed. Run folders (runs/<name> unless the recipe
says otherwise) are not kept in git; the report stage publishes what a reader needs of one to the
recipe's results_dir (pipeline_report.publish), which is.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from longwrite.core.clock import duration_text
from longwrite.core.errors import InputError
from longwrite.core.jsonl import write_atomically
from longwrite.training.pipeline_recipe import PipelineRecipe, digest_of

log = logging.getLogger(__name__)

RUN_FILE = "pipeline.json"
STAGE_FILE = "stage.json"


@dataclass(frozen=True)
class Stage:
    name: str
    section: str | None  # the recipe section that configures it (None: always runs, no settings)
    inputs: tuple[str, ...]  # stages whose output it reads
    run: Callable[[StageRun], dict[str, Any]]
    estimate: Callable[[StageRun], float | None]
    optional: bool = False  # runs only when the recipe has its section
    # runs whenever the run reaches it, finished or not: cheap work that shows what other stages
    # have finished so far (the report), so it may read outputs beyond its inputs when they exist
    always: bool = False
    # what later stages read from its folder, when git does not keep it (a trained model): a reused
    # run that lacks it is not reused, so the stage runs here
    untracked_output: str | None = None


@dataclass(frozen=True)
class StageRun:
    """What a stage's work gets: the recipe, its own folder, and the folders of the run."""

    recipe: PipelineRecipe
    folder: Path
    # for estimates before a run: stages this run will copy from a reused run are read there
    reused: dict[str, Path] = field(default_factory=dict)

    def of(self, stage: str) -> Path:
        return self.reused.get(stage, self.recipe.run_dir) / stage

    def settings(self, section: str) -> Any:
        return self.recipe.section(section)


@dataclass(frozen=True)
class PlanItem:
    stage: Stage
    state: str  # done, partial, to run, not in recipe
    fingerprint: str


class Pipeline:
    def __init__(self, recipe: PipelineRecipe, stages: list[Stage]) -> None:
        self.recipe = recipe
        self.stages = stages
        self.names = [stage.name for stage in stages]

    # ------------------------------------------------------------ planning

    def plan(self) -> list[PlanItem]:
        fingerprints: dict[str, str] = {}
        items = []
        for stage in self.stages:
            present = not stage.optional or self.recipe.section(stage.section or "") is not None
            settings = self.recipe.section_fingerprint(stage.section) if stage.section else None
            inputs = {name: fingerprints[name] for name in stage.inputs if name in fingerprints}
            fingerprint = digest_of({"settings": settings, "inputs": inputs, "stage": stage.name})
            if present:
                fingerprints[stage.name] = fingerprint
            state = "not in recipe" if not present else self._state(stage.name, fingerprint)
            items.append(PlanItem(stage, state, fingerprint))
        return items

    def _state(self, name: str, fingerprint: str) -> str:
        marker = _read_marker(self.recipe.run_dir / name)
        if marker is None:
            return "to run"
        if marker.get("fingerprint") != fingerprint:
            return "changed"
        return "done" if marker.get("finished") else "partial"

    def _window(self, start: str | None, until: str | None) -> tuple[int, int]:
        for name in (start, until):
            if name is not None and name not in self.names:
                raise InputError(f"Unknown stage {name!r}; the stages are {', '.join(self.names)}.")
        first = self.names.index(start) if start else 0
        last = self.names.index(until) if until else len(self.names) - 1
        if first > last:
            raise InputError(f"--from {start} comes after --until {until}; nothing would run.")
        return first, last

    def describe(self, start: str | None = None, until: str | None = None) -> str:
        """The plan as text: each stage, its folder, its state and its estimated time."""
        first, last = self._window(start, until)
        total = 0.0
        plan = self.plan()
        reused = {item.stage.name: other for item in plan if (other := self._reusable_from(item)) is not None}
        rows: list[tuple[int, str, str, str]] = []  # number, stage, action, ETA; the folder follows
        for number, item in enumerate(plan, start=1):
            stage = item.stage
            if item.state == "not in recipe":
                rows.append((number, stage.name, f"skipped (no {stage.section} section)", ""))
                continue
            selected = first <= number - 1 <= last
            redo = start == stage.name or stage.always
            action = ("redo" if redo else item.state) if selected else "outside --from/--until"
            source = reused.get(stage.name) if selected and start != stage.name else None
            if source is not None:
                action = f"reuse {source.name}"
            eta = None if (item.state == "done" or source) and start != stage.name else self._estimate(stage, reused)
            if selected and action != "done":
                total += eta or 0.0
            rows.append((number, stage.name, action, duration_text(eta) if eta else ""))
        width = max((len(action) for _, _, action, _ in rows if not action.startswith("skipped")), default=0)
        lines = [f"pipeline {self.recipe.path} -> {self.recipe.run_dir}"]
        for number, name, action, eta in rows:
            if action.startswith("skipped"):
                lines.append(f"  {number:2d}. {name:13s} {action}")
            else:
                lines.append(f"  {number:2d}. {name:13s} {action:{width}s} {eta:>10s}  {self.recipe.run_dir / name}")
        lines.append(f"estimated time to finish: {duration_text(total)}")
        return "\n".join(lines)

    def _estimate(self, stage: Stage, reused: dict[str, Path] | None = None) -> float | None:
        try:
            return stage.estimate(StageRun(self.recipe, self.recipe.run_dir / stage.name, reused or {}))
        except (OSError, InputError, KeyError, ValueError):
            return None  # an estimate never stops a run

    # ------------------------------------------------------------ running

    def run(self, start: str | None = None, until: str | None = None, overwrite: bool = False) -> list[dict[str, Any]]:
        first, last = self._window(start, until)
        self._claim_run_dir(overwrite)
        self._reuse_finished()
        items = self.plan()
        selected = [(n, item) for n, item in enumerate(items) if first <= n <= last and item.state != "not in recipe"]
        self._check_inputs([item for _, item in selected], {item.stage.name: item for item in items})
        summaries = []
        for position, (number, item) in enumerate(selected):
            if item.state == "done" and item.stage.name != start and not item.stage.always:
                _progress(f"stage {number + 1}/{len(items)} {item.stage.name}: finished earlier, skipped")
                continue
            remaining = sum(self._estimate(other.stage) or 0.0 for _, other in selected[position:])
            summaries.append(self._run_stage(item, number + 1, len(items), remaining, overwrite))
        return summaries

    def _check_inputs(self, selected: list[PlanItem], by_name: dict[str, PlanItem]) -> None:
        """Every stage that will run reads only stages that finished or run before it."""
        running = {item.stage.name for item in selected}
        for item in selected:
            for name in item.stage.inputs:
                source = by_name[name]
                if source.state in ("done", "not in recipe") or name in running:
                    continue
                raise InputError(
                    f"Stage {item.stage.name} reads the output of stage {name} ({self.recipe.run_dir / name}), "
                    f"which has not finished ({source.state}); run with --from {name}, or without --from/--until."
                )

    def _reuse_finished(self) -> None:
        """Copy, from the runs named in `reuse`, every finished stage that this run has not begun
        and that has the same fingerprint here (the same settings as written, the same inputs)."""
        for item in self.plan():
            other = self._reusable_from(item)
            if other is not None:
                shutil.copytree(other / item.stage.name, self.recipe.run_dir / item.stage.name)
                _progress(f"{item.stage.name}: reused from {other} (same settings and inputs)")

    def _reusable_from(self, item: PlanItem) -> Path | None:
        """The run in `reuse` that finished this stage with the same fingerprint, if this run has
        not begun it."""
        if item.state != "to run":
            return None
        output = item.stage.untracked_output
        for other in self.recipe.reuse:
            marker = _read_marker(other / item.stage.name)
            if output and not (other / item.stage.name / output).exists():
                continue
            if marker and marker.get("finished") and marker.get("fingerprint") == item.fingerprint:
                return other
        return None

    def _claim_run_dir(self, overwrite: bool) -> None:
        run_dir = self.recipe.run_dir
        path = run_dir / RUN_FILE
        mine = {"recipe": str(self.recipe.path), "fingerprint": self.recipe.fingerprint()}
        if path.is_file():
            held = json.loads(path.read_text(encoding="utf-8"))
            if held.get("fingerprint") != mine["fingerprint"] and not overwrite:
                raise InputError(
                    f"{run_dir} holds a run of another recipe ({held.get('recipe')}); choose another run_dir, or "
                    "pass --overwrite to redo the stages whose settings changed (finished ones that did not "
                    "change are kept)."
                )
        elif run_dir.is_dir() and any(run_dir.iterdir()) and not overwrite:
            raise InputError(f"{run_dir} holds files that no pipeline run made; choose another run_dir or --overwrite.")
        run_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(mine, indent=2) + "\n", encoding="utf-8")

    def _run_stage(self, item: PlanItem, number: int, total: int, remaining: float, overwrite: bool) -> dict:
        stage = item.stage
        folder = self.recipe.run_dir / stage.name
        marker = _read_marker(folder)
        if marker is not None and (marker.get("fingerprint") != item.fingerprint or marker.get("finished")):
            shutil.rmtree(folder)  # settings changed (allowed by --overwrite above) or a redo asked by --from
        folder.mkdir(parents=True, exist_ok=True)
        _write_marker(folder, {"fingerprint": item.fingerprint, "finished": False})
        run = StageRun(self.recipe, folder)
        eta = self._estimate(stage)
        _progress(
            f"stage {number}/{total} {stage.name}: started"
            + (f", about {duration_text(eta)}" if eta else "")
            + (f" (the run: about {duration_text(remaining)} to go)" if remaining else "")
        )
        started = time.monotonic()
        summary = stage.run(run)
        seconds = time.monotonic() - started
        previous = float((marker or {}).get("seconds", 0.0)) if marker and not marker.get("finished") else 0.0
        record = {
            "fingerprint": item.fingerprint,
            "finished": True,
            "seconds": round(seconds + previous, 1),
            "summary": summary,
        }
        _write_marker(folder, record)
        _progress(f"stage {number}/{total} {stage.name}: finished in {duration_text(seconds)} {json.dumps(summary)}")
        return {"stage": stage.name, **record}


def stage_seconds(run_dir: Path, name: str) -> float | None:
    marker = _read_marker(run_dir / name)
    return float(marker["seconds"]) if marker and marker.get("finished") else None


def stage_summary(run_dir: Path, name: str) -> dict[str, Any] | None:
    marker = _read_marker(run_dir / name)
    return marker.get("summary") if marker and marker.get("finished") else None


def _read_marker(folder: Path) -> dict[str, Any] | None:
    path = folder / STAGE_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None  # a marker cut off by a crash: the stage did not finish


def _write_marker(folder: Path, record: dict[str, Any]) -> None:
    # atomic: a marker is either the old one or the new one
    write_atomically(folder / STAGE_FILE, lambda handle: handle.write(json.dumps(record, indent=2) + "\n"))


def _progress(line: str) -> None:
    log.info("[pipeline] %s", line)

"""The plan file format: the JSON that `write --plan-only` prints and `write --plan-file` reads
back (a title, the target and the sections with their word budgets). Parsing only: the file
itself is read by the front end (longwrite.cli.plan_files), as the agent does no I/O besides the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from longwrite.agent.budget import renormalise
from longwrite.agent.plan import with_budgets
from longwrite.agent.plan_rules import UNSET, checked_plan
from longwrite.agent.state import Section
from longwrite.core.errors import InputError


def plan_from_json(data: Any, path: Path | str, target: int | None) -> tuple[str | None, list[Section]]:
    """The (title, sections) of a plan file's parsed JSON (see plan_to_json), budgets scaled to
    `target` when given; InputError naming `path` and what to fix."""
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list) or not data["sections"]:
        raise InputError(f'The plan file {path} needs a non-empty "sections" list; see the output of --plan-only.')
    sections = checked_plan(data["sections"], f"the plan file {path}", budget_optional=True)
    if target is not None and any(s["words"] == UNSET for s in sections):
        sections = with_budgets(sections, renormalise([1] * len(sections), target))
    elif target is not None:
        sections = with_budgets(sections, renormalise([s["words"] for s in sections], target))
    elif any(s["words"] == UNSET for s in sections):
        raise InputError(
            f'The plan file {path} leaves some word budgets out; give every section "words" or pass --words.'
        )
    title = data.get("title")
    return (str(title).strip() if title else None), sections


def plan_to_json(title: str, sections: list[Section], target: int, target_from: str | None = None) -> str:
    """A plan file (read back by plan_from_json); `target_from` says where the length came from ("plan": the
    plan sized it, the request stating none)."""
    plan: dict[str, Any] = {"title": title, "target_words": target}
    if target_from:
        plan["target_from"] = target_from
    return json.dumps(plan | {"sections": sections}, ensure_ascii=False, indent=2)

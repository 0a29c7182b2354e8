"""Plan files: what `write --plan-only` prints and `write --plan-file` reads back."""

from __future__ import annotations

import json
from pathlib import Path

from longwrite.agent.plan_file import plan_from_json
from longwrite.agent.state import Section
from longwrite.core.errors import InputError
from longwrite.core.limits import check_valid_text


def load_plan_file(path: Path, target: int | None) -> tuple[str | None, list[Section]]:
    """Read a plan written by `--plan-only` (or by hand): JSON with a "sections" list."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise InputError(f"The plan file {path} does not exist; write one with --plan-only.") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(
            f"The plan file {path} is not valid JSON ({error}); fix it or write a new one with --plan-only."
        ) from error
    check_valid_text(json.dumps(data, ensure_ascii=False), f"The plan file {path}")
    return plan_from_json(data, path, target)

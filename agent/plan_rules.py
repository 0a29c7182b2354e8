"""The one rule for a plan a person gives or edits: a plan file, the page's table, the API's resume
body, an edit put into a planned job. Each section has a title and a positive whole number of
words; only a plan file may leave a budget out, for --words to size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from longwrite.agent.state import Section
from longwrite.core.errors import InputError

UNSET = 0  # a budget left out of a plan file: sized from the target


def whole_number(value: Any) -> int | None:
    """`value` as a whole number (300, 300.0, "300"); None for anything else (text, 2.5, true)."""
    if value is None or isinstance(value, bool) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number == int(number) else None


def checked_section(number: int, item: Any, where: str, budget_optional: bool = False) -> Section:
    """Section `number` (from 1) of `where` as a Section; InputError naming it and what to fix."""
    if not isinstance(item, dict):
        raise InputError(f"Section {number} of {where} is not a section; give it a title and words.")
    title = item.get("title")
    if not isinstance(title, str) or not title.strip():
        raise InputError(f"Section {number} of {where} has no title; give it one.")
    words = item.get("words")
    if words is None and budget_optional:
        budget = UNSET
    else:
        budget = whole_number(words)
        if budget is None or budget < 1:
            raise InputError(f"Section {number} of {where} has {words!r} words; give a positive whole number.")
    points = item.get("points")
    return Section(title=title.strip(), points=str(points).strip() if points else "", words=budget)


def checked_plan(items: Sequence[Any], where: str, budget_optional: bool = False) -> list[Section]:
    """Every section of `where` checked; InputError when there is none."""
    if not items:
        raise InputError(f"{where[0].upper()}{where[1:]} has no sections.")
    return [checked_section(number, item, where, budget_optional) for number, item in enumerate(items, start=1)]

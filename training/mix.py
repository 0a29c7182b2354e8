"""Mixing long-output rows with general chat rows ("Minimum Tuning": one long row to 20 general)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from longwrite.errors import InputError


@dataclass(frozen=True)
class Mix:
    rows: list[dict[str, Any]]
    long: int
    general: int
    repeated_general: int  # general rows used more than once (only with allow_repeat)


def mix(
    long_rows: list[dict[str, Any]],
    general_rows: list[dict[str, Any]],
    ratio: int,
    seed: int,
    allow_repeat: bool = False,
) -> Mix:
    """All long rows and `ratio` general rows per long row, shuffled with `seed`."""
    if ratio < 0:
        raise InputError(f"--ratio is {ratio}; give 0 or more general rows per long row.")
    if not long_rows:
        raise InputError("There are no long-output rows to mix.")
    wanted = ratio * len(long_rows)
    rng = random.Random(seed)
    if wanted > len(general_rows) and not allow_repeat:
        raise InputError(
            f"A ratio of {ratio} needs {wanted:,} general rows for {len(long_rows):,} long ones, but there are "
            f"{len(general_rows):,}; lower --ratio, add general data, or pass --allow-repeat."
        )
    if wanted <= len(general_rows):
        general = rng.sample(general_rows, wanted)
    else:  # every general row once, then the rest drawn again
        general = list(general_rows) + rng.choices(general_rows, k=wanted - len(general_rows))
    rows = [*long_rows, *general]
    rng.shuffle(rows)
    return Mix(rows, len(long_rows), len(general), max(0, wanted - len(general_rows)))

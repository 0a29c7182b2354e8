"""Mixing long-output rows with general chat rows ("Minimum Tuning": one long row to 20 general)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from longwrite.core.errors import InputError
from longwrite.training.rows import answer_words


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
    long_limit: int | None = None,
) -> Mix:
    """All long rows (or `long_limit` of them, spread over their lengths) and `ratio` general rows
    per long row, shuffled with `seed`."""
    if ratio < 0:
        raise InputError(f"--ratio is {ratio}; give 0 or more general rows per long row.")
    if not long_rows:
        raise InputError("There are no long-output rows to mix.")
    if long_limit is not None:
        long_rows = spread_by_length(long_rows, long_limit)
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


def spread_by_length(rows: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """`count` of the rows, evenly spaced when they are ordered by answer length: a smaller data set
    (the data-size lever) with the same spread of lengths, where a random draw of a few rows could
    leave out most of the few longest answers."""
    if count < 1:
        raise InputError(f"--long-limit is {count}; give 1 or more long rows, or leave it out to use them all.")
    if count >= len(rows):
        return list(rows)
    by_length = sorted(rows, key=answer_words)
    return [by_length[((2 * i + 1) * len(rows)) // (2 * count)] for i in range(count)]  # centred in each step

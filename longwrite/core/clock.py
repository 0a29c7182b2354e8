"""Durations as progress lines show them (one way for every command)."""

from __future__ import annotations


def duration_text(seconds: float | None) -> str:
    """'45 s', '12 min', '2.5 h'; '?' when unknown."""
    if seconds is None:
        return "?"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"

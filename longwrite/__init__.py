"""longwrite: ultra-long writing with LLMs.

The Python API (longwrite/api.py): write, plan, awrite, aplan, events, aevents; after a first
draft, revise, extend, versions, restore; the documents: jobs, delete. They are imported on
first use, so `import longwrite` (and the CLI) stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "aevents", "aplan", "awrite", "delete", "events", "extend", "jobs", "plan", "restore", "revise", "versions",
    "write",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in __all__:
        from longwrite import api

        return getattr(api, name)
    raise AttributeError(f"module 'longwrite' has no attribute {name!r}")

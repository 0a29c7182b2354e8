"""longwrite: ultra-long writing with LLMs.

The Python API (longwrite/api.py): write, plan, awrite, aplan, events, aevents. They are
imported on first use, so `import longwrite` (and the CLI) stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["aevents", "aplan", "awrite", "events", "plan", "write"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from longwrite import api

        return getattr(api, name)
    raise AttributeError(f"module 'longwrite' has no attribute {name!r}")

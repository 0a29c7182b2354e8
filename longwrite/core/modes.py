"""The ways longwrite writes a document. Here, not in the agent, because the CLI builds its
`--mode` choices from them at start, before anything heavy is imported.

agent: plan, then section by section; model: one call, no plan (the benchmark's baseline);
auto: the model first, the agent continues when it falls short.
"""

from __future__ import annotations

from typing import Literal, get_args

Mode = Literal["agent", "model", "auto"]
MODES: tuple[Mode, ...] = get_args(Mode)

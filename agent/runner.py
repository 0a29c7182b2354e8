"""The one entry that writes a document: agent, model or auto mode, saved as a job or in memory.

Every front end (the CLI, the API's chats, the page and its Compare tab, eval, synth) hands a
`WriteRequest` to `write`; nothing else chooses between the modes. In agent mode a request with
a job id and a store is a saved job (resumable, exactly once per section); without one the
checkpoints stay in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from longwrite.agent.direct import write_direct
from longwrite.agent.generate import TIME_LIMIT
from longwrite.agent.jobs import JobResult, JobStore, run_job, write_once
from longwrite.agent.model_first import WritePath, write_auto
from longwrite.agent.state import AgentContext, Section
from longwrite.core.errors import InputError
from longwrite.core.modes import MODES, Mode
from longwrite.core.text import count_words, length_score


@dataclass(frozen=True)
class WriteRequest:
    instruction: str
    target: int | None = None  # None: the agent's plan sizes it; one call is judged by the default
    mode: Mode = "agent"
    job_id: str | None = None  # agent mode: save the document as this job of the store
    resume: bool = False  # continue job_id where it stopped
    plan: list[Section] | None = None  # agent mode: write this plan instead of making one
    title: str | None = None
    plan_only: bool = False  # agent mode: stop after the plan

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"The mode {self.mode!r} is not one of {', '.join(MODES)}.")
        agent_only = {"job": self.job_id, "resume": self.resume, "plan": self.plan, "plan only": self.plan_only}
        given = [name for name, value in agent_only.items() if value]
        if self.mode != "agent" and given:
            raise InputError(f"{self.mode} mode writes in one go: {', '.join(given)} are for agent mode.")
        if self.job_id is None and (self.resume or self.plan or self.plan_only):
            raise InputError("Resuming, a given plan and stopping after the plan need a job id.")


@dataclass(frozen=True)
class Written:
    """A finished write, whatever the mode."""

    document: str
    target: int  # what its length is scored against
    path: WritePath  # who wrote it: agent, model, or model+agent (auto continued by the agent)
    reason: str  # auto: why the agent took over ("" when the model's answer stands)
    seconds: float
    cut_at_time_limit: bool = False  # model mode: the answer time limit stopped it
    job: JobResult | None = None  # agent mode: the job, with its plan and sections

    @property
    def words(self) -> int:
        return count_words(self.document)

    @property
    def length_score(self) -> float:
        return length_score(self.target, self.words)


def write(
    ctx: AgentContext,
    request: WriteRequest,
    store: JobStore | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    on_token: Callable[[str], None] | None = None,
) -> Written:
    """Write `request` on the context's endpoint. `on_event` gets the agent's events (auto's too);
    `on_token` the text of a model-mode answer as it streams."""
    started = time.monotonic()
    default = ctx.settings.default_target_words
    if request.mode == "model":
        direct = write_direct(ctx, request.instruction, on_token=on_token)
        cut = direct.finish_reason == TIME_LIMIT
        return Written(direct.document, request.target or default, "model", "", direct.seconds, cut)
    if request.mode == "auto":
        auto = write_auto(ctx, request.instruction, request.target or default, on_event=on_event)
        return Written(auto.document, auto.target, auto.path, auto.reason, time.monotonic() - started)
    job = _write_agent(ctx, request, store, on_event)
    return Written(job.document, job.target, "agent", "", time.monotonic() - started, job=job)


def _write_agent(
    ctx: AgentContext,
    request: WriteRequest,
    store: JobStore | None,
    on_event: Callable[[dict[str, Any]], None] | None,
) -> JobResult:
    if request.job_id is None:
        return write_once(ctx, request.instruction, request.target, on_event=on_event)
    if store is None:
        raise ValueError(f"job {request.job_id} needs a JobStore to be saved in")
    return run_job(
        store,
        ctx,
        request.job_id,
        instruction=request.instruction or None,
        target=request.target,
        plan=request.plan,
        title=request.title,
        resume=request.resume,
        plan_only=request.plan_only,
        on_event=on_event,
    )

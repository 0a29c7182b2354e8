"""The one entry that writes a document: agent, model or auto mode, saved as a job or in memory.

Every front end (the CLI, the API's chats, the page and its Compare tab, eval, synth) hands a
`WriteRequest` to `write`; nothing else chooses between the modes. In agent and auto mode a
request with a job id and a store is a saved job (resumable, exactly once per section; auto saves
the agent's part, which holds the model's answer as its opening); without one the checkpoints stay
in memory.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from longwrite.agent.direct import write_direct
from longwrite.agent.generate import TIME_LIMIT
from longwrite.agent.jobs import JobResult, JobStore, run_job, write_once
from longwrite.agent.model_first import WritePath, report_one_call, write_auto
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
    hold_length: bool = False  # model mode: one call held to the target (agent/direct.py); plain: the baseline

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"The mode {self.mode!r} is not one of {', '.join(MODES)}.")
        agent_only = {"given plan": self.plan, "plan-only stop": self.plan_only}
        if self.mode == "model":  # one call: nothing is saved, so nothing resumes
            agent_only = {"job id": self.job_id, "resume": self.resume, **agent_only}
        given = [name for name, value in agent_only.items() if value]
        if self.mode != "agent" and given:
            raise InputError(f"In {self.mode} mode there is no {' or '.join(given)}: that is for agent mode.")
        if self.hold_length and self.mode != "model":
            raise InputError(f"Holding one call to its length is for model mode; {self.mode} mode controls it itself.")
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
    loop_cut: bool = False  # model mode held to length: the guard stopped a loop where it began
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
    """Write `request` on the context's endpoint. `on_event` gets the agent's events (auto's, and a
    model-mode answer's as a one-section plan once it is written); `on_token` the text of a
    model-mode answer as it streams."""
    started = time.monotonic()
    default = ctx.settings.default_target_words
    if request.mode == "model":
        target = request.target or default
        hold_to = target if request.hold_length else None
        direct = write_direct(ctx, request.instruction, on_token=on_token, hold_to=hold_to)
        if on_event is not None:
            report_one_call(on_event, request.instruction, direct.document, target, direct.seconds)
        cut = direct.finish_reason == TIME_LIMIT
        seconds = time.monotonic() - started
        return Written(direct.document, target, "model", "", seconds, cut, loop_cut=direct.loop_cut)
    if request.mode == "auto":
        return _write_auto(ctx, request, store, on_event)
    job = _write_agent(ctx, request, store, on_event)
    return Written(job.document, job.target, "agent", "", time.monotonic() - started, job=job)


def _write_auto(
    ctx: AgentContext,
    request: WriteRequest,
    store: JobStore | None,
    on_event: Callable[[dict[str, Any]], None] | None,
) -> Written:
    """The model first, the agent after it; as job `request.job_id` when one is given, so a run
    stopped in the agent's part resumes that part rather than asking the model again."""
    started = time.monotonic()
    target = request.target or ctx.settings.default_target_words
    if request.job_id is not None and store is not None and store.values(request.job_id):
        job = _write_agent(ctx, dataclasses.replace(request, mode="agent", resume=True), store, on_event)
        path: WritePath = "model+agent" if store.values(request.job_id).get("opening") else "agent"
        return Written(job.document, job.target, path, "resumed", time.monotonic() - started, job=job)
    agent_request = dataclasses.replace(request, mode="agent", target=target)

    def continue_with(opening: str) -> JobResult:
        return _write_agent(ctx, agent_request, store, on_event, opening)

    auto = write_auto(ctx, request.instruction, target, continue_with, on_event=on_event)
    return Written(auto.document, auto.target, auto.path, auto.reason, time.monotonic() - started)


def _write_agent(
    ctx: AgentContext,
    request: WriteRequest,
    store: JobStore | None,
    on_event: Callable[[dict[str, Any]], None] | None,
    opening: str = "",
) -> JobResult:
    if request.job_id is None:
        return write_once(ctx, request.instruction, request.target, opening=opening, on_event=on_event)
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
        opening=opening,
        on_event=on_event,
    )

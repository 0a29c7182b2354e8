"""The agent's state, its runtime context, and the events it streams."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal, NotRequired, TypedDict

from langchain_core.language_models import BaseChatModel

from longwrite.errors import Cancelled
from longwrite.limits import TargetFrom
from longwrite.settings import Settings, StructuredOutput
from longwrite.text import Language
from model.client import Endpoint, chat_model


class Section(TypedDict):
    """One planned section: its heading, its main point and its current word budget."""

    title: str
    points: str
    words: int


class Turn(TypedDict):
    """One exchange of a section's conversation with the model."""

    ask: str  # the request; empty for the section's own step (rebuilt from the plan)
    said: str  # the answer as the conversation shows it (see agent.document.shown_answer)


class SectionResult(TypedDict):
    """A finished section and how it was made."""

    index: int
    title: str
    text: str  # the body, without its heading
    # The exchanges that wrote it, replayed in later prompts exactly as the server saw them, so
    # its cache of them stays valid (jobs saved before turns were kept have none)
    turns: NotRequired[list[Turn]]
    words: int
    budget: int
    calls: int
    continuations: int
    loops_cut: int
    trimmed: bool
    prompt_tokens: int
    completion_tokens: int
    seconds: float


class DropSection(TypedDict):
    """Sent instead of a SectionResult to remove the result with this index."""

    index: int
    drop: bool


def merge_sections(old: list[SectionResult], new: list[SectionResult | DropSection]) -> list[SectionResult]:
    """The reducer of WriteState.sections: results are appended; an entry with "drop": True
    removes the result with its index instead (a closing section that is rewritten later)."""
    merged = list(old)
    for item in new:
        if item.get("drop"):
            merged = [s for s in merged if s["index"] != item["index"]]
        else:
            merged.append(item)
    return merged


class Usage(TypedDict):
    """Running totals that calibrate max_tokens and the context estimate."""

    completion_tokens: int
    generated_words: int
    prompt_tokens: int  # as the server counted them (where it reports usage)
    estimated_prompt_tokens: int  # as cl100k_base counted the same prompts


PlanSource = Literal["model", "fallback", "file", "single"]
Status = Literal["planned", "writing", "done"]


class WriteState(TypedDict, total=False):
    instruction: str
    opening: str  # text the served model already wrote (model-first fallback); the agent continues it
    closing_draft: str  # a closing that ended short, moved to the end again after sections are added
    language: Language
    target_words: int  # absent at the start where the request states no length: the plan sets it
    target_from: TargetFrom  # "plan" where the plan sized the target; set by whoever starts the job otherwise
    title: str
    plan: list[Section]
    outline: str  # the outline the write prompts show: the plan as first made, so that adding
    # sections later leaves the prompts' prefix (and the server's cache) as it was
    plan_source: PlanSource
    plan_attempts: int
    sections: Annotated[list[SectionResult], merge_sections]
    usage: Usage
    window_start: int  # first finished section still inside the write prompt
    needs_more_sections: bool  # the model writes well below its budgets: add sections
    extensions: int  # how many times sections were added
    status: Status
    document: str
    seconds: float  # model time spent on this job, over all runs


@dataclass
class AgentContext:
    """What the nodes need besides the state: settings and a way to get a chat model."""

    settings: Settings
    make_model: Callable[[], BaseChatModel]
    context_tokens: int = 8_192
    repeat_penalty_param: str | None = None
    min_tokens_param: str | None = None  # see Endpoint.min_tokens_param
    structured_output: StructuredOutput = "off"  # how the server takes a JSON schema (outlines)
    section_words: int = 500  # planned words per section; smaller for small models
    outline_points: bool = True  # see Endpoint.outline_points
    max_tokens_field: str = "max_tokens"  # or "max_completion_tokens" for servers that want it
    cancel: threading.Event | None = None  # set it to stop the run at its next event

    @classmethod
    def for_endpoint(
        cls, endpoint: Endpoint, settings: Settings, cancel: threading.Event | None = None
    ) -> AgentContext:
        """The context for writing against `endpoint`: its client, context size and dialect."""
        return cls(
            settings=settings,
            make_model=lambda: chat_model(endpoint, settings),
            context_tokens=endpoint.context_tokens,
            repeat_penalty_param=endpoint.repeat_penalty_param,
            min_tokens_param=endpoint.min_tokens_param,
            structured_output=endpoint.structured_output,
            section_words=endpoint.section_words,
            outline_points=endpoint.outline_points,
            max_tokens_field=settings.max_tokens_field,
            cancel=cancel,
        )

    def emitter(self, stream_writer: Callable[[dict], None]) -> Callable[[dict], None]:
        """The node's event writer, which also stops the run once `cancel` is set.

        Nodes run in a worker thread, so an exception raised by whoever reads the stream only
        arrives after the node ends; checking here stops a section within one token.
        """

        def emit(event: dict) -> None:
            if self.cancel is not None and self.cancel.is_set():
                raise Cancelled("The write was cancelled; what was finished before is kept.")
            stream_writer(event)

        return emit


# Stream events (custom mode). Front ends render them; the agent never imports a front end.
EVENT_PLAN = "plan"
EVENT_SECTION_STARTED = "section_started"
EVENT_TOKEN = "token"
EVENT_SECTION_FINISHED = "section_finished"
EVENT_DONE = "done"

"""The agent's state, its runtime context, and the events it streams."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal, TypedDict

from langchain_core.language_models import BaseChatModel

from longwrite.settings import Settings
from longwrite.text import Language
from model.client import Endpoint, chat_model


class Section(TypedDict):
    """One planned section: its heading, its main point and its current word budget."""

    title: str
    points: str
    words: int


class SectionResult(TypedDict):
    """A finished section and how it was made."""

    index: int
    title: str
    text: str  # the body, without its heading
    words: int
    budget: int
    calls: int
    continuations: int
    loops_cut: int
    trimmed: bool
    prompt_tokens: int
    completion_tokens: int
    seconds: float


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
    language: Language
    target_words: int
    title: str
    plan: list[Section]
    plan_source: PlanSource
    plan_attempts: int
    sections: Annotated[list[SectionResult], operator.add]
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
    section_words: int = 500  # planned words per section; smaller for small models
    max_tokens_field: str = "max_tokens"  # or "max_completion_tokens" for servers that want it

    @classmethod
    def for_endpoint(cls, endpoint: Endpoint, settings: Settings) -> AgentContext:
        """The context for writing against `endpoint`: its client, context size and dialect."""
        return cls(
            settings=settings,
            make_model=lambda: chat_model(endpoint, settings),
            context_tokens=endpoint.context_tokens,
            repeat_penalty_param=endpoint.repeat_penalty_param,
            section_words=endpoint.section_words,
            max_tokens_field=settings.max_tokens_field,
        )


# Stream events (custom mode). Front ends render them; the agent never imports a front end.
EVENT_PLAN = "plan"
EVENT_SECTION_STARTED = "section_started"
EVENT_TOKEN = "token"
EVENT_SECTION_FINISHED = "section_finished"
EVENT_DONE = "done"

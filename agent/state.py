"""The agent's state, its runtime context, and the events it streams."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field

from longwrite.agent.status import DocumentStatus
from longwrite.core.errors import Cancelled
from longwrite.core.limits import TargetFrom
from longwrite.core.settings import Settings
from longwrite.core.text import Language
from longwrite.model.client import Endpoint, chat_model


class Section(TypedDict):
    """One planned section: its heading, its main point and its current word budget."""

    title: str
    points: str
    words: int
    chapter: NotRequired[int]  # the chapter it belongs to, in a plan made in chapters (agent.chapters)


class Chapter(TypedDict):
    """One chapter of a plan made in chapters: planned first, its sections when writing reaches it."""

    title: str
    points: str
    words: int  # its budget; once its sections are planned, theirs are what count


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


class SectionPaused(Cancelled):
    """A stop in the middle of a section, carrying the text that section had kept: saved as the
    job's paused_draft, so a resume continues the section instead of writing it again."""

    def __init__(self, message: str, draft: PausedDraft) -> None:
        super().__init__(message)
        self.draft = draft


class Revision(TypedDict):
    """A request to write one finished section again (agent.revise)."""

    index: int
    note: str  # what the person wants changed; may be empty
    words: int  # the section's budget for the new text
    next: NotRequired[str]  # how the section after it begins (filled in while it is written)


class Usage(TypedDict):
    """Running totals that calibrate max_tokens and the context estimate."""

    completion_tokens: int
    generated_words: int
    prompt_tokens: int  # as the server counted them (where it reports usage)
    estimated_prompt_tokens: int  # as cl100k_base counted the same prompts


PlanSource = Literal["model", "fallback", "file", "single"]


class PausedDraft(TypedDict):
    """What a stopped section had kept when the run was stopped; a resume continues from it."""

    index: int
    text: str


class WriteState(TypedDict, total=False):
    instruction: str
    opening: str  # text the served model already wrote (model-first fallback); the agent continues it
    closing_draft: str  # a closing that ended short, moved to the end again after sections are added
    paused_draft: PausedDraft | None  # the section in progress when a run was stopped (Stop pauses)
    language: Language
    target_words: int  # absent at the start where the request states no length: the plan sets it
    target_from: TargetFrom  # "plan" where the plan sized the target; set by whoever starts the job otherwise
    title: str
    plan: list[Section]  # in a plan made in chapters: the sections of the chapters planned so far
    chapters: list[Chapter]  # a long document's chapters (absent for a plan of sections alone)
    outline: str  # the outline the write prompts show: the plan as first made, so that adding
    # sections later leaves the prompts' prefix (and the server's cache) as it was
    plan_source: PlanSource
    plan_attempts: int
    sections: Annotated[list[SectionResult], merge_sections]
    usage: Usage
    window_start: int  # first finished section still inside the write prompt
    needs_more_sections: bool  # the model writes well below its budgets: add sections
    extensions: int  # how many times sections were added
    status: DocumentStatus
    revision: Revision | None  # a section being written again (agent.revise), until it is
    growth: int | None  # words being added after the end (agent.revise.extend), until they are planned
    change: str  # what the last change to the document was: its versions' label
    document: str
    seconds: float  # model time spent on this job, over all runs
    schema_refused: bool  # the server refused the outline's JSON schema: ask it for lines from now on


# Secrets never travel in the graph's context: the chat model is made from the caller's endpoint
# (with its key) and handed to the nodes beside the context, or, under a LangGraph server, made
# from the server's own settings.
_PRIVATE_ENDPOINT_FIELDS = ("api_key",)
_PRIVATE_SETTINGS = ("api_key", "backend_api_key")  # SecretStr fields
# configurable keys that carry what is not JSON: the chat model factory and the stop switch
MAKE_MODEL_KEY = "longwrite_make_model"
CANCEL_KEY = "longwrite_cancel"


class GraphContext(BaseModel):
    """The graph's LangGraph context: plain JSON, so LangGraph Studio or a LangGraph server can
    send it. `endpoint` holds Endpoint's fields (where, and what the server takes); `settings`
    the Settings fields the agent reads (the rest come from the environment). Both may be empty:
    the endpoint is then LONGWRITE_BASE_URL's, asked for its model."""

    model_config = ConfigDict(frozen=True)

    endpoint: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)


@dataclass(slots=True)  # slots: setting a field it does not have is an error, not a silent no-op
class AgentContext:
    """What the nodes need besides the state: the endpoint, the settings, a way to get a chat
    model and a stop switch. The graph carries it as a GraphContext (JSON) plus the two callables
    in its config (see graph_input); nodes get it back with agent_context()."""

    settings: Settings
    endpoint: Endpoint
    make_model: Callable[[], BaseChatModel]
    cancel: threading.Event | None = None  # set it to stop the run at its next event

    @classmethod
    def for_endpoint(
        cls, endpoint: Endpoint, settings: Settings, cancel: threading.Event | None = None
    ) -> AgentContext:
        """The context for writing against `endpoint`: its client, context size and dialect."""
        return cls(
            settings=settings, endpoint=endpoint, make_model=lambda: chat_model(endpoint, settings), cancel=cancel
        )

    def graph_context(self) -> GraphContext:
        endpoint = {k: v for k, v in dataclasses.asdict(self.endpoint).items() if k not in _PRIVATE_ENDPOINT_FIELDS}
        settings = self.settings.model_dump(mode="json", exclude=set(_PRIVATE_SETTINGS))
        return GraphContext(endpoint=endpoint, settings=settings)

    def configurable(self) -> dict[str, Any]:
        return {MAKE_MODEL_KEY: self.make_model, CANCEL_KEY: self.cancel}

    def emitter(self, stream_writer: Callable[[dict], None]) -> Callable[[dict], None]:
        """The node's event writer, which also stops the run once `cancel` is set.

        Nodes run in a worker thread, so an exception raised by whoever reads the stream only
        arrives after the node ends; checking here stops a section within one token.
        """

        def emit(event: dict) -> None:
            self.raise_if_cancelled()
            stream_writer(event)

        return emit

    def raise_if_cancelled(self) -> None:
        """Cancelled once `cancel` is set: every place that stops a run on it asks here."""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("The write was cancelled; what was finished before is kept.")


def agent_context(context: GraphContext | dict[str, Any] | None, configurable: dict[str, Any]) -> AgentContext:
    """The AgentContext a node works with, from the graph's JSON context and its config."""
    if not isinstance(context, GraphContext):
        context = GraphContext.model_validate(context or {})
    settings = Settings(**context.settings)
    if context.endpoint:
        endpoint = Endpoint(**context.endpoint)
    else:  # a LangGraph server that was given no endpoint: the one its environment names
        from longwrite.model.client import resolve_endpoint

        endpoint = resolve_endpoint(settings)
    make_model = configurable.get(MAKE_MODEL_KEY)
    if make_model is None:  # no caller's model (a LangGraph server): one made from the settings' key
        endpoint = dataclasses.replace(endpoint, api_key=settings.endpoint.key)
        return AgentContext.for_endpoint(endpoint, settings, configurable.get(CANCEL_KEY))
    return AgentContext(
        settings=settings, endpoint=endpoint, make_model=make_model, cancel=configurable.get(CANCEL_KEY)
    )

"""The events a write streams (LangGraph's custom stream mode): their names, shapes and makers.

Every event is a plain dict (it crosses threads, SSE and JSON as it is) with an "event" key; each
kind has a TypedDict here and one function that makes it, so producers (the graph, auto's first
answer, a job's history rebuilt from its checkpoint) send the same fields, and consumers (the
CLI's progress, the API's streams, the web page, the Python API) match on these names. The
agent never imports a front end; front ends import this.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from longwrite.agent.chapters import expected_sections
from longwrite.agent.document import PART_SEPARATOR, assemble, section_part
from longwrite.agent.state import PausedDraft, Section, SectionResult, WriteState
from longwrite.agent.status import CANCELLED, DONE, ERROR, INTERRUPTED, PLANNED
from longwrite.core.text import count_words, length_score

EVENT_PLAN = "plan"  # a plan was made, or changed (sections added)
EVENT_SECTION_STARTED = "section_started"
EVENT_TOKEN = "token"  # a piece of the section being written, as the model sends it
EVENT_SECTION_FINISHED = "section_finished"
EVENT_DONE = DONE  # the document is assembled
# What a job store adds for a job that stopped without its done event (ui/job_manager.py): the run's status
EVENT_PLANNED, EVENT_ERROR, EVENT_CANCELLED, EVENT_INTERRUPTED = PLANNED, ERROR, CANCELLED, INTERRUPTED
EVENT_FINISHED = "finished"  # the Python API's last event, with the job's result (longwrite/api.py)


class PlanEvent(TypedDict):
    event: Literal["plan"]
    title: str
    plan: list[Section]
    source: str  # where the plan came from: model, single, file, fallback, extended, chapter (its next chapter)
    target: int
    target_from: str  # "plan" where the plan sized the document (the request stated no length)
    chapters: NotRequired[int]  # in a plan made in chapters: how many; `plan` holds those planned so far


class SectionStartedEvent(TypedDict):
    event: Literal["section_started"]
    index: int
    total: int
    title: str
    budget: int


class TokenEvent(TypedDict):
    event: Literal["token"]
    index: int
    text: str


class SectionFinishedEvent(TypedDict):
    event: Literal["section_finished"]
    index: int
    total: int
    title: str
    words: int
    document_words: int  # the document so far
    target: int
    text: str
    seconds: float


class DoneEvent(TypedDict):
    event: Literal["done"]
    words: int
    target: int
    length_score: float


class StatusEvent(TypedDict):
    event: Literal["planned", "error", "cancelled", "interrupted"]
    message: NotRequired[str]  # for error


def plan_event(
    title: str, plan: list[Section], source: str, target: int, target_from: str = "", chapters: int = 0
) -> PlanEvent:
    event = PlanEvent(event="plan", title=title, plan=plan, source=source, target=target, target_from=target_from)
    if chapters:
        event["chapters"] = chapters
    return event


def section_started(index: int, plan: list[Section], total: int) -> SectionStartedEvent:
    """`total`: the sections the document is expected to have (more than planned while chapters
    are still to plan: agent.chapters.expected_sections)."""
    return SectionStartedEvent(
        event="section_started", index=index, total=total, title=plan[index]["title"], budget=plan[index]["words"]
    )


def token(index: int, text: str) -> TokenEvent:
    return TokenEvent(event="token", index=index, text=text)


def section_finished(
    index: int, total: int, title: str, words: int, document_words: int, target: int, text: str, seconds: float
) -> SectionFinishedEvent:
    return SectionFinishedEvent(
        event="section_finished",
        index=index,
        total=total,
        title=title,
        words=words,
        document_words=document_words,
        target=target,
        text=text,
        seconds=seconds,
    )


def done(words: int, target: int) -> DoneEvent:
    return DoneEvent(event="done", words=words, target=target, length_score=length_score(target, words))


class FinishedEvent(TypedDict):
    event: str
    result: Any  # the job's agent.jobs.JobResult (not imported: agent.jobs imports this module)


def finished(result: Any) -> FinishedEvent:
    """The Python API's last event (longwrite/api.py:events)."""
    return FinishedEvent(event=EVENT_FINISHED, result=result)


def status_event(status: str, message: str | None = None) -> StatusEvent:
    event: dict[str, Any] = {"event": status}
    if status == EVENT_ERROR:
        event["message"] = message or ""
    return event  # type: ignore[return-value]


def document_of(values: WriteState) -> str:
    """The document a job's checkpoint holds: the assembled one when it finished, else its
    finished sections so far and the text of a section stopped part-way (a resume continues it)."""
    if values.get("document"):
        return values["document"]
    plan = values.get("plan", [])
    sections = list(values.get("sections", []))
    paused = values.get("paused_draft")
    if paused and paused["index"] == len(sections) and paused["index"] < len(plan):
        sections.append(_paused_section(paused, plan))
    return assemble(values.get("title", ""), plan, sections, values.get("plan_source") == "single")


def _paused_section(paused: PausedDraft, plan: list[Section]) -> SectionResult:
    """A stopped section's text as a result, for showing it (nothing is saved of it this way)."""
    words = count_words(paused["text"])
    return SectionResult(index=paused["index"], title=plan[paused["index"]]["title"], text=paused["text"],
                         words=words, budget=plan[paused["index"]]["words"], calls=0, continuations=0,
                         loops_cut=0, trimmed=False, prompt_tokens=0, completion_tokens=0, seconds=0.0)  # fmt: skip


def history(values: WriteState) -> list[PlanEvent | SectionFinishedEvent | DoneEvent]:
    """The events the finished part of a job sent (its plan, its finished sections, done), rebuilt
    from its checkpoint: what a client that follows the job later is shown first."""
    if not values.get("plan"):
        return []
    plan, target = values["plan"], values["target_words"]
    title, sections = values.get("title", ""), values.get("sections", [])
    total = expected_sections(plan, values.get("chapters") or [])
    single = values.get("plan_source") == "single"
    source, target_from = values.get("plan_source", ""), values.get("target_from", "")
    chapters = len(values.get("chapters") or [])
    events: list[PlanEvent | SectionFinishedEvent | DoneEvent] = [
        plan_event(title, plan, source, target, target_from, chapters)
    ]
    for count, section in enumerate(sections, start=1):
        events.append(_finished(section, total, count_words(assemble(title, plan, sections[:count], single)), target))
    if values.get("status") == DONE:
        events.append(done(count_words(document_of(values)), target))
    return events


def _finished(section: SectionResult, total: int, document_words: int, target: int) -> SectionFinishedEvent:
    return section_finished(
        section["index"],
        total,
        section["title"],
        section["words"],
        document_words,
        target,
        section["text"],
        section["seconds"],
    )


class MarkdownStream:
    """Turns the agent's events into markdown pieces that add up to exactly `assemble(...)`.

    A front end streams finished sections rather than raw tokens: the loop guard and the trim
    may still change a section while it is being written, and a reader must never see text
    that is not in the final document.
    """

    def __init__(self) -> None:
        self.single: bool | None = None
        self.started = False
        # The closing section is held back until the end: when it falls short the agent adds
        # sections before it and writes it again (a new plan event announces that).
        self.held_closing: str | None = None

    def feed(self, event: dict[str, Any]) -> str:
        kind = event.get("event")
        if kind == EVENT_PLAN:
            if self.single is None:
                self.single = event["source"] == "single"
                return "" if self.single or not event["title"] else self._part(f"# {event['title']}")
            self.held_closing = None
        elif kind == EVENT_SECTION_FINISHED:
            part = section_part(event["title"], event["text"], bool(self.single))
            if event["index"] == event["total"] - 1 and not self.single:
                self.held_closing = part
                return ""
            return self._part(part)
        elif kind == EVENT_DONE:
            closing, self.held_closing = self.held_closing, None
            return (self._part(closing) if closing else "") + ("\n" if self.started else "")
        return ""

    def _part(self, text: str) -> str:
        separator = PART_SEPARATOR if self.started else ""
        self.started = True
        return separator + text

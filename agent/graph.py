"""The AgentWrite graph: plan -> write (one section per step, looped; extend when short; a plan
made in chapters plans each next chapter when the writing reaches it) -> finalize.

Each write step is one checkpoint, so a job killed at any point resumes after its last finished
section. Nodes return only the fields they change.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Any, Literal

from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer, Overwrite

from longwrite.agent import budget, events
from longwrite.agent.chapters import (
    chapter_count,
    chapter_request,
    expected_sections,
    next_chapter,
    pending_chapters,
    planned_in_chapters,
    sections_for,
)
from longwrite.agent.context import outline_text
from longwrite.agent.document import assemble
from longwrite.agent.outline_call import outline_call, outline_conversation, outline_tokens
from longwrite.agent.plan import (
    angle_sections,
    build_plan,
    default_title,
    extension_sections,
    fallback_plan,
    parse_outline,
    section_count_bounds,
    sized_outline,
    suggested_sections,
    with_budgets,
    with_new_headings,
)
from longwrite.agent.prompts import prompts_for
from longwrite.agent.section import write_section
from longwrite.agent.state import (
    AgentContext,
    Chapter,
    DropSection,
    GraphContext,
    Section,
    SectionResult,
    WriteState,
    agent_context,
)
from longwrite.agent.status import DONE, PLANNED, WRITING
from longwrite.core.text import count_words, detect_language

# Add sections once the remaining ones would each need this much more than the model's pace.
EXTEND_ABOVE_PACE = 1.25
MAX_SECTIONS_PER_EXTENSION = 20
# How much of the section after a rewritten one its request quotes, so the new text leads into it.
REVISE_NEXT_WORDS = 40
# A document within this share of its target is long enough (the design's +/-10%).
LENGTH_TOLERANCE = 0.10
# How much of an opening the served model wrote is shown when planning the rest.
OPENING_EXCERPT_CHARS = 2_000
# The most sections a plan may have where the model sizes them (the request states no length):
# enough for a report at settings.max_planned_words, and an outline answer that stays short.
MAX_SIZED_SECTIONS = 12


def _context(runtime: Runtime[GraphContext], state: WriteState) -> AgentContext:
    """The node's AgentContext: the graph's JSON context, the chat model and stop switch of its
    config, and what this job learnt about its server (a refused schema)."""
    ctx = agent_context(runtime.context, get_config().get("configurable", {}))
    if state.get("schema_refused"):
        ctx.endpoint = dataclasses.replace(ctx.endpoint, structured_output="off")
    return ctx


def _learnt(ctx: AgentContext, sent: str) -> dict[str, Any]:
    """The state update that keeps a schema the server refused during this node (see
    outline_call) from being sent again for the rest of the job."""
    return {"schema_refused": True} if sent != "off" and ctx.endpoint.structured_output == "off" else {}


def plan_node(state: WriteState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Make the plan: from a plan file, one section for short targets, or asked of the model;
    where the request states no length, the model sizes each section and the target is their sum."""
    ctx = _context(runtime, state)
    sent = ctx.endpoint.structured_output
    settings = ctx.settings
    instruction = state["instruction"]
    language = state.get("language") or detect_language(instruction)
    target = state.get("target_words")
    opening = state.get("opening", "")
    if target is None and opening:  # an opening is continued to a length; nothing plans one around it
        target = settings.default_target_words
    update: dict[str, Any] = {
        "language": language,
        "usage": state.get("usage") or budget.empty_usage(),
        "window_start": 0,
        "status": PLANNED,
        "seconds": state.get("seconds", 0.0),
    }
    title = state.get("title") or default_title(instruction, language)
    attempts = 0
    if state.get("plan"):
        plan, source = state["plan"], "file"
    elif target is not None and target < settings.short_target_words:
        plan, source = [Section(title=title, points="", words=target)], "single"  # an opening is continued
    else:
        prompts = prompts_for(language)
        opening_words = count_words(opening)
        rest = (target or 0) - opening_words - count_words(prompts.opening_title)
        if opening and rest < 2 * settings.min_section_words:
            closing = Section(title=prompts.fallback_titles[-1], points="", words=rest)
            plan, source = ([closing] if rest > 0 else []), "model"
        elif target is not None and not opening and planned_in_chapters(_sections_wanted(ctx, target)):
            chapters, source, model_title, attempts, seconds = _plan_chapters(ctx, instruction, language, target)
            title = model_title or title
            plan, chapter_seconds = _chapter_sections(ctx, instruction, language, [], chapters, 0, None)
            update.update(chapters=chapters, seconds=update["seconds"] + seconds + chapter_seconds)
        else:
            plan, source, model_title, attempts, seconds = _plan_with_model(
                ctx, instruction, language, rest if opening else target, opening
            )
            title = model_title or title
            update["seconds"] += seconds
        if opening:  # the served model's text is section 1, already as long as its budget
            plan = [Section(title=prompts.opening_title, points="", words=opening_words), *plan]
    if target is None:  # the plan sized the document: its budgets are the target
        target = sum(s["words"] for s in plan)
        update.update(target_words=target, target_from="plan")
    outline = outline_text(plan, prompts_for(language))
    update.update(title=title, plan=plan, outline=outline, plan_source=source, plan_attempts=attempts)
    target_from = update.get("target_from") or state.get("target_from", "")
    chapters = len(update.get("chapters", []))
    ctx.emitter(runtime.stream_writer)(events.plan_event(title, plan, source, target, target_from, chapters))
    return update | _learnt(ctx, sent)


def _plan_with_model(
    ctx: AgentContext, instruction: str, language: str, target: int | None, opening: str = ""
) -> tuple[list[Section], str, str | None, int, float]:
    """Ask the model for an outline of `target` words (those that follow `opening`, if any); with
    no target, for one whose sections the model sizes for the task (see sized_outline)."""
    settings = ctx.settings
    prompts = prompts_for(language)
    low, high = settings.min_section_words, settings.max_section_words
    cap = settings.max_planned_words
    if target is None:
        count = min(MAX_SIZED_SECTIONS, max(2, section_count_bounds(cap, low, high)[1]))
    else:
        count = suggested_sections(target, low, high, ctx.endpoint.section_words)
    excerpt = opening if len(opening) <= OPENING_EXCERPT_CHARS else opening[:OPENING_EXCERPT_CHARS] + " ..."
    template = prompts.plan_rest if opening else prompts.plan

    def request(parts: str) -> str:
        if target is None:
            return prompts.plan_sized.format(
                instruction=instruction.strip(), fewest=2, most=count, cap=cap, parts=parts
            )
        return template.format(
            instruction=instruction.strip(), opening=excerpt, sections=count, target=target, parts=parts
        )

    seconds = 0.0
    for attempt in range(1, settings.plan_attempts + 1):
        generation = outline_call(
            ctx,
            prompts,
            request,
            count,
            with_title=True,
            retry=attempt > 1,
            fewest=2 if target is None else None,
            words=(low, high) if target is None else None,
        )
        seconds += generation.seconds
        outline = parse_outline(generation.text)
        planned = target
        if planned is None:
            outline, planned = sized_outline(outline, low, high, ctx.endpoint.section_words, cap)
        plan = build_plan(outline, planned, low, high, prompts, accept_few=attempt == settings.plan_attempts)
        if plan:
            return plan, "model", outline.title, attempt, seconds
    # no usable outline: the fallback's is sized as if the request had stated the default
    fallback_target = min(settings.default_target_words, cap) if target is None else target
    return (
        fallback_plan(instruction, fallback_target, low, high, ctx.endpoint.section_words, prompts),
        "fallback",
        None,
        settings.plan_attempts,
        seconds,
    )


def _plan_chapters(
    ctx: AgentContext, instruction: str, language: str, target: int
) -> tuple[list[Chapter], str, str | None, int, float]:
    """The chapters of a document too long for one outline (see agent.chapters): each with a
    budget; their sections are planned when the writing reaches them."""
    settings = ctx.settings
    prompts = prompts_for(language)
    count = chapter_count(_sections_wanted(ctx, target))
    # half to twice the chapters asked for: the merge and split of build_plan keep them there
    low, high = target // (2 * count), 2 * target // count

    def request(parts: str) -> str:
        return prompts.plan_chapters.format(instruction=instruction.strip(), sections=count, target=target, parts=parts)

    seconds = 0.0
    for attempt in range(1, settings.plan_attempts + 1):
        generation = outline_call(ctx, prompts, request, count, with_title=True, retry=attempt > 1)
        seconds += generation.seconds
        outline = parse_outline(generation.text)
        planned = build_plan(outline, target, low, high, prompts, accept_few=attempt == settings.plan_attempts)
        if planned:
            return _as_chapters(planned), "model", outline.title, attempt, seconds
    fallback = fallback_plan(instruction, target, low, high, target // count, prompts)
    return _as_chapters(fallback), "fallback", None, settings.plan_attempts, seconds


def _sections_wanted(ctx: AgentContext, target: int) -> int:
    """The sections a document of `target` words gets on this endpoint."""
    low, high = ctx.settings.min_section_words, ctx.settings.max_section_words
    return suggested_sections(target, low, high, ctx.endpoint.section_words)


def _as_chapters(sections: list[Section]) -> list[Chapter]:
    return [Chapter(title=s["title"], points=s["points"], words=s["words"]) for s in sections]


def _chapter_sections(
    ctx: AgentContext,
    instruction: str,
    language: str,
    plan: list[Section],
    chapters: list[Chapter],
    number: int,
    pace: int | None,
) -> tuple[list[Section], float]:
    """The sections of chapter `number` (budgets summing to its budget) and the seconds it took:
    asked of the model with the chapter list and the parts of the chapter before; headings that
    revisit the chapter from several angles when no answer is usable."""
    settings = ctx.settings
    prompts = prompts_for(language)
    words = chapters[number]["words"]
    section_words = min(pace, ctx.endpoint.section_words) if pace else ctx.endpoint.section_words
    count = sections_for(words, section_words)
    request = chapter_request(instruction, plan, chapters, number, words, count, prompts)
    low, high = settings.min_section_words, settings.max_section_words
    seconds = 0.0
    sections: list[Section] | None = None
    for attempt in range(1, settings.plan_attempts + 1):
        generation = outline_call(ctx, prompts, request, count, with_title=False, retry=attempt > 1)
        seconds += generation.seconds
        outline = parse_outline(generation.text)
        sections = build_plan(outline, words, low, high, prompts, accept_few=attempt == settings.plan_attempts)
        if sections:
            break
    chapter = chapters[number]
    base = Section(title=chapter["title"], points=chapter["points"], words=0)
    if sections:
        sections = with_new_headings(plan, sections, base, prompts)
    else:
        sections = angle_sections(plan, [base], count, prompts)
        sections = with_budgets(sections, budget.renormalise([1.0] * len(sections), words))
    return [Section(**{**s, "chapter": number}) for s in sections], seconds  # type: ignore[typeddict-item]


def chapter_node(state: WriteState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Plan the sections of the next chapter, now that the writing has reached it."""
    ctx = _context(runtime, state)
    sent = ctx.endpoint.structured_output
    plan, chapters = state["plan"], state["chapters"]
    number = next_chapter(plan)
    pace = writing_pace(state.get("sections", []))
    new, seconds = _chapter_sections(ctx, state["instruction"], state["language"], plan, chapters, number, pace)
    plan = [*plan, *new]
    ctx.emitter(runtime.stream_writer)(
        events.plan_event(
            state["title"], plan, "chapter", state["target_words"], state.get("target_from", ""), len(chapters)
        )
    )
    return _learnt(ctx, sent) | {"plan": plan, "seconds": state.get("seconds", 0.0) + seconds}


def write_node(state: WriteState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Write the next section, then rebalance the budgets of the sections after it."""
    ctx = _context(runtime, state)
    plan, chapters = state["plan"], state.get("chapters") or []
    index = len(state.get("sections", []))
    emit = ctx.emitter(runtime.stream_writer)
    emit(events.section_started(index, plan, expected_sections(plan, chapters)))
    outcome = write_section(ctx, state, emit)
    sections = [*state.get("sections", []), outcome.result]
    single = state["plan_source"] == "single"
    written = count_words(assemble(state["title"], plan, sections, single))
    words_left = _words_left(state, plan, index + 1, written)
    if chapters:
        plan, chapters = budget.rebalance_with_chapters(plan, index + 1, chapters, next_chapter(plan), words_left)
    else:
        plan = budget.rebalance(plan, index + 1, words_left)
    remaining = len(plan) - index - 1
    pending = bool(pending_chapters(plan, chapters))
    result = outcome.result
    emit(
        events.section_finished(
            index,
            expected_sections(plan, chapters),
            plan[index]["title"],
            result["words"],
            written,
            state["target_words"],
            result["text"],
            result["seconds"],
        )
    )
    # a plan made in chapters sizes the chapters still to plan by the model's pace: sections
    # are added only in the last one
    return ({"chapters": chapters} if chapters else {}) | {
        "sections": [outcome.result],
        "plan": plan,
        "usage": outcome.usage,
        "window_start": outcome.window_start,
        "needs_more_sections": not single
        and not pending
        and (
            _needs_more_sections(ctx, state, sections, plan, words_left)
            if remaining > 0
            else _closing_fell_short(ctx, state, outcome.result, plan, written)
        ),
        "status": WRITING,
        "seconds": state.get("seconds", 0.0) + outcome.result["seconds"],
        "paused_draft": None,  # a stopped section's text is in its result now
    }


def _words_left(state: WriteState, plan: list[Section], start: int, written: int) -> int:
    """Words still to write for plan[start:], their headings left out."""
    return state["target_words"] - written - sum(count_words(s["title"]) for s in plan[start:])


def writing_pace(sections: list[SectionResult]) -> int | None:
    """Words the model writes in a section when it runs out of things to say: the median length
    of the sections that ended short of their budget (None while none has)."""
    short = [s["words"] for s in sections if s["words"] < budget.SHORT_FRACTION * s["budget"]]
    return int(statistics.median(short)) if short else None


def _needs_more_sections(
    ctx: AgentContext, state: WriteState, sections: list[SectionResult], plan: list[Section], words_left: int
) -> bool:
    """True when the remaining sections would each need clearly more than the model writes.

    Rebalancing hands a model's shortfall to the sections after it; a small model that writes
    300 words where 700 were planned leaves the last sections with more than it can write, and
    the document ends short. More, smaller sections close the gap.
    """
    settings = ctx.settings
    pace = writing_pace(sections)
    remaining = len(plan) - len(sections)
    _, most = section_count_bounds(state["target_words"], settings.min_section_words, settings.max_section_words)
    return (
        pace is not None
        and state.get("extensions", 0) < settings.plan_extensions
        and len(plan) < most
        and words_left / remaining > EXTEND_ABOVE_PACE * pace
    )


def _closing_fell_short(
    ctx: AgentContext, state: WriteState, closing: SectionResult, plan: list[Section], written: int
) -> bool:
    """True when the closing section ended short and left the whole document short.

    Then the closing is set aside as a draft, sections are added before it, and it is
    written again last, starting from that draft (see extend_node).
    """
    # Unlike a planned extension, this may take sections below min_section_words: landing on
    # the requested length matters more to a reader than the planning guideline.
    return (
        len(plan) >= 2
        and closing["words"] < budget.SHORT_FRACTION * closing["budget"]
        and written < (1 - LENGTH_TOLERANCE) * state["target_words"]
        and state.get("extensions", 0) < ctx.settings.plan_extensions
    )


def extend_node(state: WriteState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Add sections (before the closing one) so the remaining words fit the model's pace."""
    ctx = _context(runtime, state)
    sent = ctx.endpoint.structured_output
    settings = ctx.settings
    prompts = prompts_for(state["language"])
    plan = state["plan"]
    sections = state["sections"]
    update: dict[str, Any] = {}
    if len(sections) == len(plan):  # the closing ended short: it becomes a draft, written again last
        closing = sections[-1]
        sections = sections[:-1]
        update.update(sections=[DropSection(index=closing["index"], drop=True)], closing_draft=closing["text"])
    index = len(sections)
    written = count_words(assemble(state["title"], plan, sections, False))
    words_left = _words_left(state, plan, index, written)
    _, most = section_count_bounds(state["target_words"], settings.min_section_words, settings.max_section_words)
    pace = writing_pace(state["sections"]) or ctx.endpoint.section_words
    wanted = math.ceil(words_left / pace) - (len(plan) - index)
    count = max(1, min(wanted, most - len(plan), MAX_SECTIONS_PER_EXTENSION))
    covered = prompts.outline_separator.join(s["title"] for s in plan)

    def request(parts: str) -> str:
        return prompts.extend.format(
            instruction=state["instruction"].strip(), covered=covered, sections=count, parts=parts
        )

    conversation = outline_conversation(ctx, state, sections, outline_tokens(count))
    generation = outline_call(ctx, prompts, request, count, with_title=False, conversation=conversation)
    in_chapter = {"chapter": plan[-1]["chapter"]} if "chapter" in plan[-1] else {}
    new = [
        Section(title=s["title"], points=s["points"], words=ctx.endpoint.section_words, **in_chapter)  # type: ignore[typeddict-item]
        for s in extension_sections(plan, generation.text, count, prompts)
    ]
    plan = [*plan[:-1], *new, plan[-1]]  # the closing section stays last
    plan = budget.rebalance(plan, index, _words_left(state, plan, index, written))
    ctx.emitter(runtime.stream_writer)(
        events.plan_event(state["title"], plan, "extended", state["target_words"], state.get("target_from", ""))
    )
    return (
        update
        | _learnt(ctx, sent)
        | {
            "plan": plan,
            "extensions": state.get("extensions", 0) + 1,
            "needs_more_sections": False,
            "seconds": state.get("seconds", 0.0) + generation.seconds,
        }
    )


def route_after_write(state: WriteState) -> Literal["write", "extend", "chapter", "revise", "grow", "finalize"]:
    # a person's change to a finished document comes in as if the write node had asked for it
    # (agent.revisions): a section written again, or words added after the end
    if state.get("revision"):
        return "revise"
    if state.get("growth"):
        return "grow"
    if state.get("needs_more_sections"):
        return "extend"
    if len(state.get("sections", [])) < len(state["plan"]):
        return "write"
    return "chapter" if pending_chapters(state["plan"], state.get("chapters") or []) else "finalize"


def revise_node(state: WriteState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Write one finished section again (agent.revisions.revise_section): conditioned on the text
    before it and told how the next one begins; every other section stays as it was."""
    ctx = _context(runtime, state)
    revision = state["revision"]
    assert revision is not None  # routed here only with one
    index = revision["index"]
    sections = sorted(state["sections"], key=lambda s: s["index"])
    plan = list(state["plan"])
    plan[index] = Section(**{**plan[index], "words": revision["words"]})  # type: ignore[typeddict-item]
    after = sections[index + 1]["text"].split()[:REVISE_NEXT_WORDS] if index + 1 < len(sections) else []
    view = WriteState(**{**state, "plan": plan, "sections": sections[:index], "window_start": 0, "opening": "",
                         "closing_draft": "", "revision": {**revision, "next": " ".join(after)}})  # fmt: skip
    emit = ctx.emitter(runtime.stream_writer)
    emit(events.section_started(index, plan, len(plan)))
    outcome = write_section(ctx, view, emit)
    sections[index] = outcome.result
    return {
        "sections": Overwrite(sections),
        "plan": plan,
        "revision": None,
        "paused_draft": None,
        "usage": outcome.usage,
        "change": f"section {index + 1} rewritten",
        "seconds": state.get("seconds", 0.0) + outcome.result["seconds"],
    }


def grow_node(state: WriteState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Plan the words a person asked to add after the end of a finished document
    (agent.revisions.extend_job); the write loop then writes them, the earlier text untouched."""
    ctx = _context(runtime, state)
    sent = ctx.endpoint.structured_output
    prompts = prompts_for(state["language"])
    plan, words = state["plan"], state["growth"] or 0
    count = max(1, min(MAX_SECTIONS_PER_EXTENSION, math.ceil(words / ctx.endpoint.section_words)))
    covered = prompts.outline_separator.join(s["title"] for s in plan)

    def request(parts: str) -> str:
        return prompts.extend.format(
            instruction=state["instruction"].strip(), covered=covered, sections=count, parts=parts
        )

    generation = outline_call(ctx, prompts, request, count, with_title=False)
    in_chapter = {"chapter": plan[-1]["chapter"]} if "chapter" in plan[-1] else {}
    new = [
        Section(**{**s, **in_chapter}) for s in extension_sections([*plan, plan[-1]], generation.text, count, prompts)
    ]  # type: ignore[typeddict-item]
    new = with_budgets(new, budget.renormalise([1.0] * len(new), words))
    plan = [*plan, *new]
    target = state["target_words"] + words
    ctx.emitter(runtime.stream_writer)(
        events.plan_event(state["title"], plan, "extended", target, state.get("target_from", ""))
    )
    return _learnt(ctx, sent) | {
        "plan": plan,
        "target_words": target,
        "growth": None,
        "document": "",
        "change": f"extended by {words:,} words",
        "seconds": state.get("seconds", 0.0) + generation.seconds,
    }


def finalize_node(state: WriteState, runtime: Runtime[GraphContext]) -> dict[str, Any]:
    """Assemble the document."""
    document = assemble(state["title"], state["plan"], state["sections"], state["plan_source"] == "single")
    words = count_words(document)
    _context(runtime, state).emitter(runtime.stream_writer)(events.done(words, state["target_words"]))
    return {"document": document, "status": DONE}


def build_graph(checkpointer: Checkpointer = None, review_plan: bool = False):
    """The compiled graph; with `review_plan` it pauses after planning (resume to write)."""
    builder = StateGraph(WriteState, context_schema=GraphContext)
    builder.add_node("plan", plan_node)
    builder.add_node("write", write_node)
    builder.add_node("extend", extend_node)
    builder.add_node("chapter", chapter_node)
    builder.add_node("revise", revise_node)
    builder.add_node("grow", grow_node)
    builder.add_node("finalize", finalize_node)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "write")
    builder.add_conditional_edges("write", route_after_write)
    builder.add_edge("extend", "write")
    builder.add_edge("chapter", "write")
    builder.add_edge("revise", "finalize")
    builder.add_edge("grow", "write")
    builder.add_edge("finalize", END)
    return builder.compile(checkpointer=checkpointer, interrupt_after=["plan"] if review_plan else None)

"""The AgentWrite graph: plan -> write (one section per step, looped) -> finalize.

Each write step is one checkpoint, so a job killed at any point resumes after its last finished
section. Nodes return only the fields they change.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer

from agent import budget
from agent.document import assemble
from agent.generate import generate
from agent.plan import build_plan, default_title, fallback_plan, parse_outline, suggested_sections
from agent.prompts import prompts_for
from agent.section import write_section
from agent.state import (
    EVENT_DONE,
    EVENT_PLAN,
    EVENT_SECTION_FINISHED,
    EVENT_SECTION_STARTED,
    AgentContext,
    Section,
    WriteState,
)
from longwrite.text import count_words, detect_language, length_score

PLAN_TOKENS_PER_SECTION = 60


def plan_node(state: WriteState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Make the plan: from a plan file, one section for short targets, or asked of the model."""
    ctx = runtime.context
    settings = ctx.settings
    instruction = state["instruction"]
    language = state.get("language") or detect_language(instruction)
    target = state["target_words"]
    update: dict[str, Any] = {
        "language": language,
        "usage": state.get("usage") or budget.empty_usage(),
        "window_start": 0,
        "status": "planned",
        "seconds": state.get("seconds", 0.0),
    }
    title = state.get("title") or default_title(instruction, language)
    attempts = 0
    if state.get("plan"):
        plan, source = state["plan"], "file"
    elif target < settings.short_target_words:
        plan, source = [Section(title=title, points="", words=target)], "single"
    else:
        plan, source, model_title, attempts, seconds = _plan_with_model(ctx, instruction, language, target)
        title = model_title or title
        update["seconds"] += seconds
    update.update(title=title, plan=plan, plan_source=source, plan_attempts=attempts)
    runtime.stream_writer({"event": EVENT_PLAN, "title": title, "plan": plan, "source": source, "target": target})
    return update


def _plan_with_model(
    ctx: AgentContext, instruction: str, language: str, target: int
) -> tuple[list[Section], str, str | None, int, float]:
    settings = ctx.settings
    prompts = prompts_for(language)
    low, high = settings.min_section_words, settings.max_section_words
    count = suggested_sections(target, low, high, ctx.section_words)
    request = prompts.plan.format(instruction=instruction.strip(), sections=count, target=target)
    model = ctx.make_model()
    seconds = 0.0
    for attempt in range(1, settings.plan_attempts + 1):
        content = request if attempt == 1 else f"{request}\n{prompts.plan_retry}"
        generation = generate(
            model,
            [SystemMessage(prompts.system), HumanMessage(content)],
            max_tokens=count * PLAN_TOKENS_PER_SECTION + 60,
            max_tokens_field=ctx.max_tokens_field,
        )
        seconds += generation.seconds
        outline = parse_outline(generation.text)
        plan = build_plan(outline, target, low, high, prompts, accept_few=attempt == settings.plan_attempts)
        if plan:
            return plan, "model", outline.title, attempt, seconds
    return (
        fallback_plan(instruction, target, low, high, ctx.section_words, prompts),
        "fallback",
        None,
        settings.plan_attempts,
        seconds,
    )


def write_node(state: WriteState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Write the next section, then rebalance the budgets of the sections after it."""
    ctx = runtime.context
    plan = state["plan"]
    index = len(state.get("sections", []))
    emit = runtime.stream_writer
    emit({"event": EVENT_SECTION_STARTED, "index": index, "total": len(plan), "title": plan[index]["title"],
          "budget": plan[index]["words"]})  # fmt: skip
    outcome = write_section(ctx, state, emit)
    sections = [*state.get("sections", []), outcome.result]
    single = state["plan_source"] == "single"
    written = count_words(assemble(state["title"], plan, sections, single))
    headings_left = sum(count_words(s["title"]) for s in plan[index + 1 :])
    plan = budget.rebalance(plan, index + 1, state["target_words"] - written - headings_left)
    emit({"event": EVENT_SECTION_FINISHED, "index": index, "total": len(plan), "title": plan[index]["title"],
          "words": outcome.result["words"], "document_words": written, "target": state["target_words"],
          "text": outcome.result["text"], "seconds": outcome.result["seconds"]})  # fmt: skip
    return {
        "sections": [outcome.result],
        "plan": plan,
        "usage": outcome.usage,
        "window_start": outcome.window_start,
        "status": "writing",
        "seconds": state.get("seconds", 0.0) + outcome.result["seconds"],
    }


def route_after_write(state: WriteState) -> Literal["write", "finalize"]:
    return "write" if len(state.get("sections", [])) < len(state["plan"]) else "finalize"


def finalize_node(state: WriteState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Assemble the document."""
    document = assemble(state["title"], state["plan"], state["sections"], state["plan_source"] == "single")
    words = count_words(document)
    runtime.stream_writer({"event": EVENT_DONE, "words": words, "target": state["target_words"],
                           "length_score": length_score(state["target_words"], words)})  # fmt: skip
    return {"document": document, "status": "done"}


def build_graph(checkpointer: Checkpointer = None, review_plan: bool = False):
    """The compiled graph; with `review_plan` it pauses after planning (resume to write)."""
    builder = StateGraph(WriteState, context_schema=AgentContext)
    builder.add_node("plan", plan_node)
    builder.add_node("write", write_node)
    builder.add_node("finalize", finalize_node)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "write")
    builder.add_conditional_edges("write", route_after_write)
    builder.add_edge("finalize", END)
    return builder.compile(checkpointer=checkpointer, interrupt_after=["plan"] if review_plan else None)

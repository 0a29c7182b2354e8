"""The outline calls of the plan and extend nodes: a request for sections, held to a JSON schema
where the server takes one, asked on its own or at the end of the write conversation so far."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import openai
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from longwrite.agent import budget
from longwrite.agent.context import SAFETY_TOKENS, Step, estimate_tokens, section_messages, section_turns
from longwrite.agent.generate import Generation, RateFloor, generate
from longwrite.agent.plan import outline_schema
from longwrite.agent.prompts import PromptSet, prompts_for
from longwrite.agent.section import planned_outline
from longwrite.agent.state import AgentContext, SectionResult, WriteState
from longwrite.model.client import json_schema_format, refused_response_format

# Room for one outline line, or one JSON item at the schema's longest (about 4 characters a token
# plus the keys and quotes).
PLAN_TOKENS_PER_SECTION = 80


def outline_conversation(
    ctx: AgentContext, state: WriteState, sections: list[SectionResult], answer_tokens: int
) -> Callable[[str], list[BaseMessage]] | None:
    """The write conversation of `sections` with a request in place of the next step, or None
    when it would not leave `answer_tokens` free in the context.

    Asked there, a request for more sections reuses the server's cache of the document so far,
    and the next section's call finds it still there (a separate prompt would replace it, and
    the whole window would be read again: 20 s and more late in a long document on a CPU).
    """
    prompts = prompts_for(state["language"])

    def build(request: str) -> list[BaseMessage]:
        return section_messages(
            instruction=state["instruction"],
            title=state["title"],
            outline=planned_outline(state, prompts, len(sections)),
            plan=state["plan"],
            written=[section_turns(s) for s in sections],
            window_start=min(state.get("window_start", 0), len(sections)),
            step=Step(index=len(sections), words=0),
            prompts=prompts,
            closing=len(state["plan"]) - 1,  # asked in the last chapter only (see agent.graph.write_node)
            request=request,
        )

    room = ctx.endpoint.context_tokens - answer_tokens - SAFETY_TOKENS
    fits = budget.prompt_token_ratio(state["usage"]) * estimate_tokens(build(prompts.extend)) <= room
    return build if fits else None


def outline_tokens(sections: int) -> int:
    """max_tokens of an outline answer of `sections` sections."""
    return sections * PLAN_TOKENS_PER_SECTION + 60


def outline_call(
    ctx: AgentContext,
    prompts: PromptSet,
    request: Callable[[str], str],  # the request, given what each section should have
    sections: int,
    with_title: bool,
    retry: bool = False,
    conversation: Callable[[str], list[BaseMessage]] | None = None,
    fewest: int | None = None,
    words: tuple[int, int] | None = None,
) -> Generation:
    """Ask for an outline of `sections` sections: held to outline_schema where the server takes a
    schema (one call, the right count, always parsable), else laid out as lines; asked at the
    end of `conversation` (see outline_conversation) when given, else on its own.

    Under the schema, sections are only headings where the endpoint says its outline sentences
    are noise (Endpoint.outline_points). A server that refuses the schema (see
    refused_response_format) is asked again for lines, and is not sent it again for the rest of
    the job. With `words` (a request that states no length) each section also gets the words it
    needs, and `fewest` to `sections` sections are asked for.
    """
    schema = outline_schema(sections, with_title, with_points=ctx.endpoint.outline_points, fewest=fewest, words=words)
    response_format = json_schema_format(ctx.endpoint.structured_output, "outline", schema)
    max_tokens = outline_tokens(sections)

    def on_its_own(content: str) -> list[BaseMessage]:
        return [SystemMessage(prompts.system), HumanMessage(content)]

    def ask(content: str, options: dict[str, Any] | None = None) -> Generation:
        messages = (conversation or on_its_own)(content)
        return generate(
            ctx.make_model(),
            messages,
            max_tokens=max_tokens,
            options=options,
            max_tokens_field=ctx.settings.max_tokens_field,
            floor=RateFloor.from_settings(ctx.settings),
        )

    if response_format:
        try:
            if words:
                parts = prompts.parts_sized if ctx.endpoint.outline_points else prompts.parts_sized_headings_only
            else:
                parts = prompts.parts if ctx.endpoint.outline_points else prompts.parts_headings_only
            return ask(
                f"{request(parts)} {prompts.outline_as_json}", {"extra_body": {"response_format": response_format}}
            )
        except openai.APIStatusError as error:
            if not refused_response_format(error):
                raise
            # this server takes no schema (in this dialect): ask it for lines from now on (the node
            # keeps this in the job's state: see agent.graph._learnt)
            ctx.endpoint = dataclasses.replace(ctx.endpoint, structured_output="off")
    layout = prompts.outline_as_lines if with_title else prompts.sections_as_lines
    if words:
        layout = prompts.sized_outline_as_lines
    parts = prompts.parts_sized if words else prompts.parts
    return ask(f"{request(parts)} {layout}" + (f"\n{prompts.plan_retry}" if retry else ""))

"""Agent words/s divided by the raw decode words/s of the same embedded server, side by side.

Usage: python bench/agent_overhead.py [--words 1000] [--runs 3]

Each run does two plain streamed calls for the same article (the raw decode rate: words
written / seconds) and one full agent job (document words / wall seconds, planning and every
re-prompt included), on the same llama.cpp server, alternating so machine noise hits all three.

The two raw calls: a plain answer, which the small model ends after 100-500 words, so it
decodes only near the start of its context where decoding is fastest; and the same request
held to the full length (min_tokens), which decodes over the same positions as the agent's
document. Held past its natural end, the model drifts into tokens that are not words, so only
the tokens/s of that call is used: it scales the plain answer's words/s to those positions.
Prints medians and ratios:

- kept: document words/s over raw words/s, the figure a user feels; against the plain answer,
  and against the plain answer's rate scaled to the document's positions;
- generated: words the agent's section calls generated (before loop cuts and trims) per wall
  second, over raw words/s: what re-prompting itself costs (prompt reads, plan calls), apart
  from the text the guard throws away;
- the ceiling: the held call's tokens/s over the plain answer's, the kept/raw ratio of an agent
  with no overhead at all (no plan, no prompt, no text thrown away) that decodes a document of
  this length in one pass; the server decodes more slowly the further into its context it is.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import openai

from longwrite.agent.jobs import JobStore, new_job_id, run_job
from longwrite.agent.state import AgentContext
from longwrite.core.settings import Settings
from longwrite.core.text import count_words
from longwrite.model.embedded import EmbeddedServer

TOKENS_PER_WORD = 1.3  # SmolLM2's tokenizer on English prose, as the agent's usage figures show
TOPICS = ["the history of lighthouses", "how bridges are built", "the science of bread"]


@dataclass(frozen=True)
class RawRun:
    words: int
    word_rate: float
    token_rate: float  # llama.cpp streams a token per chunk


def raw_decode(endpoint, words: int, topic: str, full_length: bool) -> RawRun:
    """One plain streamed answer; `full_length` bars the end of text before about `words` words."""
    client = openai.OpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key)
    max_tokens = int(words * TOKENS_PER_WORD * 1.05)
    started = time.monotonic()
    stream = client.chat.completions.create(
        model=endpoint.model,
        messages=[{"role": "user", "content": f"Write a {words}-word article about {topic}."}],
        max_tokens=max_tokens,
        temperature=0.5,
        stream=True,
        extra_body={"min_tokens": max_tokens - 16} if full_length else None,
    )
    pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    seconds = time.monotonic() - started
    written = count_words("".join(pieces))
    return RawRun(written, written / seconds, sum(1 for piece in pieces if piece) / seconds)


@dataclass(frozen=True)
class AgentRun:
    kept_rate: float  # document words per wall second
    generated_rate: float  # words the section calls generated per wall second
    length_score: float
    planning_share: float  # wall time spent in plan and extend calls
    sections_share: float  # wall time spent in section calls
    section_token_rate: float  # completion tokens per second of section calls
    calls: int  # section calls


def agent_run(endpoint, settings: Settings, store: JobStore, words: int, topic: str) -> AgentRun:
    ctx = AgentContext.for_endpoint(endpoint, settings)
    started = time.monotonic()
    result = run_job(store, ctx, new_job_id(), instruction=f"Write a {words}-word article about {topic}.", target=words)
    wall = time.monotonic() - started
    state = store.values(result.job)
    sections = state["sections"]
    section_seconds = sum(s["seconds"] for s in sections)
    return AgentRun(
        kept_rate=result.words / wall,
        generated_rate=state["usage"]["generated_words"] / wall,
        length_score=result.length_score,
        planning_share=(state["seconds"] - section_seconds) / wall,
        sections_share=section_seconds / wall,
        section_token_rate=sum(s["completion_tokens"] for s in sections) / section_seconds,
        calls=sum(s["calls"] for s in sections),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        with EmbeddedServer(settings) as endpoint, JobStore(settings.jobs_db) as store:
            plain: list[RawRun] = []
            full: list[RawRun] = []
            runs: list[AgentRun] = []
            for run in range(args.runs):
                topic = TOPICS[run % len(TOPICS)]
                plain.append(raw_decode(endpoint, args.words, topic, full_length=False))
                full.append(raw_decode(endpoint, args.words, topic, full_length=True))
                runs.append(agent_run(endpoint, settings, store, args.words, topic))
                print(
                    f"run {run + 1}: raw plain {plain[-1].word_rate:.1f} words/s ({plain[-1].words} words, "
                    f"{plain[-1].token_rate:.1f} tokens/s), full length {full[-1].word_rate:.1f} words/s "
                    f"({full[-1].words} words, {full[-1].token_rate:.1f} tokens/s); "
                    f"agent kept {runs[-1].kept_rate:.1f}, generated {runs[-1].generated_rate:.1f} words/s "
                    f"(S_l {runs[-1].length_score:.0f}); time in planning {runs[-1].planning_share:.0%}, "
                    f"in {runs[-1].calls} section calls {runs[-1].sections_share:.0%} "
                    f"at {runs[-1].section_token_rate:.1f} tokens/s"
                )

    def median(values: list, field: str) -> float:
        return statistics.median(getattr(value, field) for value in values)

    kept, generated = median(runs, "kept_rate"), median(runs, "generated_rate")
    plain_words, plain_tokens = median(plain, "word_rate"), median(plain, "token_rate")
    full_tokens = median(full, "token_rate")
    at_positions = plain_words * full_tokens / plain_tokens  # words/s decoding over the document's positions
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n"
        f"raw plain: median {plain_words:.1f} words/s ({plain_tokens:.1f} tokens/s, {median(plain, 'words'):.0f} "
        f"words); held to full length: {full_tokens:.1f} tokens/s, so {at_positions:.1f} words/s there\n"
        f"ratio kept/raw {kept / plain_words:.2f} (at the document's positions {kept / at_positions:.2f}); "
        f"ratio generated/raw {generated / plain_words:.2f} ({generated / at_positions:.2f}); "
        f"ceiling {full_tokens / plain_tokens:.2f}"
    )
    print(
        f"median agent {kept:.1f} words/s kept, {generated:.1f} generated; "
        f"median S_l {median(runs, 'length_score'):.1f} ({args.runs} runs, {args.words} words)\n"
        f"median time in planning {median(runs, 'planning_share'):.0%}, in section calls "
        f"{median(runs, 'sections_share'):.0%}; section decode {median(runs, 'section_token_rate'):.1f} tokens/s; "
        f"median section calls {median(runs, 'calls'):.0f}"
    )


if __name__ == "__main__":
    main()

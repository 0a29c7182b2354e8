"""The data stages of `longwrite pipeline`: instructions, synthesis by the agent, curation, the
base model's general answers, and the mix; each resumes where it stopped."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from longwrite.core.errors import InputError
from longwrite.core.jsonl import JsonlAppender, read_jsonl
from longwrite.core.text import count_words, repetition
from longwrite.training.pipeline import StageRun
from longwrite.training.pipeline_io import (
    AGENT_WORDS_PER_S,
    CURATED,
    GENERAL_PROMPTS,
    GENERAL_ROWS,
    LONG,
    MIXED,
    MODEL_WORDS_PER_S,
    SYNTH_INPUT,
    SYNTH_OUTPUT,
    base_settings,
    needs,
)

GENERAL_MAX_REP_4 = 0.2  # a general answer that repeats itself more is not kept as training data


def run_instructions(run: StageRun) -> dict[str, Any]:
    from longwrite.training.instructions import check_long_instructions, general_instructions, long_instructions
    from longwrite.training.rows import write_rows

    section = run.settings("instructions")
    if section.file:
        rows = [{k: v for k, v in row.items() if k != "_line"} for row in check_long_instructions(Path(section.file))]
    else:
        rows = long_instructions(section.seed, section.count)
    write_rows(run.folder / LONG, rows)
    write_rows(run.folder / GENERAL_PROMPTS, general_instructions(section.seed, section.general_count))
    return {"long": len(rows), "general": section.general_count}


def _synth_rows(run: StageRun) -> list[dict[str, Any]]:
    rows = read_jsonl(needs(run, "instructions", LONG))
    limit = run.settings("synth").limit
    return rows[:limit] if limit else rows


def run_synth(run: StageRun) -> dict[str, Any]:
    from longwrite.training.rows import write_rows
    from longwrite.training.synth import SynthRequest, synthesize

    section = run.settings("synth")
    source = run.folder / SYNTH_INPUT
    write_rows(source, _synth_rows(run))
    endpoints = section.endpoints  # all serve one model; the embedded default alone when none is named
    settings = base_settings().model_copy(update={"model": endpoints[0].model})
    request = SynthRequest(
        source=source,
        output=run.folder / SYNTH_OUTPUT,
        concurrency=section.concurrency,
        base_urls=tuple(spec.base_url for spec in endpoints if spec.base_url is not None),
    )
    synthesize(request, settings)
    written = read_jsonl(run.folder / SYNTH_OUTPUT)
    return {
        "documents": len(written),
        "failed": len(read_jsonl(request.errors_path)),
        "words": sum(row["response_length"] for row in written),
    }


def estimate_synth(run: StageRun) -> float:
    written = read_jsonl(run.folder / SYNTH_OUTPUT)
    done = {row["id"] for row in written}
    if (run.of("instructions") / LONG).is_file():
        todo = sum(row["length"] for row in _synth_rows(run) if row["id"] not in done)
    else:  # before the instructions stage: the instructions it will make
        from longwrite.training.instructions import long_instructions

        section = run.settings("instructions")
        planned = [] if section.file else long_instructions(section.seed, section.count)
        todo = sum(row["length"] for row in planned[: run.settings("synth").limit or None])
    seconds = sum(row.get("seconds", 0.0) for row in written)
    rate = sum(row["response_length"] for row in written) / seconds if seconds > 60 else AGENT_WORDS_PER_S
    return todo / rate


def run_curate(run: StageRun) -> dict[str, Any]:
    from longwrite.training.curate import curate, write_report
    from longwrite.training.rows import read_rows, write_rows

    source = needs(run, "synth", SYNTH_OUTPUT)
    result = curate(read_rows(source), run.settings("curate").min_length_score)
    if not result.kept:
        raise InputError(f"Curation kept none of the {len(result.decisions)} synthesised rows; see {run.folder}.")
    write_rows(run.folder / CURATED, result.kept)
    write_report(result, run.folder / "report", str(source))
    return {"kept": len(result.kept), "of": len(result.decisions), "dropped": dict(result.dropped)}


def run_general(run: StageRun) -> dict[str, Any]:
    """The base model's own answers to the general requests; looping or cut-off answers are left out."""
    from longwrite.agent.direct import write_direct
    from longwrite.agent.state import AgentContext
    from longwrite.model.client import backend_errors
    from longwrite.model.embedded import endpoint_for

    section = run.settings("general")
    prompts = read_jsonl(needs(run, "instructions", GENERAL_PROMPTS))
    out = run.folder / GENERAL_ROWS
    rejected_path = run.folder / "rejected.jsonl"
    done = {row["id"] for row in read_jsonl(out)} | {row["id"] for row in read_jsonl(rejected_path)}
    spec = section.endpoint
    settings = base_settings().model_copy(update={"base_url": spec.base_url, "model": spec.model})
    out.touch()  # the stage's output exists even when every answer is left out
    kept, rejected = JsonlAppender(out), JsonlAppender(rejected_path)
    with endpoint_for(settings) as endpoint, backend_errors(endpoint):
        context = AgentContext.for_endpoint(endpoint, settings)
        for row in tqdm(
            [row for row in prompts if row["id"] not in done], desc="general", unit="answer", file=sys.stderr
        ):
            answer = write_direct(context, row["prompt"], max_tokens=section.max_tokens)
            words = count_words(answer.document)
            rep_4 = repetition(answer.document).rep_n
            record = {
                "id": row["id"],
                "messages": [
                    {"role": "user", "content": row["prompt"]},
                    {"role": "assistant", "content": answer.document},
                ],
                "response_length": words,
                "rep_4": round(rep_4, 4),
                "finish_reason": answer.finish_reason,
            }
            if answer.finish_reason == "length" or rep_4 > GENERAL_MAX_REP_4:
                rejected.append(record)
            else:
                kept.append(record)
    rows = read_jsonl(out)
    return {
        "kept": len(rows),
        "rejected": len(read_jsonl(rejected_path)),
        "median_words": sorted(r["response_length"] for r in rows)[len(rows) // 2] if rows else 0,
    }


def estimate_general(run: StageRun) -> float:
    prompts = len(read_jsonl(run.of("instructions") / GENERAL_PROMPTS)) or run.settings("instructions").general_count
    done = len(read_jsonl(run.folder / GENERAL_ROWS)) + len(read_jsonl(run.folder / "rejected.jsonl"))
    return max(0, prompts - done) * 250 / MODEL_WORDS_PER_S


def run_mix(run: StageRun) -> dict[str, Any]:
    from longwrite.training.mix import mix
    from longwrite.training.rows import read_rows, write_rows

    section = run.settings("mix")
    general = needs(run, "general", GENERAL_ROWS)
    general_rows = read_rows(general) if section.ratio and general.stat().st_size else []
    if section.ratio and not general_rows:
        raise InputError(
            f"The general stage kept none of its answers ({general.parent}/rejected.jsonl has them); raise "
            "general.max_tokens and run with --from general, or set mix.ratio to 0."
        )
    result = mix(
        read_rows(needs(run, "curate", CURATED)),
        general_rows,
        section.ratio,
        section.seed,
        section.allow_repeat,
        section.long_limit,
    )
    write_rows(run.folder / MIXED, result.rows)
    return {"long": result.long, "general": result.general, "rows": len(result.rows)}

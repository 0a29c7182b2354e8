"""Evaluation pieces with scripted models: data checks, selection, judge parsing, score
arithmetic against hand-computed values, answer/prompt pairing under concurrency, resume."""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import httpx
import openai
import pytest

from agent.state import AgentContext
from eval.data import load_rows, select
from eval.judge import DIMENSIONS, JUDGEMENT_SCHEMA, judge_answer, judgement_format, parse_judgement
from eval.predict import open_run, run_predictions
from eval.report import compare_report, longbench_report
from eval.scores import score_run
from longwrite.errors import BackendError, InputError
from longwrite.jsonl import read_jsonl
from longwrite.settings import Settings
from model.client import Endpoint, backend_errors
from tests.unit.scripted import ScriptedChatModel, prose


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- data


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "not a JSON object"),
        ('{"length": 500}', 'no "prompt"'),
        ('{"prompt": "Write."}', 'no "length"'),
        ('{"prompt": "Write.", "length": "500"}', "positive whole number"),
        ('{"prompt": "Write.", "length": -3}', "positive whole number"),
        ('{"prompt": "Write.", "length": 0}', "positive whole number"),
        ('{"prompt": "Write.", "length": 1.5}', "positive whole number"),
        ('{"prompt": "Write.", "length": true}', "positive whole number"),
    ],
)
def test_bad_rows_name_the_file_and_line(tmp_path, line, problem):
    data = _jsonl(tmp_path / "bench.jsonl", ['{"prompt": "Write a poem.", "length": 100}', line])
    with pytest.raises(InputError, match=rf"bench.jsonl:2: .*{re.escape(problem)}"):
        load_rows(data)
    rows, problems = load_rows(data, on_bad_line="skip")
    assert [row.index for row in rows] == [0] and len(problems) == 1 and ":2:" in problems[0]


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_rows(tmp_path / "nope.jsonl")


def test_stratified_selection_covers_every_range_in_file_order(tmp_path):
    lengths = [
        100,
        200,
        300,
        400,
        450,
        600,
        800,
        1000,
        1500,
        1900,
        2000,
        2500,
        3000,
        3500,
        3900,
        5000,
        8000,
        10000,
        12000,
        20000,
    ]
    lines = [json.dumps({"prompt": f"Write a {n}-word essay on topic {n}.", "length": n}) for n in lengths]
    lines += [json.dumps({"prompt": f"请写一篇{n}字的文章，主题{k}。", "length": n}) for k, n in enumerate(lengths)]
    rows, _ = load_rows(_jsonl(tmp_path / "bench.jsonl", lines))
    chosen = select(rows, lang="en", stratify=4)
    assert len(chosen) == 16 and all(row.language == "en" for row in chosen)
    assert [row.index for row in chosen] == sorted(row.index for row in chosen)
    for label in ("[0,500)", "[500,2k)", "[2k,4k)", "[4k,20k)"):
        in_range = sorted(row.length for row in chosen if row.range == label)
        assert len(in_range) == 4
    # spread over each range, shortest to longest, not its four shortest
    assert sorted(row.length for row in chosen if row.range == "[4k,20k)") == [5000, 8000, 12000, 20000]
    both = select(rows, stratify=4)
    assert [row.language for row in both if row.range == "[2k,4k)"].count("zh") == 2
    assert select(rows, lang="zh", limit=3) == [row for row in rows if row.language == "zh"][:3]


# ---------------------------------------------------------------- judge

GOOD = {d: 4 for d in DIMENSIONS}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (json.dumps(GOOD), 4.0),
        ("Sure! Here is my grading:\n```json\n" + json.dumps({**GOOD, "clarity": 5}) + "\n```", 4.0),
        ("Relevance: 3\nAccuracy: 3\nCoherence: 3\nClarity: 3\nBreadth and depth: 3\nReading experience: 3", 3.0),
        ("The writing is good and relevant, I would say a four overall.", None),
        ('{"relevance": 4, "accuracy": 4, "coherence": 4', None),  # cut off
        (json.dumps({**GOOD, "accuracy": 7}), None),  # out of range
        (json.dumps({**GOOD, "accuracy": 0}), None),
        (json.dumps({k: v for k, v in GOOD.items() if k != "clarity"}), None),  # a dimension missing
        ("", None),
    ],
)
def test_judge_answers_are_parsed_tolerantly_but_never_guessed(answer, expected):
    scores = parse_judgement(answer)
    assert (scores["relevance"] if scores else None) == expected


def test_judge_retries_then_gives_up_without_a_score():
    replies = iter(["I think it is fine.", json.dumps(GOOD)])
    model = ScriptedChatModel(reply=lambda messages, options: next(replies))
    judgement = judge_answer(model, "Write a poem.", "Roses are red.")
    assert judgement.scores == {d: 4.0 for d in DIMENSIONS} and judgement.attempts == 2
    stubborn = ScriptedChatModel(reply=lambda messages, options: "No.")
    failed = judge_answer(stubborn, "Write a poem.", "Roses are red.", attempts=3)
    assert failed.scores is None and failed.attempts == 3 and len(stubborn.calls) == 3


def _refused(request_body: dict) -> openai.BadRequestError:
    response = httpx.Response(400, request=httpx.Request("POST", "http://judge.test/v1/chat/completions"))
    return openai.BadRequestError("response_format is not supported", response=response, body=request_body)


def test_judge_is_held_to_the_schema_and_asked_again_without_it_where_refused():
    schema_format = judgement_format(Endpoint(base_url="http://judge.test/v1", model="judge"))
    assert schema_format["json_schema"]["schema"]["required"] == list(DIMENSIONS)

    def reply(messages, options):
        if "response_format" in options["extra_body"]:
            raise _refused(options["extra_body"])
        return json.dumps(GOOD)

    model = ScriptedChatModel(reply=reply)
    judgement = judge_answer(model, "Write a poem.", "Roses are red.", response_format=schema_format)
    assert judgement.scores == {d: 4.0 for d in DIMENSIONS}
    assert judgement.attempts == 1  # the refused request is not counted as a failed judgement
    sent = [options["extra_body"].get("response_format") for _messages, options in model.calls]
    assert sent == [schema_format, None]


def test_each_server_dialect_gets_its_own_schema_request():
    def endpoint(dialect: str) -> Endpoint:
        return Endpoint(base_url="http://judge.test/v1", model="judge", structured_output=dialect)

    assert judgement_format(endpoint("llamacpp")) == {"type": "json_object", "schema": JUDGEMENT_SCHEMA}
    assert judgement_format(endpoint("json_schema"))["type"] == "json_schema"
    assert judgement_format(endpoint("off")) is None


# ---------------------------------------------------------------- scores


def _pred(index: int, length: int, words: int, language: str = "en") -> dict:
    from longwrite.text import length_score

    return {
        "index": index,
        "prompt": f"p{index}",
        "length": length,
        "language": language,
        "response": "x " * words,
        "response_length": words,
        "length_score": round(length_score(length, words), 2),
        "rep_4": 0.1,
        "distinct_4": 0.9,
        "longest_line_run": 1,
        "seconds": 10.0,
        "path": "agent",
    }


def test_scores_match_hand_computed_values():
    preds = [_pred(0, 1000, 1000), _pred(1, 1000, 500), _pred(2, 300, 400, "zh")]
    # S_l by hand: 100; 100*(1-(1000/500-1)/2) = 50; 100*(1-(400/300-1)/3) = 88.888...
    judgements = [
        {"index": 0, "scores": {d: 4 for d in DIMENSIONS}},
        {"index": 1, "scores": {d: 2 for d in DIMENSIONS}},
        {"index": 2, "scores": None},  # unparseable: left out, counted
    ]
    scores = score_run(preds, judgements)
    assert scores["S_l"] == pytest.approx((100 + 50 + 88.89) / 3, abs=0.01)
    assert scores["S_l_by_range"]["[500,2k)"] == {"S_l": 75.0, "count": 2}
    assert scores["S_l_by_range"]["[0,500)"]["count"] == 1 and scores["S_l_by_range"]["[4k,20k)"]["count"] == 0
    assert scores["S_l_by_language"]["zh"]["S_l"] == 88.89
    # S_q by hand: mean of 4 and 2 is 3 on every dimension -> (3 - 1) * 25 = 50
    assert scores["S_q"] == 50.0 and scores["S_q_by_dimension"]["clarity"] == 50.0
    assert scores["judged"] == 2 and scores["judge_failures"] == 1
    assert scores["S"] == pytest.approx((scores["S_l"] + 50) / 2, abs=0.01)
    assert "S_q" not in score_run(preds)  # no judge, no S_q


# ---------------------------------------------------------------- answers


def _row_file(tmp_path: Path, count: int = 8) -> Path:
    lines = [
        json.dumps({"prompt": f"Write a note about topic {n} (id {n}).", "type": "t", "length": 40})
        for n in range(count)
    ]
    return _jsonl(tmp_path / "rows.jsonl", lines)


def _echo_context(fail_after: list[int] | None = None):
    """A model that answers with its prompt's id after a random delay (finishing out of order)."""
    calls = {"n": 0}

    def reply(messages, options):
        calls["n"] += 1
        if fail_after and calls["n"] > fail_after[0]:
            raise openai.APIConnectionError(request=None)
        time.sleep(random.uniform(0, 0.05))
        marker = re.search(r"id (\d+)", messages[-1].content).group(1)
        return f"Answer for id {marker}. " + prose(30, seed=f"m{marker}x")

    settings = Settings(home="/nonexistent")
    return lambda: AgentContext(settings=settings, make_model=lambda: ScriptedChatModel(reply=reply))


def test_answers_stay_paired_with_their_prompts_under_concurrency(tmp_path):
    data = _row_file(tmp_path)
    rows, _ = load_rows(data)
    out = tmp_path / "run"
    open_run(out, "longbench-write", data, "model", "scripted", rows)
    preds = run_predictions(out, rows, "model", _echo_context(), concurrency=4, show_progress=False)
    for pred in preds:
        marker = re.search(r"id (\d+)", pred["prompt"]).group(1)
        assert pred["response"].startswith(f"Answer for id {marker}.")
    stored = read_jsonl(out / "preds.jsonl")
    assert sorted(p["index"] for p in stored) == list(range(8))


def test_a_failing_backend_stops_the_run_and_a_rerun_resumes(tmp_path):
    data = _row_file(tmp_path)
    rows, _ = load_rows(data)
    out = tmp_path / "run"
    with pytest.raises(BackendError, match="rerun the same command"):
        run_predictions(
            out,
            rows,
            "model",
            _echo_context(fail_after=[3]),
            concurrency=1,
            show_progress=False,
            translate_errors=lambda: backend_errors(Endpoint(base_url="http://127.0.0.1:9/v1", model="m")),
        )
    first = read_jsonl(out / "preds.jsonl")
    assert len(first) == 3
    preds = run_predictions(out, rows, "model", _echo_context(), concurrency=2, show_progress=False)
    assert len(preds) == 8 and read_jsonl(out / "preds.jsonl")[:3] == first  # finished rows untouched


def test_an_out_folder_never_mixes_datasets(tmp_path):
    data = _row_file(tmp_path)
    rows, _ = load_rows(data)
    open_run(tmp_path / "run", "longbench-write", data, "model", "scripted", rows)
    other = _jsonl(tmp_path / "other.jsonl", ['{"prompt": "Write.", "length": 100}'])
    with pytest.raises(InputError, match="different dataset"):
        open_run(tmp_path / "run", "longbench-write", other, "model", "scripted", load_rows(other)[0])
    with pytest.raises(InputError, match="different mode"):
        open_run(tmp_path / "run", "longbench-write", data, "agent", "scripted", rows)


def test_reports_are_written(tmp_path):
    preds = [_pred(0, 1000, 900), _pred(1, 5000, 800), _pred(2, 300, 310)]
    scores = score_run(preds)
    manifest = {
        "mode": "agent",
        "command": "longwrite eval ...",
        "data": "x.jsonl",
        "data_sha256": "ab" * 32,
        "backend": "scripted",
        "created": "2026-11-21T00:00:00+00:00",
    }
    report = longbench_report(tmp_path, manifest, scores, preds).read_text()
    assert "| [4k,20k) | 1 |" in report and (tmp_path / "scatter.png").stat().st_size > 1000
    compare = compare_report(
        [("agent", manifest, scores, preds), ("model", manifest, scores, preds)],
        tmp_path / "cmp",
        "longwrite eval compare a b",
    ).read_text()
    assert compare.count("| scripted |") == 2 and (tmp_path / "cmp" / "ranges.png").exists()


# ---------------------------------------------------------------- ruler


def test_ruler_picks_lengths_and_reports_the_longest_output(tmp_path):
    from eval.ruler import pick, ruler_report, ruler_scores

    lines = [
        json.dumps({"prompt": f"Write a {n}-word story, take {k}.", "length": n})
        for n in (1000, 2000, 5000)
        for k in range(3)
    ]
    rows, _ = load_rows(_jsonl(tmp_path / "ruler.jsonl", lines))
    chosen = pick(rows, (1000, 5000), per_length=2)
    assert [(row.length, row.index) for row in chosen] == [(1000, 0), (1000, 1), (5000, 6), (5000, 7)]
    with pytest.raises(InputError, match="not in the file"):
        pick(rows, (30000,), None)
    preds = [_pred(0, 1000, 950), _pred(1, 1000, 1010), _pred(6, 5000, 4100), _pred(7, 5000, 3000)]
    scores = ruler_scores(preds)
    assert scores["longest_output"] == 4100
    assert scores["by_length"]["5000"] == {
        "rows": 2,
        "longest": 4100,
        "median": 3550.0,
        "S_l": round((preds[2]["length_score"] + preds[3]["length_score"]) / 2, 2),
    }
    manifest = {"mode": "agent", "command": "longwrite eval ruler ...", "data": "ruler.jsonl", "backend": "scripted"}
    ruler_report(tmp_path, manifest, scores, preds)
    assert "Longest output: 4,100 words." in (tmp_path / "report.md").read_text()
    assert (tmp_path / "ruler.png").stat().st_size > 1000

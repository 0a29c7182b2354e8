"""Evaluation pieces with scripted models: data checks, selection, the judge's prompt and
parsing, score arithmetic against hand-computed values (upstream's: unrounded rows, rounded
once), answer/prompt pairing under concurrency, resume, reports regenerated from a run's files."""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import httpx
import openai
import pytest
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from longwrite.core.errors import BackendError, InputError
from longwrite.core.jsonl import read_jsonl
from longwrite.core.settings import Settings
from longwrite.core.text import count_tokens, count_words, length_score
from longwrite.eval.data import load_rows, select
from longwrite.eval.judge import (
    DIMENSION_KEYS,
    DIMENSIONS,
    JUDGEMENT_SCHEMA,
    LONGWRITE_PROMPT,
    UPSTREAM_PROMPT_SHA256,
    is_reference_judge,
    judge_answer,
    judge_prompt_for,
    judge_request,
    judgement_format,
    load_judge_prompt,
    parse_judgement,
)
from longwrite.eval.longbench_write import JUDGEMENTS, LongBenchRequest, _judge_all, rescore_run
from longwrite.eval.predict import open_run, run_predictions
from longwrite.eval.report import compare_report, longbench_report
from longwrite.eval.scores import bootstrap_interval, intervals_overlap, score_run
from longwrite.model.client import Endpoint, backend_errors
from tests.unit.scripted import ScriptedChatModel, connection_lost, prose, scripted_context

BENCHMARKS = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"


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
    assert schema_format["json_schema"]["schema"]["required"] == ["Analysis", *DIMENSION_KEYS.values()]

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

    llamacpp = judgement_format(endpoint("llamacpp"))
    assert llamacpp["type"] == "json_object" and llamacpp["schema"]["required"] == JUDGEMENT_SCHEMA["required"]
    assert llamacpp["schema"]["properties"]["Analysis"]["maxLength"] > 0  # a grammar bounds the analysis
    assert judgement_format(endpoint("json_schema"))["type"] == "json_schema"
    assert judgement_format(endpoint("off")) is None


def _upstream_reply(analysis: str, grades: dict[str, int]) -> str:
    """An answer as GPT-4o writes one to judge.txt: a fenced JSON object, the analysis first."""
    body = {"Analysis": analysis, **{DIMENSION_KEYS[d]: grade for d, grade in grades.items()}}
    return "```json\n" + json.dumps(body, indent=2) + "\n```"


def test_the_judge_is_sent_judge_txt_with_the_instruction_and_the_whole_response(tmp_path, monkeypatch):
    upstream = BENCHMARKS / "judge.txt"
    if not upstream.exists():
        pytest.skip("shared benchmarks not present")
    data = tmp_path / "bench" / "longbench_write.jsonl"
    data.parent.mkdir()
    data.write_text('{"prompt": "Write.", "length": 100}\n', encoding="utf-8")
    (data.parent / "judge.txt").write_bytes(upstream.read_bytes())  # where users have it: beside the data
    prompt = judge_prompt_for(data)
    assert prompt.name == "judge.txt" and prompt.sha256 == UPSTREAM_PROMPT_SHA256
    # a long answer with line breaks, every word of which the judge must see
    response = "\n\n".join(f"## Part {n}\n" + prose(300, seed=f"r{n}") for n in range(12))
    preds = [
        {"index": 0, "prompt": "Write a 3600-word guide to tea.", "response": response},
        {"index": 1, "prompt": "Write a short poem.", "response": "Roses are red."},
    ]

    def reply(messages, options):
        if "poem" in messages[0].content:
            return "It is a fine poem, I would give it a four."  # no grades: never parses
        return _upstream_reply('Clear, with {braces} and "quotes"\nover two lines.', {**GOOD, "clarity": 5})

    model = ScriptedChatModel(reply=reply)
    monkeypatch.setattr("longwrite.eval.longbench_write.chat_model", lambda endpoint, settings: model)
    request = LongBenchRequest(data=data, out=tmp_path / "run", mode="model", progress=False)
    request.out.mkdir()  # as the answers left it
    judge = Endpoint(base_url="http://judge.test/v1", model="gpt-4o-2024-05-13", structured_output="off")
    records = _judge_all(request, judge, Settings(home="/nonexistent"), preds, prompt)

    before, between, after = re.split(r"\$INST\$|\$RESPONSE\$", upstream.read_text(encoding="utf-8"))
    first_messages, first_options = model.calls[0]
    assert [m.content for m in first_messages] == [before + preds[0]["prompt"] + between + response + after]
    assert first_options["extra_body"]["max_tokens"] == 1024  # room for the analysis
    assert records[0]["scores"] == {**{d: 4.0 for d in DIMENSIONS}, "clarity": 5.0}
    assert records[0]["left_out_words"] == 0 and records[0]["prompt_sha256"] == UPSTREAM_PROMPT_SHA256
    assert records[1]["scores"] is None and records[1]["attempts"] == 3  # counted as a failure, not filled in
    scores = score_run([_pred(0, 3600, 3600), _pred(1, 100, 3)], records)
    assert scores["judged"] == 1 and scores["judge_failures"] == 1
    assert scores["S_q"] == round(((4 - 1) * 25 * 5 + (5 - 1) * 25) / 6, 2)  # from the parsed answer alone
    assert scores["judge"]["reference_judge"] and scores["judge"]["prompts"] == ["the benchmark's own judge.txt"]
    # a second run with another prompt is refused rather than mixed into the same S_q
    with pytest.raises(InputError, match="never mixes"):
        _judge_all(request, judge, Settings(home="/nonexistent"), preds, LONGWRITE_PROMPT)


def test_the_judge_prompt_is_chosen_and_checked(tmp_path):
    data = tmp_path / "longbench_write.jsonl"
    assert judge_prompt_for(data) == LONGWRITE_PROMPT  # no judge.txt beside the data: our own
    (tmp_path / "judge.txt").write_text("Grade $INST$ answered by $RESPONSE$.", encoding="utf-8")
    assert judge_prompt_for(data).fill("A", "B") == "Grade A answered by B."
    broken = tmp_path / "mine.txt"
    broken.write_text("Grade this: $RESPONSE$", encoding="utf-8")
    with pytest.raises(InputError, match=r"no \$INST\$"):
        judge_prompt_for(data, broken)
    with pytest.raises(InputError, match="does not exist"):
        load_judge_prompt(tmp_path / "nope.txt")


def test_an_answer_too_long_for_the_judge_keeps_its_beginning_end_and_line_breaks():
    response = "\n\n".join(f"Part {_spelled(n)} begins.\n" + prose(80, seed=f"p{n}") for n in range(40))
    whole = judge_request(LONGWRITE_PROMPT, "Write.", response, context_tokens=100_000)
    assert whole.left_out_words == 0 and response in whole.text
    cut = judge_request(LONGWRITE_PROMPT, "Write.", response, context_tokens=3_000)
    assert 0 < cut.left_out_words < count_words(response)
    assert "Part a begins.\n" in cut.text and response.rsplit("\n\n", 1)[1] in cut.text  # line breaks kept
    assert f"[... {cut.left_out_words:,} words left out here ...]" in cut.text
    assert count_tokens(cut.text) * 1.25 <= 3_000 - 1_024  # fits beside the judge's answer
    hopeless = ScriptedChatModel(reply=lambda messages, options: json.dumps(GOOD))
    failed = judge_answer(hopeless, "Write.", response, context_tokens=1_100)  # not even the prompt fits
    assert failed.scores is None and failed.attempts == 0 and not hopeless.calls


def _spelled(number: int) -> str:
    return "".join("abcdefghij"[int(d)] for d in str(number))


def test_only_gpt_4o_is_the_reference_judge():
    assert is_reference_judge("gpt-4o-2024-05-13") and is_reference_judge("gpt-4o")
    assert not is_reference_judge("gpt-4o-mini") and not is_reference_judge("SmolLM2-135M-Instruct")


# ---------------------------------------------------------------- scores


def _pred(index: int, length: int, words: int, language: str = "en") -> dict:
    from longwrite.core.text import length_score

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


def test_means_are_taken_over_unrounded_rows_and_rounded_once():
    # required 1000 in every row: S_l 100*(1-(1000/990-1)/2) = 99.4949..., 100*(1-(1000/992-1)/2) = 99.5967...,
    # 100*(1-(1002/1000-1)/3) = 99.9333...; their mean 99.6750... shows as 99.68, while the
    # rounded rows (99.49, 99.60, 99.93) would give 99.67
    preds = [_pred(0, 1000, 990), _pred(1, 1000, 992), _pred(2, 1000, 1002)]
    assert [p["length_score"] for p in preds] == [99.49, 99.6, 99.93]
    exact = [100 * (1 - (1000 / 990 - 1) / 2), 100 * (1 - (1000 / 992 - 1) / 2), 100 * (1 - (1002 / 1000 - 1) / 3)]
    assert round(sum(exact) / 3, 2) == 99.68
    scores = score_run(preds)
    assert scores["S_l_by_range"]["[500,2k)"]["S_l"] == 99.68 and scores["S_l"] == 99.68
    assert scores["S_l_by_language"]["en"]["S_l"] == 99.68
    # S_q: 8 answers whose grades add up to 9, 13, 21, 25, 29 and 33 per dimension give dimension
    # scores 3.125, 15.625, 40.625, 53.125, 65.625, 78.125 (shown as 3.12 ... 78.12); their mean
    # 42.7083 shows as 42.71, the mean of the shown ones would be 42.70
    totals = dict(zip(DIMENSIONS, (9, 13, 21, 25, 29, 33), strict=True))
    grades = [{d: total // 8 + (1 if k < total % 8 else 0) for d, total in totals.items()} for k in range(8)]
    judgements = [{"index": k, "judge": "scripted", "scores": g} for k, g in enumerate(grades)]
    rows = [_pred(k, 1000, 1000) for k in range(8)]
    quality = score_run(rows, judgements)
    assert quality["S_q_by_dimension"] == dict(zip(DIMENSIONS, (3.12, 15.62, 40.62, 53.12, 65.62, 78.12), strict=True))
    assert quality["S_q"] == 42.71
    assert quality["S"] == round((100 + 256.25 / 6) / 2, 2)


def test_a_run_is_rescored_and_reported_from_its_files(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    preds = [_pred(0, 5000, 3000), _pred(1, 300, 290)]
    manifest = {
        "kind": "longbench-write",
        "data": "x.jsonl",
        "data_sha256": "ab" * 32,
        "mode": "agent",
        "backend": "scripted",
        "rows": [0, 1],
        "command": "longwrite eval longbench-write ...",
        "created": "2026-11-21T00:00:00+00:00",
    }
    (out / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    _jsonl(out / "preds.jsonl", [json.dumps(p) for p in preds])
    # judgements as they were stored before the prompt was recorded: the first prompt cut answers
    # over 2,500 words to their first and last 1,250
    legacy = [{"index": k, "judge": "embedded tiny model", "scores": GOOD, "attempts": 1, "raw": ""} for k in (0, 1)]
    _jsonl(out / JUDGEMENTS, [json.dumps(j) for j in legacy])
    scores = rescore_run(out)
    assert json.loads((out / "scores.json").read_text()) == scores
    assert scores["S_q"] == 75.0 and scores["judge"]["left_out_words"] == {"0": 500}
    assert not scores["judge"]["reference_judge"]
    report = (out / "report.md").read_text()
    assert "embedded tiny model" in report and "**not the benchmark's reference judge**" in report
    assert "longwrite's first prompt" in report and "all but 500 words (the middle)" in report
    assert "| 1 | [0,500) | 300 | 290 |" in report and "whole answer" in report
    (out / "preds.jsonl").write_text(json.dumps(preds[0]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="no answer for 1 of its rows"):
        rescore_run(out)


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
            raise connection_lost()
        time.sleep(random.uniform(0, 0.05))
        marker = re.search(r"id (\d+)", messages[-1].content).group(1)
        return f"Answer for id {marker}. " + prose(30, seed=f"m{marker}x")

    settings = Settings(home="/nonexistent")
    return lambda: scripted_context(settings=settings, make_model=lambda: ScriptedChatModel(reply=reply))


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


class _CrawlingChatModel(ScriptedChatModel):
    """Streams 2,000 words, one every 10 ms: a server whose tokens trickle (20 s for the answer)."""

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        for n in range(2_000):
            time.sleep(0.01)
            yield ChatGenerationChunk(message=AIMessageChunk(content=f" {prose(1, seed=str(n))}"))


def test_a_model_answer_past_the_time_limit_is_cut_and_kept(tmp_path):
    data = _row_file(tmp_path)
    rows = load_rows(data)[0][:1]
    settings = Settings(home="/nonexistent", answer_time_limit_s=0.5)

    def crawling_context():
        return scripted_context(settings=settings, make_model=lambda: _CrawlingChatModel(reply=lambda m, o: ""))

    open_run(tmp_path / "run", "longbench-write", data, "model", "scripted", rows)
    [pred] = run_predictions(tmp_path / "run", rows, "model", crawling_context, show_progress=False)
    assert 0 < pred["response_length"] < 2_000  # what it wrote by the limit, not all of it, not nothing
    assert pred["error"] == "cut at the answer time limit (0.5 s)"
    assert read_jsonl(tmp_path / "run" / "preds.jsonl")[0]["response"] == pred["response"]


def test_an_out_folder_never_mixes_datasets(tmp_path):
    data = _row_file(tmp_path)
    rows, _ = load_rows(data)
    open_run(tmp_path / "run", "longbench-write", data, "model", "scripted", rows)
    other = _jsonl(tmp_path / "other.jsonl", ['{"prompt": "Write.", "length": 100}'])
    with pytest.raises(InputError, match="different dataset"):
        open_run(tmp_path / "run", "longbench-write", other, "model", "scripted", load_rows(other)[0])
    with pytest.raises(InputError, match="different mode"):
        open_run(tmp_path / "run", "longbench-write", data, "agent", "scripted", rows)


def test_a_run_held_to_length_records_loops_cut_and_never_mixes_with_a_plain_run(tmp_path):
    data = _row_file(tmp_path, count=2)
    rows, _ = load_rows(data)
    loop = " ".join(["The lamp was lit at dusk by the keeper of the old tower."] * 30)

    def looping_context():
        model = ScriptedChatModel(reply=lambda messages, options: prose(12, seed="o") + " " + loop)
        return scripted_context(Settings(home="/nonexistent"), make_model=lambda: model)

    out = tmp_path / "run"
    open_run(out, "longbench-write", data, "model", "scripted", rows, hold_length=True)
    preds = run_predictions(out, rows, "model", looping_context, show_progress=False, hold_length=True)
    assert all(p["loop_cut"] and p["response"].count("The lamp was lit") <= 1 for p in preds)
    with pytest.raises(InputError, match="different --hold-length"):
        open_run(out, "longbench-write", data, "model", "scripted", rows)


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
    low, high = scores["S_l_interval"]
    assert f"| {low}-{high} | 3 |" in report  # the overall mean with its interval and its rows
    assert "S_l of agent and model: the 95% intervals overlap" in compare
    auto = {**manifest, "mode": "auto"}
    with_auto = compare_report(
        [("agent", manifest, scores, preds), ("auto", auto, scores | {"paths": {"model": 2, "model+agent": 1}}, preds)],
        tmp_path / "cmp2",
        "longwrite eval compare a b",
    ).read_text()
    speed = scores["time"]["words_per_second"]
    assert f"- auto: the model finished 2 of 3 answers alone (67%); {speed} words/s against agent mode's" in with_auto


def test_a_bootstrap_interval_holds_the_mean_is_the_same_on_a_rerun_and_narrows_with_more_rows():
    scattered = [10.0, 95.0, 40.0, 100.0, 0.0, 77.0, 63.0, 88.0]
    low, high = bootstrap_interval(scattered)
    assert low < sum(scattered) / len(scattered) < high and bootstrap_interval(scattered) == [low, high]
    wide = high - low
    low4, high4 = bootstrap_interval(scattered * 4)
    assert high4 - low4 < wide / 1.5  # four times the rows: about half as wide
    assert bootstrap_interval([50.0]) is None and bootstrap_interval([70.0, 70.0]) == [70.0, 70.0]
    assert intervals_overlap([40, 60], [55, 80]) and not intervals_overlap([40, 50], [55, 80])
    assert intervals_overlap(None, [1, 2]) is None


# ---------------------------------------------------------------- ruler


def test_ruler_picks_lengths_and_reports_the_longest_output(tmp_path):
    from longwrite.eval.ruler import pick, ruler_report, ruler_scores

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
        "longest_not_looping": 4100,
        "median": 3550.0,
        # the mean of the unrounded per-row scores, rounded once
        "S_l": round((length_score(5000, 4100) + length_score(5000, 3000)) / 2, 2),
    }
    manifest = {"mode": "agent", "command": "longwrite eval ruler ...", "data": "ruler.jsonl", "backend": "scripted"}
    ruler_report(tmp_path, manifest, scores, preds)
    assert "Longest output: 4,100 words;" in (tmp_path / "report.md").read_text()
    assert (tmp_path / "ruler.png").stat().st_size > 1000


@pytest.mark.parametrize(
    ("env", "option", "used"), [("0.2", [], 0.2), (None, [], 0.5), ("0.2", ["--temperature", "0.9"], 0.9)]
)
def test_eval_samples_at_longwrite_temperature_unless_told_otherwise(tmp_path, monkeypatch, env, option, used):
    """--temperature wins; without it LONGWRITE_TEMPERATURE does (it was silently ignored); else LongBench's 0.5."""
    from typer.testing import CliRunner

    import longwrite.eval.longbench_write as longbench
    import longwrite.eval.ruler as ruler
    from longwrite.cli import app

    seen: list[float] = []
    monkeypatch.setattr(longbench, "run_longbench", lambda request, settings: seen.append(settings.temperature)
                        or {"S_l": 0})  # fmt: skip
    monkeypatch.setattr(ruler, "run_ruler", lambda request, settings: seen.append(settings.temperature)
                        or {"longest_output": 0})  # fmt: skip
    monkeypatch.setenv("LONGWRITE_HOME", str(tmp_path))
    if env is None:
        monkeypatch.delenv("LONGWRITE_TEMPERATURE", raising=False)
    else:
        monkeypatch.setenv("LONGWRITE_TEMPERATURE", env)
    data = tmp_path / "rows.jsonl"
    data.write_text("{}\n", encoding="utf-8")
    for command in (["longbench-write"], ["ruler"]):
        result = CliRunner().invoke(app, ["eval", *command, "--data", str(data), "-o", str(tmp_path / "out"), *option])
        assert result.exit_code == 0, result.output
    assert seen == [used, used]

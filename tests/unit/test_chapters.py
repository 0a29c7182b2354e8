"""Long documents planned in chapters: each chapter's sections planned when the writing reaches
it, prompts that stay bounded whatever the length, budgets that still land on the target."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from longwrite.agent.chapters import chapter_outline, expected_sections
from longwrite.agent.jobs import JobStore, run_job
from longwrite.agent.prompts import ENGLISH
from longwrite.agent.section import _SectionWriter
from longwrite.agent.state import Chapter, Section, SectionResult, Turn, WriteState
from longwrite.core.settings import Settings
from longwrite.core.text import count_words
from tests.unit.scripted import ScriptedChatModel, prose, scripted_context
from tests.unit.test_api import AUTH, make_client, wait_for  # noqa: F401 - make_client is a fixture

TARGET = 20_000  # 50 sections of 400 words: more than a flat plan takes, so 5 chapters


class Book:
    """Answers the chapter list, each chapter's outline and each section in full."""

    def __init__(self, crash_on_section: int | None = None, salt: str = "", same_headings: bool = False) -> None:
        self.chapter_outlines: list[tuple[int, str, int]] = []  # (chapter, request, sections written before)
        self.same_headings = same_headings  # every chapter's outline gives the same headings, as small models do
        self.sections = 0
        self.crash_on_section = crash_on_section
        self.salt = salt

    def __call__(self, messages, options) -> str:
        last = messages[-1].content
        if "outline of the chapters" in last:
            count = int(re.search(r"Give (\d+) chapters", last).group(1))
            return "Title: Lighthouses of the world\n" + "\n".join(
                f"{n}. Coast {n}: the lights of coast {n}" for n in range(1, count + 1)
            )
        chapter = re.search(r"outline of chapter (\d+)", last)
        if chapter:
            number = int(chapter.group(1))
            self.chapter_outlines.append((number, last, self.sections))
            count = int(re.search(r"Give (\d+) sections", last).group(1))
            if self.same_headings:
                return "\n".join(f"{n}. Famous lights, part {n}: one lighthouse" for n in range(1, count + 1))
            return "\n".join(f"{n}. Light {number}.{n}: one lighthouse" for n in range(1, count + 1))
        if "Make an outline" in last:  # a document that fits one outline
            count = int(re.search(r"Give (\d+) sections", last).group(1))
            return "Title: Lighthouses\n" + "\n".join(f"{n}. Light {n}: one lighthouse" for n in range(1, count + 1))
        self.sections += 1
        if self.crash_on_section == self.sections:
            raise ConnectionError("server went away")
        words = int(re.search(r"about (\d+)(?: more)? words", last).group(1))
        return prose(words, seed=f"b{self.salt}{self.sections}k")


def _run(store: JobStore, job_id: str, book: Book, resume: bool = False, events: list | None = None):
    model = ScriptedChatModel(reply=book)
    events = [] if events is None else events
    ctx = scripted_context(Settings(home="/nonexistent"), lambda: model, section_words=400)
    if resume:
        return run_job(store, ctx, job_id, resume=True, on_event=events.append), model
    instruction = "Write a 20000-word guide to the lighthouses of the world."
    return run_job(store, ctx, job_id, instruction=instruction, target=TARGET, on_event=events.append), model


def test_a_long_document_is_planned_in_chapters_each_when_the_writing_reaches_it(tmp_path):
    book, events = Book(), []
    with JobStore(tmp_path / "jobs.sqlite") as store:
        result, model = _run(store, "book", book, events=events)
        values = store.values("book")
    chapters = values["chapters"]
    assert len(chapters) == 5 and chapters[0]["title"] == "Coast 1"
    # chapter 1 is planned with the chapters; each later one once the one before is written
    planned_at = {number: written for number, _, written in book.chapter_outlines}
    firsts = [min(i for i, s in enumerate(values["plan"]) if s["chapter"] == k) for k in range(5)]
    assert planned_at == {k + 1: firsts[k] for k in range(5)}
    # a chapter's request names the parts of the chapter before it
    _, third, _ = book.chapter_outlines[2]
    assert "Chapter 2 has these parts: Light 2.1; Light 2.2" in third
    assert result.status == "done" and 0.9 * TARGET <= result.words <= 1.1 * TARGET
    assert [s["index"] for s in values["sections"]] == list(range(len(values["plan"])))
    # progress counts the sections to come from the start, and ends on the real count
    started = [e for e in events if e["event"] == "section_started"]
    assert started[0]["total"] >= 40 and started[-1]["total"] == len(values["plan"])
    # each write prompt shows its own chapter's parts, never another chapter's
    for messages, _ in model.calls:
        head = str(messages[1].content)
        if head.startswith("Request:"):
            shown = set(re.findall(r"Light (\d+)\.\d+", head.split("\n\n")[0]))
            assert len(shown) == 1, shown


def test_only_the_closing_section_is_asked_to_close_the_document(tmp_path):
    with JobStore(tmp_path / "jobs.sqlite") as store:
        _, model = _run(store, "book", Book())
    closing = [m for m, _ in model.calls if "bring the document to a close" in str(m[-1].content)]
    assert len(closing) == 1 and "Light 5." in str(closing[0][-1].content)


def test_a_book_killed_mid_chapter_resumes_without_planning_or_writing_anything_twice(tmp_path):
    db = tmp_path / "jobs.sqlite"
    with JobStore(db) as store, pytest.raises(ConnectionError):
        _run(store, "book", Book(crash_on_section=25))
    with JobStore(db) as store:
        saved = store.values("book")
        resumed = Book(salt="r")
        result, _ = _run(store, "book", resumed, resume=True)
        final = store.values("book")
    assert len(saved["sections"]) == 24
    titles = [s["title"] for s in saved["plan"]]
    assert [s["title"] for s in final["plan"][: len(titles)]] == titles  # the chapters planned stay as they were
    planned = {s["chapter"] for s in saved["plan"]}
    assert resumed.chapter_outlines and all(number - 1 not in planned for number, _, _ in resumed.chapter_outlines)
    assert [s["text"] for s in final["sections"][:24]] == [s["text"] for s in saved["sections"]]
    assert [s["index"] for s in final["sections"]] == list(range(len(final["plan"])))
    assert result.status == "done" and 0.9 * TARGET <= result.words <= 1.1 * TARGET


# ---- the prompt for section 350 of a 100,000-word book fits an 8,192-token context


def _book_state(written: int) -> WriteState:
    """A 100,000-word book of 40 chapters of 10 sections, `written` sections done."""
    chapters = [Chapter(title=f"The printing press in era {k + 1}", points="", words=2_500) for k in range(40)]
    plan = [
        Section(title=f"Printers and their shops, part {k + 1}.{n + 1}", points="", words=250, chapter=k)
        for k in range(36)
        for n in range(10)
    ]
    sections = [_written(i, plan[i]) for i in range(written)]
    return WriteState(
        instruction="Write a 100000-word history of the printing press, from woodblocks to digital type.",
        language="en", target_words=100_000, title="The printing press", plan=plan, chapters=chapters,
        plan_source="model", sections=sections, window_start=0, status="writing", seconds=0.0,
        usage={"completion_tokens": 0, "generated_words": 0, "prompt_tokens": 0, "estimated_prompt_tokens": 0},
    )  # fmt: skip


def _written(index: int, section: Section) -> SectionResult:
    text = _english(index)
    return SectionResult(index=index, title=section["title"], text=text, turns=[Turn(ask="", said=text)],
                         words=count_words(text), budget=250, calls=1, continuations=0, loops_cut=0, trimmed=False,
                         prompt_tokens=0, completion_tokens=0, seconds=1.0)  # fmt: skip


def _english(index: int, words: int = 250) -> str:
    """About `words` words of plain English (as many tokens a word as real prose has)."""
    sentence = f"In the year {1450 + index} the printers of the old town set type by hand and sold books at fairs."
    return " ".join([sentence] * (words // count_words(sentence) + 1))


def _embedded_tokenizer():
    llama_cpp = pytest.importorskip("llama_cpp")
    from longwrite.model.embedded import gguf_path

    return llama_cpp.Llama(model_path=str(gguf_path()), vocab_only=True, verbose=False)


def test_the_prompt_for_section_350_of_a_100000_word_book_fits_an_8192_token_context():
    """Counted with the embedded model's own tokenizer and chat markers, with its answer's room."""
    state = _book_state(written=349)
    ctx = scripted_context(Settings(home="/nonexistent"), lambda: ScriptedChatModel(reply=lambda m, o: ""),
                           section_words=250, context_tokens=8_192)  # fmt: skip
    writer = _SectionWriter(ctx, state, emit=lambda event: None)
    messages, max_tokens, _ = writer.request(writer.words_needed())
    tokenizer = _embedded_tokenizer()
    chat_markers = 5  # <|im_start|>role\n ... <|im_end|>\n around each message
    prompt = sum(len(tokenizer.tokenize(str(m.content).encode(), add_bos=False)) + chat_markers for m in messages)
    assert prompt + max_tokens <= 8_192, (prompt, max_tokens)
    text = "\n".join(str(m.content) for m in messages)
    assert "Printers and their shops, part 35.10" in text  # the current chapter's parts
    assert "part 34.1;" not in text and "era 40" in text  # not another chapter's parts; the chapter list
    assert sum(count_words(str(m.content)) for m in messages[2::2]) >= 1_500  # and a good stretch of recent text


def test_chapter_outline_is_bounded_by_the_chapter_not_the_book():
    state = _book_state(written=0)
    full = chapter_outline(state["plan"], state["chapters"], 349, ENGLISH, compact=False)
    compact = chapter_outline(state["plan"], state["chapters"], 349, ENGLISH, compact=True)
    assert full.count("part 35.") == 10 and "part 34." not in full and full.count("era ") == 41
    assert compact.startswith('Now chapter 35, "The printing press in era 35"') and "era 1;" not in compact
    assert expected_sections(state["plan"][:20], state["chapters"]) == 20 + 38 * 10


def test_a_document_that_fits_one_outline_is_not_planned_in_chapters(tmp_path: Path):
    with JobStore(tmp_path / "jobs.sqlite") as store:
        model = ScriptedChatModel(reply=Book())
        ctx = scripted_context(Settings(home="/nonexistent"), lambda: model, section_words=400)
        run_job(store, ctx, "flat", instruction="Write about lighthouses.", target=8_000, plan_only=True)
        values = store.values("flat")
    assert "chapters" not in values and all("chapter" not in s for s in values["plan"])


def test_an_edited_first_chapter_keeps_the_chapters_after_it(tmp_path):
    """The plan a person edits before writing is the first chapter's; the rest keep their budgets."""
    from longwrite.agent.jobs import revise_plan

    with JobStore(tmp_path / "jobs.sqlite") as store:
        model = ScriptedChatModel(reply=Book())
        ctx = scripted_context(Settings(home="/nonexistent"), lambda: model, section_words=400)
        run_job(store, ctx, "book", instruction="Write about lighthouses.", target=TARGET, plan_only=True)
        planned = store.values("book")
        edited = [{"title": s["title"], "points": s["points"], "words": s["words"]} for s in planned["plan"]]
        edited[0] = {**edited[0], "title": "The Pharos of Alexandria", "words": edited[0]["words"] + 100}
        revised = revise_plan(store, "book", plan=edited)
        assert revised["target_words"] == TARGET + 100 and len(revised["chapters"]) == 5
        result = run_job(store, ctx, "book", resume=True)
        final = store.values("book")
    assert final["plan"][0]["title"] == "The Pharos of Alexandria"
    assert {s["chapter"] for s in final["plan"]} == set(range(5))
    assert result.status == "done" and 0.9 * (TARGET + 100) <= result.words <= 1.1 * (TARGET + 100)


def test_a_chapter_that_repeats_earlier_headings_gets_new_ones(tmp_path):
    with JobStore(tmp_path / "jobs.sqlite") as store:
        _run(store, "book", Book(same_headings=True))
        plan = store.values("book")["plan"]
    titles = [s["title"] for s in plan]
    assert len(set(titles)) == len(titles)
    second = [s["title"] for s in plan if s["chapter"] == 1]
    assert second[0].startswith("Coast 2: ")  # a new angle on its own chapter


def test_the_job_api_shows_the_chapters_and_counts_the_sections_to_come(make_client):  # noqa: F811
    client = make_client(Book())
    body = {"instruction": "Write about the lighthouses of the world.", "target_words": TARGET, "plan_only": True}
    job_id = client.post("/v1/writes", json=body, headers=AUTH).json()["id"]
    job = wait_for(client, job_id)
    assert job["status"] == "planned" and len(job["chapters"]) == 8  # 80 sections of 250 words
    assert {s["chapter"] for s in job["plan"]} == {0}  # the first chapter's sections only, so far
    assert job["progress"]["sections_total"] >= 70

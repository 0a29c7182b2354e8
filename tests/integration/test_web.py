"""The web writer in a real headless Chromium (Debian's, driven by Playwright) against a real
`longwrite serve` on the embedded model, used as a writer uses it: plan, edit, write with live
counters in view, stop and resume, reload, errors, compare, and contrast. Screenshots of each
state land in artifacts/ (docs/img/ holds the published ones)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from longwrite.core.text import count_words
from tests.integration.conftest import ServeProcess, embedded_env

pytestmark = pytest.mark.integration
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "artifacts"
DESKTOP = {"width": 1366, "height": 900}
MOBILE = {"width": 390, "height": 844}
DEAD_ENDPOINT = "http://127.0.0.1:9/v1"  # port 9 (discard): nothing answers there
CONTRAST_SCRIPT = (Path(__file__).parent / "contrast.js").read_text(encoding="utf-8")
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)", allow_module_level=True)
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def server(embedded, tmp_path_factory):
    # a short context keeps the Compare tab's one-call answer short on CPU
    env = embedded_env(embedded, tmp_path_factory.mktemp("web-home"), LONGWRITE_CONTEXT_TOKENS="2048")
    process = ServeProcess(env)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser, server):
    """Opens the page at a viewport size; console errors are collected on page.console_errors."""
    ARTIFACTS.mkdir(exist_ok=True)
    contexts = []

    def opened(viewport: dict[str, int] = DESKTOP):
        context = browser.new_context(viewport=viewport, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda message: page.console_errors.append(message.text)
                if message.type == "error" else None)  # fmt: skip
        page.on("pageerror", lambda error: page.console_errors.append(str(error)))
        page.goto(server.url + "/")
        page.wait_for_selector("#instruction textarea", timeout=60_000)
        return page

    yield opened
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page):
    return open_page()


def counter_words(page) -> int:
    match = re.match(r"([\d,]+) (?:of|words)", page.inner_text("#counters"))
    return int(match.group(1).replace(",", "")) if match else 0


def plan_total(page) -> int:
    return int(re.search(r"Plan total: ([\d,]+) words", page.inner_text("#plan-total")).group(1).replace(",", ""))


def wait_status(page, wanted: str, timeout_s: float = 600) -> list[int]:
    """Counter readings, one a second, until the status line says `wanted`."""
    readings, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        readings.append(counter_words(page))
        status = page.inner_text("#status")
        if wanted in status:
            return readings
        assert "Error" not in status, status
        time.sleep(1)
    raise AssertionError(f"no {wanted!r} status in {timeout_s} s; last counters {readings[-5:]}")


def ask(page, instruction: str, target: int) -> None:
    page.fill("#instruction textarea", instruction)
    page.wait_for_function(f"document.querySelector('#target input').value === '{target}'", timeout=30_000)


def edit_cell(page, row: int, column: int, text: str) -> None:
    page.locator(f'#plan-table [data-testid="cell-{row}-{column}"]').dblclick()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def table_rows(page) -> list[list[str]]:
    rows = []
    for row in range(50):
        cells = [page.locator(f'#plan-table [data-testid="cell-{row}-{column}"]') for column in range(3)]
        if not cells[0].count():
            return rows
        # a selected cell shows its menu button, "⋮"
        rows.append([cell.inner_text().replace("⋮", "").strip() for cell in cells])
    return rows


def words_of(text: str) -> list[str]:
    """The words of a text, without markdown marks, list numbers or punctuation."""
    return re.findall(r"[A-Za-z]+(?:'[A-Za-z]+)?", text)


def job(server, job_id: str) -> dict:
    return httpx.get(f"{server.url}/v1/writes/{job_id}", timeout=10).json()


def in_viewport(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def test_plan_edit_write_stream_and_download(page, server):
    ask(page, "Write a 600-word article about the history of lighthouses.", 600)
    page.click("#plan")
    budget = page.locator('#plan-table [data-testid="cell-0-2"]')
    budget.wait_for(timeout=180_000)
    planned = int(budget.inner_text())
    page.wait_for_function("document.querySelector('#plan-total').innerText.includes('of 600 asked')", timeout=30_000)
    # the plan is a real job, planned and waiting (plan review goes back into it)
    page.wait_for_function("document.querySelector('#job-id textarea, #job-id input')?.value !== ''", timeout=30_000)
    job_id = page.input_value("#job-id input, #job-id textarea")
    assert "Planned" in page.inner_text("#status")
    assert job(server, job_id)["status"] == "planned"
    total = plan_total(page) + 100
    edit_cell(page, 0, 2, str(planned + 100))
    page.wait_for_function(f"document.querySelector('#plan-total').innerText.includes('{total:,} words')",
                           timeout=30_000)  # fmt: skip

    page.click("#write")
    readings = wait_status(page, "Done")
    streaming = [words for words in readings if words]
    assert len(set(streaming)) >= 3 and max(streaming) > streaming[0]  # the counter rose while it streamed
    assert f"of {total:,} words" in page.inner_text("#counters")  # the edited budget is the target
    assert page.input_value("#job-id input, #job-id textarea") == job_id  # the planned job, not a new one
    written = job(server, job_id)
    assert written["status"] == "done" and written["plan"][0]["words"] == planned + 100  # the edited budget
    assert [j["id"] for j in httpx.get(f"{server.url}/v1/writes", timeout=10).json()["data"]].count(job_id) == 1
    final = counter_words(page)
    assert abs(final - total) <= 0.25 * total

    with page.expect_download() as download:
        page.click("#download-md")
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert count_words(markdown) == final
    assert markdown.startswith("# ")
    with page.expect_download() as docx_download:
        page.click("#download-docx")
    assert docx_download.value.suggested_filename.endswith(".docx")
    page.screenshot(path=str(ARTIFACTS / "web-write.png"), full_page=True)
    assert page.console_errors == []


def test_an_edited_plan_survives_a_changed_instruction_when_kept(page, server):
    """Item 1: after Plan, a changed instruction asks keep/plan again; kept, the edited plan is written."""
    ask(page, "Write a 600-word article about the history of lighthouses.", 600)
    page.click("#plan")
    page.locator('#plan-table [data-testid="cell-0-0"]').wait_for(timeout=180_000)
    planned_id = page.input_value("#job-id input, #job-id textarea")
    edit_cell(page, 0, 0, "Lamps and their keepers")
    page.wait_for_function("document.querySelector('#plan-table').innerText.includes('Lamps and their keepers')",
                           timeout=30_000)  # fmt: skip
    edited = table_rows(page)
    ask(page, "Write a 600-word article about the history of lighthouses, for children.", 600)
    page.click("#write")
    page.locator("#plan-choice").wait_for(state="visible", timeout=30_000)
    assert "changed after Plan" in page.inner_text("#plan-choice")
    assert table_rows(page) == edited  # nothing replaced while the writer decides

    page.click("#keep-plan")
    page.wait_for_function("document.querySelector('#status').innerText.includes('Writing section')", timeout=120_000)
    job_id = page.input_value("#job-id input, #job-id textarea")
    written = job(server, job_id)
    assert job_id != planned_id and written["instruction"].endswith("for children.")
    assert [s["title"] for s in written["plan"]] == [row[0] for row in edited]  # the edited plan is the one written
    assert table_rows(page)[0][0] == "Lamps and their keepers"  # and the table shows it
    page.click("#stop")
    wait_status(page, "Paused", timeout_s=120)


def test_stop_mid_section_keeps_the_text_and_resume_loses_no_word(page, server):
    """Item 2: Stop is a pause: the partial section stays on screen and in the job; Resume goes on from it."""
    ask(page, "Write a 700-word essay about rivers and the towns built on them.", 700)
    page.click("#write")
    page.wait_for_function("document.querySelector('#status').innerText.includes('Writing section 1')",
                           timeout=300_000)  # fmt: skip
    deadline = time.monotonic() + 300
    while counter_words(page) < 60 and time.monotonic() < deadline:  # well inside section 1
        time.sleep(0.3)
    page.click("#stop")
    wait_status(page, "Paused", timeout_s=120)
    status = page.inner_text("#status")
    assert "Paused in section 1" in status and "Resume continues" in status, status
    job_id = page.input_value("#job-id input, #job-id textarea")
    paused = job(server, job_id)
    kept = " ".join(paused["text"].split())
    assert count_words(paused["text"]) >= 20 and paused["progress"]["sections_done"] == 0
    # the page shows the kept text's last words in order (compared as words: the page renders the
    # markdown, so heading marks and list numbers are not in its text)
    assert " ".join(words_of(page.inner_text("#document"))[-30:]) in " ".join(words_of(kept))
    assert page.is_enabled("#resume") and not page.is_enabled("#stop")
    page.screenshot(path=str(ARTIFACTS / "web-paused.png"), full_page=False)

    page.click("#resume")
    wait_status(page, "Done")
    final = " ".join(job(server, job_id)["text"].split())
    assert final.startswith(kept)  # every kept word, in place
    assert final.count(kept[-120:]) == 1  # and none written twice
    assert page.console_errors == []


@pytest.mark.parametrize("viewport", [DESKTOP, MOBILE], ids=["desktop", "mobile"])
def test_progress_stays_in_view_while_writing(open_page, server, viewport):
    """Item 3: status and counters are on screen during a write, at desktop and phone sizes, with a
    planned table above them."""
    page = open_page(viewport)
    ask(page, "Write a 900-word guide to keeping bees in a small garden.", 900)
    page.click("#plan")
    page.locator('#plan-table [data-testid="cell-1-0"]').wait_for(timeout=180_000)
    page.click("#write")
    deadline = time.monotonic() + 300
    while counter_words(page) < 30 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert counter_words(page) >= 30
    for top in (0, 700):  # the page as it was when Write was pressed, then scrolled down to the plan
        page.evaluate(f"window.scrollTo(0, {top})")
        page.wait_for_timeout(500)
        assert in_viewport(page, "#counters") and in_viewport(page, "#status"), f"scrolled to {top}"
    name = "desktop" if viewport == DESKTOP else "mobile"
    page.screenshot(path=str(ARTIFACTS / f"web-writing-{name}.png"), full_page=False)
    assert page.evaluate(CONTRAST_SCRIPT) == []  # the writing state: live text, counters, Stop enabled
    page.click("#stop")
    wait_status(page, "Paused", timeout_s=120)
    assert page.evaluate(CONTRAST_SCRIPT) == []  # paused: Stop disabled, Resume enabled


def test_a_reload_mid_write_reattaches_and_restores_the_page(open_page, server):
    """Item 4: a reload mid-write shows instruction, plan, text and counters again and follows the job."""
    page = open_page()
    instruction = "Write a 700-word essay about bridges and the people who built them."
    ask(page, instruction, 700)
    page.click("#write")
    page.wait_for_function("document.querySelector('#counters').innerText.includes('section 2 of')",
                           timeout=300_000)  # fmt: skip
    job_id = page.input_value("#job-id input, #job-id textarea")
    rows = table_rows(page)
    assert len(rows) >= 2  # the plan being written, though Plan was never pressed

    page.reload()  # the old page's aborted event stream logs its abort as it goes; that page is gone
    page.wait_for_selector("#instruction textarea", timeout=60_000)
    page.console_errors.clear()
    page.wait_for_function(f"document.querySelector('#job-id input, #job-id textarea')?.value === '{job_id}'",
                           timeout=60_000)  # fmt: skip
    assert page.input_value("#instruction textarea") == instruction
    assert page.input_value("#target input") == "700"
    assert [row[0] for row in table_rows(page)] == [row[0] for row in rows]
    page.wait_for_function("document.querySelector('#document').innerText.trim().length > 0", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "web-reloaded.png"), full_page=False)
    wait_status(page, "Done")  # followed to its end without pressing anything
    finished = job(server, job_id)
    assert finished["status"] == "done"
    headings = [line for line in finished["text"].splitlines() if line.startswith("## ")]
    assert len(headings) == len(set(headings)) == finished["progress"]["sections_total"]  # no section twice
    assert all(heading[3:].strip() in page.inner_text("#document") for heading in headings)
    assert page.console_errors == []


def test_an_endpoint_error_stays_in_plain_words_and_buttons_say_what_they_can_do(page):
    """Item 5: the error stays in the status line, in the page's words; Stop and Resume are off when idle."""
    assert not page.is_enabled("#stop") and not page.is_enabled("#resume")
    assert page.get_attribute("#status", "aria-live") == "polite"  # read out by screen readers as it changes
    page.fill("#instruction textarea", "")
    page.click("#write")
    page.wait_for_function("document.querySelector('#status').innerText.includes('instruction is empty')",
                           timeout=30_000)  # fmt: skip
    ask(page, "Write a 300-word note about green tea.", 300)
    page.get_by_text("Endpoint (the model that writes)").click()
    page.fill("#base-url input, #base-url textarea", DEAD_ENDPOINT)
    page.click("#write")
    page.wait_for_function("document.querySelector('#status').innerText.includes('Nothing answers')", timeout=120_000)
    page.wait_for_timeout(30_000)
    status = page.inner_text("#status")
    assert "Nothing answers at http://127.0.0.1:9/v1" in status and "Base URL under Endpoint" in status
    assert "--" not in status and "Traceback" not in status and "/v1/writes" not in status
    assert not page.is_enabled("#stop")


def test_compare_uses_the_endpoint_panel(page):
    """Item 6: Compare writes with the model named under Endpoint (a dead one fails, not the embedded)."""
    page.get_by_text("Endpoint (the model that writes)").click()
    page.fill("#base-url input, #base-url textarea", DEAD_ENDPOINT)
    page.get_by_role("tab", name="Compare").click()
    page.fill("#compare-instruction textarea", "Write a 150-word note about green tea.")
    page.click("#compare")
    page.wait_for_function("document.querySelector('#compare-status').innerText.includes('Nothing answers')",
                           timeout=120_000)  # fmt: skip
    assert page.inner_text("#agent-text").strip() == ""  # nothing was written elsewhere


def test_compare_tab_shows_both_writers_with_scores_explained(page):
    page.get_by_role("tab", name="Compare").click()
    page.fill("#compare-instruction textarea", "Write a 150-word note about green tea.")
    page.wait_for_function("document.querySelector('#compare-target input').value === '150'", timeout=30_000)
    page.click("#compare")
    page.wait_for_function("document.querySelector('#agent-text').innerText.trim().length > 0", timeout=300_000)
    assert "length score" not in page.inner_text("#agent-summary")  # the agent's text streams while it writes
    page.wait_for_function("document.querySelector('#model-summary').innerText.includes('length score')",
                           timeout=600_000)  # fmt: skip
    agent, model = page.inner_text("#agent-summary"), page.inner_text("#model-summary")
    assert agent.startswith("agent:") and "of 150 words" in agent and "rep-4" in agent
    assert model.startswith("model:") and "of 150 words" in model
    explained = page.inner_text("#scores-explained")
    assert "higher is better" in explained and "lower is better" in explained
    page.wait_for_function("document.querySelector('#compare-status').innerText.includes('Done')", timeout=60_000)
    page.wait_for_selector("#scatter img", timeout=60_000)  # matplotlib's figure, drawn once both have written
    page.screenshot(path=str(ARTIFACTS / "web-compare.png"), full_page=True)
    assert page.console_errors == []


def test_the_plan_table_cannot_lose_a_column_and_refuses_a_word_budget_that_is_not_a_number(page):
    """Item 7: no column can be added or deleted from the table's menu; "abc" as a budget is refused inline."""
    ask(page, "Write a 600-word article about the history of lighthouses.", 600)
    page.click("#plan")
    budget = page.locator('#plan-table [data-testid="cell-0-2"]')
    budget.wait_for(timeout=180_000)
    page.locator('#plan-table [data-testid="cell-0-1"]').click()
    page.locator("#plan-table .cell-menu-button:visible").first.click()  # the selected cell's menu
    menu = page.locator(".cell-menu").first
    menu.wait_for(timeout=10_000)
    offered = menu.inner_text()
    assert "Add row below" in offered and "column" not in offered.lower(), offered
    page.keyboard.press("Escape")
    edit_cell(page, 1, 2, "abc")
    page.wait_for_function("document.querySelector('#plan-total').innerText.includes('Section 2 has')",
                           timeout=30_000)  # fmt: skip
    assert "type a whole number of words" in page.inner_text("#plan-total")
    page.click("#write")
    page.wait_for_function("document.querySelector('#status').innerText.includes('Section 2')", timeout=30_000)
    assert "Error" in page.inner_text("#status")
    before = len(table_rows(page))
    page.click("#add-section")
    page.wait_for_function(f"!!document.querySelector('#plan-table [data-testid=\"cell-{before}-0\"]')",
                           timeout=30_000)  # fmt: skip
    assert table_rows(page)[before][0] == "New section" and int(table_rows(page)[before][2]) > 0


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_and_button_has_a_contrast_of_at_least_4_5(browser, server, scheme):
    context = browser.new_context(viewport=DESKTOP, color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        page.wait_for_selector("#instruction textarea", timeout=60_000)
        page.wait_for_timeout(1_000)
        assert page.evaluate(CONTRAST_SCRIPT) == []
        for tab in ("Compare", "Documents"):
            page.get_by_role("tab", name=tab).click()
            page.wait_for_timeout(500)
            assert page.evaluate(CONTRAST_SCRIPT) == [], tab
    finally:
        context.close()

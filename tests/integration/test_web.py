"""The web writer in a real headless Chromium (Debian's, driven by Playwright) against a real
`longwrite serve` on the embedded model: plan, edit, write with live counters, download,
reload and resume, compare."""

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


@pytest.fixture
def page(server):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1300, "height": 1800}, accept_downloads=True)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda message: page.console_errors.append(message.text)
                if message.type == "error" else None)  # fmt: skip
        page.on("pageerror", lambda error: page.console_errors.append(str(error)))
        page.goto(server.url + "/")
        page.wait_for_selector("#instruction textarea", timeout=60_000)
        yield page
        browser.close()


def counter_words(page) -> int:
    match = re.match(r"([\d,]+) of", page.inner_text("#counters"))
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
        assert "error" not in status, status
        time.sleep(1)
    raise AssertionError(f"no {wanted!r} status in {timeout_s} s; last counters {readings[-5:]}")


def test_plan_edit_write_stream_and_download(page, server):
    page.fill("#instruction textarea", "Write a 600-word article about the history of lighthouses.")
    page.wait_for_function("document.querySelector('#target input').value === '600'", timeout=30_000)
    page.click("#plan")
    budget = page.locator('#plan-table [data-testid="cell-0-2"]')
    budget.wait_for(timeout=180_000)
    planned = int(budget.inner_text())
    page.wait_for_function("document.querySelector('#plan-total').innerText.includes('of 600 asked')", timeout=30_000)
    # the plan is a real job, planned and waiting (plan review goes back into it)
    page.wait_for_function("document.querySelector('#job-id textarea')?.value !== ''", timeout=30_000)
    job_id = page.input_value("#job-id textarea")
    assert "planned" in page.inner_text("#status")
    assert httpx.get(f"{server.url}/v1/writes/{job_id}", timeout=10).json()["status"] == "planned"
    total = plan_total(page) + 100
    budget.dblclick()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(planned + 100))
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.querySelector('#plan-total').innerText.includes('{total:,} words')",
                           timeout=30_000)  # fmt: skip

    page.click("#write")
    readings = wait_status(page, "done")
    streaming = [words for words in readings if words]
    assert len(set(streaming)) >= 3 and max(streaming) > streaming[0]  # the counter rose while it streamed
    assert f"of {total:,} words" in page.inner_text("#counters")  # the edited budget is the target
    assert page.input_value("#job-id textarea") == job_id  # Write wrote the planned job, not a new one
    written = httpx.get(f"{server.url}/v1/writes/{job_id}", timeout=10).json()
    assert written["status"] == "done" and written["plan"][0]["words"] == planned + 100  # the edited budget
    assert [job["id"] for job in httpx.get(f"{server.url}/v1/writes", timeout=10).json()["data"]].count(job_id) == 1
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


def test_reload_mid_write_then_resume_continues_the_same_job(page, server):
    page.fill("#instruction textarea", "Write a 700-word essay about rivers and the towns built on them.")
    page.wait_for_function("document.querySelector('#target input').value === '700'", timeout=30_000)
    page.click("#write")
    page.wait_for_function("document.querySelector('#counters').innerText.includes('section 2 of')",
                           timeout=300_000)  # fmt: skip
    job_id = page.input_value("#job-id textarea")
    assert job_id

    page.reload()  # the old page's aborted event stream logs its abort as it goes; that page is gone
    page.wait_for_selector("#instruction textarea", timeout=60_000)
    page.console_errors.clear()
    page.wait_for_function(f"document.querySelector('#job-id textarea')?.value === '{job_id}'", timeout=60_000)
    page.click("#resume")
    wait_status(page, "done")
    assert job_id in page.inner_text("#counters")  # the same job, followed to its end
    job = httpx.get(f"{server.url}/v1/writes/{job_id}").json()
    assert job["status"] == "done"
    headings = [line for line in job["text"].splitlines() if line.startswith("## ")]
    assert len(headings) == len(set(headings)) == job["progress"]["sections_total"]  # no section twice
    shown = page.inner_text("#document")
    assert all(heading[3:].strip() in shown for heading in headings)
    assert page.console_errors == []


def test_compare_tab_shows_both_writers_with_scores(page, server):
    page.get_by_role("tab", name="Compare").click()
    page.fill("#compare-instruction textarea", "Write a 150-word note about green tea.")
    page.wait_for_function("document.querySelector('#compare-target input').value === '150'", timeout=30_000)
    page.click("#compare")
    page.wait_for_function("document.querySelector('#model-summary').innerText.includes('length score')",
                           timeout=600_000)  # fmt: skip
    agent, model = page.inner_text("#agent-summary"), page.inner_text("#model-summary")
    assert agent.startswith("agent:") and "of 150 words" in agent and "rep-4" in agent
    assert model.startswith("model:") and "of 150 words" in model
    assert page.inner_text("#agent-text").strip() and page.inner_text("#model-text").strip()
    page.wait_for_selector("#scatter canvas, #scatter svg", timeout=30_000)
    page.wait_for_timeout(2_000)  # the plot (a canvas) redraws with the second point
    page.screenshot(path=str(ARTIFACTS / "web-compare.png"), full_page=True)
    assert page.console_errors == []


def test_errors_show_in_the_page_without_a_traceback(page):
    page.fill("#instruction textarea", "")
    page.click("#write")
    toast = page.locator(".toast-body, [data-testid='toast-body']").first
    toast.wait_for(timeout=30_000)
    text = toast.inner_text()
    assert "instruction" in text.lower() and "Traceback" not in text

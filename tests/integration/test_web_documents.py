"""The Documents tab and a finished document's panel in a real headless Chromium against a real
`longwrite serve` on the embedded model: list, open, rewrite a section, restore a version,
delete. Screenshots land in artifacts/ (docs/img/ holds the published ones)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.integration.test_web import ARTIFACTS, DESKTOP, browser, job, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration
INSTRUCTION = "Write a 700-word history of the bicycle."


@pytest.fixture
def written(server):  # noqa: F811 (the fixture imported above)
    """A finished document, written through the API as any client would."""
    started = httpx.post(f"{server.url}/v1/writes", json={"instruction": INSTRUCTION}, timeout=30).json()
    done = _wait(server, started["id"], lambda j: j["status"] != "running")
    assert done["status"] == "done", done["error"]
    assert len(done["sections"]) >= 2
    return done


@pytest.fixture
def page(browser, server):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport=DESKTOP)
    opened = context.new_page()
    opened.console_errors = []
    opened.on("pageerror", lambda error: opened.console_errors.append(str(error)))
    opened.goto(server.url + "/")
    opened.wait_for_selector("#instruction textarea", timeout=60_000)
    yield opened
    context.close()


def test_list_open_rewrite_a_section_restore_and_delete(page, server, written):  # noqa: F811
    job_id = written["id"]
    page.get_by_role("tab", name="Documents").click()
    row = _row_of(page, job_id)
    cells = [page.locator(f'#documents [data-testid="cell-{row}-{column}"]').inner_text() for column in range(6)]
    assert cells[0].strip() == written["title"] and cells[1].strip() == "done" and cells[3].strip() == "written"
    page.locator(f'#documents [data-testid="cell-{row}-0"]').click()
    chosen = "document.querySelector('#document-chosen input, #document-chosen textarea').value"
    page.wait_for_function(f"{chosen} === '{job_id}'", timeout=30_000)
    page.locator("#document-open:not([disabled])").wait_for(timeout=30_000)
    page.wait_for_timeout(1_000)  # the buttons' update drawn
    page.screenshot(path=str(ARTIFACTS / "web-documents.png"), full_page=False)

    page.click("#document-open")
    page.locator("#changes").wait_for(state="visible", timeout=60_000)
    assert page.input_value("#job-id input, #job-id textarea") == job_id
    assert "Done" in page.inner_text("#status")
    _choose(page, "#rewrite-section", "2. ")
    page.fill("#rewrite-note textarea, #rewrite-note input", "more concrete dates")
    page.click("#rewrite")
    page.wait_for_function("document.querySelector('#status').innerText.includes('Rewriting section 2')",
                           timeout=60_000)  # fmt: skip
    page.screenshot(path=str(ARTIFACTS / "web-rewriting.png"), full_page=False)
    rewritten = _wait(server, job_id, lambda j: j["status"] != "running")
    assert rewritten["status"] == "done", rewritten["error"]
    old, new = written["sections"], rewritten["sections"]
    assert [s["text"] for s in new[:1] + new[2:]] == [s["text"] for s in old[:1] + old[2:]]
    assert new[1]["text"] != old[1]["text"]
    page.wait_for_function("document.querySelector('#status').innerText.includes('Done')", timeout=60_000)
    page.locator('#versions [data-testid="cell-1-3"]').wait_for(timeout=60_000)
    assert page.locator('#versions [data-testid="cell-1-3"]').inner_text().strip() == "section 2 rewritten"

    _choose(page, "#version-choice", "1. written")
    page.click("#restore")
    page.locator('#versions [data-testid="cell-2-3"]').wait_for(timeout=60_000)
    assert job(server, job_id)["text"] == written["text"]  # the first version's text, exactly
    assert page.locator('#versions [data-testid="cell-2-3"]').inner_text().startswith("restored")

    page.get_by_role("tab", name="Documents").click()
    page.click("#documents-refresh")
    row = _row_of(page, job_id)
    page.locator(f'#documents [data-testid="cell-{row}-0"]').click()
    page.locator("#document-delete:not([disabled])").wait_for(timeout=30_000)
    page.click("#document-delete")
    page.locator("#delete-confirm").wait_for(state="visible", timeout=30_000)
    assert "cannot be undone" in page.inner_text("#delete-confirm-note")
    page.click("#delete-yes")
    page.wait_for_function("document.querySelector('#documents-status').innerText.includes('Deleted')",
                           timeout=30_000)  # fmt: skip
    assert httpx.get(f"{server.url}/v1/writes/{job_id}", timeout=10).status_code == 404
    assert job_id not in page.inner_text("#documents")
    assert page.console_errors == []


def _row_of(page, job_id: str) -> int:
    """The Documents table's row of `job_id` (its last column), once the list shows it."""
    page.wait_for_function(f"document.querySelector('#documents').innerText.includes('{job_id}')", timeout=60_000)
    for row in range(100):
        cell = page.locator(f'#documents [data-testid="cell-{row}-5"]')
        if cell.inner_text().strip() == job_id:
            return row
    raise AssertionError(f"{job_id} is not in the list")


def _choose(page, dropdown: str, starting: str) -> None:
    """Pick the option of a Gradio dropdown whose label starts with `starting`."""
    page.click(f"{dropdown} input")
    page.locator('[data-testid="dropdown-option"]', has_text=starting).first.click()
    page.wait_for_function(f"document.querySelector('{dropdown} input').value.startsWith('{starting}')", timeout=10_000)


def _wait(server, job_id: str, until, timeout_s: float = 600.0) -> dict:  # noqa: F811
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = job(server, job_id)
        if until(found):
            return found
        time.sleep(1.0)
    raise AssertionError(f"job {job_id} did not get there in {timeout_s:.0f} s")

"""The page after the first draft: a finished document's panel in the Write tab (rewrite one
section, add words after the end, go back to a version) and the Documents tab (every document
in the job store, newest first: open, resume, download, delete).

Both drive the same JobManager as the API (rewrite, extend, versions, restore, delete), so a
change made here is a job run like any write: it takes a write slot, is followed with the same
counters, and one stopped part-way resumes with Resume.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import gradio as gr

from longwrite.agent.status import CANCELLED, DONE, RESUMABLE, RUNNING
from longwrite.ui.export import file_stem, write_markdown
from longwrite.ui.page_report import reported
from longwrite.ui.writer import Writer

DOCUMENT_COLUMNS = ["title", "status", "words", "last change", "changed", "id"]
# the run statuses as a writer reads them in the list
STATUS_WORDS = {CANCELLED: "paused", RUNNING: "writing"}


class FollowsJobs(Protocol):
    """What the Write tab offers the panels here: its outputs, and showing a job in it."""

    outputs: list[Any]

    def follow_job(self, job_id: str, heading: str) -> Iterator[dict[Any, Any]]: ...

    def reopen(self, saved: str) -> Iterator[dict[Any, Any]]: ...


@dataclass
class ChangeWidgets:
    """The Write tab's panel for a finished document."""

    panel: gr.Accordion
    section: gr.Dropdown
    note: gr.Textbox
    words: gr.Textbox
    rewrite_button: gr.Button
    extend_words: gr.Textbox
    extend_button: gr.Button
    versions: gr.Dataframe
    version: gr.Dropdown
    restore_button: gr.Button

    def all(self) -> list[Any]:
        return [getattr(self, field.name) for field in fields(self)]


def change_widgets() -> ChangeWidgets:
    """The panel, hidden until a finished document is shown."""
    with gr.Accordion("Change this document", open=True, visible=False, elem_id="changes") as panel:
        gr.Markdown("Rewrite one section (the others stay exactly as they are), or add words after the end.")
        with gr.Row():
            section = gr.Dropdown(label="Section", choices=[], elem_id="rewrite-section", scale=3)
            words = gr.Textbox(label="Its new length (words)", placeholder="as planned", max_lines=1,
                               elem_id="rewrite-words", scale=1)  # fmt: skip
        note = gr.Textbox(label="What to change (optional)", placeholder="more concrete dates; shorter, for children",
                          max_lines=2, elem_id="rewrite-note")  # fmt: skip
        rewrite_button = gr.Button("Rewrite this section", variant="primary", elem_id="rewrite")
        with gr.Row():
            extend_words = gr.Textbox(label="Words to add after the end", max_lines=1, elem_id="extend-words", scale=3)
            extend_button = gr.Button("Extend", elem_id="extend", scale=1)
        versions = gr.Dataframe(
            headers=["version", "saved", "words", "change"],
            datatype=["str", "str", "number", "str"],
            interactive=False,
            label="Versions (each finished write, rewrite, extension and restore)",
            elem_id="versions",
            wrap=True,
        )
        with gr.Row():
            version = gr.Dropdown(label="Go back to", choices=[], elem_id="version-choice", scale=3)
            restore_button = gr.Button("Restore", elem_id="restore", scale=1)
    return ChangeWidgets(panel, section, note, words, rewrite_button, extend_words, extend_button, versions, version,
                         restore_button)  # fmt: skip


def change_panel(widgets: ChangeWidgets, writer: Writer, job_id: str, status: str) -> dict[Any, Any]:
    """The panel for job `job_id`: shown, filled with its sections and versions, when it is finished."""
    if status != DONE or not job_id:
        return {widgets.panel: gr.Accordion(visible=False)}
    job = writer.opened(job_id)
    if job is None:
        return {widgets.panel: gr.Accordion(visible=False)}
    sections = [(f"{n}. {s['title']} ({s['words']:,} words)", n) for n, s in enumerate(job["sections"], start=1)]
    versions = writer.versions(job_id)
    rows = [[v["id"], _when(v["created_at"]), v["words"], v["change"]] for v in versions]
    labels = [(f"{n}. {v['change']} ({v['words']:,} words, {_when(v['created_at'])})", v["id"])
              for n, v in enumerate(versions, start=1)]  # fmt: skip
    return {
        widgets.panel: gr.Accordion(visible=True),
        widgets.section: gr.Dropdown(choices=sections, value=None),
        widgets.versions: rows,
        widgets.version: gr.Dropdown(choices=labels, value=None),
    }


def wire_changes(widgets: ChangeWidgets, writer: Writer, tab: FollowsJobs, job_id: gr.Textbox,
                 status: gr.Markdown) -> None:  # fmt: skip
    """Rewrite, Extend and Restore: each starts a change of the shown document and follows it."""
    report = reported(status)

    def rewrite(job: str, number: int | None, note: str, words: str) -> Iterator[dict[Any, Any]]:
        started = writer.rewrite(job, number, note, words)
        yield {status: f"**Rewriting** section {number} ...", widgets.panel: gr.Accordion(visible=False)}
        yield from tab.follow_job(started, "")

    def extend(job: str, words: str) -> Iterator[dict[Any, Any]]:
        started = writer.extend(job, words)
        yield {status: "**Extending** the document ...", widgets.panel: gr.Accordion(visible=False)}
        yield from tab.follow_job(started, "")

    def restore(job: str, version: str | None) -> Iterator[dict[Any, Any]]:
        writer.restore(job, version)
        yield from tab.reopen(job)

    widgets.rewrite_button.click(report(rewrite), [job_id, widgets.section, widgets.note, widgets.words], tab.outputs)
    widgets.extend_button.click(report(extend), [job_id, widgets.extend_words], tab.outputs)
    widgets.restore_button.click(report(restore), [job_id, widgets.version], tab.outputs)


def documents_tab(
    writer: Writer, tab: FollowsJobs, tabs: gr.Tabs, downloads: Path
) -> tuple[Callable[[], dict[Any, Any]], list[Any]]:
    """The Documents tab's widgets and handlers; returns what refreshes its list and the
    components that changes (for the tab's select and the page's load)."""
    gr.Markdown("Every document on this server, the most recently changed first. Choose one to open, resume, "
                "download or delete it.")  # fmt: skip
    status = gr.Markdown(elem_id="documents-status")
    refresh = gr.Button("Refresh the list", size="sm", elem_id="documents-refresh")
    table = gr.Dataframe(
        headers=DOCUMENT_COLUMNS,
        datatype=["str"] * len(DOCUMENT_COLUMNS),
        interactive=False,
        elem_id="documents",
        wrap=True,
        column_widths=["34%", "11%", "15%", "18%", "12%", "10%"],
    )
    selected = gr.Textbox(label="Chosen document (its id)", max_lines=1, elem_id="document-chosen")
    with gr.Row():
        open_button = gr.Button("Open", variant="primary", elem_id="document-open", interactive=False)
        resume_button = gr.Button("Resume", elem_id="document-resume", interactive=False)
        download = gr.DownloadButton("Download .md", visible=False, elem_id="document-download")
        delete_button = gr.Button("Delete", variant="stop", elem_id="document-delete", interactive=False)
    with gr.Row(visible=False, elem_id="delete-confirm") as confirm:
        confirm_note = gr.Markdown(elem_id="delete-confirm-note")
        yes = gr.Button("Yes, delete it", variant="stop", elem_id="delete-yes")
        keep = gr.Button("Keep it", elem_id="delete-keep")
    report = reported(status)
    buttons = [open_button, resume_button, download, delete_button]

    def listed() -> dict[Any, Any]:
        rows = [_row(job) for job in writer.documents()]
        return {table: rows, status: "" if rows else "No documents yet: write one on the Write tab."}

    def chosen(event: gr.SelectData) -> dict[Any, Any]:
        row = event.row_value or []
        return {selected: str(row[-1]) if row else ""}

    def buttons_for(job_id: str) -> dict[Any, Any]:
        job = writer.opened(job_id)
        if job is None:
            return {open_button: gr.Button(interactive=False), resume_button: gr.Button(interactive=False),
                    download: gr.DownloadButton(visible=False), delete_button: gr.Button(interactive=False),
                    confirm: gr.Row(visible=False)}  # fmt: skip
        text = job["text"]
        saved = write_markdown(text, downloads, file_stem(job["title"] or job["id"])) if text.strip() else None
        return {
            open_button: gr.Button(interactive=True),
            resume_button: gr.Button(interactive=job["status"] in RESUMABLE),
            download: gr.DownloadButton(value=str(saved) if saved else None, visible=saved is not None),
            delete_button: gr.Button(interactive=job["status"] != RUNNING),
            confirm: gr.Row(visible=False),
        }

    def open_document(job_id: str) -> Iterator[dict[Any, Any]]:
        yield {tabs: gr.Tabs(selected="write")}
        yield from tab.reopen(job_id)

    def resume_document(job_id: str) -> Iterator[dict[Any, Any]]:
        resumed = writer.resume(job_id)
        yield {tabs: gr.Tabs(selected="write")}
        yield from tab.follow_job(resumed, "")

    def ask_to_delete(job_id: str) -> dict[Any, Any]:
        job = writer.opened(job_id)
        name = job["title"] or job["instruction"] if job else job_id
        return {confirm: gr.Row(visible=True),
                confirm_note: f"Delete **{name}** and all its versions? This cannot be undone."}  # fmt: skip

    def delete(job_id: str) -> dict[Any, Any]:
        writer.delete(job_id)
        return {**listed(), selected: "", confirm: gr.Row(visible=False), status: f"Deleted {job_id}."}

    refresh.click(report(listed), None, [table, status])
    table.select(chosen, None, [selected])
    selected.change(report(buttons_for), selected, [*buttons, confirm, status])
    open_button.click(report(open_document), selected, [*tab.outputs, tabs, status])
    resume_button.click(report(resume_document), selected, [*tab.outputs, tabs, status])
    delete_button.click(report(ask_to_delete), selected, [confirm, confirm_note, status])
    keep.click(lambda: {confirm: gr.Row(visible=False)}, None, [confirm])
    yes.click(report(delete), selected, [table, status, selected, confirm])
    return report(listed), [table, status]


def _row(job: dict[str, Any]) -> list[str]:
    target = job["target_words"]
    words = f"{job['words']:,} of {target:,}" if target else f"{job['words']:,}"
    status = STATUS_WORDS.get(job["status"], job["status"])
    return [job["title"] or job["instruction"], status, words, job["change"] or "-", _when(job["updated_at"]),
            job["id"]]  # fmt: skip


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M") if seconds else "-"

"""The Gradio writer: Write and Compare tabs, laid out over ui/writer.py.

Every handler answers with a dict of the components it changes, so one set of outputs serves
plan, write, stop, resume and the reload that reattaches to a running job. Errors land in the
status line in the page's words and stay there (never a pop-up, never a traceback). Long work
runs in the agent's job threads or in queued handlers, so the page stays responsive; writes
take the write slots the API uses, and a full server says so instead of queueing silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import gradio as gr

from longwrite.agent.status import DONE, PLANNED, RESUMABLE, RUNNING
from longwrite.core.modes import MODES
from longwrite.ui.export import file_stem, write_docx, write_markdown
from longwrite.ui.page_look import PAGE_CSS, PAGE_JS
from longwrite.ui.page_report import reported
from longwrite.ui.web_documents import ChangeWidgets, change_panel, change_widgets, documents_tab, wire_changes
from longwrite.ui.writer import (
    PLAN_COLUMNS,
    PlanOutdated,
    Progress,
    Writer,
    new_row,
    plan_total,
    progress_of,
    status_words,
)

EXAMPLES = [
    "Write a 600-word article about the history of lighthouses.",
    "Write a 2000-word beginner's guide to growing tomatoes on a balcony.",
    "Write a 10000-word guide to personal finance for new graduates.",
    "写一篇800字的文章，介绍中国茶文化的历史。",
]
WRITER_COLOURS = {"agent": "#1f5f99", "model": "#b02020"}  # fixed, so a later writer is drawn the same
MODE_LABELS = (  # in the order of longwrite.core.modes.MODES
    "Agent: plan, then write section by section",
    "Model: one call",
    "Auto: the model first, the agent if it falls short",
)
MODE_CHOICES = list(zip(MODE_LABELS, MODES, strict=True))
SCORES_EXPLAINED = (
    "**Length score**: 100 when the text is as long as asked, lower the further it is off (higher is "
    "better). **Rep-4**: the share of four-word sequences that occur more than once (lower is better; "
    "above about 0.15 the text reads as going round in circles)."
)
SHRINK_NOTE = (
    "Text appears as the model writes it. When a section ends, the agent keeps its cleaned version "
    "(repeats and words past the section's budget are cut), so the count can drop a little."
)


def build_page(
    writer: Writer, downloads: Path, backend: Callable[[], str], others: Callable[[], str] | None = None
) -> gr.Blocks:
    """The page; `backend` names the server's backend and `others` says which other endpoints it may use."""
    downloads.mkdir(parents=True, exist_ok=True)
    with gr.Blocks(title="longwrite") as page:
        gr.Markdown("# longwrite\nLong documents: plan them, then write them section by section.")
        remembered_job = gr.BrowserState("", storage_key="longwrite-job")
        with gr.Tabs(selected="write") as tabs:
            with gr.Tab("Write", id="write"):
                widgets = _write_widgets()
                write_tab = _WriteTab(writer, widgets, downloads, remembered_job)
                write_tab.wire(page, backend, others)
            with gr.Tab("Documents", id="documents") as documents:
                listed, shows = documents_tab(writer, write_tab, tabs, downloads)
            with gr.Tab("Compare", id="compare"):
                _compare_tab(writer, widgets)
        documents.select(listed, None, shows)
        page.load(listed, None, shows)
    return page


# Passed to gr.mount_gradio_app: the page's own look (contrast) and keyboard and screen-reader wiring.
PAGE_STYLE = {"css": PAGE_CSS, "js": PAGE_JS}


@dataclass
class _WriteWidgets:
    instruction: gr.Textbox
    target: gr.Textbox
    mode: gr.Radio
    hold_length: gr.Checkbox
    endpoint: gr.Markdown
    base_url: gr.Textbox
    model_id: gr.Textbox
    plan_button: gr.Button
    write_button: gr.Button
    stop_button: gr.Button
    resume_button: gr.Button
    choice: gr.Row  # "keep my plan / plan again", shown when the request changed after Plan
    choice_note: gr.Markdown
    keep_button: gr.Button
    replan_button: gr.Button
    title: gr.Textbox
    plan: gr.Dataframe
    total: gr.Markdown
    add_row: gr.Button
    status: gr.Markdown
    counters: gr.Markdown
    document: gr.Markdown
    markdown_file: gr.DownloadButton
    docx_file: gr.DownloadButton
    job_id: gr.Textbox
    # the job Plan made, which Write writes with the edited table ("" when none waits); the id box
    # shows it too, but the user may type there, so Write reads this instead
    planned_job: gr.State
    changes: ChangeWidgets  # a finished document's panel: rewrite a section, extend, versions

    def all(self) -> list[Any]:
        own = [getattr(self, field.name) for field in fields(self) if field.name != "changes"]
        return [*own, *self.changes.all()]


def _write_widgets() -> _WriteWidgets:
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=320, elem_id="request-column"):
            instruction = gr.Textbox(
                label="Instruction (Ctrl+Enter writes)",
                lines=3,
                elem_id="instruction",
                placeholder="Write a 3000-word guide to ...",
            )
            gr.Examples(EXAMPLES, inputs=instruction, label="Examples")
            with gr.Row():
                # a text box, not gr.Number: that shows 0 when empty, and empty means "as the instruction says"
                target = gr.Textbox(
                    label="Length (words; characters for Chinese)",
                    placeholder="from the instruction",
                    max_lines=1,
                    elem_id="target",
                )
                mode = gr.Radio(MODE_CHOICES, value="agent", label="Mode", elem_id="mode")
            hold_length = gr.Checkbox(
                False,
                label="Hold the one call to the length (a floor on its length, penalties from the start, "
                "a loop stopped as it begins)",
                elem_id="hold-length",
                visible=False,  # model mode's: shown when it is chosen
            )
            with gr.Accordion("Endpoint (the model that writes)", open=False):
                endpoint = gr.Markdown(elem_id="endpoint")
                base_url = gr.Textbox(
                    label="Base URL (empty: this server's model)", elem_id="base-url", placeholder="http://host:8001/v1"
                )
                model_id = gr.Textbox(label="Model (empty: the one the server offers)", elem_id="model-id")
            with gr.Row():
                plan_button = gr.Button("Plan", elem_id="plan")
                write_button = gr.Button("Write", variant="primary", elem_id="write")
                stop_button = gr.Button("Stop", variant="stop", elem_id="stop", interactive=False)
                resume_button = gr.Button("Resume", elem_id="resume", interactive=False)
            with gr.Row(visible=False, elem_id="plan-choice") as choice:
                choice_note = gr.Markdown(elem_id="plan-choice-note")
                keep_button = gr.Button("Keep my plan", variant="primary", elem_id="keep-plan")
                replan_button = gr.Button("Plan again", elem_id="plan-again")
            title = gr.Textbox(label="Title", elem_id="title")
            plan = gr.Dataframe(
                headers=PLAN_COLUMNS,
                datatype=["str", "str", "number"],
                type="array",
                interactive=True,
                label="Plan: edit titles, points and word budgets (leave it empty to let the agent plan)",
                elem_id="plan-table",
                # its columns are the plan's fields: none added, none deleted ("fixed" is what the
                # table's menu reads; column_limits is not implemented in this Gradio)
                column_count=(3, "fixed"),  # type: ignore[arg-type]
                column_widths=["34%", "46%", "20%"],
                wrap=True,
                buttons=["fullscreen"],
            )
            with gr.Row():
                total = gr.Markdown(elem_id="plan-total")
                add_row = gr.Button("Add a section", size="sm", elem_id="add-section", scale=0)
        with gr.Column(scale=6, min_width=320, elem_id="text-column"):
            with gr.Group(elem_id="progress"):
                status = gr.Markdown("Type an instruction, then Plan or Write.", elem_id="status")
                counters = gr.Markdown(elem_id="counters")
            document = gr.Markdown(elem_id="document", max_height="55vh", buttons=["copy"])
            gr.Markdown(SHRINK_NOTE, elem_id="shrink-note")
            with gr.Row():
                markdown_file = gr.DownloadButton("Download .md", visible=False, elem_id="download-md")
                docx_file = gr.DownloadButton("Download .docx", visible=False, elem_id="download-docx")
            job_id = gr.Textbox(
                label="Document id (paste one and press Resume to open it again)", elem_id="job-id", max_lines=1
            )
            changes = change_widgets()
    return _WriteWidgets(
        instruction=instruction,
        target=target,
        mode=mode,
        hold_length=hold_length,
        endpoint=endpoint,
        base_url=base_url,
        model_id=model_id,
        plan_button=plan_button,
        write_button=write_button,
        stop_button=stop_button,
        resume_button=resume_button,
        choice=choice,
        choice_note=choice_note,
        keep_button=keep_button,
        replan_button=replan_button,
        title=title,
        plan=plan,
        total=total,
        add_row=add_row,
        status=status,
        counters=counters,
        document=document,
        markdown_file=markdown_file,
        docx_file=docx_file,
        job_id=job_id,
        planned_job=gr.State(""),
        changes=changes,
    )


class _WriteTab:
    """The Write tab's handlers. Each yields {component: new value} for what it changes."""

    def __init__(self, writer: Writer, widgets: _WriteWidgets, downloads: Path, remembered: gr.BrowserState) -> None:
        self.writer, self.w, self.downloads, self.remembered = writer, widgets, downloads, remembered
        self.outputs = [*widgets.all(), remembered]

    def wire(self, page: gr.Blocks, backend: Callable[[], str], others: Callable[[], str] | None) -> None:
        w = self.w
        request = [w.instruction, w.target, w.base_url, w.model_id]
        edited = [w.plan, w.title]
        report = reported(w.status)
        w.instruction.change(self.writer.target_for, w.instruction, w.target)
        w.plan.change(plan_total, [w.plan, w.target], w.total)
        w.target.change(plan_total, [w.plan, w.target], w.total)
        w.add_row.click(lambda rows: [*(rows or []), new_row(rows)], w.plan, w.plan)
        w.mode.change(lambda chosen: gr.update(visible=chosen == "model"), w.mode, w.hold_length)
        w.plan_button.click(report(self.make_plan), request, self.outputs)
        w.replan_button.click(report(self.make_plan), request, self.outputs)
        w.write_button.click(
            report(self.write), [*request, w.mode, w.hold_length, *edited, w.planned_job], self.outputs
        )
        w.keep_button.click(report(self.keep_plan), [*request, *edited], self.outputs)
        w.resume_button.click(report(self.resume), w.job_id, self.outputs)
        w.stop_button.click(report(self.stop), w.job_id, self.outputs)
        w.job_id.change(self.resumable, w.job_id, w.resume_button)
        wire_changes(w.changes, self.writer, self, w.job_id, w.status)

        def on_load(saved: str) -> Iterator[dict[Any, Any]]:
            note = f"Written by `{backend()}` unless you name another model here."
            yield {w.endpoint: f"{note} {others()}" if others else note}
            yield from report(self.reopen)(saved)

        page.load(on_load, self.remembered, self.outputs)

    # ------------------------------------------------------------------ handlers

    def make_plan(self, text: str, words: str | None, url: str, name: str) -> dict[Any, Any]:
        w = self.w
        heading, rows, planned = self.writer.plan(text, words, url, name)
        return {
            w.title: heading,
            w.plan: rows,
            w.planned_job: planned,
            w.job_id: planned,
            self.remembered: planned,
            w.status: "**Planned.** Edit the plan if you like, then press Write.",
            w.choice: gr.Row(visible=False),
            w.resume_button: gr.Button(interactive=False),
        }

    def write(
        self,
        text: str,
        words: str | None,
        url: str,
        name: str,
        mode: str,
        hold: bool,
        rows: list[list[Any]],
        heading: str,
        planned: str,
    ) -> Iterator[dict[Any, Any]]:
        w = self.w
        if mode != "agent":
            yield {w.stop_button: gr.Button(interactive=False), w.status: "**Writing** in one call"}
            for progress in self.writer.write_inline(text, words, mode, url, name, hold and mode == "model"):
                yield self._shown(progress, heading)
            return
        try:
            job = self.writer.start(text, words, rows, heading, url, name, planned)
        except PlanOutdated as outdated:
            yield {w.choice: gr.Row(visible=True), w.choice_note: str(outdated), w.status: "**Your plan is kept.**"}
            return
        yield from self.follow_job(job, heading)

    def keep_plan(self, text: str, words: str | None, url: str, name: str, rows: list[list[Any]], heading: str):
        """Write the table as it stands for the request as it is now (a new job; the planned one stays)."""
        job = self.writer.start(text, words, rows, heading, url, name)
        yield from self.follow_job(job, heading)

    def resume(self, job_id: str) -> Iterator[dict[Any, Any]]:
        yield from self.follow_job(self.writer.resume(job_id), "")

    def stop(self, job_id: str) -> dict[Any, Any]:
        self.writer.stop(job_id)  # the handler following the job shows where it paused
        return {self.w.stop_button: gr.Button(interactive=False)}

    def reopen(self, saved: str) -> Iterator[dict[Any, Any]]:
        """A reloaded page shows the document it was showing, and follows it if it is being written."""
        job = self.writer.opened(saved)
        if job is None:
            return
        w = self.w
        progress = progress_of(job, job["text"], job["progress"]["words"])
        yield {
            w.instruction: job["instruction"],
            w.target: str(job["target_words"] or ""),
            w.job_id: job["id"],
            self.remembered: job["id"],  # opened from the Documents tab: a reload shows it again
            w.planned_job: job["id"] if job["status"] == PLANNED else "",
            **self._shown(progress, job["title"]),
        }
        if job["status"] == RUNNING:
            yield from self.follow_job(job["id"], job["title"], attach=True)

    def resumable(self, job_id: str) -> Any:
        job = self.writer.opened(job_id)
        return gr.Button(interactive=job is not None and job["status"] in (*RESUMABLE, RUNNING))

    # ------------------------------------------------------------------ views

    def follow_job(self, job_id: str, heading: str, attach: bool = False) -> Iterator[dict[Any, Any]]:
        w = self.w
        started = {
            w.job_id: job_id,
            self.remembered: job_id,
            w.planned_job: "",  # the planned job is written now: a second Write starts afresh
            w.choice: gr.Row(visible=False),
            w.stop_button: gr.Button(interactive=True),
            w.resume_button: gr.Button(interactive=False),
            w.plan: gr.Dataframe(interactive=False),  # it shows the plan being written
            w.changes.panel: gr.Accordion(visible=False),  # back when the document is finished
        }
        if not attach:
            started[w.status] = "**Writing** ..."
        yield started
        shown_plan: tuple[Any, ...] = ()
        for progress in self.writer.follow(job_id):
            update = self._shown(progress, heading)
            if progress.plan == shown_plan:  # the table is redrawn only when the plan changed
                update.pop(w.plan, None)
                update.pop(w.title, None)
            shown_plan = progress.plan
            yield update
        yield {w.plan: gr.Dataframe(interactive=True)}

    def _shown(self, progress: Progress, heading: str) -> dict[Any, Any]:
        """Text, counters, status, buttons, downloads and the plan of one refresh."""
        w = self.w
        running = progress.status == RUNNING
        update: dict[Any, Any] = {
            w.document: progress.text,
            w.counters: progress.counters,
            w.status: status_words(progress) if progress.plan or not running else "**Writing** ...",
            w.stop_button: gr.Button(interactive=running and bool(progress.plan)),
            w.resume_button: gr.Button(interactive=progress.status in RESUMABLE),
        }
        if progress.plan:
            update[w.plan] = progress.rows()
            update[w.title] = progress.title
        if not running:
            update[w.markdown_file], update[w.docx_file] = self._downloads(progress, heading)
            update.update(change_panel(w.changes, self.writer, progress.job_id, progress.status))
        return update

    def _downloads(self, progress: Progress, heading: str) -> tuple[Any, Any]:
        if progress.status != DONE or not progress.text.strip():
            return gr.DownloadButton(visible=False), gr.DownloadButton(visible=False)
        stem = file_stem(progress.title or heading or progress.text.splitlines()[0].lstrip("# "))
        return (
            gr.DownloadButton(value=str(write_markdown(progress.text, self.downloads, stem)), visible=True),
            gr.DownloadButton(value=str(write_docx(progress.text, self.downloads, stem)), visible=True),
        )


# ---------------------------------------------------------------- Compare


def _lengths_plot(history: list[dict[str, Any]]) -> Any:
    """Asked against written length from 0, with the diagonal where the two are equal, so how far
    each writer is off reads at a glance; a few round ticks."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    if not history:
        return gr.skip()
    top = max(max(run["required"], run["actual"]) for run in history) * 1.15
    figure = Figure(figsize=(5, 4), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    axes.plot([0, top], [0, top], color="#555555", linestyle="--", linewidth=1, label="as long as asked")
    for writer, colour in WRITER_COLOURS.items():
        runs = [run for run in history if run["writer"] == writer]
        if runs:
            axes.scatter([r["required"] for r in runs], [r["actual"] for r in runs], color=colour, label=writer, s=40)
    axes.set(xlim=(0, top), ylim=(0, top), xlabel="words asked", ylabel="words written")
    axes.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    axes.yaxis.set_major_locator(MaxNLocator(5, integer=True))
    axes.legend(loc="upper left", frameon=False)
    return figure


def _compare_tab(writer: Writer, widgets: _WriteWidgets) -> None:
    gr.Markdown(
        "One instruction, written by the agent and by the model in one call, with their scores. Both use "
        "the model named under Endpoint on the Write tab."
    )
    with gr.Row():
        instruction = gr.Textbox(label="Instruction", lines=2, elem_id="compare-instruction", scale=4)
        target = gr.Textbox(label="Length", placeholder="from the instruction", max_lines=1, elem_id="compare-target",
                            scale=1)  # fmt: skip
    run = gr.Button("Compare", variant="primary", elem_id="compare")
    status = gr.Markdown(elem_id="compare-status")
    gr.Markdown(SCORES_EXPLAINED, elem_id="scores-explained")
    with gr.Row():
        with gr.Column():
            agent_summary = gr.Markdown(elem_id="agent-summary")
            agent_text = gr.Markdown(elem_id="agent-text", max_height=400)
        with gr.Column():
            model_summary = gr.Markdown(elem_id="model-summary")
            model_text = gr.Markdown(elem_id="model-text", max_height=400)
    runs = gr.State([])
    plot = gr.Plot(label="Asked against written length (this page)", elem_id="scatter")
    instruction.change(writer.target_for, instruction, target)
    summaries = {"agent": agent_summary, "model": model_summary}
    texts = {"agent": agent_text, "model": model_text}

    @reported(status)
    def compare(text: str, words: str | None, url: str, name: str, history: list[dict[str, Any]]):
        history = list(history)
        yield {status: "**Comparing**: the agent writes first, then the model.", agent_summary: "", model_summary: ""}
        for who, shown, written in writer.compare(text, words, url, name):
            if written is None:
                yield {summaries[who]: f"**{who}** writing ...", texts[who]: shown}
                continue
            history.append({"writer": who, "required": written.required, "actual": written.words})
            yield {summaries[who]: written.summary(), texts[who]: written.text, runs: history}
        yield {status: "**Done.**", plot: _lengths_plot(history)}

    run.click(
        compare,
        [instruction, target, widgets.base_url, widgets.model_id, runs],
        [status, agent_summary, agent_text, model_summary, model_text, runs, plot],
    )

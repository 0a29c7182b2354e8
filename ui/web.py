"""The Gradio writer: Write and Compare tabs, laid out over ui/writer.py.

Errors reach the page as a message (gr.Error), never a traceback. Long work runs in the agent's
job threads or in queued handlers, so the page stays responsive; writes take the write slots the
API uses, and a full server says so instead of queueing silently.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from longwrite.agent.status import DONE, RUNNING
from longwrite.core.errors import LongwriteError
from longwrite.core.modes import MODES
from longwrite.ui.errors import ApiError
from longwrite.ui.export import file_stem, write_docx, write_markdown
from longwrite.ui.writer import PLAN_COLUMNS, Progress, Writer, plan_total

EXAMPLES = [
    "Write a 600-word article about the history of lighthouses.",
    "Write a 2000-word beginner's guide to growing tomatoes on a balcony.",
    "Write a 10000-word guide to personal finance for new graduates.",
    "写一篇800字的文章，介绍中国茶文化的历史。",
]
WRITER_COLOURS = {"agent": "#1f77b4", "model": "#d62728"}  # fixed, so a later writer is drawn too
MODE_LABELS = (  # in the order of longwrite.core.modes.MODES
    "Agent: plan, then write section by section",
    "Model: one call",
    "Auto: the model first, the agent if it falls short",
)
MODE_CHOICES = list(zip(MODE_LABELS, MODES, strict=True))


def shown(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Turn product errors into a message in the page (gr.Error), for plain and streaming handlers."""

    def message(error: Exception) -> gr.Error:
        text = error.message if isinstance(error, ApiError) else str(error)
        return gr.Error(text, print_exception=False)

    if _is_generator(handler):

        @functools.wraps(handler)
        def streaming(*args: Any) -> Iterator[Any]:
            try:
                yield from handler(*args)
            except (LongwriteError, ApiError) as error:
                raise message(error) from None

        return streaming

    @functools.wraps(handler)
    def plain(*args: Any) -> Any:
        try:
            return handler(*args)
        except (LongwriteError, ApiError) as error:
            raise message(error) from None

    return plain


def _is_generator(function: Callable[..., Any]) -> bool:
    import inspect

    return inspect.isgeneratorfunction(function)


def build_page(
    writer: Writer, downloads: Path, backend: Callable[[], str], others: Callable[[], str] | None = None
) -> gr.Blocks:
    """The page; `backend` names the server's backend and `others` says which other endpoints it may use."""
    downloads.mkdir(parents=True, exist_ok=True)
    with gr.Blocks(title="longwrite") as page:
        gr.Markdown("# longwrite\nUltra-long writing: plan the document, then write it section by section.")
        remembered_job = gr.BrowserState("", storage_key="longwrite-job")
        with gr.Tab("Write", id="write"):
            _write_tab(page, writer, downloads, backend, remembered_job, others)
        with gr.Tab("Compare", id="compare"):
            _compare_tab(writer)
    return page


def _write_tab(
    page: gr.Blocks,
    writer: Writer,
    downloads: Path,
    backend: Callable[[], str],
    remembered_job: gr.BrowserState,
    others: Callable[[], str] | None = None,
) -> None:
    widgets = _write_widgets()
    _wire_plan(widgets, writer, remembered_job)
    _wire_write(widgets, writer, downloads, remembered_job)

    def on_load(saved: str) -> tuple[str, str]:
        note = f"Backend: `{backend()}`. Writes here are jobs of this server's API too (/v1/writes)."
        return saved or "", f"{note} {others()}" if others else note

    page.load(on_load, remembered_job, [widgets.job_id, widgets.endpoint])


@dataclass
class _WriteWidgets:
    instruction: gr.Textbox
    target: gr.Number
    mode: gr.Radio
    hold_length: gr.Checkbox
    endpoint: gr.Markdown
    base_url: gr.Textbox
    model_id: gr.Textbox
    plan_button: gr.Button
    write_button: gr.Button
    stop_button: gr.Button
    resume_button: gr.Button
    title: gr.Textbox
    plan: gr.Dataframe
    total: gr.Markdown
    job_id: gr.Textbox
    status: gr.Markdown
    counters: gr.Markdown
    document: gr.Markdown
    markdown_file: gr.DownloadButton
    docx_file: gr.DownloadButton
    # the job Plan made, which Write writes with the edited table ("" when none waits); the job
    # id box shows it too, but the user may type there, so Write reads this instead
    planned_job: gr.State

    def progress_outputs(self) -> list[Any]:
        """What a write's progress updates, in the order `_shown_progress` returns it."""
        return [self.document, self.counters, self.status, self.markdown_file, self.docx_file]


def _write_widgets() -> _WriteWidgets:
    with gr.Row():
        with gr.Column(scale=3):
            instruction = gr.Textbox(
                label="Instruction", lines=3, elem_id="instruction", placeholder="Write a 3000-word guide to ..."
            )
            gr.Examples(EXAMPLES, inputs=instruction, label="Examples")
        with gr.Column(scale=2):
            target = gr.Number(
                None, label="Target length (words; characters for Chinese)", precision=0, elem_id="target"
            )
            mode = gr.Radio(MODE_CHOICES, value="agent", label="Mode", elem_id="mode")
            hold_length = gr.Checkbox(
                False,
                label="Hold the one call to the length (a floor on its length, penalties from the start, "
                "a loop stopped as it begins)",
                elem_id="hold-length",
                visible=False,  # model mode's: shown when it is chosen
            )
            with gr.Accordion("Endpoint", open=False):
                endpoint = gr.Markdown(elem_id="endpoint")
                base_url = gr.Textbox(
                    label="Base URL (empty: this server's backend)",
                    elem_id="base-url",
                    placeholder="http://localhost:8001/v1",
                )
                model_id = gr.Textbox(label="Model (empty: the one the endpoint serves)", elem_id="model-id")
    with gr.Row():
        plan_button = gr.Button("Plan", elem_id="plan")
        write_button = gr.Button("Write", variant="primary", elem_id="write")
        stop_button = gr.Button("Stop", variant="stop", elem_id="stop")
        resume_button = gr.Button("Resume", elem_id="resume")
    title = gr.Textbox(label="Title", elem_id="title")
    plan = gr.Dataframe(
        headers=PLAN_COLUMNS,
        datatype=["str", "str", "number"],
        type="array",
        interactive=True,
        label="Plan (edit titles, points and budgets; clear it to let the agent plan)",
        elem_id="plan-table",
        column_count=3,
    )
    total = gr.Markdown(elem_id="plan-total")
    with gr.Row():
        job_id = gr.Textbox(label="Job id", elem_id="job-id", scale=2)
        status = gr.Markdown(elem_id="status")
    counters = gr.Markdown(elem_id="counters")
    document = gr.Markdown(elem_id="document", height=600)
    with gr.Row():
        markdown_file = gr.DownloadButton("Download .md", visible=False, elem_id="download-md")
        docx_file = gr.DownloadButton("Download .docx", visible=False, elem_id="download-docx")
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
        title=title,
        plan=plan,
        total=total,
        job_id=job_id,
        status=status,
        counters=counters,
        document=document,
        markdown_file=markdown_file,
        docx_file=docx_file,
        planned_job=gr.State(""),
    )


def _wire_plan(widgets: _WriteWidgets, writer: Writer, remembered_job: gr.BrowserState) -> None:
    widgets.instruction.change(writer.target_for, widgets.instruction, widgets.target)
    widgets.plan.change(plan_total, [widgets.plan, widgets.target], widgets.total)

    @shown
    def make_plan(text: str, words: float | None, url: str, name: str) -> list[Any]:
        heading, rows, planned = writer.plan(text, words, url, name)
        note = f"**planned**: edit the plan, then press Write to write job `{planned}`"
        return [heading, rows, planned, planned, planned, note]

    widgets.plan_button.click(
        make_plan,
        [widgets.instruction, widgets.target, widgets.base_url, widgets.model_id],
        [widgets.title, widgets.plan, widgets.planned_job, widgets.job_id, remembered_job, widgets.status],
    )


def _wire_write(widgets: _WriteWidgets, writer: Writer, downloads: Path, remembered_job: gr.BrowserState) -> None:
    @shown
    def write(
        text: str,
        words: float | None,
        chosen_mode: str,
        hold: bool,
        rows: list[list[Any]],
        heading: str,
        url: str,
        name: str,
        planned: str,
    ) -> Iterator[Any]:
        unchanged = [gr.skip(), gr.skip(), gr.skip()]  # job id, remembered job, planned job
        if chosen_mode == "agent":
            new_id = writer.start(text, words, rows, heading, url, name, planned)
            # the planned job (if any) is now written or replaced: a second Write starts afresh
            yield [new_id, new_id, "", "", "", "**running**", gr.skip(), gr.skip()]
            for progress in writer.follow(new_id):
                yield [*unchanged, *_shown_progress(progress, heading, downloads)]
            return
        for progress in writer.write_inline(text, words, chosen_mode, url, name, hold and chosen_mode == "model"):
            yield [*unchanged, *_shown_progress(progress, heading, downloads)]

    widgets.write_button.click(
        write,
        [
            widgets.instruction,
            widgets.target,
            widgets.mode,
            widgets.hold_length,
            widgets.plan,
            widgets.title,
            widgets.base_url,
            widgets.model_id,
            widgets.planned_job,
        ],
        [widgets.job_id, remembered_job, widgets.planned_job, *widgets.progress_outputs()],
    )

    @shown
    def resume(current: str) -> Iterator[Any]:
        resumed = writer.resume(current)
        for progress in writer.follow(resumed):
            yield [resumed, *_shown_progress(progress, "", downloads)]

    widgets.resume_button.click(resume, widgets.job_id, [widgets.job_id, *widgets.progress_outputs()])
    widgets.mode.change(lambda chosen: gr.update(visible=chosen == "model"), widgets.mode, widgets.hold_length)
    widgets.stop_button.click(shown(writer.stop), widgets.job_id, widgets.status)


def _shown_progress(progress: Progress, final_title: str, downloads: Path) -> list[Any]:
    """Document, counters, status note and the two download buttons (shown once the write is done)."""
    note = f"**{progress.status}**" + (f": {progress.error}" if progress.error else "")
    if progress.status == RUNNING:
        files: tuple[Any, Any] = (gr.skip(), gr.skip())
    else:
        files = _download_buttons(progress, final_title, downloads)
    return [progress.text, progress.counters, note, *files]


def _download_buttons(progress: Progress, final_title: str, downloads: Path) -> tuple[Any, Any]:
    if progress.status != DONE or not progress.text.strip():
        return gr.DownloadButton(visible=False), gr.DownloadButton(visible=False)
    stem = file_stem(final_title or progress.text.splitlines()[0].lstrip("# "))
    return (
        gr.DownloadButton(value=str(write_markdown(progress.text, downloads, stem)), visible=True),
        gr.DownloadButton(value=str(write_docx(progress.text, downloads, stem)), visible=True),
    )


def _scatter(history: list[dict[str, Any]]) -> Any:
    """Required against actual length from 0, so the diagonal (a perfect length) reads at a glance."""
    import pandas as pd

    if not history:
        return gr.skip()
    top = max(max(run["required"], run["actual"]) for run in history) * 1.15
    return gr.ScatterPlot(pd.DataFrame(history), x_lim=[0, top], y_lim=[0, top], color_map=WRITER_COLOURS)


def _compare_tab(writer: Writer) -> None:
    gr.Markdown("One instruction, written by the agent and by the model in one call, with their scores.")
    with gr.Row():
        instruction = gr.Textbox(label="Instruction", lines=2, elem_id="compare-instruction", scale=4)
        target = gr.Number(None, label="Target length", precision=0, elem_id="compare-target", scale=1)
    run = gr.Button("Compare", variant="primary", elem_id="compare")
    with gr.Row():
        with gr.Column():
            agent_summary = gr.Markdown(elem_id="agent-summary")
            agent_text = gr.Markdown(elem_id="agent-text", height=400)
        with gr.Column():
            model_summary = gr.Markdown(elem_id="model-summary")
            model_text = gr.Markdown(elem_id="model-text", height=400)
    runs = gr.State([])
    scatter = gr.ScatterPlot(
        x="required",
        y="actual",
        color="writer",
        title="Required vs actual length (this page)",
        color_map=WRITER_COLOURS,
        elem_id="scatter",
    )

    instruction.change(writer.target_for, instruction, target)

    @shown
    def compare(text: str, words: float | None, history: list[dict[str, Any]]) -> Iterator[Any]:
        history = list(history)
        yield ["agent writing ...", "", "", "", history]
        results = writer.compare(text, words)
        agent = next(results)
        history.append({"writer": "agent", "required": agent.required, "actual": agent.words})
        yield [agent.summary(), agent.text, "model writing ...", "", history]
        model = next(results)
        history.append({"writer": "model", "required": model.required, "actual": model.words})
        yield [gr.skip(), gr.skip(), model.summary(), model.text, history]

    run.click(compare, [instruction, target, runs], [agent_summary, agent_text, model_summary, model_text, runs]).then(
        _scatter, runs, scatter
    )

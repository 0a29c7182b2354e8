"""`longwrite write`: checks the input, runs the agent (or model mode), reports progress."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from longwrite.agent import events
from longwrite.cli.interrupt import INTERRUPTED_EXIT_CODE, interrupt_stops_within
from longwrite.core.clock import duration_text
from longwrite.core.errors import Cancelled, InputError, LongwriteError, StorageError, is_storage_failure
from longwrite.core.jsonl import write_atomically
from longwrite.core.limits import check_instruction, target_length, target_note
from longwrite.core.modes import Mode
from longwrite.core.settings import Settings
from longwrite.core.text import count_words, length_score, repetition

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriteCommand:
    """What `longwrite write` was given."""

    instruction: str | None
    words: int | None
    mode: Mode
    output: Path | None
    job: str | None
    resume: bool
    plan_only: bool
    plan_file: Path | None
    json_summary: bool
    hold_length: bool = False


def check_request(request: WriteCommand, settings: Settings) -> int | None:
    """Refuse bad input before any model starts; returns the target length (None on --resume)."""
    if request.resume and not request.job:
        raise InputError("--resume needs --job ID: the id printed when the job started.")
    if request.mode != "agent" and (request.job or request.resume or request.plan_only or request.plan_file):
        raise InputError(
            f"--mode {request.mode} writes with no saved job; --job, --resume, --plan-only and --plan-file are "
            "for --mode agent."
        )
    if request.hold_length and request.mode != "model":
        raise InputError(
            f"--hold-length holds model mode's one call to the stated length; --mode {request.mode} controls "
            "the length itself. Add --mode model, or drop --hold-length."
        )
    if request.plan_only and request.plan_file:
        raise InputError("--plan-only makes a plan and --plan-file supplies one; use one of them.")
    if request.output is not None:
        check_output(request.output)
    if request.resume:
        if request.words is not None:
            raise InputError(
                "A resumed job keeps its length; drop --words (an edited --plan-file sets a planned job's length)."
            )
        return None  # with --plan-file: the edited plan of a job made with --plan-only (see run)
    instruction = check_instruction(
        request.instruction, settings, example='longwrite write "Write a 3000-word guide to ..."'
    )
    return target_length(instruction, request.words, "--words", settings)


def check_output(path: Path) -> None:
    if path.is_dir():
        raise InputError(f"-o {path} is a directory; give a file name.")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"The folder {parent} for -o does not exist; create it first.")
    if not os.access(parent, os.W_OK):
        raise InputError(f"The folder {parent} for -o is not writable; choose another path.")


# With no event for this long, say "waiting for the model (N s)": a section's first token can take
# a minute on a CPU (the prompt is read first), and a silent server takes the first-byte waits.
WAIT_NOTE_AFTER_S = 10.0
WAIT_NOTE_EVERY_S = 30.0  # then again this often, as a line when stderr is not a terminal
WAIT_LIVE_AFTER_S = 3.0  # a terminal shows the wait, redrawn each second, sooner
# Tokens that arrive, but slower than this over the window, are a server to mention too.
SLOW_TOKENS_PER_S = 1.0
SLOW_WINDOW_S = 30.0


class Progress:
    """Live progress on stderr: section i/n, words/target, words/s; while used as a context
    manager, also how long the model has been silent."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr  # the stderr of now, not of import time (test runners swap it)
        self.live = self.stream.isatty()
        self.started = time.monotonic()
        self.words_done = 0
        self.words_before: int | None = None  # what earlier runs of a resumed job wrote: not this run's pace
        self.tokens = 0
        self.section = (0, 0)
        self._last_draw = 0.0
        self._last_event = time.monotonic()
        self._next_note = WAIT_NOTE_AFTER_S
        self._pace: Any = None  # an agent.generate.Pace, made when the first token comes
        self._slow_noted = 0.0  # when the slow pace was last said
        self._lock = threading.Lock()  # events and the waiting note come from different threads
        self._stopped = threading.Event()

    def __enter__(self) -> Progress:
        threading.Thread(target=self._note_waits, name="waiting-note", daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:  # no note after this: the command's last line is its own
            self._stopped.set()
            if self.live:
                self.stream.write("\r\033[K")  # clear the live line for what is printed next
                self.stream.flush()

    def _note_waits(self) -> None:
        while not self._stopped.wait(1.0):
            with self._lock:
                if self._stopped.is_set():
                    return
                silent = time.monotonic() - self._last_event
                if self.live and silent >= WAIT_LIVE_AFTER_S:
                    self.stream.write(f"\r\033[K  waiting for the model ({silent:.0f} s) ")
                    self.stream.flush()
                elif not self.live and silent >= self._next_note:
                    self._line(f"waiting for the model ({silent:.0f} s)")
                    self._next_note += WAIT_NOTE_EVERY_S
                elif not self.live:
                    self._note_a_slow_pace()

    def _note_a_slow_pace(self) -> None:
        """Tokens that come, but a few a minute, get a line of their own every WAIT_NOTE_EVERY_S."""
        now = time.monotonic()
        if self._pace is None:
            return
        watched = now - self.started >= SLOW_WINDOW_S and now - self._slow_noted >= WAIT_NOTE_EVERY_S
        rate = self._pace.rate(now)
        if watched and self._pace and rate < SLOW_TOKENS_PER_S:
            self._line(f"the model is sending {rate:.2f} tokens/s")
            self._slow_noted = now

    def __call__(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._last_event = time.monotonic()
            self._next_note = WAIT_NOTE_AFTER_S
            self._show(event)

    def _show(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == events.EVENT_PLAN:
            sections = len(event["plan"])
            sized = f" - {event['target']:,} words, sized by the plan" if event.get("target_from") == "plan" else ""
            if event.get("chapters"):  # a plan made in chapters: the chapter just planned
                number = event["plan"][-1].get("chapter", 0)
                sections = sum(s.get("chapter") == number for s in event["plan"])
                where = f"chapter {number + 1} of {event['chapters']} in "
            else:
                where = ""
            self._line(
                f"plan ({event['source']}): {where}{sections} section{'s' * (sections != 1)} - {event['title']}{sized}"
            )
        elif kind == events.EVENT_SECTION_STARTED:
            self.section = (event["index"] + 1, event["total"])
            self.tokens = 0
        elif kind == events.EVENT_TOKEN:
            self.tokens += 1
            if self._pace is None:
                from longwrite.agent.generate import Pace  # the model client's imports: not at CLI start

                self._pace = Pace(SLOW_WINDOW_S)
            self._pace.add(time.monotonic())
            if self.live and time.monotonic() - self._last_draw > 0.5:
                self._draw()
        elif kind == events.EVENT_SECTION_FINISHED:
            if self.words_before is None:
                self.words_before = event["document_words"] - event["words"]
            self.words_done = event["document_words"]
            i, n = event["index"] + 1, event["total"]
            left = max(event["target"] - self.words_done, 0) if i < n else 0
            eta = f" - about {duration_text(left / self._rate())} left" if left and self._rate() > 0 else ""
            self._line(
                f"section {i}/{n}: {event['words']} words - {self.words_done:,}/{event['target']:,} words - "
                f"{self._rate():.1f} words/s{eta}"
            )

    def _rate(self) -> float:
        """Words this run wrote per second (a resumed job's earlier text left out)."""
        written = self.words_done - (self.words_before or 0)
        return written / max(time.monotonic() - self.started, 1e-6)

    def _draw(self) -> None:
        self._last_draw = time.monotonic()
        i, n = self.section
        self.stream.write(f"\r  writing section {i}/{n}: {self.tokens} tokens so far ")
        self.stream.flush()

    def _line(self, text: str) -> None:
        prefix = "\r\033[K" if self.live else ""
        self.stream.write(f"{prefix}{text}\n")
        self.stream.flush()


def emit_document(document: str, output: Path | None) -> None:
    """Write the document to FILE (atomically) or to stdout."""
    if output is None:
        sys.stdout.write(document)
        sys.stdout.flush()
        return
    try:
        write_atomically(output, lambda handle: handle.write(document))
    except OSError as error:  # write_atomically leaves no half document under a name of ours
        sys.stdout.write(document)  # never lose the text: it goes to stdout instead
        failure = StorageError if is_storage_failure(error) else LongwriteError
        raise failure(
            f"Could not write {output} ({error.strerror}); the document was printed to stdout instead."
        ) from error


def run(request: WriteCommand, settings: Settings) -> int:
    """The whole command; returns the exit code."""
    target = check_request(request, settings)
    from longwrite.agent.jobs import JobStore, new_job_id, revise_plan
    from longwrite.agent.runner import WriteRequest, write
    from longwrite.agent.state import AgentContext
    from longwrite.cli.plan_files import load_plan_file
    from longwrite.model.client import backend_errors
    from longwrite.model.embedded import endpoint_for

    plan = title = None
    if request.plan_file:
        title, plan = load_plan_file(request.plan_file, target)
        target = sum(s["words"] for s in plan)
    job_id = request.job or new_job_id()
    instruction = (request.instruction or "").strip()
    cancel = threading.Event()
    note = _interrupted_note(settings, job_id, request.mode)
    with interrupt_stops_within(cancel, note), endpoint_for(settings) as endpoint:
        ctx = AgentContext.for_endpoint(endpoint, settings, cancel)
        if request.mode != "agent":
            one_go = WriteRequest(instruction, target, request.mode, hold_length=request.hold_length)
            try:
                with backend_errors(endpoint), Progress() as progress:
                    written = write(ctx, one_go, on_event=progress)
            except (KeyboardInterrupt, Cancelled):
                log.warning("Stopped; nothing was kept (%s mode writes in one go).", request.mode)
                return INTERRUPTED_EXIT_CODE
            _emit_one_go(request, written, endpoint.backend)
            return 0
        with JobStore(settings.jobs_db) as store:
            log.info("job %s on %s", job_id, endpoint.backend)
            if not request.resume and plan is None:  # where the length comes from: stated, or the plan's
                log.info("length: %s", target_note(instruction, target, settings))
            if request.resume and plan is not None:  # the plan --plan-only printed, edited: into the same job
                revise_plan(store, job_id, plan, title)
            agent_request = WriteRequest(
                instruction, target, job_id=job_id, resume=request.resume, plan=plan, title=title,
                plan_only=request.plan_only,
            )  # fmt: skip
            try:
                with _failures_say_how_to_continue(store, job_id, settings), backend_errors(endpoint), Progress() as on:
                    result = write(ctx, agent_request, store, on_event=on).job
            except (KeyboardInterrupt, Cancelled):
                log.warning(_stopped_note(store, job_id, "Stopped"))
                return INTERRUPTED_EXIT_CODE
    _emit_result(request, result, endpoint.backend)
    return 0


@contextlib.contextmanager
def _failures_say_how_to_continue(store: Any, job_id: str, settings: Settings) -> Iterator[None]:
    """A job that fails once it exists is saved: the error says so and how to go on."""
    try:
        yield
    except StorageError as error:
        raise StorageError(
            f"{error} The job store is {settings.jobs_db}: free space (or fix the folder), then continue with: "
            f"longwrite write --job {job_id} --resume"
        ) from error
    except LongwriteError as error:
        if store.values(job_id):
            raise type(error)(f"{error} {_stopped_note(store, job_id, 'The job is saved')}") from error
        raise


def _emit_result(request: WriteCommand, result: Any, backend: str) -> None:
    """The document (or, with --plan-only, the plan as JSON) and the --json summary."""
    if request.plan_only:
        from longwrite.agent.plan_file import plan_to_json

        emit_document(plan_to_json(result.title, result.plan, result.target, result.target_from) + "\n", request.output)
        log.info("plan saved in job %s; write it with: longwrite write --job %s --resume", result.job, result.job)
    else:
        emit_document(result.document, request.output)
    if request.json_summary:
        summary = summary_of(result.document, result.target, result.seconds, backend=backend, mode="agent")
        summary.update(job=result.job, status=result.status, sections=result.sections, plan_source=result.plan_source)
        print(json.dumps(summary))


def summary_of(document: str, target: int, seconds: float, *, backend: str, mode: Mode) -> dict[str, Any]:
    """The --json line: the same fields in both modes."""
    words = count_words(document)
    return {
        "job": None,
        "status": "done",
        "words": words,
        "target": target,
        "length_score": round(length_score(target, words), 2),
        "sections": 1,
        "plan_source": None,
        "rep_4": round(repetition(document).rep_n, 4),
        "seconds": round(seconds, 2),
        "backend": backend,
        "mode": mode,
    }


def _interrupted_note(settings: Settings, job_id: str, mode: Mode) -> Callable[[], str]:
    """What a write stopped by Ctrl-C says when it has to end the process (read from the store then)."""

    def note() -> str:
        if mode != "agent":
            return "Stopped; nothing was kept (model and auto mode write in one go)."
        from longwrite.agent.jobs import JobStore

        with JobStore(settings.jobs_db) as store:
            return _stopped_note(store, job_id, "Stopped")

    return note


def _stopped_note(store: Any, job_id: str, what: str) -> str:
    values = store.values(job_id)
    done, total = len(values.get("sections", [])), len(values.get("plan", []))
    where = f"after section {done} of {total}" if total else "before planning finished"
    return f"{what} {where}; continue with: longwrite write --job {job_id} --resume"


def _emit_one_go(request: WriteCommand, written: Any, backend: str) -> None:
    """The document of model or auto mode, and its --json summary (auto's says which path wrote it,
    as the API reports)."""
    if request.mode == "auto":
        because = f" ({written.reason})" if written.reason else ""
        log.info("written by: %s%s", written.path, because)
    emit_document(written.document, request.output)
    if request.json_summary:
        summary = summary_of(written.document, written.target, written.seconds, backend=backend, mode=request.mode)
        if request.mode == "auto":
            summary.update(path=written.path, reason=written.reason)
        if request.hold_length:  # whether the guard stopped a loop: the answer ends where it began
            summary.update(hold_length=True, loop_cut=written.loop_cut)
        print(json.dumps(summary))

"""`longwrite jobs`: the documents in the job store, and changes to a finished one (rewrite a
section, extend, versions, restore, delete). The work is longwrite/cli/jobs_run.py's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from longwrite.cli.app import app
from longwrite.cli.options import ApiKey, BaseUrl, ModelId, settings_from

jobs_app = typer.Typer(
    help="The documents in the job store (LONGWRITE_HOME): list, show, rewrite a section, extend, versions, "
    "restore, delete.",
    no_args_is_help=True,
)
app.add_typer(jobs_app, name="jobs")

JobId = Annotated[str, typer.Argument(help="the job's id (`longwrite jobs list` shows them)")]
Output = Annotated[Path | None, typer.Option("-o", "--output", help="write the document (markdown) here")]
Json = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
JsonSummary = Annotated[bool, typer.Option("--json", help="print a JSON summary as the last stdout line")]


@jobs_app.command("list")
def list_jobs(as_json: Json = False) -> None:
    """Every document, the most recently changed first: id, status, words of target, last change, title."""
    from longwrite.cli.jobs_run import list_command

    list_command(settings_from(), as_json)


@jobs_app.command("show")
def show(job: JobId, output: Output = None, as_json: Json = False) -> None:
    """One document: its status, length, last change and sections (numbered as `revise --section` takes them)."""
    from longwrite.cli.jobs_run import show_command

    show_command(settings_from(), job, output, as_json)


@jobs_app.command(
    "revise",
    epilog='Example:\n\n  longwrite jobs revise 20261121-101500-a1b2c3 --section 2 --note "more concrete dates"',
)
def revise(
    job: JobId,
    section: Annotated[int, typer.Option("--section", help="the section to write again, from 1")],
    note: Annotated[str, typer.Option("--note", help='what to change ("shorter, for children")')] = "",
    words: Annotated[int | None, typer.Option("--words", help="its new length (default: its budget)")] = None,
    output: Output = None,
    json_summary: JsonSummary = False,
    base_url: BaseUrl = None,
    model: ModelId = None,
    api_key: ApiKey = None,
) -> None:
    """Write one section of a finished document again; every other section stays byte for byte."""
    from longwrite.cli.jobs_run import Change, change_command

    change = Change(job=job, section=section, note=note, words=words)
    raise typer.Exit(change_command(settings_from(base_url, model, api_key), change, output, json_summary))


@jobs_app.command("extend", epilog="Example:\n\n  longwrite jobs extend 20261121-101500-a1b2c3 --words 1000")
def extend(
    job: JobId,
    words: Annotated[int, typer.Option("--words", help="how many words to add after the end")],
    output: Output = None,
    json_summary: JsonSummary = False,
    base_url: BaseUrl = None,
    model: ModelId = None,
    api_key: ApiKey = None,
) -> None:
    """Add words after the end of a finished document: new sections, the earlier text untouched."""
    from longwrite.cli.jobs_run import Change, change_command

    change = Change(job=job, words=words)
    raise typer.Exit(change_command(settings_from(base_url, model, api_key), change, output, json_summary))


@jobs_app.command("versions")
def versions(job: JobId, as_json: Json = False) -> None:
    """The document's versions, oldest first: each finished write, rewrite, extension and restore."""
    from longwrite.cli.jobs_run import versions_command

    versions_command(settings_from(), job, as_json)


@jobs_app.command("restore")
def restore(
    job: JobId,
    version: Annotated[str, typer.Argument(help="the version's id (`longwrite jobs versions ID` lists them)")],
    output: Output = None,
) -> None:
    """Make an earlier version the document again, as a new version (nothing is lost)."""
    from longwrite.cli.jobs_run import restore_command

    restore_command(settings_from(), job, version, output)


@jobs_app.command("delete")
def delete(
    job: JobId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Delete a document with all its versions (refused while it is being written)."""
    from longwrite.cli.jobs_run import delete_command

    delete_command(settings_from(), job, yes)

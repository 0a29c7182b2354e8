"""`longwrite write`: the options; the command itself is longwrite/cli/write_run.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from longwrite.cli.app import app
from longwrite.cli.options import ApiKey, BaseUrl, ModeChoice, ModelId, settings_from


@app.command(
    epilog=(
        'Examples:\n\n  longwrite write "Write a 10000-word guide to personal finance." -o guide.md --json\n\n'
        '  longwrite write "Write a 3000-word history of tea." --plan-only -o plan.json\n\n'
        '  longwrite write "Write a 3000-word history of tea." --plan-only --job tea -o plan.json\n\n'
        "  longwrite write --job tea --resume --plan-file plan.json\n\n"
        '  longwrite write "Write a 3000-word history of tea." --plan-file plan.json\n\n'
        "  longwrite write --job 20261121-101500-a1b2c3 --resume\n\n"
        '  longwrite write "Write a 5000-word report on urban trees." --mode auto --base-url http://localhost:8000/v1\n\n'
        '  longwrite write "Write a 2000-word essay on rivers." --base-url http://localhost:8000/v1\n\n'
        '  longwrite write "Write a 1000-word essay on rivers." --mode model --hold-length --json'
    )
)
def write(
    instruction: Annotated[str | None, typer.Argument(help="what to write; the length is read from it")] = None,
    words: Annotated[int | None, typer.Option("--words", help="target length (overrides the instruction)")] = None,
    mode: Annotated[
        ModeChoice,
        typer.Option("--mode", help="agent: plan and write; model: one call; auto: the model, then the agent if short"),
    ] = ModeChoice.agent,
    hold_length: Annotated[
        bool,
        typer.Option(
            "--hold-length",
            help="model mode: hold the one call to the stated length (a floor on its length, repetition "
            "penalties from the start, a loop stopped as it begins)",
        ),
    ] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write the markdown here")] = None,
    job: Annotated[str | None, typer.Option("--job", help="job id (new, or one to resume)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the job given by --job")] = False,
    plan_only: Annotated[bool, typer.Option("--plan-only", help="make the plan, print it as JSON, stop")] = False,
    plan_file: Annotated[Path | None, typer.Option("--plan-file", help="use this plan (JSON from --plan-only)")] = None,
    json_summary: Annotated[bool, typer.Option("--json", help="print a JSON summary as the last stdout line")] = False,
    base_url: BaseUrl = None,
    model: ModelId = None,
    api_key: ApiKey = None,
) -> None:
    """Write one document. Progress goes to stderr; the markdown to stdout or -o FILE.

    With no --words, the length comes from the instruction ("a 5000-word ...", "三千字", "five entries
    of 400 words each"); where it states none, the plan sizes the document (at most
    LONGWRITE_MAX_PLANNED_WORDS). Targets above 100,000 words are refused (LONGWRITE_MAX_TARGET_WORDS).
    """
    from longwrite.cli.write_run import WriteCommand, run

    request = WriteCommand(
        instruction=instruction,
        words=words,
        mode=mode.value,
        hold_length=hold_length,
        output=output,
        job=job,
        resume=resume,
        plan_only=plan_only,
        plan_file=plan_file,
        json_summary=json_summary,
    )
    code = run(request, settings_from(base_url, model, api_key))
    raise typer.Exit(code)

"""The `longwrite` app: its global options (--version, -v, -q) and the one place errors are reported."""

from __future__ import annotations

from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from longwrite.core.errors import LongwriteError


class _Commands(TyperGroup):
    """Every command: an error a user can act on (LongwriteError, wherever it is raised: the
    options, the settings, the work) is one line on stderr and its exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LongwriteError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(error.exit_code) from None


app = typer.Typer(
    cls=_Commands,
    help="Ultra-long writing with LLMs: plan, write, synthesise data, train and evaluate. "
    "Output: -o/--output names what a command writes (a file; a folder for eval); training recipes "
    "name theirs with TRL's output_dir.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"longwrite {version('longwrite')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("longwrite (not installed: no version)")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="also debug messages, with time and source")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="only warnings and errors")] = False,
) -> None:
    """Ultra-long writing with LLMs: plan, write, synthesise data, train and evaluate.

    Messages go to stderr; LONGWRITE_LOG_LEVEL (DEBUG, INFO, WARNING, ERROR) sets how many when
    neither -v nor -q is given.
    """
    from longwrite.core.logs import configure, level_for

    configure(level_for(verbose, quiet))

"""`longwrite count`: the length of a text, as the benchmark and the agent count it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from longwrite.cli.app import app


@app.command(epilog="Example:\n\n  longwrite count essay.md")
def count(file: Annotated[Path, typer.Argument(help="a text file, or - for stdin")]) -> None:
    """Print a text's length: LongBench-Write words, jieba words, cl100k tokens, characters."""
    from longwrite.commands.count import count_report

    text = sys.stdin.read() if str(file) == "-" else _read_text(file)
    typer.echo(count_report(text))


def _read_text(path: Path) -> str:
    from longwrite.errors import InputError

    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise InputError(f"{path} does not exist.") from error
    except IsADirectoryError as error:
        raise InputError(f"{path} is a directory; give a text file.") from error
    except UnicodeDecodeError as error:
        raise InputError(f"{path} is not UTF-8 text.") from error
    except OSError as error:
        raise InputError(f"{path} cannot be read ({error.strerror}).") from error

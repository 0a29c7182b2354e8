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

    text = sys.stdin.read() if str(file) == "-" else _read_text(file)
    typer.echo(count_report(text))


def count_report(text: str) -> str:
    """Aligned lines: words (LongBench-Write), jieba words, cl100k tokens, characters, language."""
    from longwrite.core.text import count_tokens, count_words, detect_language

    rows = [
        ("words", count_words(text)),
        ("jieba_words", count_words(text, unit="jieba")),
        ("tokens_cl100k", count_tokens(text)),
        ("characters", len(text)),
    ]
    lines = [f"{name:<14} {value:>10,}" for name, value in rows]
    lines.append(f"{'language':<14} {detect_language(text):>10}")
    return "\n".join(lines)


def _read_text(path: Path) -> str:
    from longwrite.core.errors import InputError

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

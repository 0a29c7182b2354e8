"""The `longwrite` command: the app and its global options in app.py, one module per command or
group (each imports its subsystem only when it runs), what the commands share in options.py.
An error a user can act on is reported in one place (app._Commands)."""

from __future__ import annotations

# isort: off
# Importing a module registers its commands, so this order is the order of `longwrite --help`.
from longwrite.cli.app import app
from longwrite.cli import write, jobs, serving, evaluate, data  # noqa: F401
from longwrite.cli.train import train_app
from longwrite.cli.pipeline import epilog as pipeline_epilog, pipeline

app.add_typer(train_app, name="train")
app.command("pipeline", epilog=pipeline_epilog)(pipeline)

from longwrite.cli import count  # noqa: E402, F401

# isort: on

__all__ = ["app", "main"]


def main() -> None:
    app()

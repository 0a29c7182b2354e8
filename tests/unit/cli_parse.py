"""Parse a `longwrite` command line the way the CLI would, without running the command."""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from longwrite.cli import app


def parse_cli(argv: list[str]) -> typer.Context:
    """The context of the command `argv` names, its options parsed and checked (types, choices,
    required ones); a typer.TyperException (click's UsageError) where the line would be refused."""
    command = typer.main.get_command(app)
    ctx = command.make_context("longwrite", list(argv))
    while isinstance(command, TyperGroup):
        # TyperGroup.parse_args keeps the subcommand's name apart from its arguments
        name, command, rest = command.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        assert name is not None and command is not None
        ctx = command.make_context(name, rest, parent=ctx)
    return ctx

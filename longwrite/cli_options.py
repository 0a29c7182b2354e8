"""Options and helpers every `longwrite` command group shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from longwrite.errors import LongwriteError

if TYPE_CHECKING:
    from longwrite.settings import Settings

BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url", help="OpenAI-compatible endpoint (e.g. http://localhost:8000/v1); unset = embedded model"
    ),
]
ModelId = Annotated[str | None, typer.Option("--model", help="model id at the endpoint")]
ApiKey = Annotated[str | None, typer.Option("--api-key", help="API key for the endpoint")]


def settings_from(base_url: str | None = None, model: str | None = None, api_key: str | None = None) -> Settings:
    from longwrite.settings import Settings

    overrides = {k: v for k, v in {"base_url": base_url, "model": model, "api_key": api_key}.items() if v}
    return Settings(**overrides)


def fail(error: LongwriteError) -> NoReturn:
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(error.exit_code)

"""Options and helpers every `longwrite` command group shares."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from longwrite.errors import InputError, LongwriteError

if TYPE_CHECKING:
    from longwrite.settings import Settings

BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url", help="OpenAI-compatible endpoint (e.g. http://localhost:8000/v1); unset = embedded model"
    ),
]
ModelId = Annotated[
    str | None,
    typer.Option("--model", help="model id at the endpoint; with no endpoint, `base` is the untrained embedded model"),
]
# With no endpoint, `--model base` means the embedded model without longwrite's long-output adapter.
UNTRAINED_EMBEDDED = "base"
ApiKey = Annotated[str | None, typer.Option("--api-key", help="API key for the endpoint")]


def settings_from(base_url: str | None = None, model: str | None = None, api_key: str | None = None) -> Settings:
    from longwrite.settings import Settings

    overrides = {k: v for k, v in {"base_url": base_url, "model": model, "api_key": api_key}.items() if v}
    settings = Settings(**overrides)
    if not settings.base_url and settings.model == UNTRAINED_EMBEDDED:
        return settings.model_copy(update={"model": None, "embedded_adapter": "none"})
    return settings


def fail(error: LongwriteError) -> NoReturn:
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(error.exit_code)


HfDataset = Annotated[
    Path | None,
    typer.Option("--hf-dataset", help="read the rows from a folder saved with datasets' save_to_disk"),
]


def one_source(source: Path | None, hf_dataset: Path | None) -> Path:
    """The input: a file argument, or --hf-dataset FOLDER (a saved Hugging Face dataset), not both."""
    if (source is None) == (hf_dataset is None):
        raise InputError("Give one input: a .jsonl/.parquet file, or --hf-dataset FOLDER.")
    if hf_dataset is not None and not hf_dataset.is_dir():
        raise InputError(
            f"--hf-dataset {hf_dataset} is not a folder; give one written by datasets' save_to_disk "
            "(or pass a .jsonl/.parquet file without --hf-dataset)."
        )
    return source or hf_dataset  # type: ignore[return-value]

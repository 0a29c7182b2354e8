"""Options and helpers every `longwrite` command group shares."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from longwrite.core.errors import InputError

if TYPE_CHECKING:
    from longwrite.core.settings import Settings

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
ApiKey = Annotated[str | None, typer.Option("--api-key", help="API key for the endpoint")]


HfDataset = Annotated[
    str | None,
    typer.Option(
        "--hf-dataset",
        metavar="FOLDER|OWNER/NAME",
        help="read the rows from a dataset folder (save_to_disk, or data files) or, when no such folder exists, "
        "from the Hub dataset OWNER/NAME or OWNER/NAME/CONFIG:SPLIT (datasets' load_dataset; offline from its cache)",
    ),
]
SaveToDisk = Annotated[
    Path | None,
    typer.Option("--save-to-disk", metavar="FOLDER", help="also save the rows there with datasets' save_to_disk"),
]
PushToHub = Annotated[
    str | None,
    typer.Option(
        "--push-to-hub",
        metavar="OWNER/NAME",
        help="also push the rows to this Hub dataset repo (created if new; log in with `hf auth login` or HF_TOKEN)",
    ),
]
# Where a positional input is described: the forms read_rows takes.
# No square brackets: typer renders help as Rich markup, where [/X] is a closing tag.
INPUT_FORMS = (
    ".jsonl, .parquet, a dataset folder, or a Hub dataset hf:OWNER/NAME, hf:OWNER/NAME:SPLIT or "
    "hf:OWNER/NAME/CONFIG:SPLIT"
)


def one_source(source: Path | None, hf_dataset: str | None) -> Path:
    """The input: a file argument, or --hf-dataset (a dataset folder, else a Hub id), not both.

    A Hub id comes back as the path-like `hf:OWNER/NAME`, the form read_rows takes.
    """
    from longwrite.training.datasets_io import HUB_PREFIX, is_hub_id

    if (source is None) == (hf_dataset is None):
        raise InputError(f"Give one input: {INPUT_FORMS}; or --hf-dataset FOLDER|OWNER/NAME.")
    if source is not None:
        return source
    assert hf_dataset is not None
    name = hf_dataset.removeprefix(HUB_PREFIX)
    folder = Path(hf_dataset)
    if folder.is_dir():
        return folder
    if not folder.exists() and is_hub_id(name):
        return Path(HUB_PREFIX + name)
    raise InputError(
        f"--hf-dataset {hf_dataset} is not a folder (one written by datasets' save_to_disk, or of data files) "
        "nor a Hub dataset id OWNER/NAME[:SPLIT]; pass a .jsonl/.parquet file without --hf-dataset."
    )


def settings_from(base_url: str | None = None, model: str | None = None, api_key: str | None = None) -> Settings:
    """longwrite.core.settings.settings_from, imported when a command runs: pydantic-settings takes about
    0.2 s to import, which `longwrite --help` need not pay (bench/cli_startup.py)."""
    from longwrite.core.settings import settings_from as from_environment

    return from_environment(base_url, model, api_key)

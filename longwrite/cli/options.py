"""Options and helpers every `longwrite` command group shares."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from longwrite.core.errors import InputError
from longwrite.core.modes import MODES

# --mode's choices (Typer wants an Enum): the modes as longwrite.core.modes lists them
ModeChoice = StrEnum("ModeChoice", [(mode, mode) for mode in MODES])

if TYPE_CHECKING:
    from longwrite.core.settings import Settings


def endpoint_options(prefix: str = "", whose: str = "the", unset: str = "the embedded model") -> tuple[Any, Any, Any]:
    """The three options of an endpoint (an EndpointSpec: base URL, model, key) as Typer option
    types, named `--base-url` ... or, with a prefix, `--judge-base-url` ...: one factory, so every
    command that talks to a model spells them alike."""
    dash = f"--{prefix}-" if prefix else "--"
    example = "e.g. http://localhost:8000/v1"
    base_url = Annotated[
        str | None,
        typer.Option(f"{dash}base-url", help=f"{whose} OpenAI-compatible endpoint ({example}); unset = {unset}"),
    ]
    model_help = f"model id at {whose} endpoint"
    if not prefix:
        model_help += "; with no endpoint, `base` is the untrained embedded model"
    model = Annotated[str | None, typer.Option(f"{dash}model", help=model_help)]
    api_key = Annotated[str | None, typer.Option(f"{dash}api-key", help=f"API key for {whose} endpoint")]
    return base_url, model, api_key


BaseUrl, ModelId, ApiKey = endpoint_options()


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

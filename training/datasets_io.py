"""Rows to and from Hugging Face datasets: a Hub id (`hf:OWNER/NAME[/CONFIG][:SPLIT]`, read with
`datasets.load_dataset`, which serves a dataset it has cached before without the network), a
folder (saved with `save_to_disk`, or of data files such as a downloaded Hub repository), and
the outputs `--save-to-disk FOLDER` / `--push-to-hub OWNER/NAME`.

`datasets` is imported only when one of these is used, so the base package works without it.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longwrite.core.errors import InputError
from longwrite.core.extras import require

if TYPE_CHECKING:
    from types import ModuleType

    from datasets import Dataset

HUB_PREFIX = "hf:"
DEFAULT_SPLIT = "train"
# A Hub repo id: an optional owner and a name of letters, digits, `-`, `_`, `.` (the Hub's rule).
_NAME = r"[A-Za-z0-9][\w.-]{0,95}"
_REPO_ID = re.compile(rf"(?:{_NAME}/)?{_NAME}")
_SOURCE = re.compile(rf"(?P<repo>{_REPO_ID.pattern})(?:/(?P<config>{_NAME}))?(?::(?P<split>.+))?")
# The files datasets' save_to_disk writes: one Dataset, or a DatasetDict of splits.
_SAVED_MARKERS = ("state.json", "dataset_dict.json")


@dataclass(frozen=True)
class HubSource:
    """A dataset on the Hugging Face Hub, as `load_dataset(repo, config, split=split)` takes it."""

    repo: str
    config: str | None = None
    split: str = DEFAULT_SPLIT

    def __str__(self) -> str:
        config = f"/{self.config}" if self.config else ""
        return f"{HUB_PREFIX}{self.repo}{config}:{self.split}"


def hub_source(source: str | Path) -> HubSource | None:
    """The Hub dataset `source` names with the hf: prefix, or None when it is a path.

    The split may use datasets' slicing (`hf:owner/name:train[:1000]`).
    """
    # as_posix: a Windows Path reads "hf:" as a drive and turns the slash around.
    text = source.as_posix() if isinstance(source, Path) else source
    if not text.startswith(HUB_PREFIX):
        return None
    match = _SOURCE.fullmatch(text[len(HUB_PREFIX) :])
    if match is None:
        raise InputError(
            f"{text} is not a Hub dataset id; write hf:OWNER/NAME, hf:OWNER/NAME:SPLIT or hf:OWNER/NAME/CONFIG:SPLIT."
        )
    return HubSource(match["repo"], match["config"], match["split"] or DEFAULT_SPLIT)


def is_hub_id(text: str) -> bool:
    """Whether `text` (without the hf: prefix) has the shape of a Hub dataset id with optional config and split."""
    return _SOURCE.fullmatch(text) is not None


def datasets_module(needed_for: str) -> ModuleType:
    """The `datasets` package, or MissingExtra (one line naming the extra) when it is not installed."""
    try:
        import datasets
    except ImportError:
        require("train", needed_for)
        raise  # installed but broken: let its own error show
    return datasets


def read_hub(source: HubSource) -> list[dict[str, Any]]:
    """The rows of one split of a Hub dataset; from the local cache when the Hub cannot be reached."""
    datasets = datasets_module("Reading a Hugging Face dataset")
    try:
        dataset = datasets.load_dataset(source.repo, source.config, split=source.split)
    except ConnectionError as error:  # also OfflineModeIsEnabled: HF_HUB_OFFLINE=1 and not cached
        raise InputError(
            f"The Hub dataset {source.repo} is not in the local Hugging Face cache and the Hub cannot be reached "
            f"({error}): run the command once online (datasets keeps a copy, later runs work offline), or "
            f"download it with `hf download {source.repo} --repo-type dataset --local-dir DIR` and give DIR as "
            "the input."
        ) from error
    except FileNotFoundError as error:  # DatasetNotFoundError, no data files
        raise InputError(f"The Hub dataset {source.repo} cannot be read ({error}).") from error
    except ValueError as error:  # an unknown split or config names the ones there are
        raise InputError(f"{source}: {error}") from error
    return dataset.to_list()


def read_folder(path: Path) -> list[dict[str, Any]]:
    """The rows of a folder saved with save_to_disk, or of a folder of data files (e.g. a Hub
    repository fetched with `hf download --local-dir`); of a DatasetDict, its train split, else the first."""
    datasets = datasets_module("Reading a Hugging Face dataset")
    try:
        if any((path / marker).is_file() for marker in _SAVED_MARKERS):
            dataset = datasets.load_from_disk(str(path))
        else:
            dataset = datasets.load_dataset(str(path))
    except (FileNotFoundError, ValueError) as error:
        raise InputError(
            f"{path} is neither a dataset saved with save_to_disk nor a folder of data files ({error})."
        ) from error
    if isinstance(dataset, datasets.DatasetDict):
        split = DEFAULT_SPLIT if DEFAULT_SPLIT in dataset else next(iter(dataset.keys()))
        dataset = dataset[split]
    return dataset.to_list()


def check_outputs(save_to_disk: Path | None, push_to_hub: str | None) -> None:
    """Refuse a bad --save-to-disk / --push-to-hub before the work that would feed them starts."""
    if save_to_disk is None and push_to_hub is None:
        return
    datasets_module("--save-to-disk and --push-to-hub")
    if push_to_hub is not None and not _REPO_ID.fullmatch(push_to_hub):
        raise InputError(f"--push-to-hub {push_to_hub} is not a Hub repo id; write OWNER/NAME.")
    if save_to_disk is not None:
        parent = save_to_disk.parent if str(save_to_disk.parent) else Path(".")
        if not parent.is_dir():
            raise InputError(f"The folder {parent} does not exist; create it first.")
        if save_to_disk.exists() and not _is_saved_dataset(save_to_disk):
            # Only a dataset saved before is replaced: never a folder holding something else.
            raise InputError(f"--save-to-disk {save_to_disk} exists and is not a saved dataset; give a new folder.")


def publish_rows(rows: Sequence[dict[str, Any]], save_to_disk: Path | None, push_to_hub: str | None) -> list[str]:
    """Save the rows with save_to_disk and/or push them to the Hub; one line saying where, per output."""
    if save_to_disk is None and push_to_hub is None:
        return []
    check_outputs(save_to_disk, push_to_hub)
    if not rows:
        return ["no rows: nothing saved or pushed"]
    dataset = to_dataset(rows)
    done = []
    if save_to_disk is not None:
        _save(dataset, save_to_disk)
        done.append(f"saved {len(rows)} rows -> {save_to_disk} (save_to_disk)")
    if push_to_hub is not None:
        try:
            dataset.push_to_hub(push_to_hub)
        except (OSError, ValueError) as error:  # HTTP errors, offline mode, no token, a bad id
            raise InputError(
                f"Could not push to the Hub dataset {push_to_hub} ({error}); log in with `hf auth login` "
                "or set HF_TOKEN. The JSONL output is written."
            ) from error
        done.append(f"pushed {len(rows)} rows -> https://huggingface.co/datasets/{push_to_hub}")
    return done


def to_dataset(rows: Sequence[dict[str, Any]]) -> Dataset:
    """A Dataset of the rows; its columns are every key any row has (from_list keeps only the
    first row's), without longwrite's own `_` keys."""
    datasets = datasets_module("Writing a Hugging Face dataset")
    columns = dict.fromkeys(key for row in rows for key in row if not key.startswith("_"))
    try:
        return datasets.Dataset.from_dict({key: [row.get(key) for row in rows] for key in columns})
    except (TypeError, ValueError) as error:  # pyarrow: one column holding two kinds of value
        raise InputError(
            f"The rows do not make one table ({error}); give every row the same kinds of fields."
        ) from error


def _is_saved_dataset(path: Path) -> bool:
    return path.is_dir() and any((path / marker).is_file() for marker in _SAVED_MARKERS)


def _save(dataset: Dataset, folder: Path) -> None:
    """save_to_disk into a sibling folder, then swap it in: a failure leaves the old copy whole."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        dataset.save_to_disk(str(partial))
        if folder.exists():
            shutil.rmtree(folder)
        partial.rename(folder)
    except OSError as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise InputError(f"Could not save {folder} ({error.strerror or error}).") from error

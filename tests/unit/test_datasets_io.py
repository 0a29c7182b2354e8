"""Hugging Face datasets in and out: a Hub id served from the local cache with the Hub offline, a
folder of data files, save_to_disk and push_to_hub outputs, and the one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from longwrite.cli import app
from longwrite.core.errors import InputError
from longwrite.training.datasets_io import HubSource, hub_source, publish_rows
from longwrite.training.rows import publish_file, read_rows
from tests.unit.scripted import prose

datasets = pytest.importorskip("datasets")

REPO = "someuser/tiny"
COMMIT = "0" * 40  # a Hub dataset's cache folder is named after the commit it was read at


def row(prompt: str, answer: str, **extra) -> dict:
    return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}], **extra}


# One row curate keeps (it follows its stated length), one it drops (no length stated).
ROWS = [row("Write a 100-word note on tea.", prose(100), length=100), row("Say hi.", "Hi.")]


@pytest.fixture
def offline_cache(tmp_path, monkeypatch) -> Path:
    """A datasets cache holding REPO as `load_dataset(REPO)` leaves it after one online run, with the
    Hub switched off: what a user has after running a command once with a network connection."""
    from datasets import config
    from datasets.data_files import DataFilesDict
    from datasets.packaged_modules.parquet.parquet import Parquet

    cache = tmp_path / "hf-datasets-cache"
    monkeypatch.setattr(config, "HF_DATASETS_CACHE", cache)
    monkeypatch.setattr(config, "HF_HUB_OFFLINE", True)  # a network call would raise, not hang
    data = tmp_path / "train.parquet"
    datasets.Dataset.from_list(ROWS).to_parquet(str(data))
    # The builder load_dataset uses for a Parquet repo, named as the Hub names it (owner___name/
    # default/0.0.0/COMMIT). The builder checks that data files lie in the repo, so they are set after.
    builder = Parquet(dataset_name="tiny", repo_id=REPO, hash=COMMIT, config_id="default")
    builder.config.data_files = DataFilesDict.from_patterns({"train": [str(data)]})
    builder.download_and_prepare()
    assert (cache / "someuser___tiny" / "default" / "0.0.0" / COMMIT / "dataset_info.json").is_file()
    return cache


def test_hub_ids_are_told_from_paths():
    assert hub_source(Path("rows.jsonl")) is None and hub_source("saved/") is None
    assert hub_source("hf:someuser/tiny") == HubSource("someuser/tiny", None, "train")
    assert hub_source(Path("hf:HuggingFaceTB/smoltalk/all:test")) == HubSource("HuggingFaceTB/smoltalk", "all", "test")
    assert hub_source("hf:owner/name:train[:100]").split == "train[:100]"  # datasets' slicing passes through
    with pytest.raises(InputError, match="not a Hub dataset id"):
        hub_source("hf:owner/name:")


def test_a_hub_id_is_read_from_the_cache_with_the_hub_offline(offline_cache):
    rows = read_rows("hf:someuser/tiny")
    assert [r["messages"][0]["content"] for r in rows] == ["Write a 100-word note on tea.", "Say hi."]
    assert [r["_line"] for r in rows] == [1, 2] and rows[0]["length"] == 100
    assert len(read_rows(Path("hf:someuser/tiny:train[1:]"))) == 1  # a recipe's data goes through Path
    with pytest.raises(InputError, match=r"Unknown split \"test\""):
        read_rows("hf:someuser/tiny:test")


def test_a_hub_id_not_cached_says_how_to_get_it(offline_cache):
    with pytest.raises(InputError) as error:
        read_rows("hf:someuser/absent")
    message = str(error.value)
    assert "\n" not in message and "not in the local Hugging Face cache" in message
    assert "hf download someuser/absent --repo-type dataset --local-dir DIR" in message


def test_cli_curate_reads_a_cached_hub_id_and_saves_and_pushes(offline_cache, tmp_path, monkeypatch):
    pushed: list[tuple[str, list[dict]]] = []

    def push_to_hub(self, repo_id: str, *args, **kwargs) -> None:  # the network call, recorded instead
        pushed.append((repo_id, self.to_list()))

    monkeypatch.setattr(datasets.Dataset, "push_to_hub", push_to_hub)
    out, saved = tmp_path / "kept.jsonl", tmp_path / "kept-ds"
    args = ["curate", "--hf-dataset", REPO, "-o", str(out), "--save-to-disk", str(saved), "--push-to-hub", "me/kept"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    kept = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(kept) == 1 and f"saved 1 rows -> {saved}" in result.output
    assert datasets.load_from_disk(str(saved)).to_list() == kept  # the same rows, without `_line`
    assert pushed == [("me/kept", kept)]
    rerun = CliRunner().invoke(app, [*args[:-2]])  # a rerun replaces the saved copy
    assert rerun.exit_code == 0, rerun.output
    assert datasets.load_from_disk(str(saved)).num_rows == len(kept) and not Path(f"{saved}.partial").exists()


def test_cli_curate_mix_takes_hub_ids_and_folders_of_data_files(offline_cache, tmp_path):
    # A Hub repository downloaded with `hf download --local-dir`: data files, no save_to_disk layout.
    repo = tmp_path / "general"
    (repo / "data").mkdir(parents=True)
    general = [row(f"Hi {i}", "Hello.") for i in range(4)]
    datasets.Dataset.from_list(general).to_parquet(str(repo / "data" / "train-00000-of-00001.parquet"))
    assert [r["messages"] for r in read_rows(repo)] == [r["messages"] for r in general]
    out = tmp_path / "mixed.jsonl"
    result = CliRunner().invoke(
        app, ["curate", "mix", "--long", "hf:someuser/tiny", "--general", str(repo), "--ratio", "2", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2 long + 4 general = 6 rows") and len(read_rows(out)) == 6


def test_rows_of_different_shapes_keep_every_column(tmp_path):
    saved = tmp_path / "ds"
    lines = publish_rows([row("a", "b", _line=1), row("c", "d", length=7, _line=2)], saved, None)
    assert lines == [f"saved 2 rows -> {saved} (save_to_disk)"]
    assert [r["length"] for r in datasets.load_from_disk(str(saved))] == [None, 7]  # from_list would drop it
    assert "_line" not in datasets.load_from_disk(str(saved)).column_names


def test_synths_output_file_is_saved_whole(tmp_path):
    output = tmp_path / "synth.jsonl"
    assert publish_file(output, tmp_path / "ds", None) == ["no rows: nothing saved or pushed"]  # nothing written yet
    output.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    assert publish_file(output, tmp_path / "ds", None) == [f"saved 2 rows -> {tmp_path / 'ds'} (save_to_disk)"]
    assert datasets.load_from_disk(str(tmp_path / "ds")).to_list()[1] == ROWS[1] | {"length": None}
    assert publish_file(output, None, None) == []


def test_bad_outputs_are_refused_before_the_work(tmp_path, monkeypatch):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep me", encoding="utf-8")
    refused = CliRunner().invoke(
        app, ["synth", str(source), "-o", str(tmp_path / "s.jsonl"), "--save-to-disk", str(tmp_path / "notes")]
    )
    assert refused.exit_code == 2 and "is not a saved dataset" in refused.output
    assert (tmp_path / "notes" / "mine.txt").is_file() and not (tmp_path / "s.jsonl").exists()
    bad_repo = CliRunner().invoke(
        app, ["curate", str(source), "-o", str(tmp_path / "c.jsonl"), "--push-to-hub", "a/b/c"]
    )
    assert bad_repo.exit_code == 2 and "not a Hub repo id" in bad_repo.output
    unknown = CliRunner().invoke(app, ["curate", "--hf-dataset", "no such thing", "-o", str(tmp_path / "c.jsonl")])
    assert unknown.exit_code == 2 and "nor a Hub dataset id" in unknown.output


def test_a_failed_push_is_one_line(tmp_path, monkeypatch):
    def push_to_hub(self, repo_id: str, *args, **kwargs) -> None:
        raise OSError("401 Unauthorized")

    monkeypatch.setattr(datasets.Dataset, "push_to_hub", push_to_hub)
    with pytest.raises(InputError, match=r"Could not push to the Hub dataset me/x \(401 Unauthorized\); log in"):
        publish_rows(ROWS, None, "me/x")


def test_without_datasets_the_extra_is_named(tmp_path, monkeypatch):
    import importlib.util
    import sys

    real_find_spec = importlib.util.find_spec
    monkeypatch.setitem(sys.modules, "datasets", None)  # `import datasets` raises ImportError
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "datasets" else real_find_spec(name, *a)
    )
    with pytest.raises(
        InputError, match=r"Reading a Hugging Face dataset needs longwrite's 'train' extra \(.*datasets"
    ):
        read_rows("hf:someuser/tiny")

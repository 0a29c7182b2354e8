"""Model server command lines and the checks that refuse what a machine cannot run."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys

import pytest

from longwrite.core.errors import BackendError, InputError
from longwrite.core.extras import MissingExtra
from longwrite.model.embedded import gguf_path
from longwrite.model.engines import ModelServerSpec, check_spec


def test_vllm_command_fits_long_outputs():
    spec = ModelServerSpec(engine="vllm", model="/models/longwriter", served_name="lw", loras=(("a", "/ad"),))
    command = spec.command()
    assert command[:3] == ["vllm", "serve", "/models/longwriter"]
    pairs = dict(zip(command[3::2], command[4::2], strict=False))
    assert pairs["--max-model-len"] == "32768"
    assert pairs["--served-model-name"] == "lw"
    assert pairs["--generation-config"] == "vllm"
    assert command[-3:] == ["--enable-lora", "--lora-modules", "a=/ad"]
    assert spec.base_url == "http://127.0.0.1:8001/v1" and spec.name == "lw"


def test_llamacpp_command_names_the_gguf_and_context():
    spec = ModelServerSpec(engine="llamacpp", model="/m/tiny-long.gguf", port=9000, threads=3)
    command = spec.command()
    assert command[1:3] == ["-m", "llama_cpp.server"]
    pairs = dict(zip(command[3::2], command[4::2], strict=True))
    assert pairs["--model"] == "/m/tiny-long.gguf" and pairs["--model_alias"] == "tiny-long"
    assert pairs["--n_ctx"] == "16384" and pairs["--n_threads"] == "3" and pairs["--port"] == "9000"
    assert pairs["--interrupt_requests"] == "False" and pairs["--logits_all"] == "False"


def test_transformers_command_and_name():
    spec = ModelServerSpec(engine="transformers", model="/ckpt", device="cpu", continuous_batching=True)
    command = spec.command()
    assert command[3:5] == ["serve", "/ckpt"] and "--continuous-batching" in command
    assert command[command.index("--device") + 1] == "cpu"
    assert spec.name == "/ckpt" and spec.ready_url == "http://127.0.0.1:8001/health"


HAS_VLLM = importlib.util.find_spec("vllm") is not None
HAS_VLLM_AND_GPU = HAS_VLLM and shutil.which("nvidia-smi") is not None
needs_no_vllm = pytest.mark.skipif(HAS_VLLM_AND_GPU, reason="this machine can run vLLM")


@needs_no_vllm
def test_vllm_is_refused_clearly_without_vllm_or_gpu():
    with pytest.raises((BackendError, MissingExtra), match=r"vllm|vLLM") as caught:
        check_spec(ModelServerSpec(engine="vllm", model="some/model"))
    assert "llamacpp" in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ModelServerSpec(engine="llamacpp", model="/nowhere/x.gguf"), "not a file"),
        (ModelServerSpec(engine="llamacpp", model=__file__), "not a GGUF file"),
        (ModelServerSpec(engine="transformers", model="/tmp", loras=(("a", "b"),)), "merge the adapter"),
        (ModelServerSpec(engine="llamacpp", model="x.gguf", loras=(("a", "b"), ("c", "d"))), "one --lora"),
        (ModelServerSpec(engine="llamacpp", model="x.gguf", loras=(("a", "/nowhere.gguf"),)), "is not a file"),
        (ModelServerSpec(engine="transformers", model="/tmp"), "no config.json"),
        (ModelServerSpec(engine="transformers", model="/tmp", served_name="x"), "drop --served-model-name"),
    ],
)
def test_specs_a_machine_cannot_run(spec, message):
    with pytest.raises(InputError, match=message):
        check_spec(spec)


def test_llamacpp_serves_one_gguf_adapter_on_its_model():
    command = ModelServerSpec(engine="llamacpp", model="m.gguf", loras=(("longwrite", "a.gguf"),)).command()
    assert command[-2:] == ["--lora_path", "a.gguf"]


def test_the_embedded_gguf_passes_the_llamacpp_check():
    check_spec(ModelServerSpec(engine="llamacpp", model=str(gguf_path())))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "longwrite.cli", *args], capture_output=True, text=True, timeout=60)


def test_cli_dry_run_prints_the_vllm_command():
    result = _cli("serve-model", "--engine", "vllm", "--model", "org/m", "--lora", "x=/a", "--dry-run")
    assert result.returncode == 0
    assert result.stdout.startswith("vllm serve org/m ") and "--generation-config vllm" in result.stdout


@needs_no_vllm
def test_cli_vllm_without_a_gpu_fails_in_one_sentence():
    result = _cli("serve-model", "--engine", "vllm", "--model", "org/m")
    if HAS_VLLM:  # installed, but no GPU
        assert result.returncode == 3 and result.stderr.startswith("error: vLLM needs an NVIDIA GPU")
    else:
        assert result.returncode == 2 and "pip install 'longwrite[gpu]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_cli_bad_lora_value():
    result = _cli("serve-model", "--engine", "vllm", "--model", "org/m", "--lora", "noequals")
    assert result.returncode == 2 and "NAME=PATH" in result.stderr


def test_the_embedded_server_loads_the_model_file_it_is_given_or_says_what_to_set(tmp_path, monkeypatch):
    from longwrite.core.settings import Settings, settings_from
    from longwrite.model.embedded import model_file

    assert model_file(Settings(embedded_model_file=None)) == gguf_path()
    trained = tmp_path / "model.gguf"
    trained.write_bytes(b"GGUF")
    assert model_file(Settings(embedded_model_file=str(trained))) == trained
    with pytest.raises(BackendError, match=r"LONGWRITE_EMBEDDED_MODEL_FILE=.*missing\.gguf is not a file"):
        model_file(Settings(embedded_model_file=str(tmp_path / "missing.gguf")))
    # `--model base` with no endpoint is the shipped model, whatever the environment puts in its place
    monkeypatch.setenv("LONGWRITE_EMBEDDED_MODEL_FILE", str(trained))
    monkeypatch.delenv("LONGWRITE_BASE_URL", raising=False)
    assert Settings().embedded_model_file == str(trained)
    assert settings_from(model="base").embedded_model_file is None

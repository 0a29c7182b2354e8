"""Deploying with vLLM: engine flags passed through `serve-model`, the sampling-field names chosen
from what the backend says it is, and the compose file checked against what longwrite reads."""

from __future__ import annotations

import re
import shlex
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from longwrite.cli import app
from longwrite.core.errors import InputError
from longwrite.core.settings import Settings
from longwrite.model.client import resolve_endpoint
from longwrite.model.engines import ModelServerSpec, check_spec
from tests.unit.cli_parse import parse_cli
from tests.unit.openai_stub import OpenAIStub

ROOT = Path(__file__).resolve().parents[2]


# ---- serve-model: everything after -- goes to the engine


def test_serve_model_passes_the_flags_after_the_separator_to_vllm():
    result = CliRunner().invoke(
        app, ["serve-model", "--engine", "vllm", "--model", "M", "--dry-run", "--", "--tensor-parallel-size", "2"]
    )
    assert result.exit_code == 0, result.output
    command = shlex.split(result.stdout)
    assert command[:3] == ["vllm", "serve", "M"]
    assert command[-2:] == ["--tensor-parallel-size", "2"]  # last, so a flag repeated there wins
    assert command[command.index("--max-model-len") + 1] == "32768"


def test_engine_flags_need_the_separator():
    result = CliRunner().invoke(app, ["serve-model", "--engine", "vllm", "--model", "M", "--tensor-parallel-size", "2"])
    assert result.exit_code == 2 and "tensor-parallel-size" in result.output
    result = CliRunner().invoke(app, ["serve-model", "--engine", "vllm", "--model", "M", "--dry-run", "stray"])
    assert result.exit_code == 2  # a stray word is not handed to vLLM


@pytest.mark.parametrize(
    ("engine", "engine_args", "instead"),
    [
        ("vllm", ("--port", "9000"), "give --port before --"),
        ("vllm", ("--served-model-name=x",), "give --served-model-name before --"),
        ("llamacpp", ("--model_alias", "x"), "give --served-model-name before --"),
    ],
)
def test_flags_longwrite_relies_on_are_refused_after_the_separator(engine, engine_args, instead):
    with pytest.raises(InputError, match=instead):
        check_spec(ModelServerSpec(engine=engine, model="m.gguf", engine_args=engine_args))


@pytest.mark.parametrize("engine", ["llamacpp", "transformers"])
def test_other_engines_take_their_own_flags_last(engine):
    spec = ModelServerSpec(engine=engine, model="m.gguf", engine_args=("--flag", "1"))
    assert spec.command()[-2:] == ["--flag", "1"]


# ---- the backend says what it is; longwrite names min_tokens and the repetition penalty to fit


@pytest.fixture(autouse=True)
def _no_longwrite_environment(monkeypatch):
    import os

    for name in [name for name in os.environ if name.startswith("LONGWRITE_")]:
        monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("owned_by", "repeat_penalty", "min_tokens"),
    [
        ("vllm", "repetition_penalty", "min_tokens"),
        ("llamacpp", "repeat_penalty", None),  # llama.cpp's llama-server takes no floor on the length
        ("me", "repeat_penalty", "min_tokens"),  # llama-cpp-python
        ("system", None, None),  # OpenAI: nothing it would reject
    ],
)
def test_sampling_fields_follow_what_the_server_says_it_is(tmp_path, owned_by, repeat_penalty, min_tokens):
    with OpenAIStub(owned_by=owned_by, model="served") as stub:
        endpoint = resolve_endpoint(Settings(base_url=stub.url, home=tmp_path))
    assert endpoint.model == "served"
    assert (endpoint.repeat_penalty_param, endpoint.min_tokens_param) == (repeat_penalty, min_tokens)


def test_a_named_model_is_still_asked_what_server_it_is(tmp_path):
    with OpenAIStub(owned_by="vllm") as stub:
        endpoint = resolve_endpoint(Settings(base_url=stub.url, model="mine", home=tmp_path))
    assert endpoint.model == "mine" and stub.listings == 1
    assert endpoint.min_tokens_param == "min_tokens"


def test_the_users_setting_wins_and_empty_means_none(tmp_path):
    with OpenAIStub(owned_by="vllm") as stub:
        settings = Settings(base_url=stub.url, home=tmp_path, repeat_penalty_param="my_penalty", min_tokens_param="")
        endpoint = resolve_endpoint(settings)
        assert (endpoint.repeat_penalty_param, endpoint.min_tokens_param) == ("my_penalty", None)
        # with both set and a model named, the server is not asked at all
        resolve_endpoint(settings.model_copy(update={"model": "m"}))
    assert stub.listings == 1


def test_the_environment_variables_win_too(tmp_path, monkeypatch):
    monkeypatch.setenv("LONGWRITE_MIN_TOKENS_PARAM", "min_new_tokens")
    with OpenAIStub(owned_by="vllm") as stub:
        endpoint = resolve_endpoint(Settings(base_url=stub.url, home=tmp_path))
    assert (endpoint.repeat_penalty_param, endpoint.min_tokens_param) == ("repetition_penalty", "min_new_tokens")


def test_a_server_that_cannot_be_asked_gets_no_extra_fields(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = resolve_endpoint(Settings(base_url=f"http://127.0.0.1:{port}/v1", model="m", home=tmp_path))
    assert (endpoint.repeat_penalty_param, endpoint.min_tokens_param) == (None, None)


# ---- compose.yaml: vLLM's OpenAI server + `longwrite serve`, checked without docker


def _interpolate(value: Any) -> Any:
    """Compose's ${NAME:-default} with every variable unset, as a plain `docker compose up` sees it."""
    if isinstance(value, str):
        if re.search(r"\$\{[A-Z0-9_]+\}|\$[A-Z]", value):
            raise AssertionError(f"{value!r}: give every variable a default (${{NAME:-default}})")
        return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)
    if isinstance(value, list):
        return [_interpolate(item) for item in value]
    if isinstance(value, dict):
        return {key: _interpolate(item) for key, item in value.items()}
    return value


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _interpolate(yaml.safe_load((ROOT / "compose.yaml").read_text()))


def _flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_compose_serves_a_model_with_vllm_set_for_long_outputs(compose):
    vllm = compose["services"]["vllm"]
    assert vllm["image"].startswith("vllm/vllm-openai:") and not vllm["image"].endswith(":latest")
    command = vllm["command"]
    assert all(isinstance(word, str) for word in command)  # a list of words, never a shell string
    assert int(_flag(command, "--max-model-len")) >= 32_768  # room for a 10,000-word answer
    assert _flag(command, "--generation-config") == "vllm"
    assert vllm["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert vllm["ipc"] == "host"
    assert vllm["healthcheck"]["test"][0] == "CMD"


def test_compose_puts_longwrite_serve_in_front_of_that_vllm(compose):
    services = compose["services"]
    longwrite, vllm = services["longwrite"], services["vllm"]
    command = longwrite["command"]
    assert command[:2] == ["longwrite", "serve"]
    parse_cli(command[1:])  # every flag exists and takes what it is given
    assert _flag(command, "--base-url") == f"http://vllm:{_flag(vllm['command'], '--port')}/v1"
    assert _flag(command, "--model") == _flag(vllm["command"], "--served-model-name")
    assert _flag(command, "--host") == "0.0.0.0"
    assert longwrite["depends_on"]["vllm"]["condition"] == "service_healthy"
    host, container = longwrite["ports"][0].rsplit(":", 1)[0], longwrite["ports"][0].rsplit(":", 1)[1]
    assert host.startswith("127.0.0.1:") and container == _flag(command, "--port")  # this host only by default
    assert (ROOT / longwrite["build"] / "Dockerfile").is_file()


def test_compose_sets_only_variables_longwrite_reads_and_the_same_context(compose):
    environment = compose["services"]["longwrite"]["environment"]
    fields = Settings.model_fields
    for name in environment:
        assert name.startswith("LONGWRITE_") and name.removeprefix("LONGWRITE_").lower() in fields, name
    # longwrite plans its prompts for the window vLLM was given
    max_model_len = _flag(compose["services"]["vllm"]["command"], "--max-model-len")
    assert environment["LONGWRITE_CONTEXT_TOKENS"] == max_model_len
    Settings(**{name.removeprefix("LONGWRITE_").lower(): value for name, value in environment.items()})


def test_compose_volumes_are_declared(compose):
    declared = set(compose["volumes"])
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source in declared or source.startswith((".", "/")), volume

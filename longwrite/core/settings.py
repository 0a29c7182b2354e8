"""One Settings object for the whole product, read from LONGWRITE_* environment variables."""

from __future__ import annotations

import os
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from longwrite.core.endpoint_spec import EndpointSpec, clean_base_url
from longwrite.core.errors import InputError

# Above this a request is refused: 100,000 words is five times LongWrite-Ruler's longest
# length that any published system reaches and several hours on a CPU.
MAX_TARGET_WORDS = 100_000
# Where nothing plans a length that no one stated: model mode, auto's first answer, and the
# fallback outline when the model gives no usable plan (the agent's own plan sizes it otherwise).
DEFAULT_TARGET_WORDS = 2_000
# The most a plan may size a document that states no length. LongBench-Write labels its requests
# that state none 300 to 1,000 words; this leaves room for a task whose outline needs more (a
# report, a story) and stops a small model that gives every section the maximum from writing
# 12,000 words nobody asked for.
MAX_PLANNED_WORDS = 4_000


def _default_home() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "longwrite"


# How a server takes a JSON schema that constrains its answer (see model.client.json_schema_format).
StructuredOutput = Literal["json_schema", "llamacpp", "off"]


class Settings(BaseSettings):
    """Endpoint, sampling, context and caps; every field can be set as LONGWRITE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="LONGWRITE_", extra="ignore")

    # ---- endpoint (unset base_url = the embedded default)
    base_url: str | None = Field(None, description="OpenAI-compatible base URL, e.g. http://localhost:8000/v1")
    model: str | None = Field(None, description="model id; when unset and the server serves one model, that one")
    api_key: SecretStr | None = Field(None, description="bearer key for the endpoint")
    context_tokens: int | None = Field(
        None, gt=512, description="the endpoint's context window; default 8192 embedded, 32768 otherwise"
    )
    repeat_penalty_param: str | None = Field(
        None,
        description="name of the server's extra repetition-penalty field: repeat_penalty (llama.cpp), "
        "repetition_penalty (vLLM); unset for servers that reject unknown fields (OpenAI)",
    )

    min_tokens_param: str | None = Field(
        None,
        description="name of the server's extra minimum-answer-length field: min_tokens (vLLM, "
        "llama-cpp-python); unset for servers that reject unknown fields (OpenAI)",
    )

    structured_output: StructuredOutput = Field(
        "json_schema",
        description="how the server takes a JSON schema for constrained answers (the judge's): "
        "json_schema (OpenAI, vLLM, llama.cpp's own server), llamacpp (llama-cpp-python), off",
    )

    # ---- sampling
    temperature: float = Field(0.5, ge=0.0, le=2.0)  # the benchmark's setting (LongBench-Write)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = Field(
        "max_tokens", description="how the server wants the answer-length limit named"
    )
    # Repetition penalties of a section's first call, to prevent a loop rather than decode it and
    # cut it; unset: the server's measured profile (the embedded one's), else none sent.
    section_frequency_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    section_presence_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    section_repeat_penalty: float | None = Field(None, gt=0.0, le=2.0)
    # Stronger, for a section's continuations and for the rest of a section once a loop was cut.
    loop_frequency_penalty: float = Field(0.6, ge=-2.0, le=2.0)
    loop_presence_penalty: float = Field(0.4, ge=-2.0, le=2.0)
    loop_repeat_penalty: float = Field(1.25, gt=0.0, le=2.0)
    # Milder, for model mode's one call held to a length (--hold-length): over a long answer the
    # loop profile makes a small model drift into other words soonest (docs/BENCHMARKS.md,
    # "Decoding profiles for a held answer").
    held_frequency_penalty: float = Field(0.3, ge=-2.0, le=2.0)
    held_presence_penalty: float = Field(0.2, ge=-2.0, le=2.0)
    held_repeat_penalty: float = Field(1.1, gt=0.0, le=2.0)

    # ---- HTTP behaviour: a dead or silent server fails in seconds, a slow one gets minutes (see model/waits.py)
    connect_timeout_s: float = Field(10.0, gt=0, description="to open a connection to the model server")
    first_byte_timeout_s: float = Field(
        10.0,
        gt=0,
        description="before each model call the server must answer a plain GET within this; one that "
        "accepts connections and answers nothing fails in seconds (10 s x 3 tries: 31 s with the default retries)",
    )
    request_timeout_s: float = Field(
        600.0,
        gt=0,
        description="for a model answer to start (the server queues the request and reads the prompt: "
        "minutes for a long prompt on a CPU), and for a non-streamed answer to arrive whole",
    )
    stall_timeout_s: float = Field(
        120.0,
        gt=0,
        description="once an answer streams, the longest silence in it: this long with nothing from the "
        "server fails the call (the embedded server sends a keep-alive every 15 s)",
    )
    max_retries: int = Field(2, ge=0, le=10)  # connection errors, timeouts, 429 and 5xx, with backoff
    min_tokens_per_s: float = Field(
        0.25,
        ge=0,
        description="once an answer streams, the slowest pace a call may keep over LONGWRITE_RATE_WINDOW_S: a "
        "server that trickles tokens slower than this fails the call (0: no floor)",
    )
    rate_window_s: float = Field(120.0, gt=0, description="the window over which min_tokens_per_s is measured")
    answer_time_limit_s: float | None = Field(
        None,
        gt=0,
        description="model mode: a one-call answer still streaming after this long is cut where it is and "
        "kept (a server whose tokens trickle cannot hold an evaluation for hours); unset: no limit",
    )

    # ---- lengths and caps
    default_target_words: int = Field(DEFAULT_TARGET_WORDS, gt=0)
    max_planned_words: int = Field(
        MAX_PLANNED_WORDS, gt=0, description="cap on the length a plan gives a request that states none"
    )
    max_target_words: int = Field(MAX_TARGET_WORDS, gt=0)
    max_instruction_chars: int = Field(50_000, gt=0)
    short_target_words: int = Field(400, ge=0, description="below this, no plan: one call")
    min_section_words: int = Field(200, gt=0)
    max_section_words: int = Field(1_000, gt=0)
    section_words: int | None = Field(
        None, gt=0, description="planned words per section; default 250 on the embedded model, 500 otherwise"
    )
    plan_attempts: int = Field(3, ge=1, le=10, description="bad plans before the fallback outline")
    plan_extensions: int = Field(
        4, ge=0, le=20, description="times sections may be added when the model writes well below its budgets"
    )
    section_calls: int = Field(8, ge=1, le=20, description="model calls per section, continuations included")

    # ---- `longwrite serve`
    max_concurrent_writes: int = Field(
        2, ge=1, le=64, description="agent writes running at once; more get HTTP 429 with Retry-After"
    )
    backend_api_key: SecretStr | None = Field(
        None, description="key `longwrite serve` sends to its backend (LONGWRITE_API_KEY is the key it asks of clients)"
    )
    max_request_bytes: int = Field(1_000_000, gt=0, description="larger HTTP bodies get 413")
    allowed_endpoints: str | None = Field(
        None,
        description="other endpoints a page user may name in the Endpoint panel (the server then fetches "
        "them): comma-separated URL prefixes (https://models.example/v1) or hosts (models.example, "
        "10.0.0.5:8001); '*' allows any, 'none' none. Unset: any when the server listens on loopback only "
        "(set it behind a reverse proxy), none otherwise",
    )

    # ---- embedded default
    embedded_context_tokens: int = Field(8_192, gt=512)
    embedded_adapter: str = Field(
        "shipped",
        description="LoRA adapter on the embedded model: shipped (longwrite's trained long-output adapter, "
        "when the package has one), none (the untrained SmolLM2-135M-Instruct), or the path of a GGUF LoRA file",
    )
    embedded_model_file: str | None = Field(
        None,
        description="a GGUF model the embedded server loads instead of the shipped SmolLM2-135M-Instruct "
        "(a fully fine-tuned one that `longwrite pipeline` exported); unset: the shipped one",
    )
    embedded_threads: int | None = Field(None, gt=0)
    embedded_start_timeout_s: float = Field(120.0, gt=0)
    engine_start_timeout_s: float = Field(900.0, gt=0, description="`serve-model`: large models take minutes to load")

    # ---- where jobs and logs live
    home: Path = Field(default_factory=_default_home)

    def __init__(self, **values: Any) -> None:
        # a bad LONGWRITE_* value is the user's input: one line naming it, not pydantic's report
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise InputError(describe_invalid(error, type(self).model_fields)) from error

    @field_validator("base_url")
    @classmethod
    def _strip_base_url(cls, value: str | None) -> str | None:
        return clean_base_url(value)

    @property
    def endpoint(self) -> EndpointSpec:
        """The endpoint these settings name (LONGWRITE_BASE_URL, _MODEL, _API_KEY): one EndpointSpec,
        kept as three flat variables because they are the documented names."""
        return EndpointSpec(base_url=self.base_url, model=self.model, api_key=self.api_key)

    @property
    def jobs_db(self) -> Path:
        return self.home / "jobs.sqlite"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"


def describe_invalid(error: ValidationError, fields: dict[str, FieldInfo]) -> str:
    """One sentence naming each bad variable, the value it had and what it takes."""
    problems = []
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        shown = repr(item["input"]) if isinstance(item["input"], str | int | float) else "its value"
        takes = what_it_takes(fields[name]) if name in fields else item["msg"]
        problems.append(f"LONGWRITE_{name.upper()}={shown} is not valid: it takes {takes}")
    return "; ".join(problems) + "."


def what_it_takes(field: FieldInfo) -> str:
    """`a number >= 0.0 and <= 2.0`, `one of json_schema, llamacpp, off`, ... for a settings field."""
    annotation: Any = field.annotation
    if get_origin(annotation) in (Union, types.UnionType):  # X | None: what is set is an X
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(choice) for choice in get_args(annotation))
    kinds = {int: "a whole number", float: "a number", bool: "true or false", Path: "a path"}
    bounds = [
        f"{sign} {getattr(rule, attribute)}"
        for rule in field.metadata
        for attribute, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
        if getattr(rule, attribute, None) is not None
    ]
    kind = kinds.get(annotation, "text")
    return f"{kind} {' and '.join(bounds)}" if bounds else kind


# With no endpoint, model "base" means the shipped embedded model without longwrite's long-output adapter.
UNTRAINED_EMBEDDED = "base"


def settings_from(base_url: str | None = None, model: str | None = None, api_key: str | None = None) -> Settings:
    """The settings of the environment with an endpoint given by a caller (CLI flags, the Python
    API); `model="base"` with no endpoint asks the untrained embedded model."""
    overrides = {k: v for k, v in {"base_url": base_url, "model": model, "api_key": api_key}.items() if v}
    settings = Settings(**overrides)
    if not settings.base_url and settings.model == UNTRAINED_EMBEDDED:
        return settings.model_copy(update={"model": None, "embedded_adapter": "none", "embedded_model_file": None})
    return settings

"""One Settings object for the whole product, read from LONGWRITE_* environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Above this a request is refused: 100,000 words is five times LongWrite-Ruler's longest
# length that any published system reaches and several hours on a CPU.
MAX_TARGET_WORDS = 100_000
# Used when neither --words nor the instruction says how long the document should be.
DEFAULT_TARGET_WORDS = 2_000


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
    loop_frequency_penalty: float = 0.6  # used only when a loop was cut and the rest is rewritten
    loop_presence_penalty: float = 0.4
    loop_repeat_penalty: float = 1.25

    # ---- HTTP behaviour: explicit timeouts and a short, visible retry budget
    connect_timeout_s: float = 10.0
    request_timeout_s: float = 600.0  # one section on a slow CPU backend can take minutes
    max_retries: int = Field(2, ge=0, le=10)  # connection errors, 429 and 5xx, with backoff

    # ---- lengths and caps
    default_target_words: int = Field(DEFAULT_TARGET_WORDS, gt=0)
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

    # ---- embedded default
    embedded_context_tokens: int = Field(8_192, gt=512)
    embedded_adapter: str = Field(
        "shipped",
        description="LoRA adapter on the embedded model: shipped (longwrite's trained long-output adapter, "
        "when the package has one), none (the untrained SmolLM2-135M-Instruct), or the path of a GGUF LoRA file",
    )
    embedded_threads: int | None = Field(None, gt=0)
    embedded_start_timeout_s: float = Field(120.0, gt=0)
    engine_start_timeout_s: float = Field(900.0, gt=0, description="`serve-model`: large models take minutes to load")

    # ---- where jobs and logs live
    home: Path = Field(default_factory=_default_home)

    @field_validator("base_url")
    @classmethod
    def _strip_base_url(cls, value: str | None) -> str | None:
        return value.strip().rstrip("/") or None if value else None

    @property
    def jobs_db(self) -> Path:
        return self.home / "jobs.sqlite"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()

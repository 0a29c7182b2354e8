"""The one description of a model endpoint as a user gives it: base URL, model, key, extra request
parameters. Settings, every recipe section that talks to a model and the CLI's prefixed options
(`--judge-base-url` ...) all hold one; `model.client` resolves it to a live endpoint.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

NO_KEY = "not-needed"  # what the client library is given when a local server wants no key


def clean_base_url(value: str | None) -> str | None:
    """A base URL as typed, without surrounding space or a trailing slash; None when empty."""
    return (value.strip().rstrip("/") or None) if value else None


class EndpointSpec(BaseModel):
    """Where a model is served. An unset `base_url` means the embedded default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = Field(None, description="OpenAI-compatible base URL, e.g. http://localhost:8000/v1")
    model: str | None = Field(None, description="model id; unset: the one model the server serves")
    api_key: SecretStr | None = Field(None, description="bearer key for the endpoint")
    extra: dict[str, Any] = Field(default_factory=dict, description="extra fields sent with every request")

    @field_validator("base_url")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return clean_base_url(value)

    @property
    def key(self) -> str:
        """The key the client library sends."""
        return self.api_key.get_secret_value() if self.api_key else NO_KEY

    @property
    def embedded(self) -> bool:
        return self.base_url is None

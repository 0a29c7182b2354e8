"""The one place a chat model client is built, and the translation of its failures."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import openai
from langchain_openai import ChatOpenAI

from longwrite.errors import BackendError, LongwriteError
from longwrite.settings import Settings, StructuredOutput

REMOTE_CONTEXT_TOKENS = 32_768  # assumed for a remote endpoint unless LONGWRITE_CONTEXT_TOKENS says


@dataclass(frozen=True)
class Endpoint:
    """Where to send chat requests and what the server there can take."""

    base_url: str
    model: str
    api_key: str = "not-needed"  # local servers ignore it; the client library wants a value
    context_tokens: int = REMOTE_CONTEXT_TOKENS
    repeat_penalty_param: str | None = None
    min_tokens_param: str | None = None  # the server's field for a floor on the answer's length
    structured_output: StructuredOutput = "json_schema"  # see Settings.structured_output
    section_words: int = 500  # what the agent plans per section on this model
    # Outlines carry one sentence per section on what it covers; a small model's are mostly noise
    # (links, brackets, "1000 words") and, decoded under a JSON grammar, double planning time.
    outline_points: bool = True
    label: str = ""  # how reports name the backend

    @property
    def backend(self) -> str:
        """How logs, reports and /health name the backend: never with credentials in its URL."""
        return self.label or f"{self.model} at {redacted_url(self.base_url)}"


def redacted_url(url: str) -> str:
    """`url` with any user name and password in it replaced by '***'."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


_HTTP_CLIENTS: dict[tuple[str, float, float], httpx.Client] = {}
_HTTP_CLIENTS_LOCK = threading.Lock()


def _http_client(base_url: str, timeout: httpx.Timeout) -> httpx.Client:
    """One pooled HTTP client per endpoint and timeout, shared by every chat model built for it.

    Without it, each ChatOpenAI builds its own client (langchain caches clients only for a
    plain-number timeout): a new TLS context and a new connection for every call, and memory
    that a long-running server never gets back.
    """
    key = (base_url, timeout.read or 0.0, timeout.connect or 0.0)
    with _HTTP_CLIENTS_LOCK:
        client = _HTTP_CLIENTS.get(key)
        if client is None or client.is_closed:
            client = _HTTP_CLIENTS[key] = httpx.Client(timeout=timeout)
        return client


def chat_model(endpoint: Endpoint, settings: Settings, **overrides: Any) -> ChatOpenAI:
    """A ChatOpenAI client for `endpoint` with explicit timeouts and a short retry budget.

    The openai client retries connection errors, 429 and 5xx with exponential backoff; the
    budget is `settings.max_retries`, so a dead server fails in seconds, not minutes.
    """
    timeout = httpx.Timeout(settings.request_timeout_s, connect=settings.connect_timeout_s)
    options: dict[str, Any] = {
        "base_url": endpoint.base_url,
        "model": endpoint.model,
        "api_key": endpoint.api_key,
        "temperature": settings.temperature,
        "timeout": timeout,
        "max_retries": settings.max_retries,
        "http_client": _http_client(endpoint.base_url, timeout),
    }
    if settings.top_p is not None:
        options["top_p"] = settings.top_p
    options.update(overrides)
    return ChatOpenAI(**options)


def json_schema_format(dialect: StructuredOutput, name: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The `response_format` that makes answers follow `schema` on a server that takes the
    `dialect` (an Endpoint's structured_output); None where it takes none.

    Constrained decoding turns an outline or a judgement that a small model would garble into
    valid JSON; OpenAI, vLLM and llama.cpp's own server take the OpenAI form, llama-cpp-python
    its own.
    """
    if dialect == "llamacpp":
        return {"type": "json_object", "schema": schema}
    if dialect == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
    return None


def refused_response_format(error: openai.APIStatusError) -> bool:
    """True when a request failed because the server does not take its response_format.

    OpenAI and vLLM answer 400 or 422; llama-cpp-python answers 500 with its validation error
    (the field's name in the message) when sent a dialect it does not know.
    """
    return error.status_code in (400, 422) or (error.status_code == 500 and "response_format" in str(error))


def resolve_endpoint(settings: Settings) -> Endpoint:
    """The remote endpoint the settings describe; asks the server for its model if none is set."""
    if not settings.base_url:
        raise LongwriteError("No base URL is set; the embedded default is started by model.embedded.")
    api_key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
    model = settings.model or _only_served_model(settings.base_url, api_key, settings)
    return Endpoint(
        base_url=settings.base_url,
        model=model,
        api_key=api_key,
        context_tokens=settings.context_tokens or REMOTE_CONTEXT_TOKENS,
        repeat_penalty_param=settings.repeat_penalty_param,
        min_tokens_param=settings.min_tokens_param,
        structured_output=settings.structured_output,
        section_words=settings.section_words or 500,
    )


def _only_served_model(base_url: str, api_key: str, settings: Settings) -> str:
    url = f"{base_url}/models"
    shown = redacted_url(base_url)
    try:
        response = httpx.get(
            url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(30.0, connect=settings.connect_timeout_s),
        )
        response.raise_for_status()
        ids = [entry["id"] for entry in response.json()["data"]]
    except httpx.ConnectError as error:
        raise BackendError(f"Nothing answers at {shown}; start the server there or fix --base-url.") from error
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
        reason = _short(error)
        raise BackendError(f"{shown}/models did not list its models ({reason}); pass --model to name one.") from error
    if len(ids) != 1:
        served = ", ".join(ids) or "none"
        raise BackendError(f"The server at {shown} serves {served}; pass --model to choose one.")
    return ids[0]


@contextlib.contextmanager
def backend_errors(endpoint: Endpoint) -> Iterator[None]:
    """Turn client exceptions into one clear BackendError sentence."""
    where = redacted_url(endpoint.base_url)
    try:
        yield
    except openai.APIConnectionError as error:  # also covers timeouts
        kind = "timed out" if isinstance(error, openai.APITimeoutError) else "could not be reached"
        raise BackendError(
            f"The model server at {where} {kind}; check that it is running and --base-url is right."
        ) from error
    except openai.AuthenticationError as error:
        raise BackendError(f"The server at {where} refused the API key; set --api-key.") from error
    except openai.NotFoundError as error:
        raise BackendError(
            f"The server at {where} does not serve model '{endpoint.model}'; pass --model with one it serves."
        ) from error
    except openai.APIStatusError as error:
        raise BackendError(
            f"The server at {where} answered HTTP {error.status_code} ({_short(error)}); "
            "check its log, then retry or resume the job."
        ) from error
    except (openai.APIResponseValidationError, json.JSONDecodeError) as error:
        raise BackendError(
            f"The server at {where} answered something that is not an OpenAI chat response "
            f"({_short(error)}); check that --base-url points at the /v1 API."
        ) from error


def _short(error: BaseException, limit: int = 160) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."

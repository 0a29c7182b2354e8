"""The one place a chat model client is built, and the translation of its failures."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import openai
from langchain_openai import ChatOpenAI

from longwrite.core.endpoint_spec import NO_KEY
from longwrite.core.errors import BackendError, LongwriteError
from longwrite.core.settings import Settings, StructuredOutput
from longwrite.model.overflow import overflow_of, prompt_too_long
from longwrite.model.sdk_http import sdk_http
from longwrite.model.waits import SilentServer, Waits, check_answers, http_client, wait_that_ran_out

REMOTE_CONTEXT_TOKENS = 32_768  # assumed for a remote endpoint unless LONGWRITE_CONTEXT_TOKENS says
REMOTE_SECTION_WORDS = 500  # what the agent plans per section on a remote model unless LONGWRITE_SECTION_WORDS says


@dataclass(frozen=True)
class Endpoint:
    """Where to send chat requests and what the server there can take."""

    base_url: str
    model: str
    api_key: str = NO_KEY  # local servers ignore it; the client library wants a value
    context_tokens: int = REMOTE_CONTEXT_TOKENS
    repeat_penalty_param: str | None = None
    min_tokens_param: str | None = None  # the server's field for a floor on the answer's length
    structured_output: StructuredOutput = "json_schema"  # see Settings.structured_output
    section_words: int = REMOTE_SECTION_WORDS  # what the agent plans per section on this model
    # Outlines carry one sentence per section on what it covers; a small model's are mostly noise
    # (links, brackets, "1000 words") and, decoded under a JSON grammar, double planning time.
    outline_points: bool = True
    # Repetition penalties (frequency, presence, repeat) of a section's first call on this server,
    # chosen by measurement (bench/section_penalties.py); None: none sent unless settings say so.
    first_call_penalties: tuple[float, float, float] | None = None
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


def chat_model(endpoint: Endpoint, settings: Settings, **overrides: Any) -> ChatOpenAI:
    """A ChatOpenAI client for `endpoint` with explicit waits (model.waits) and a short retry budget.

    The openai client retries connection errors, timeouts, 429 and 5xx with exponential backoff;
    the budget is `settings.max_retries`, so a dead or silent server fails in seconds, not minutes.
    """
    waits = Waits.from_settings(settings)
    options: dict[str, Any] = {
        "base_url": endpoint.base_url,
        "model": endpoint.model,
        "api_key": endpoint.api_key,
        "temperature": settings.temperature,
        "timeout": waits.client_timeout(),
        "max_retries": settings.max_retries,
        "http_client": http_client(endpoint.base_url, waits),
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


@dataclass(frozen=True)
class SamplingFields:
    """What a server calls the extra sampling fields the agent sends (None: it takes none)."""

    repeat_penalty_param: str | None
    min_tokens_param: str | None


# Servers known by what they write into `owned_by` in their /v1/models list: vLLM "vllm",
# llama.cpp's own llama-server "llamacpp" (it has no floor on an answer's length), and
# llama-cpp-python (`serve-model --engine llamacpp`, the embedded default) "me". OpenAI answers
# "system" or an organisation, so nothing is sent there that it would reject.
KNOWN_SERVERS: dict[str, SamplingFields] = {
    "vllm": SamplingFields("repetition_penalty", "min_tokens"),
    "llamacpp": SamplingFields("repeat_penalty", None),
    "me": SamplingFields("repeat_penalty", "min_tokens"),
}
UNKNOWN_SERVER = SamplingFields(None, None)


def sampling_fields(models: list[dict[str, Any]]) -> SamplingFields:
    """The fields of the server whose /v1/models entries are `models`, when it says what it is."""
    owners = {entry.get("owned_by") for entry in models if isinstance(entry, dict)}
    known = [KNOWN_SERVERS[owner] for owner in owners if isinstance(owner, str) and owner in KNOWN_SERVERS]
    return known[0] if len(known) == 1 and len(owners) == 1 else UNKNOWN_SERVER


def resolve_endpoint(settings: Settings) -> Endpoint:
    """The remote endpoint the settings describe; asks the server for its model if none is set,
    and for what it is, so vLLM and llama.cpp get their own names for the extra sampling fields."""
    if not settings.base_url:
        raise LongwriteError("No base URL is set; the embedded default is started by model.embedded.")
    api_key = settings.endpoint.key
    models: list[dict[str, Any]] = []
    if not settings.model:
        models = _served_models(settings.base_url, api_key, settings)
        model = _only_served_model(models, settings.base_url)
    else:
        model = settings.model
        if settings.repeat_penalty_param is None or settings.min_tokens_param is None:
            with contextlib.suppress(BackendError):  # only a guess: the first chat call reports a dead server
                models = _served_models(settings.base_url, api_key, settings)
    detected = sampling_fields(models)
    return Endpoint(
        base_url=settings.base_url,
        model=model,
        api_key=api_key,
        context_tokens=settings.context_tokens or REMOTE_CONTEXT_TOKENS,
        repeat_penalty_param=_chosen(settings.repeat_penalty_param, detected.repeat_penalty_param),
        min_tokens_param=_chosen(settings.min_tokens_param, detected.min_tokens_param),
        structured_output=settings.structured_output,
        section_words=settings.section_words or REMOTE_SECTION_WORDS,
    )


def _chosen(explicit: str | None, detected: str | None) -> str | None:
    """The user's LONGWRITE_*_PARAM when set (empty: send none), else what the server was found to take."""
    return (explicit if explicit is not None else detected) or None


def _only_served_model(models: list[dict[str, Any]], base_url: str) -> str:
    ids = [entry["id"] for entry in models]
    if len(ids) != 1:
        served = ", ".join(ids) or "none"
        raise BackendError(f"The server at {redacted_url(base_url)} serves {served}; pass --model to choose one.")
    return ids[0]


def _served_models(base_url: str, api_key: str, settings: Settings) -> list[dict[str, Any]]:
    """The entries of the server's /v1/models list (each with at least an id)."""
    url = f"{base_url}/models"
    shown = redacted_url(base_url)
    waits = Waits.from_settings(settings)
    try:
        check_answers(base_url, waits)  # a silent listener fails here in seconds
        # then a long wait: llama-cpp-python answers /models only when its model is free
        timeout = httpx.Timeout(waits.answer_start, connect=waits.connect)  # our own request: httpx's type
        response = httpx.get(url, headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout)
        response.raise_for_status()
        models = response.json()["data"]
        if not all(isinstance(entry, dict) and isinstance(entry.get("id"), str) for entry in models):
            raise ValueError("an entry has no id")
    except (httpx.ConnectError, sdk_http.ConnectError) as error:  # the probe runs on the SDK's library
        raise BackendError(f"Nothing answers at {shown}; start the server there or fix --base-url.") from error
    except SilentServer as error:
        raise BackendError(f"{error.explain(shown)}; {error.advice}") from error
    except (httpx.HTTPError, sdk_http.HTTPError, ValueError, KeyError, TypeError) as error:
        reason = _short(error)
        raise BackendError(f"{shown}/models did not list its models ({reason}); pass --model to name one.") from error
    return models


@contextlib.contextmanager
def backend_errors(endpoint: Endpoint) -> Iterator[None]:
    """Turn client exceptions into one clear BackendError sentence."""
    where = redacted_url(endpoint.base_url)
    try:
        yield
    except openai.APIConnectionError as error:  # also covers timeouts
        waited = wait_that_ran_out(error)
        if waited is not None:
            raise BackendError(f"{waited.explain(where)}; {waited.advice}") from error
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
        overflow = overflow_of(error)
        if overflow is not None:
            raise prompt_too_long(overflow, where) from error
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

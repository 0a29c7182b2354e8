"""What the API routes call: chat writes by the agent (or model first), run off the event loop."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from longwrite.agent.jobs import JobResult
from longwrite.agent.runner import WriteRequest, write
from longwrite.agent.state import AgentContext
from longwrite.core.endpoint_spec import clean_base_url
from longwrite.core.errors import InputError
from longwrite.core.limits import check_instruction, target_from, target_length
from longwrite.core.modes import Mode
from longwrite.core.settings import Settings
from longwrite.core.text import count_tokens, count_words, length_score
from longwrite.model.client import Endpoint, backend_errors, resolve_endpoint
from longwrite.ui.endpoints import LOOPBACK, EndpointAllowList
from longwrite.ui.errors import busy
from longwrite.ui.schemas import AGENT_MODEL, AUTO_MODEL, Usage, WriteInfo
from longwrite.ui.slots import WriteSlots

T = TypeVar("T")
# (instruction, target, on_event, cancel) -> the finished job (a JobManager.write_attached with its job id)
AgentWriter = Callable[[str, int | None, Callable[[dict[str, Any]], None], threading.Event], JobResult]
CHAT_MODES: dict[str, Mode] = {AGENT_MODEL: "agent", AUTO_MODEL: "auto"}
RETRY_AFTER_S = 30  # a short write on the embedded model takes about this long
REQUEST_EXAMPLE = '{"model": "agentwrite", "messages": [{"role": "user", "content": "Write a 3000-word ..."}]}'


@dataclass(frozen=True)
class ChatOutcome:
    document: str
    usage: Usage
    info: WriteInfo


class WriteService:
    """The backend endpoint, the settings and the write slots, shared by every route."""

    def __init__(self, endpoint: Endpoint, settings: Settings, allowed: EndpointAllowList | None = None) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self.slots = WriteSlots(settings.max_concurrent_writes)
        # the other endpoints a page user may name (ui/endpoints.py); default: a server on loopback
        self.allowed = allowed or EndpointAllowList.from_setting(settings.allowed_endpoints, LOOPBACK)

    def check(
        self,
        instruction: str | None,
        target_words: int | None,
        example: str = REQUEST_EXAMPLE,
        target_name: str = "target_words",
    ) -> tuple[str, int | None]:
        """The instruction and its target (None: it states no length, so the plan sizes it), or an
        InputError that says what to fix (in the caller's terms)."""
        text = check_instruction(instruction, self.settings, example=example)
        return text, target_length(text, target_words, target_name, self.settings)

    def take_slot(self) -> None:
        if not self.slots.try_acquire():
            raise busy(self.slots.in_use, RETRY_AFTER_S)

    def context(self, cancel: threading.Event | None = None, endpoint: Endpoint | None = None) -> AgentContext:
        return AgentContext.for_endpoint(endpoint or self.endpoint, self.settings, cancel)

    def endpoint_for(self, base_url: str | None, model: str | None) -> Endpoint:
        """The server's backend, or another OpenAI-compatible endpoint a page user names (asked
        for its model when none is given; BackendError when nothing answers there)."""
        url = clean_base_url(base_url)
        if url is None:
            return self.endpoint
        if not url.startswith(("http://", "https://")):
            raise InputError(
                f"The base URL {url!r} must start with http:// or https://, e.g. http://localhost:8001/v1."
            )
        if url != self.endpoint.base_url:
            self.allowed.check(url)  # before any request: the server fetches what it is given
        other = self.settings.model_copy(
            update={"base_url": url, "model": (model or "").strip() or None, "api_key": None}
        )
        return resolve_endpoint(other)

    def write_chat(
        self,
        model: str,
        instruction: str,
        target: int | None,
        on_event: Callable[[dict[str, Any]], None],
        cancel: threading.Event,
        write_agent: AgentWriter | None = None,
        hold_length: bool = False,
    ) -> ChatOutcome:
        """Write the answer to one chat request (blocking: call it from a worker thread); with no
        target the agent's plan sizes the document, and auto judges its first answer by the default.

        write_agent runs the agent (the server passes JobManager.write_attached, which keeps the
        write as a resumable job); without it the checkpoints stay in memory."""
        mode = CHAT_MODES.get(model, "model")  # any other model id: the backend's, in model mode
        # model mode writes on the backend model the request names
        endpoint = self.endpoint if mode != "model" else dataclasses.replace(self.endpoint, model=model)
        ctx = self.context(cancel, endpoint)
        source = target_from(instruction, target)
        job = None
        with backend_errors(endpoint):
            if mode == "agent" and write_agent is not None:
                result = write_agent(instruction, target, on_event, cancel)
                document, path, reason, target, job = result.document, "agent", "", result.target, result.job
            else:
                if mode != "agent" and target is None:
                    source = "default"
                request = WriteRequest(instruction, target, mode, hold_length=hold_length)
                written = write(ctx, request, on_event=on_event)
                document, path, reason, target = written.document, written.path, written.reason, written.target
        words = count_words(document)
        score = length_score(target, words)
        prompt_tokens, completion_tokens = count_tokens(instruction), count_tokens(document)
        return ChatOutcome(
            document=document,
            usage=Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            ),
            info=WriteInfo(
                path=path,
                reason=reason,
                words=words,
                target_words=target,
                target_from=source,
                length_score=round(score, 2),
                job=job,
            ),
        )

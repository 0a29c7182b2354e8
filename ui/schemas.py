"""Request and response bodies of the HTTP API, in OpenAI's shape and field order."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

AGENT_MODEL = "agentwrite"  # the agent, as a model
AUTO_MODEL = "auto"  # the served model first, the agent as its fallback
OWN_MODELS = (AGENT_MODEL, AUTO_MODEL)


class ContentPart(BaseModel):
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    include_usage: StrictBool = False


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat request; unknown fields are kept and passed on to the backend."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    target_words: StrictInt | None = None  # longwrite's extra field; else the length comes from the instruction
    # longwrite's extra field: a backend model's one call held to the stated length (model mode)
    hold_length: StrictBool = False

    def instruction(self) -> str:
        """The last user message: what the agent writes."""
        users = [m for m in self.messages if m.role == "user"]
        return users[-1].text() if users else ""


class WriteJobRequest(BaseModel):
    instruction: str
    target_words: StrictInt | None = None
    plan_only: StrictBool = False  # stop after the plan: a "planned" job that /resume writes


class PlanSection(BaseModel):
    """One section of an edited plan, as GET /v1/writes/{id} shows the plan. Its shape only: the
    rule (a title, a positive budget) is agent/plan_rules.py's, applied when the plan goes into the job."""

    title: str
    points: str = ""
    words: StrictInt


class ResumeRequest(BaseModel):
    """POST /v1/writes/{id}/resume's optional body: a planned job's edited plan and title."""

    plan: list[PlanSection] | None = Field(default=None, min_length=1)
    title: str | None = None


class RewriteRequest(BaseModel):
    """POST /v1/writes/{id}/sections/{n}/rewrite's optional body: what to change, and a new length."""

    note: str = ""
    words: StrictInt | None = None


class ExtendRequest(BaseModel):
    """POST /v1/writes/{id}/extend's body: how many words to add after the end."""

    words: StrictInt


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class WriteInfo(BaseModel):
    """How the answer was made (an extra field OpenAI clients keep as-is)."""

    path: str  # "agent", "model" or "model+agent"
    reason: str = ""
    words: int
    target_words: int
    # where target_words came from: "request" (target_words), "instruction" (the length it
    # states), "plan" (it states none: the plan sized it) or "default" (auto's first answer)
    target_from: str = ""
    length_score: float
    job: str | None = None  # an agentwrite answer is kept as a job: /v1/writes/{job}


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def completion_body(completion: str, model: str, content: str, usage: Usage, info: WriteInfo | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": completion,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": usage.model_dump(),
    }
    if info:
        body["longwrite"] = info.model_dump()
    return body


def chunk_body(
    completion: str,
    model: str,
    delta: dict[str, Any] | None,
    finish_reason: str | None = None,
    usage: Usage | None = None,
    info: WriteInfo | None = None,
) -> dict[str, Any]:
    """One streamed chunk; `delta=None` makes the usage-only chunk that ends an include_usage stream."""
    body: dict[str, Any] = {
        "id": completion,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }
    if usage is not None:
        body["usage"] = usage.model_dump()
    if info:
        body["longwrite"] = info.model_dump()
    return body


def error_body(message: str, kind: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error object."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def model_entry(model_id: str, owner: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owner}

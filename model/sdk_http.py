"""The HTTP library the installed OpenAI SDK runs on: httpx before openai 3.57, httpx2 since.

Whatever is handed to the SDK (the pooled client with its watched transport, its timeouts) and
whatever the transport raises must be that library's own types: the SDK refuses another
library's Timeout, and only its own library's timeouts and connection errors become its
APITimeoutError and APIConnectionError (which it retries). So model.waits builds on this module,
never on a fixed import; the project's own probes (model lists, health checks) use httpx directly.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

import openai

# The libraries the SDK has been built on, newest first.
CANDIDATES = ("httpx2", "httpx")


def _sdk_http_library() -> ModuleType:
    # openai.Timeout is the SDK's name for its library's Timeout (openai renames its __module__)
    for name in CANDIDATES:
        if importlib.util.find_spec(name) is not None:
            module = importlib.import_module(name)
            if getattr(module, "Timeout", None) is openai.Timeout:
                return module
    raise ImportError(f"The installed openai {openai.__version__} runs on none of {', '.join(CANDIDATES)}.")


sdk_http: ModuleType = _sdk_http_library()

"""Messages in the page's own words.

The product's errors are written for the command line and the API ("fix --base-url", "POST
/v1/writes/ID/resume"); the page has boxes and buttons instead. One table turns the first into
the second, so a message is written once, where the error is raised, and reads right in both.
"""

from __future__ import annotations

import re

# (pattern, replacement), applied in order: the longer phrases before the bare flags
_PAGE_TERMS: tuple[tuple[str, str], ...] = (
    (r"start the server there or fix --base-url", "start that server, or correct the Base URL under Endpoint"),
    (r"check that --base-url points at (?:its|the) /v1(?: API)?", "check that the Base URL under Endpoint ends in /v1"),
    (r"check that it is running and --base-url is right", "check that it is running and the Base URL is right"),
    (r"(?:pass|give) --model (?:to choose one|to name one|with one it serves)", "name one in the Model box"),
    (r"(?:with|check the model with) --base-url", "under Endpoint"),
    (r"set --api-key", "ask whoever runs the server for the key"),
    (r"or give --base-url to use another server", "or name another server under Endpoint"),
    (r"[;,.]? ?GET /v1/writes lists the jobs\.?", "."),
    (r"resume it: POST /v1/writes/\S+/resume\.?", "press Resume."),
    (r"POST /v1/writes/\S+/resume", "Resume"),
    (r"--base-url", "the Base URL under Endpoint"),
    (r"--model", "the Model box under Endpoint"),
    (r"\bwrite job\b", "document"),
)


def in_page_words(message: str) -> str:
    """`message` with command-line flags and API routes named as the page's controls."""
    for pattern, replacement in _PAGE_TERMS:
        message = re.sub(pattern, replacement, message)
    return re.sub(r"\.\.+", ".", message).strip()

"""How the page reports a product error: a lasting note in a status line, in the page's words
(never a pop-up, never a traceback)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from longwrite.core.errors import LongwriteError
from longwrite.ui.errors import ApiError
from longwrite.ui.page_words import in_page_words


def error_note(error: Exception) -> str:
    text = error.message if isinstance(error, ApiError) else str(error)
    return f"**Error**: {in_page_words(text)}"


def reported(status: gr.Markdown) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Product errors of a handler (plain or streaming) become a lasting note in `status`."""

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isgeneratorfunction(handler):

            @functools.wraps(handler)
            def streaming(*args: Any) -> Iterator[Any]:
                try:
                    yield from handler(*args)
                except (LongwriteError, ApiError) as error:
                    yield {status: error_note(error)}

            return streaming

        @functools.wraps(handler)
        def plain(*args: Any) -> Any:
            try:
                return handler(*args)
            except (LongwriteError, ApiError) as error:
                return {status: error_note(error)}

        return plain

    return decorate

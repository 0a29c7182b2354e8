"""HTTP errors in OpenAI's error shape, and the status each product error maps to."""

from __future__ import annotations

from longwrite.core.errors import (
    BackendError,
    Cancelled,
    GenerationError,
    InputError,
    LongwriteError,
    StorageError,
    TooLargeError,
)


class ApiError(Exception):
    """An error the API returns as it is: status, OpenAI error type and a message that says what to fix."""

    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "invalid_request_error",
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.code = code
        self.headers = headers or {}


def busy(running: int, retry_after_s: int) -> ApiError:
    return ApiError(
        429,
        f"{running} writes are running, the most this server allows at once; retry in {retry_after_s} s "
        "(or raise LONGWRITE_MAX_CONCURRENT_WRITES on the server).",
        kind="rate_limit_error",
        code="too_many_writes",
        headers={"Retry-After": str(retry_after_s)},
    )


def from_product_error(error: LongwriteError) -> ApiError:
    """The HTTP form of an error the agent or the checks raised."""
    if isinstance(error, TooLargeError):
        return ApiError(413, str(error), code="too_large")
    if isinstance(error, InputError):
        return ApiError(400, str(error))
    if isinstance(error, BackendError):
        return ApiError(502, str(error), kind="backend_error", code="backend_failed")
    if isinstance(error, GenerationError):
        return ApiError(502, str(error), kind="backend_error", code="no_usable_text")
    if isinstance(error, Cancelled):
        return ApiError(409, str(error), code="cancelled")
    if isinstance(error, StorageError):
        return ApiError(503, f"{error} Free space on the server, then try again.", kind="server_error",
                        code="storage_error")  # fmt: skip
    return ApiError(500, str(error), kind="server_error")

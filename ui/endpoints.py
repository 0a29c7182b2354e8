"""Which other endpoints a page user may name in the Endpoint panel.

The server itself fetches the URL it is given (it asks it for its models, then writes there), so
any key holder could make it reach any address it can reach and report whether something
answered. On loopback only the machine's own users can do that, and anything is allowed by
default; a server others can reach allows only its own backend unless the operator lists more in
LONGWRITE_ALLOWED_ENDPOINTS.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from longwrite.core.errors import InputError
from longwrite.model.client import redacted_url

ANY = "*"
NONE = "none"  # only the server's own backend, wherever it listens (behind a reverse proxy, say)
LOOPBACK = "127.0.0.1"  # where `longwrite serve` listens unless --host says otherwise


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (0.0.0.0 and :: listen on every address)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


@dataclass(frozen=True)
class _Entry:
    """One allowed endpoint: a host (any scheme, and any port unless one is given) or a URL prefix."""

    host: str
    port: int | None
    scheme: str | None = None
    path: str = ""

    def allows(self, url: SplitResult) -> bool:
        if (url.hostname or "") != self.host:
            return False
        if self.scheme is not None and url.scheme != self.scheme:
            return False
        if self.port is not None and _port(url) != self.port:
            return False
        path = url.path.rstrip("/")
        return not self.path or path == self.path or path.startswith(self.path + "/")  # whole segments only


def _port(url: SplitResult) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def _entry(text: str) -> _Entry:
    is_url = "://" in text
    parts = urlsplit(text if is_url else f"//{text}")
    try:
        port = _port(parts) if is_url else parts.port
    except ValueError as error:
        raise InputError(f"LONGWRITE_ALLOWED_ENDPOINTS has {text!r}, whose port is not a number.") from error
    if not parts.hostname or (is_url and parts.scheme not in ("http", "https")):
        raise InputError(
            f"LONGWRITE_ALLOWED_ENDPOINTS has {text!r}; give hosts (models.example, 10.0.0.5:8001) or URL "
            "prefixes (https://models.example/v1), separated by commas."
        )
    return _Entry(host=parts.hostname, port=port, scheme=parts.scheme if is_url else None, path=parts.path.rstrip("/"))


@dataclass(frozen=True)
class EndpointAllowList:
    """The endpoints a page user may name besides the server's own backend."""

    entries: tuple[_Entry, ...] = ()
    any: bool = False
    listed: str = ""  # the setting as given, for the page

    @classmethod
    def from_setting(cls, setting: str | None, bind_host: str) -> EndpointAllowList:
        """The allow-list LONGWRITE_ALLOWED_ENDPOINTS gives, or the default for a server on `bind_host`."""
        items = [item.strip() for item in (setting or "").split(",") if item.strip()]
        if not items:
            return cls(any=is_loopback(bind_host))
        if ANY in items:
            return cls(any=True, listed=ANY)
        if items == [NONE]:
            return cls()
        return cls(entries=tuple(_entry(item) for item in items), listed=", ".join(items))

    def allows(self, url: str) -> bool:
        if self.any:
            return True
        try:
            parts = urlsplit(url)
            _port(parts)  # a port that is not a number matches nothing
        except ValueError:
            return False
        return any(entry.allows(parts) for entry in self.entries)

    def check(self, url: str) -> None:
        """InputError unless a page user may name `url`."""
        if not self.allows(url):
            raise InputError(
                f"This server does not write on {redacted_url(url)}: it takes only its own backend and the "
                "endpoints its operator lists in LONGWRITE_ALLOWED_ENDPOINTS; leave the base URL empty."
            )

    def describe(self) -> str:
        """One line for the page's Endpoint panel, in a writer's words."""
        if self.any:
            return (
                "You may name any other model server."
                if self.listed
                else ("You may name any other model server (this server is reachable only from its own machine).")
            )
        if self.entries:
            return f"You may name these other model servers: {self.listed}."
        return "This server writes only with its own model; whoever runs it can allow others."

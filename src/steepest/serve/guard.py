"""The rules every request and response of `steepest serve` follows, as one ASGI middleware.

- The Host header must name this server (127.0.0.1, localhost or [::1] on its port, or a host
  the user allowed): a page on another site that rebinds its DNS name to 127.0.0.1 sends its
  own name and gets 400, so it can never read the runs.
- Request bodies are bounded (413 beyond `max_body` bytes, counted as they arrive).
- Every response carries a Content-Security-Policy of `default-src 'self'` (nothing is loaded
  from, or sent to, another origin; no inline script or style), and forbids framing and MIME
  sniffing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

#: Sent with every response.
SECURITY_HEADERS = (
    (b"content-security-policy",
     b"default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def allowed_hosts(port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """Host header values accepted: each loopback name and each extra name, with the port
    (browsers send it) and, for port 80, without."""
    names = [*LOOPBACK_NAMES, *(_bracketed(name) for name in extra)]
    hosts = {f"{name}:{port}".lower() for name in names}
    if port == 80:
        hosts.update(name.lower() for name in names)
    return frozenset(hosts)


def _bracketed(name: str) -> str:
    """An IPv6 address as it appears in a Host header: [::1]."""
    return f"[{name}]" if ":" in name and not name.startswith("[") else name


class Guard:
    """ASGI middleware: Host check, body limit, security headers (see the module doc)."""

    def __init__(self, app: Any, *, hosts: frozenset[str], max_body: int) -> None:
        self.app = app
        self.hosts = hosts
        self.max_body = max_body

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if host not in self.hosts:
            await _reply(send, 400, f"invalid Host header {host!r}: this server answers only "
                                    f"to {', '.join(sorted(self.hosts))}")
            return
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _reply(send, 413, f"request body too large (at most {self.max_body} bytes)")
            return
        if length is None and scope["method"] in ("POST", "PUT", "PATCH"):
            # A chunked body has no length to check up front: read it here, within the bound,
            # and hand the app what was read.
            body = await _read_body(receive, self.max_body)
            if body is None:
                await _reply(send, 413, f"request body too large (at most {self.max_body} "
                                        f"bytes)")
                return
            receive = _replay(body, receive)

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _read_body(receive: Any, limit: int) -> bytes | None:
    """The whole request body, or None once it passes `limit` bytes."""
    parts, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts)
        parts.append(message.get("body", b""))
        size += len(parts[-1])
        if size > limit:
            return None
        if not message.get("more_body", False):
            return b"".join(parts)


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _reply(send: Any, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})

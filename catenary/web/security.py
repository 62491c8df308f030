"""What every explorer response is guarded by: the Host check and the security headers.

- **Host.** A page on another site can make a browser resolve its own name to 127.0.0.1
  (DNS rebinding) and then read the explorer as "same-origin". The browser still sends that
  name in ``Host``, so a request naming a host that is not configured is refused (400)
  before any route runs. The names are ``serve --http-host`` (default: the listen host,
  ``localhost``, ``127.0.0.1`` and ``[::1]``); the port is not part of the check.
- **Content-Security-Policy.** Pages load only the explorer's own scripts, styles and
  images (``'self'``): an injected ``<script>``, inline handler or foreign resource does not
  run even if escaping ever failed. The bundle verifier (``/static/verify.html``) also needs
  ``worker-src blob:`` (it runs in workers made from Blob URLs) and ``'wasm-unsafe-eval'``
  (it re-executes WASM modules); no other page gets either.
- ``X-Content-Type-Options: nosniff`` (a value is never sniffed into HTML or script),
  ``Referrer-Policy: same-origin`` (not no-referrer: then a form post sends ``Origin: null``,
  which the verify button's cross-origin check refuses) and ``frame-ancestors 'none'``.

A plain ASGI middleware, so streamed responses (live updates) pass through unbuffered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_BASE = (
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
)
CSP = "; ".join(_BASE)
# The verifier page: its workers come from Blob URLs and compile WASM (inherited by the workers).
VERIFY_PAGE = "/static/verify.html"
VERIFY_CSP = "; ".join(
    [
        *(p if p != "script-src 'self'" else "script-src 'self' 'wasm-unsafe-eval'" for p in _BASE),
        "worker-src blob:",
    ]
)
HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"))


def allowed_hosts(listen_host: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The host names the explorer answers to: ``extra`` (``serve --http-host``), else the
    listen host and the loopback names. A wildcard listen host (0.0.0.0, ::) is no name a
    browser sends, so off loopback the real names must be given."""
    names = {bare_host(n) for n in extra if n.strip()}
    if not names:
        names = {bare_host(listen_host), *LOOPBACK_NAMES}
    return frozenset(names)


def bare_host(host: str) -> str:
    """``Host`` without its port and IPv6 brackets, lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    name, sep, port = host.rpartition(":")
    return name if sep and port.isdigit() and ":" not in name else host


class SecurityHeaders:
    """Refuses requests for unknown hosts; adds the CSP and the other headers to each response."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        if bare_host(host) not in self.hosts:
            await _refuse(send, host, self.hosts)
            return
        policy = (VERIFY_CSP if scope["path"] == VERIFY_PAGE else CSP).encode()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"content-security-policy", policy),
                    *HEADERS,
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


async def _refuse(send: Send, host: str, hosts: frozenset[str]) -> None:
    body = (
        f"host {host!r} is not one this explorer answers to (it answers to "
        f"{', '.join(sorted(hosts))}); add the name with `catenary serve --http-host NAME`\n"
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"content-security-policy", CSP.encode()),
                *HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

"""Bounded HTTP reads from a peer's gateway: a size cap and a deadline on every body, so a
peer cannot make a follower hold an oversized or endless response (catenary.limits)."""

from __future__ import annotations

import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

from catenary.errors import CatenaryError, ValueTooLargeError, VerificationError

CHUNK = 1 << 16


class PeerUnreachable(CatenaryError):  # noqa: N818 - internal: never leaves catenary.network
    """The peer could not be asked (connection refused, reset, a 5xx): no fault of its data;
    the follower tries again later. Not exported: the sync loop catches it."""


def get(
    url: str, *, accept: str, cap: int, seconds: float, token: str | None = None, ca: Path | str | None = None
) -> bytes:
    """The body of ``GET url``, at most ``cap`` bytes, read within ``seconds``.

    A longer body is ValueTooLargeError, a slower one VerificationError (both the peer's
    doing: refused); a 4xx answer to what the peer itself announced is VerificationError too.
    """
    headers = {"Accept": accept}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    context = ssl.create_default_context(cafile=str(ca)) if ca else None
    deadline = time.monotonic() + seconds
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=min(seconds, 30.0), context=context) as response:
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > cap:
                raise ValueTooLargeError(
                    f"GET {url}: the body is {int(declared):,} bytes, over the cap of {cap:,}"
                )
            body = bytearray()
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    return bytes(body)
                body += chunk
                if len(body) > cap:
                    raise ValueTooLargeError(
                        f"GET {url}: the body runs past the cap of {cap:,} bytes "
                        "(oversized or endless); cut off"
                    )
                if time.monotonic() > deadline:
                    raise VerificationError(
                        f"GET {url}: the body was not done after {seconds:g} s "
                        f"({len(body):,} bytes read); cut off"
                    )
    except urllib.error.HTTPError as exc:
        detail = exc.read(512).decode("utf-8", "replace")
        if 400 <= exc.code < 500:
            raise VerificationError(f"GET {url}: {exc.code} {detail}") from None
        raise PeerUnreachable(f"GET {url}: {exc.code} {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        if isinstance(exc, TimeoutError) or "timed out" in str(exc):
            raise VerificationError(f"GET {url}: no answer within the time allowed ({exc})") from None
        raise PeerUnreachable(f"GET {url}: {getattr(exc, 'reason', exc)}") from None

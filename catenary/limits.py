"""The limits catenary puts on outside input, and how an error shows an offending value.

One place, so that every parser and every error agrees (docs/reliability.md#limits):

* an error message is at most :data:`MAX_MESSAGE_CHARS` characters: :func:`cut` keeps its head
  and tail and says how much was elided. :class:`catenary.errors.CatenaryError` applies it to
  every message, so the CLI's ``error:`` line, gRPC details and HTTP problem bodies are bounded
  whatever a caller sent;
* a value quoted in a message goes through :func:`shown`: strings and bytes cut to
  :data:`SHOWN_CHARS`, containers to a few items and :data:`SHOWN_DEPTH` levels, never recursing
  further, so a value nested 100,000 deep or 20 MB long is named in a line;
* :data:`PREVIEW_DEPTH` and :data:`PREVIEW_ITEMS` bound what a page renders of a stored value.

This module imports nothing from catenary: the content-addressing layer uses it too.
"""

from __future__ import annotations

import reprlib
from typing import Any

MAX_MESSAGE_CHARS = 2048
"""The longest error message catenary gives (CLI line, gRPC details, HTTP body)."""

SHOWN_CHARS = 60
"""The longest quotation of one string or bytes value inside a message."""

SHOWN_DEPTH = 3
"""Levels of a nested value quoted inside a message."""

SHOWN_ITEMS = 4
"""Items of a list or map quoted inside a message."""

PREVIEW_DEPTH = 32
"""Levels of a stored value a page renders before it links to the raw value."""

PREVIEW_ITEMS = 200
"""Items of one list or map a page renders before it links to the raw value."""


class _Shown(reprlib.Repr):
    """reprlib stops at ``maxlevel``, so a deep value costs a few frames, not one per level."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = SHOWN_DEPTH
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = SHOWN_ITEMS
        self.maxstring = self.maxother = SHOWN_CHARS
        self.maxlong = 40

    def repr_str(self, x: str, level: int) -> str:
        return _quoted(x, len(x), "characters")

    def repr_bytes(self, x: bytes, level: int) -> str:
        return _quoted(x, len(x), "bytes")


def _quoted(x: str | bytes, size: int, unit: str) -> str:
    text = repr(x[: SHOWN_CHARS + 1])  # escapes can make a short value's repr long: cut the repr
    if size <= SHOWN_CHARS and len(text) <= SHOWN_CHARS:
        return text
    return f"{text[: SHOWN_CHARS - 20]}... ({size:,} {unit})"


_SHOWN = _Shown()


def shown(value: Any) -> str:
    """``repr(value)`` abbreviated to a few dozen characters, whatever its size or depth."""
    try:
        return cut(_SHOWN.repr(value), 4 * SHOWN_CHARS)
    except Exception:  # noqa: BLE001 - an odd __repr__ must not turn an error into another
        return f"<{type(value).__name__}>"


def cut(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``message`` if it fits ``limit``, else its head and tail around a note of what was elided."""
    if len(message) <= limit:
        return message
    keep = limit - 40
    head, tail = message[: keep * 3 // 4], message[len(message) - keep // 4 :]
    return f"{head} ...({len(message) - len(head) - len(tail):,} characters elided)... {tail}"


PEER_BUNDLE_MIN = 16 * 1024 * 1024
"""A peer's proof bundle may be this big, or four times the node's value size cap if that is
more (a bundle carries an execution's inputs and output); a longer body is refused, unread."""

PEER_FETCH_SECONDS = 60.0
"""The most one fetch from a peer may take, body included: a peer that trickles an endless
body is cut off here even when it stays under the size cap."""

PEER_RETRY_SECONDS = (0.5, 30.0)
"""A follower that lost its peer tries again after the first delay, doubling to the second."""


def peer_bundle_cap(max_value_size: int) -> int:
    """The byte cap on one bundle from a peer (:data:`PEER_BUNDLE_MIN`)."""
    return max(PEER_BUNDLE_MIN, 4 * max_value_size)

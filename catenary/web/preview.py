"""Previews of values for the pages: text, JSON, a hex dump, or an image thumbnail.

A value is previewed from its DAG-CBOR block. A block over the preview limit is
not decoded at all: the page offers a download link instead. A map or list is shown as
indented DAG-JSON cut at ``PREVIEW_DEPTH`` levels, ``PREVIEW_ITEMS`` items per map or list and
``JSON_CHARS`` characters (:mod:`catenary.limits`), rendered lazily,
so a value nested 100,000 levels deep (valid DAG-CBOR, beyond what JSON can print) or one of
millions of items costs a bounded page, never an error (issue 14).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from catenary.cid import CID, decode
from catenary.cid.dagjson import to_json
from catenary.limits import PREVIEW_DEPTH, PREVIEW_ITEMS

DEFAULT_PREVIEW_LIMIT = 4 * 1024 * 1024  # encoded bytes; above this only a download link
TEXT_CHARS = 4000
JSON_CHARS = 20000
JSON_DEPTH = PREVIEW_DEPTH  # levels of maps and lists shown; deeper ones show as [...] / {...}
HEX_BYTES = 512

# Raster formats a browser shows in <img>, by magic number. SVG is left out on purpose:
# it can carry script, and values are untrusted.
IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(data: bytes) -> str | None:
    """The media type of raster image bytes (PNG, JPEG, GIF, WebP), else None."""
    for magic, media in IMAGE_MAGIC:
        if data.startswith(magic):
            return media
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class Preview:
    """What the page shows for one value.

    ``kind``: ``image`` (``media`` set; shown from the raw URL), ``text``, ``json``,
    ``hex`` (bytes that are no image), or ``too_big`` (only a download link).
    """

    cid: CID
    size: int  # encoded DAG-CBOR bytes
    kind: str
    type: str  # the value's DAG-CBOR kind: bytes, string, int, map, ...
    body: str = ""
    truncated: bool = False
    media: str | None = None
    length: int | None = None  # bytes of a bytes value, characters of a string
    depth: int | None = None  # levels of maps and lists, when the JSON preview was cut by depth


def value_type(value: object) -> str:
    """The value's kind in the type names of the manifests."""
    if value is None:
        return "null"
    for kind, cls in (
        ("bool", bool),
        ("int", int),
        ("float", float),
        ("bytes", bytes),
        ("string", str),
        ("list", list),
        ("map", dict),
        ("cid", CID),
    ):
        if isinstance(value, cls):
            return kind
    return type(value).__name__


def hex_dump(data: bytes) -> str:
    """``offset  hex bytes  |ascii|`` lines, 16 bytes each."""
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<47}  |{text}|")
    return "\n".join(lines)


def preview(cid: CID, block: bytes, limit: int = DEFAULT_PREVIEW_LIMIT) -> Preview:
    """Decide how to show the value of ``block`` (its DAG-CBOR bytes)."""
    if len(block) > limit:
        return Preview(cid, len(block), "too_big", "unknown")
    value = decode(block)
    kind = value_type(value)
    if isinstance(value, bytes):
        media = image_type(value)
        if media:
            return Preview(cid, len(block), "image", kind, media=media, length=len(value))
        return Preview(
            cid,
            len(block),
            "hex",
            kind,
            hex_dump(value[:HEX_BYTES]),
            truncated=len(value) > HEX_BYTES,
            length=len(value),
        )
    if isinstance(value, str):
        return Preview(
            cid,
            len(block),
            "text",
            kind,
            value[:TEXT_CHARS],
            truncated=len(value) > TEXT_CHARS,
            length=len(value),
        )
    text, cut = bounded_json(value)
    levels = nesting(value) if cut else 0
    depth = levels if levels > JSON_DEPTH else None
    return Preview(cid, len(block), "json", kind, text, truncated=cut, depth=depth)


def bounded_json(value: object, chars: int = JSON_CHARS, depth: int = JSON_DEPTH) -> tuple[str, bool]:
    """``value`` as ``json.dumps(to_json(value), indent=2)`` would print it, but at most ``chars``
    characters, ``depth`` levels (deeper maps and lists show as ``{...}`` / ``[...]``) and
    ``PREVIEW_ITEMS`` items of each (then ``... N more``); and whether anything was left out.
    Rendering stops as soon as the budget is spent."""
    parts: list[str] = []
    size = 0
    cut = False
    for chunk in _chunks(value, 0, depth):
        # A string leaf comes quoted, a key with ": ": neither is equal to these marks.
        cut = cut or chunk in ELIDED or chunk.lstrip(",\n ").startswith(MORE)
        parts.append(chunk)
        size += len(chunk)
        if size > chars:
            return "".join(parts)[:chars], True
    return "".join(parts), cut


ELIDED = ("{...}", "[...]")  # what a map / list beyond the depth cut shows
MORE = "..."  # then how many items of a long map or list were left out


def _chunks(value: Any, level: int, depth: int) -> Iterator[str]:
    if not isinstance(value, (dict, list)) or not value:
        pad = "\n" + "  " * level
        yield json.dumps(to_json(value), indent=2, ensure_ascii=False).replace("\n", pad)
        return
    if level >= depth:
        yield ELIDED[0] if isinstance(value, dict) else ELIDED[1]
        return
    inner = "\n" + "  " * (level + 1)
    opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
    yield opening
    items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
    for index, (key, item) in enumerate(items):
        if index == PREVIEW_ITEMS:
            yield f",{inner}{MORE} ({len(value) - index:,} more)"
            break
        yield ("," if index else "") + inner
        if key is not None:
            yield json.dumps(key, ensure_ascii=False) + ": "
        yield from _chunks(item, level + 1, depth)
    yield "\n" + "  " * level + closing


def nesting(value: object) -> int:
    """Levels of maps and lists in ``value`` (0 for a scalar), counted without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
        else:
            continue
        deepest = max(deepest, level + 1)
    return deepest


def raw_content(block: bytes) -> tuple[bytes, str]:
    """The bytes and media type ``/api/values/{cid}/raw`` serves for a value.

    Bytes values come as themselves (an image with its type, anything else as
    octet-stream), strings as UTF-8 text, everything else as its DAG-CBOR block.
    """
    value = decode(block)
    if isinstance(value, bytes):
        return value, image_type(value) or "application/octet-stream"
    if isinstance(value, str):
        return value.encode("utf-8"), "text/plain; charset=utf-8"
    return block, "application/vnd.ipld.dag-cbor"

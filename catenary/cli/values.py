"""The CLI's value syntax: DAG-JSON, ``@path`` (a file's bytes) or ``text:...`` (a string)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catenary.cid import dagjson
from catenary.errors import BadInputError, CatenaryError, ValueTooLargeError


def parse_value(text: str, where: str, max_size: int | None = None) -> Any:
    """Turn one CLI VALUE into a value; a bad one is a BadInputError naming ``where``.
    A file over ``max_size`` bytes is refused by its size before it is opened."""
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            size = path.stat().st_size
            if max_size is not None and size > max_size:
                raise ValueTooLargeError(
                    f"{where}: {text[1:]!r} is {size} bytes, over the value size cap of {max_size} "
                    f"bytes (--max-value-size); not read"
                )
            return path.read_bytes()
        except OSError as exc:
            raise BadInputError(f"{where}: cannot read {text[1:]!r}: {exc.strerror}") from exc
    if text.startswith("text:"):
        return text[len("text:") :]
    try:
        return dagjson.parse(text, where)
    except CatenaryError as exc:
        raise BadInputError(
            f"{exc} (a VALUE is DAG-JSON, @path for a file's bytes, or text:... for a string)"
        ) from exc


def parse_segment_inputs(items: tuple[str, ...], max_size: int | None = None) -> dict[int, list[Any]]:
    """``SEG=VALUE`` items, repeated per slot, into {segment: [values in slot order]}."""
    inputs: dict[int, list[Any]] = {}
    for item in items:
        segment, sep, value = item.partition("=")
        if not sep or not segment.strip().lstrip("-").isdigit():
            raise BadInputError(f"--input {item!r}: expected SEG=VALUE, e.g. 0=@photo.jpg or 2=text:ABC")
        index = int(segment)
        inputs.setdefault(index, []).append(parse_value(value, f"--input {item}", max_size))
    return inputs

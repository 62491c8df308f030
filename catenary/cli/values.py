"""The CLI's value syntax: DAG-JSON, ``@path`` (a file's bytes) or ``text:...`` (a string)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catenary.cid import dagjson
from catenary.errors import BadInputError, CatenaryError


def parse_value(text: str, where: str) -> Any:
    """Turn one CLI VALUE into a value; a bad one is a BadInputError naming ``where``."""
    if text.startswith("@"):
        try:
            return Path(text[1:]).read_bytes()
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


def parse_segment_inputs(items: tuple[str, ...]) -> dict[int, list[Any]]:
    """``SEG=VALUE`` items, repeated per slot, into {segment: [values in slot order]}."""
    inputs: dict[int, list[Any]] = {}
    for item in items:
        segment, sep, value = item.partition("=")
        if not sep or not segment.strip().lstrip("-").isdigit():
            raise BadInputError(f"--input {item!r}: expected SEG=VALUE, e.g. 0=@photo.jpg or 2=text:ABC")
        index = int(segment)
        inputs.setdefault(index, []).append(parse_value(value, f"--input {item}"))
    return inputs

"""DAG-JSON views of values for the CLI and JSON output.

Bytes are ``{"/": {"bytes": "<base64, standard alphabet, no padding>"}}`` and
links are ``{"/": "<base32 CID>"}``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from catenary.cid.cid import CID
from catenary.errors import EncodingError, InvalidCIDError

TOO_DEEP = "is nested too deeply to convert between DAG-JSON and a value"


def to_json(value: Any) -> Any:
    """Turn a decoded DAG-CBOR value into JSON-compatible data (DAG-JSON form)."""
    try:
        return _to_json(value)
    except RecursionError:
        # DAG-CBOR allows any depth; Python's JSON does not: say so instead of crashing. Here and
        # below the RecursionError is not chained: its thousand-frame traceback says nothing more.
        raise EncodingError(f"value {TOO_DEEP} (read its DAG-CBOR bytes instead)") from None


def _to_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"/": {"bytes": base64.b64encode(value).decode().rstrip("=")}}
    if isinstance(value, CID):
        return {"/": str(value)}
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def member_path(path: str, key: str) -> str:
    """``path.key``; ``path['key']`` (quoted, cut) when the key would break a one-line message:
    a line break in it, or thousands of characters."""
    if len(key) <= 60 and (not key or key.splitlines() == [key]):
        return f"{path}.{key}"
    return f"{path}[{repr(key) if len(key) <= 60 else repr(key[:40]) + '...'}]"


class _Refused:
    """Left in parsed JSON where a duplicate key or NaN/Infinity was met, so that
    :func:`from_json`, which knows the path, can name where it is."""

    def __init__(self, problem: str) -> None:
        self.problem = problem


class _Duplicated(dict):  # type: ignore[type-arg]
    """A JSON object that repeated ``key``."""

    key: str = ""


def from_json(value: Any, path: str = "$") -> Any:
    """Turn parsed DAG-JSON into a value (bytes and links restored)."""
    try:
        return _from_json(value, path)
    except RecursionError:
        raise EncodingError(f"{path}: {TOO_DEEP}") from None


def _from_json(value: Any, path: str) -> Any:
    if isinstance(value, _Refused):
        raise EncodingError(f"{path}: {value.problem}")
    if isinstance(value, _Duplicated):
        key = value.key if len(value.key) <= 60 else value.key[:40] + "..."
        raise EncodingError(f"{path}: duplicate key {key!r}")
    if isinstance(value, dict):
        if "/" in value and len(value) == 1:
            inner = value["/"]
            if isinstance(inner, str):
                try:
                    return CID.parse(inner)
                except InvalidCIDError as exc:
                    raise InvalidCIDError(f"{path}: {exc}") from exc
            if isinstance(inner, dict) and set(inner) == {"bytes"} and isinstance(inner["bytes"], str):
                text = inner["bytes"]
                try:
                    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
                except ValueError as exc:
                    shown = repr(text) if len(text) <= 60 else f"{text[:40]!r}... ({len(text)} characters)"
                    raise EncodingError(f"{path}: invalid base64 in bytes {shown}") from exc
            raise EncodingError(f"{path}: a '/' map must hold a CID string or {{'bytes': ...}}")
        return {k: _from_json(v, member_path(path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def parse(text: str, what: str = "value") -> Any:
    """Parse DAG-JSON text strictly: no NaN/Infinity, no duplicate keys."""

    def no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                marked = _Duplicated(out)
                marked.key = k
                return marked
            out[k] = v
        return out

    def no_constant(name: str) -> Any:
        return _Refused(f"{name} is not allowed (DAG-JSON has no NaN or Infinity)")

    def bounded_int(digits: str) -> Any:
        # Beyond 20 digits an integer cannot be 64-bit; refusing it here also keeps Python's
        # int-from-text limit (4300 digits, a ValueError) from escaping as a crash.
        if len(digits.lstrip("-")) > 20:
            return _Refused(
                f"integer of {len(digits.lstrip('-'))} digits is outside the 64-bit range "
                f"(bignums are refused)"
            )
        return int(digits)

    try:
        data = json.loads(text, object_pairs_hook=no_dupes, parse_constant=no_constant, parse_int=bounded_int)
    except json.JSONDecodeError as exc:
        raise EncodingError(f"{what}: not valid JSON: {exc}") from exc
    except RecursionError:
        raise EncodingError(f"{what}: nested too deeply") from None
    try:
        return _from_json(data, "$")
    except RecursionError:
        raise EncodingError(f"{what}: nested too deeply") from None
    except (EncodingError, InvalidCIDError) as exc:
        raise type(exc)(f"{what}: {exc}") from exc


def dumps(value: Any, **kwargs: Any) -> str:
    """Serialize a value as DAG-JSON text."""
    data = to_json(value)
    try:
        return json.dumps(data, ensure_ascii=False, **kwargs)
    except RecursionError:
        raise EncodingError(f"value {TOO_DEEP}") from None

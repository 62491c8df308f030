"""DAG-JSON views of values for the CLI and JSON output.

Bytes are ``{"/": {"bytes": "<base64, standard alphabet, no padding>"}}`` and
links are ``{"/": "<base32 CID>"}``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from catenary.cid.cid import CID
from catenary.errors import EncodingError


def to_json(value: Any) -> Any:
    """Turn a decoded DAG-CBOR value into JSON-compatible data (DAG-JSON form)."""
    if isinstance(value, bytes):
        return {"/": {"bytes": base64.b64encode(value).decode().rstrip("=")}}
    if isinstance(value, CID):
        return {"/": str(value)}
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def from_json(value: Any, path: str = "$") -> Any:
    """Turn parsed DAG-JSON into a value (bytes and links restored)."""
    if isinstance(value, dict):
        if "/" in value and len(value) == 1:
            inner = value["/"]
            if isinstance(inner, str):
                return CID.parse(inner)
            if isinstance(inner, dict) and set(inner) == {"bytes"} and isinstance(inner["bytes"], str):
                text = inner["bytes"]
                try:
                    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
                except ValueError:
                    raise EncodingError(f"{path}: invalid base64 in bytes {text!r}") from None
            raise EncodingError(f"{path}: a '/' map must hold a CID string or {{'bytes': ...}}")
        return {k: from_json(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def parse(text: str, what: str = "value") -> Any:
    """Parse DAG-JSON text strictly: no NaN/Infinity, no duplicate keys."""

    def no_dupes(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise EncodingError(f"{what}: duplicate key {k!r}")
            out[k] = v
        return out

    def no_constant(name: str) -> Any:
        raise EncodingError(f"{what}: {name} is not allowed (DAG-JSON has no NaN or Infinity)")

    try:
        data = json.loads(text, object_pairs_hook=no_dupes, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        raise EncodingError(f"{what}: not valid JSON: {exc}") from None
    except RecursionError:
        raise EncodingError(f"{what}: nested too deeply") from None
    return from_json(data)


def dumps(value: Any, **kwargs: Any) -> str:
    """Serialize a value as DAG-JSON text."""
    return json.dumps(to_json(value), ensure_ascii=False, **kwargs)

"""Shared helpers for the content-addressing tests (not a test module).

Everything here that stands for "the independent implementation" uses only the
PyPI ``dag-cbor`` and ``multiformats`` packages, never catenary.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cbrrr
import dag_cbor
from multiformats import CID as MfCID
from multiformats import multihash

VECTORS_FILE = Path(__file__).with_name("golden_vectors.json")


def load_vectors() -> list[dict[str, Any]]:
    with VECTORS_FILE.open(encoding="utf-8") as fh:
        return json.load(fh)["vectors"]


# --- DAG-JSON (as stored in the vector file) -> Python values -----------------


def from_dag_json(value: Any, make_cid: Callable[[str], Any]) -> Any:
    """Test-local DAG-JSON reader, so the golden test does not depend on catenary.cid.dagjson."""
    if isinstance(value, dict):
        if set(value) == {"/"}:
            inner = value["/"]
            if isinstance(inner, str):
                return make_cid(inner)
            assert set(inner) == {"bytes"}, inner
            text = inner["bytes"]
            assert "=" not in text, "vector file must use unpadded base64"
            return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        return {k: from_dag_json(v, make_cid) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dag_json(v, make_cid) for v in value]
    return value


# --- the independent implementation -----------------------------------------


def independent_cid(data: bytes) -> MfCID:
    """CIDv1 dag-cbor blake2b-256 of DAG-CBOR bytes, by multiformats."""
    return MfCID("base32", 1, "dag-cbor", multihash.digest(data, "blake2b-256"))


def independent_raw_cid(data: bytes) -> MfCID:
    return MfCID("base32", 1, "raw", multihash.digest(data, "sha2-256"))


def to_independent(value: Any) -> Any:
    """catenary value -> the same value with multiformats CIDs (for dag_cbor.encode)."""
    if isinstance(value, cbrrr.CID):
        return MfCID.decode(bytes(value.cid_bytes))
    if isinstance(value, dict):
        return {k: to_independent(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_independent(v) for v in value]
    return value


def independent_encode(value: Any) -> bytes:
    return dag_cbor.encode(to_independent(value))


# --- strict structural equality -----------------------------------------------


def link_bytes(x: Any) -> bytes | None:
    if isinstance(x, cbrrr.CID):
        return bytes(x.cid_bytes)
    if isinstance(x, MfCID):
        return bytes(x)
    return None


def assert_same(a: Any, b: Any, path: str = "$") -> None:
    """Equality that ``==`` does not give: True != 1, -0.0 != 0.0, links by bytes."""
    la, lb = link_bytes(a), link_bytes(b)
    if la is not None or lb is not None:
        assert la == lb, f"{path}: link {a!r} != {b!r}"
        return
    assert type(a) is type(b), f"{path}: {type(a).__name__} {a!r} != {type(b).__name__} {b!r}"
    if isinstance(a, float):
        assert struct.pack(">d", a) == struct.pack(">d", b), f"{path}: float {a!r} != {b!r}"
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: list lengths {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert sorted(a) == sorted(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"

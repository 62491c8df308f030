"""How tests/cid/golden_vectors.json was made (run once; the tests read the stored file).

    .venv/bin/python tests/cid/make_vectors.py > tests/cid/golden_vectors.json

It uses ONLY the independent implementation (PyPI ``dag-cbor`` + ``multiformats``),
never catenary, so the stored bytes and CIDs are a reference catenary is checked
against. Do not regenerate to make a failing test pass: a change in these bytes
is a change of every hash catenary has ever published.

Vector format::

    {"name": str,
     "value": DAG-JSON (bytes as {"/": {"bytes": base64 std, no padding}},
              links as {"/": "<base32 CID>"}, floats as JSON numbers written
              with Python's shortest round-trip repr, so they parse exactly),
     "bytes": hex of the DAG-CBOR encoding,
     "cid":   CIDv1 dag-cbor blake2b-256, base32 text}
"""

from __future__ import annotations

import base64
import json
import sys

import dag_cbor
from multiformats import CID, multihash


def dag_cbor_cid(value) -> CID:
    return CID("base32", 1, "dag-cbor", multihash.digest(dag_cbor.encode(value), "blake2b-256"))


def raw_cid(data: bytes) -> CID:
    return CID("base32", 1, "raw", multihash.digest(data, "sha2-256"))


def to_dag_json(value):
    if isinstance(value, bytes):
        return {"/": {"bytes": base64.b64encode(value).decode().rstrip("=")}}
    if isinstance(value, CID):
        return {"/": value.encode("base32")}
    if isinstance(value, dict):
        return {k: to_dag_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_dag_json(v) for v in value]
    return value


L_HELLO = dag_cbor_cid("hello")
L_EMPTY_MAP = dag_cbor_cid({})
L_ONE = dag_cbor_cid(1)
L_RAW = raw_cid(b"hello world\n")
WORKFLOW = dag_cbor_cid({"segments": [{"inputs": [-1], "sequence": []}]})
OPERATION = dag_cbor_cid({"name": "std.sha256", "version": "1.0.0"})
PARENT = dag_cbor_cid({"step": 0})
INPUT_A = dag_cbor_cid(b"camera frame")
INPUT_B = dag_cbor_cid("owner: alice")

VECTORS: list[tuple[str, object]] = [
    # null and bools
    ("null", None),
    ("true", True),
    ("false", False),
    # unsigned ints at every head-size boundary
    ("int 0", 0),
    ("int 1", 1),
    ("int 23 (last 1-byte head)", 23),
    ("int 24 (first 1-byte argument)", 24),
    ("int 255", 255),
    ("int 256", 256),
    ("int 65535", 65535),
    ("int 65536", 65536),
    ("int 2^32-1", 2**32 - 1),
    ("int 2^32", 2**32),
    ("int 2^63-1", 2**63 - 1),
    ("int 2^63", 2**63),
    ("int 2^64-1", 2**64 - 1),
    # negative ints
    ("int -1", -1),
    ("int -24", -24),
    ("int -25", -25),
    ("int -256", -256),
    ("int -257", -257),
    ("int -65536", -65536),
    ("int -65537", -65537),
    ("int -2^32", -(2**32)),
    ("int -2^32-1", -(2**32) - 1),
    ("int -2^63", -(2**63)),
    # floats (always 64-bit in DAG-CBOR)
    ("float 0.0", 0.0),
    ("float -0.0", -0.0),
    ("float 1.0 (integral float stays a float)", 1.0),
    ("float 1.5", 1.5),
    ("float -2.5", -2.5),
    ("float 0.1", 0.1),
    ("float 1e300", 1e300),
    ("float 5e-324 (smallest subnormal)", 5e-324),
    ("float max", 1.7976931348623157e308),
    # strings
    ("string empty", ""),
    ("string ascii", "hello world"),
    ("string 23 bytes", "a" * 23),
    ("string 24 bytes", "a" * 24),
    ("string 300 bytes", "xyz" * 100),
    ("string unicode", "h\u00e9llo \u00fcn\u00efc\u00f8de \u4e2d\u6587"),
    ("string emoji", "\U0001f41b bug \U0001f469\u200d\U0001f469\u200d\U0001f467"),
    # bytes
    ("bytes empty", b""),
    ("bytes small", b"\x00\x01\xfe\xff"),
    ("bytes 256", bytes(range(256))),
    # lists
    ("list empty", []),
    ("list mixed", [None, True, 1, -1, 1.5, "s", b"b", [], {}]),
    ("list nested", [1, [2, [3, [4, []]]]]),
    ("list 24 items", list(range(24))),
    # maps
    ("map empty", {}),
    ("map nested", {"outer": {"inner": {"leaf": [1, 2, {"deep": None}]}}}),
    ("map key order trap", {"b": 1, "aa": 2, "a": 3, "ab": 4}),
    ("map key order trap long", {"zzz": 1, "": 0, "bb": 2, "a": 3, "ba": 4, "aaa": 5, "c": 6}),
    ("map unicode keys", {"\u00e9": 1, "z": 2, "\U0001f41b": 3, "\ue000": 4, "\u00fc": 5, "zz": 6}),
    ("map case keys", {"b": 1, "B": 2, "a": 3, "A": 4}),
    # links
    ("link", L_HELLO),
    ("link raw sha2-256", L_RAW),
    ("list of links", [L_HELLO, L_EMPTY_MAP, L_ONE, L_RAW]),
    ("map with links", {"value": L_ONE, "more": {"nested": [L_EMPTY_MAP]}}),
    (
        "execution record pre-image",
        {
            "workflow": WORKFLOW,
            "segment": 2,
            "step": 0,
            "operation": OPERATION,
            "config": {},
            "parents": [PARENT],
            "inputs": [INPUT_A, INPUT_B],
        },
    ),
    (
        "execution record pre-image, first step",
        {
            "workflow": WORKFLOW,
            "segment": 0,
            "step": 0,
            "operation": OPERATION,
            "config": {"algorithm": "sha256", "rounds": 3},
            "parents": [],
            "inputs": [INPUT_A],
        },
    ),
]


def main() -> None:
    out = []
    names = set()
    for name, value in VECTORS:
        assert name not in names, name
        names.add(name)
        data = dag_cbor.encode(value)
        assert dag_cbor.encode(dag_cbor.decode(data)) == data
        out.append(
            {"name": name, "value": to_dag_json(value), "bytes": data.hex(), "cid": str(dag_cbor_cid(value))}
        )
    json.dump(
        {
            "description": "DAG-CBOR golden vectors: value (DAG-JSON) -> bytes (hex) -> CIDv1 "
            "dag-cbor blake2b-256 (base32). Made with dag-cbor 0.3.3 + multiformats "
            "0.3.1.post4 by tests/cid/make_vectors.py.",
            "vectors": out,
        },
        sys.stdout,
        ensure_ascii=False,
        indent=1,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

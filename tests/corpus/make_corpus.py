"""Writes the bad-input corpus: the files under tests/corpus/ and tests/corpus/index.json.

Run ``.venv/bin/python tests/corpus/make_corpus.py`` after changing a case here; the files it
writes are committed, and ``test_corpus_files_are_what_make_corpus_writes`` fails when they
and this script disagree. Everything is deterministic (no randomness without a fixed seed).

Each case of index.json names a file and what every surface must answer when fed it:

``file``        path under tests/corpus/ (``.gz`` files are gzip: the huge and the binary ones)
``kind``        ``manifest`` | ``value_cbor`` | ``value_json`` | ``cid_text`` | ``cid_bytes`` |
                ``request`` (a serialized gRPC request, with ``method``) | ``page_token`` |
                ``unknown_id`` (with ``target``)
``error``       a substring of the error message on every surface
``path``        manifests: the JSON path (``ManifestError.path``; ``""`` for errors of the JSON
                text itself, whose message gives the ``$.data...`` path or the character offset)
``type``        the sdk's exception class (a ``catenary.errors`` name)
``grpc_code``   the gRPC status (default INVALID_ARGUMENT); ``grpc_error`` overrides ``error``
``cli``         true for the few cases also run through a real ``catenary`` process
``derive``      page tokens made at test time from a real one (the file is then absent)
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))

from catenary.cid import block_cid, encode  # noqa: E402
from catenary.proto.api import execution_pb2, run_pb2  # noqa: E402
from catenary.proto.definition import execution_pb2 as definition_pb2  # noqa: E402

# A CID that no node has: the CID of a block nobody stores.
UNKNOWN = block_cid(b"catenary corpus: nothing has this id")
OTHER = block_cid(b"catenary corpus: another id")


def base(**changes: Any) -> dict[str, Any]:
    """A valid ``data`` map (std ops only, so the CLI needs no --ops), with changes."""
    data = {
        "name": "corpus",
        "creators": ["tests"],
        "description": "",
        "groups": [],
        "segments": [{"inputs": [-1], "sequence": [{"op": "std/utf8-encode", "config": {}}]}],
    }
    data.update(changes)
    return data


def seg(inputs: list[Any], *ops: Any) -> dict[str, Any]:
    sequence = [{"op": o, "config": {}} if isinstance(o, str) else o for o in ops]
    return {"inputs": inputs, "sequence": sequence}


def doc(data: Any, *, compact: bool = False, **top: Any) -> bytes:
    if compact:
        return json.dumps({**top, "data": data}, separators=(",", ":")).encode()
    return json.dumps({**top, "data": data}, indent=1).encode()


def splice(data: dict[str, Any], marker: str, raw: str) -> bytes:
    """JSON of ``{"data": data}`` with the string ``marker`` replaced by raw JSON text."""
    text = json.dumps({"data": data})
    assert text.count(json.dumps(marker)) == 1
    return text.replace(json.dumps(marker), raw).encode()


CASES: list[dict[str, Any]] = []


def case(
    name: str,
    kind: str,
    content: bytes | None,
    error: str,
    *,
    gz: bool = False,
    ext: str | None = None,
    **fields: Any,
) -> None:
    folder = {
        "manifest": "manifests",
        "value_cbor": "values",
        "value_json": "values",
        "cid_text": "cids",
        "cid_bytes": "cids",
        "request": "requests",
        "page_token": "tokens",
        "unknown_id": "ids",
    }[kind]
    ext = (
        ext
        or {
            "manifest": ".json",
            "value_cbor": ".cbor",
            "value_json": ".json",
            "cid_text": ".txt",
            "cid_bytes": ".bin",
            "request": ".bin",
            "page_token": ".txt",
            "unknown_id": ".txt",
        }[kind]
    )
    entry: dict[str, Any] = {"name": name, "kind": kind}
    if content is not None:
        entry["file"] = f"{folder}/{name}{ext}" + (".gz" if gz else "")
        entry["_content"] = content
    entry["error"] = error
    entry.update(fields)
    assert name not in {c["name"] for c in CASES}, name
    CASES.append(entry)


def manifest(name: str, content: bytes, error: str, path: str, **fields: Any) -> None:
    case(name, "manifest", content, error, path=path, type=fields.pop("type", "ManifestError"), **fields)


# -- manifests: the JSON text itself -----------------------------------------------------------
manifest("not-json", b"{bad}\n", "not valid JSON: Expecting property name", "", cli=True)
manifest("empty-file", b"", "not valid JSON: Expecting value: line 1 column 1", "")
manifest("comments", b'// a manifest\n{"data": {}}\n', "not valid JSON", "")
manifest("single-quotes", b"{'data': {}}\n", "not valid JSON", "")
manifest("bom", b"\xef\xbb\xbf" + doc(base()), "Unexpected UTF-8 BOM", "")
manifest("trailing-garbage", doc(base()) + b"\n}} and more", "not valid JSON: Extra data: line", "")
manifest("two-documents", doc(base()) + b"\n" + doc(base()), "not valid JSON: Extra data", "")
manifest(
    "non-utf8",
    doc(base(name="caf\u00e9")).replace(b"caf\\u00e9", b"caf\xe9"),
    "manifest is not UTF-8 (byte 27)",
    "",
    cli=True,
    grpc_error="not a valid catenary.api.v1.CreateWorkflowRequest message",
)
manifest(
    "utf16",
    "\ufeff".encode("utf-16-le") + doc(base()).decode().encode("utf-16-le"),
    "manifest is not UTF-8 (byte 0)",
    "",
    grpc_error="not a valid catenary.api.v1.CreateWorkflowRequest message",
)
manifest(
    "lone-surrogate", doc(base(name="\ud800")), "name: string has a lone surrogate at character 0", "name"
)
manifest("duplicate-top-key", b'{"data": {}, "data": {}}', "$: duplicate key 'data'", "")
manifest(
    "duplicate-config-key",
    splice(
        base(segments=[seg([-1], {"op": "std/hash", "config": "@"})]),
        "@",
        '{"algorithm": "sha2-256", "algorithm": "blake3"}',
    ),
    "$.data.segments[0].sequence[0].config: duplicate key 'algorithm'",
    "",
    cli=True,
)
manifest("nan", splice(base(), "corpus", "NaN"), "$.data.name: NaN is not allowed", "")
manifest(
    "infinity-input",
    splice(base(segments=[seg(["@"], "std/utf8-encode")]), "@", "-Infinity"),
    "$.data.segments[0].inputs[0]: -Infinity is not allowed",
    "",
)
manifest(
    "bignum-input",
    splice(base(segments=[seg(["@"], "std/utf8-encode")]), "@", "123456789012345678901234567890"),
    "$.data.segments[0].inputs[0]: integer of 30 digits is outside the 64-bit range",
    "",
)
manifest(
    "int-5000-digits",
    splice(base(), "corpus", "1" + "0" * 5000),
    "$.data.name: integer of 5001 digits is outside the 64-bit range",
    "",
)
manifest("deep-600", splice(base(), "corpus", "[" * 600 + "]" * 600), "manifest: nested too deeply", "")
manifest(
    "deep-objects-900",
    splice(base(), "corpus", '{"a":' * 900 + "1" + "}" * 900),
    "manifest: nested too deeply",
    "",
)
manifest(
    "deep-100000",
    splice(base(), "corpus", "[" * 100_000 + "]" * 100_000),
    "manifest: nested too deeply",
    "",
    gz=True,
    cli=True,
)

# -- manifests: top-level shape ----------------------------------------------------------------
for name, text in [
    ("top-list", b"[]"),
    ("top-string", b'"{\\"data\\": {}}"'),
    ("top-number", b"1"),
    ("top-null", b"null"),
]:
    manifest(name, text, "a workflow manifest is a JSON object", "")
manifest(
    "unknown-top-key", doc(base(), meta={"x": 1}), "unknown top-level key(s): meta (expected id, data)", ""
)
manifest("unknown-format-version", doc(base(), version=2), "unknown top-level key(s): version", "")
manifest("missing-data", b'{"id": null}', "missing key: data", "")
manifest("data-not-a-map", b'{"data": []}', "expected a map", "")
manifest(
    "data-missing-keys",
    doc({"name": "x", "segments": []}),
    "missing key(s): creators, description, groups",
    "",
)
manifest("data-unknown-key", doc(base(extra=1)), "unknown key(s): extra", "")
manifest(
    "id-mismatch",
    doc(base(), id=str(OTHER)),
    f"id: {OTHER} does not match the manifest's recomputed id",
    "id",
)
manifest("id-not-a-cid", doc(base(), id="Qmfoo"), "id: not a CID: 'Qmfoo'", "id")
manifest("id-wrong-type", doc(base(), id=7), "id: expected a CID string, got 7", "id")

# -- manifests: field types --------------------------------------------------------------------
manifest("name-wrong-type", doc(base(name=1)), "name: expected a string, got 1", "name")
manifest("creators-not-a-list", doc(base(creators="me")), "creators: expected a list of strings", "creators")
manifest(
    "creators-item-wrong-type",
    doc(base(creators=["a", 2])),
    "creators[1]: expected a string, got 2",
    "creators[1]",
)
manifest("groups-null", doc(base(groups=None)), "groups: expected a list of strings", "groups")
manifest(
    "description-huge-echo",
    doc(base(description="d" * 5_000_000, creators={"a": "b"}), compact=True),
    "creators: expected a list of strings",
    "creators",
    gz=True,
    grpc_code="RESOURCE_EXHAUSTED",
    grpc_error="larger than max",
)
manifest(
    "segments-not-a-list", doc(base(segments={"0": {}})), "segments: expected a list of segments", "segments"
)
manifest("no-segments", doc(base(segments=[])), "segments: a workflow needs at least one segment", "segments")
manifest("segment-not-a-map", doc(base(segments=[1])), "segments[0]: expected a map", "segments[0]")
manifest(
    "segment-unknown-key",
    doc(base(segments=[{**seg([-1], "std/cid"), "when": "now"}])),
    "segments[0]: unknown key(s): when",
    "segments[0]",
)
manifest(
    "segment-no-inputs",
    doc(base(segments=[seg([], "std/cid")])),
    "segments[0].inputs: a segment needs at least one input",
    "segments[0].inputs",
)
manifest(
    "segment-empty-sequence",
    doc(base(segments=[seg([-1])])),
    "segments[0].sequence: a segment needs at least one operation",
    "segments[0].sequence",
)
manifest(
    "input-string",
    doc(base(segments=[seg([-1, "x"], "std/equals")])),
    "segments[0].inputs[1]: expected -1 or a segment index, got 'x'",
    "segments[0].inputs[1]",
)
manifest(
    "input-bool",
    doc(base(segments=[seg([True], "std/cid")])),
    "segments[0].inputs[0]: expected -1 or a segment index, got True",
    "segments[0].inputs[0]",
)
manifest(
    "input-float",
    doc(base(segments=[seg([-1.0], "std/cid")])),
    "segments[0].inputs[0]: expected -1 or a segment index, got -1.0",
    "segments[0].inputs[0]",
)

# -- manifests: references between segments ----------------------------------------------------
manifest(
    "self-reference",
    doc(base(segments=[seg([-1], "std/cid"), seg([1], "std/utf8-encode")])),
    "refers to segment 1, which does not come before segment 1",
    "segments[1].inputs[0]",
)
manifest(
    "forward-reference",
    doc(base(segments=[seg([-1], "std/cid"), seg([2], "std/utf8-encode"), seg([0], "std/utf8-encode")])),
    "refers to segment 2, which does not come before segment 1",
    "segments[1].inputs[0]",
    cli=True,
)
manifest(
    "cycle",
    doc(base(segments=[seg([-1], "std/cid"), seg([2], "std/utf8-encode"), seg([1], "std/utf8-decode")])),
    "refers to segment 2, which does not come before segment 1",
    "segments[1].inputs[0]",
)
manifest(
    "segment-0-not-external",
    doc(base(segments=[seg([0], "std/cid")])),
    "segment 0 takes only external inputs (-1), not 0",
    "segments[0].inputs[0]",
)
manifest(
    "index-out-of-range",
    doc(base(segments=[seg([-1], "std/cid"), seg([7], "std/utf8-encode")])),
    "refers to segment 7, which does not come before segment 1",
    "segments[1].inputs[0]",
)
manifest(
    "index-negative",
    doc(base(segments=[seg([-1], "std/cid"), seg([-2], "std/utf8-encode")])),
    "refers to segment -2, which does not come before segment 1",
    "segments[1].inputs[0]",
)
manifest(
    "index-int64-max",
    doc(base(segments=[seg([-1], "std/cid"), seg([2**63 - 1], "std/utf8-encode")])),
    "refers to segment 9223372036854775807",
    "segments[1].inputs[0]",
)

# -- manifests: steps, operations, arity, types, config -----------------------------------------
manifest(
    "step-not-a-map",
    doc(base(segments=[seg([-1], "std/cid")]) | {"segments": [{"inputs": [-1], "sequence": ["std/cid"]}]}),
    "segments[0].sequence[0]: expected a map",
    "segments[0].sequence[0]",
)
manifest(
    "step-unknown-key",
    doc(base(segments=[seg([-1], {"op": "std/cid", "config": {}, "when": 1})])),
    "segments[0].sequence[0]: unknown key(s): when",
    "segments[0].sequence[0]",
)
manifest(
    "step-missing-config",
    doc(base(segments=[seg([-1], {"op": "std/cid"})])),
    "segments[0].sequence[0]: missing key(s): config",
    "segments[0].sequence[0]",
)
manifest(
    "step-op-and-version",
    doc(base(segments=[seg([-1], {"op": "std/cid", "version_id": str(UNKNOWN), "config": {}})])),
    "segments[0].sequence[0]: unknown key(s): op",
    "segments[0].sequence[0]",
)
manifest(
    "op-unknown-name",
    doc(base(segments=[seg([-1], "std/nope")])),
    "segments[0].sequence[0].op: no registered operation named 'std/nope'",
    "segments[0].sequence[0].op",
)
manifest(
    "op-not-a-string",
    doc(base(segments=[seg([-1], {"op": 5, "config": {}})])),
    "segments[0].sequence[0].op: expected an operation name",
    "segments[0].sequence[0].op",
)
manifest(
    "version-not-a-cid",
    doc(base(segments=[seg([-1], {"version_id": "Qmfoo", "config": {}})])),
    "segments[0].sequence[0].version_id: not a CID: 'Qmfoo'",
    "segments[0].sequence[0].version_id",
)
manifest(
    "version-huge-string",
    doc(base(segments=[seg([-1], {"version_id": "b" + "a" * 100_000, "config": {}})])),
    "(100001 characters)",
    "segments[0].sequence[0].version_id",
    gz=True,
)
manifest(
    "version-wrong-type",
    doc(base(segments=[seg([-1], {"version_id": 42, "config": {}})])),
    "segments[0].sequence[0].version_id: expected a CID string, got 42",
    "segments[0].sequence[0].version_id",
)
manifest(
    "version-bad-link",
    doc(base(segments=[seg([-1], {"version_id": {"/": "xyz"}, "config": {}})])),
    "$.data.segments[0].sequence[0].version_id: not a CID: 'xyz'",
    "",
)
manifest(
    "version-unknown",
    doc(base(segments=[seg([-1], {"version_id": str(UNKNOWN), "config": {}})])),
    f"segments[0].sequence[0].version_id: no registered operation version {UNKNOWN}",
    "segments[0].sequence[0].version_id",
)
manifest(
    "version-unknown-link",
    doc(base(segments=[seg([-1], {"version_id": {"/": str(UNKNOWN)}, "config": {}})])),
    "no registered operation version",
    "segments[0].sequence[0].version_id",
)
manifest(
    "arity-first-op",
    doc(base(segments=[seg([-1, -1], "std/utf8-encode")])),
    "std/utf8-encode takes 1 input(s) but the segment has 2",
    "segments[0].sequence[0]",
)
manifest(
    "arity-first-op-too-few",
    doc(base(segments=[seg([-1], "std/equals")])),
    "std/equals takes 2 input(s) but the segment has 1",
    "segments[0].sequence[0]",
)
manifest(
    "arity-later-op",
    doc(base(segments=[seg([-1], "std/utf8-encode", "std/concat")])),
    "std/concat takes 2 inputs; only the first operation of a segment may take other than one",
    "segments[0].sequence[1]",
)
manifest(
    "type-mismatch-in-sequence",
    doc(base(segments=[seg([-1], "std/utf8-encode", "std/utf8-encode")])),
    "std/utf8-encode produces 'bytes' but std/utf8-encode takes 'string'",
    "segments[0].sequence[1]",
)
manifest(
    "type-mismatch-between-segments",
    doc(base(segments=[seg([-1], "std/utf8-encode"), seg([0], "std/utf8-encode")])),
    "segment 0 produces 'bytes' but std/utf8-encode input 0 takes 'string'",
    "segments[1].inputs[0]",
)
manifest(
    "type-mismatch-second-slot",
    doc(base(segments=[seg([-1], "std/utf8-encode"), seg([-1, 0], "std/all")])),
    "segment 0 produces 'bytes' but std/all input 1 takes 'bool'",
    "segments[1].inputs[1]",
)
manifest(
    "config-unknown-key",
    doc(base(segments=[seg([-1], "std/utf8-encode", {"op": "std/hash", "config": {"algo": "x"}})])),
    "unknown config key for std/hash (allowed: algorithm)",
    "segments[0].sequence[1].config.algo",
)
manifest(
    "config-bad-value",
    doc(base(segments=[seg([-1], "std/utf8-encode", {"op": "std/hash", "config": {"algorithm": "md5"}})])),
    "'md5' is not allowed for std/hash (allowed: sha2-256, blake2b-256, blake3)",
    "segments[0].sequence[1].config.algorithm",
    cli=True,
)
manifest(
    "config-value-not-a-string",
    doc(base(segments=[seg([-1], "std/utf8-encode", {"op": "std/hash", "config": {"algorithm": 256}})])),
    "config values are strings, got 256",
    "segments[0].sequence[1].config.algorithm",
)
manifest(
    "config-not-a-map",
    doc(base(segments=[seg([-1], {"op": "std/cid", "config": []})])),
    "segments[0].sequence[0].config: expected a map of strings",
    "segments[0].sequence[0].config",
)
manifest(
    "config-on-op-without-config",
    doc(base(segments=[seg([-1], {"op": "std/cid", "config": {"x": "y"}})])),
    "unknown config key for std/cid (allowed: none)",
    "segments[0].sequence[0].config.x",
)
manifest(
    "config-key-100k",
    doc(base(segments=[seg([-1], {"op": "std/cid", "config": {"k" * 100_000: "v"}})])),
    "unknown config key for std/cid",
    "segments[0].sequence[0].config.'kkkkkkkkkkkkkkkkkkkkkkkkkkk...kkkkkkkkkkkkkkkkkkkkkkkkkkkk'",
    gz=True,
)

# -- manifests: huge ---------------------------------------------------------------------------
# 5 MB of segments: every one well-formed but the last (so all of it is read and parsed).
_many = [seg([-1], "std/utf8-encode")] + [
    seg([0], "std/utf8-decode", "std/utf8-encode") for _ in range(50_000)
]
_many[-1] = {"inputs": "all of them", "sequence": [{"op": "std/utf8-decode", "config": {}}]}
manifest(
    "huge-5mb-last-segment-bad",
    doc(base(segments=_many), compact=True),
    "segments[50000].inputs: a segment needs at least one input",
    "segments[50000].inputs",
    gz=True,
    grpc_code="RESOURCE_EXHAUSTED",
    grpc_error="larger than max",
)
_many[-1] = seg([0], "std/utf8-decode")
manifest(
    "huge-5mb-over-segment-cap",
    doc(base(segments=_many), compact=True),
    "50001 segments is over this node's cap",
    "segments",
    gz=True,
    grpc_code="RESOURCE_EXHAUSTED",
    grpc_error="larger than max",
)


# -- values as DAG-CBOR bytes (Value.Put, Run.Next inputs; sdk values.put_bytes) ------------------
def cbor(name: str, hexdata: str, error: str, **fields: Any) -> None:
    case(
        f"cbor-{name}",
        "value_cbor",
        bytes.fromhex(hexdata.replace(" ", "")),
        error,
        type=fields.pop("type", "EncodingError"),
        **fields,
    )


cbor("nan", "fb 7ff8000000000000", "NaNs are not allowed")
cbor("infinity", "fb 7ff0000000000000", "Infinities are not allowed")
cbor("float16", "f9 3c00", "floats must be 64-bit")
cbor("float32", "fa 3f800000", "floats must be 64-bit")
cbor("map-int-key", "a1 01 02", "map keys must be strings")
cbor("map-bytes-key", "a1 41 00 02", "map keys must be strings")
cbor("map-negative-int-key", "a1 20 02", "map keys must be strings")
cbor("bignum-tag-2", "c2 49 010000000000000000", "bignums and other tags are refused")
cbor("negative-bignum-tag-3", "c3 49 010000000000000000", "bignums and other tags are refused")
cbor("int-below-int64", "3b 8000000000000000", "integer -9223372036854775809 is outside the 64-bit range")
cbor("int-minus-2-64", "3b ffffffffffffffff", "integer -18446744073709551616 is outside the 64-bit range")
cbor("int-not-minimal", "18 01", "not minimally encoded")
cbor("length-not-minimal", "78 01 61", "not minimally encoded")
cbor("keys-unsorted", "a2 6162 01 6161 02", "non-canonical map key ordering")
cbor("keys-not-length-first", "a2 626161 01 6162 02", "non-canonical map key ordering")
cbor("keys-duplicate", "a2 6161 01 6161 02", "non-canonical map key ordering")
cbor("indefinite-array", "9f 01 ff", "indefinite lengths are not allowed")
cbor("indefinite-string", "7f 6161 ff", "indefinite lengths are not allowed")
cbor("undefined", "f7", "the only simple values are false, true and null")
cbor("simple-value", "f0", "the only simple values are false, true and null")
cbor("epoch-time-tag", "c1 00", "bignums and other tags are refused")
cbor("link-not-bytes", "d82a 6161", "bytes are not valid DAG-CBOR")
cbor("link-without-zero-prefix", "d82a 5826 0171a0e40220" + "00" * 32, "invalid CID")
cbor("link-truncated-cid", "d82a 43 000171", "bad link")
cbor("invalid-utf8-string", "61 ff", "can't decode byte 0xff")
cbor("trailing-bytes", "01 01", "did not parse to end of buffer")
cbor("truncated-array", "82 01", "not enough bytes left")
cbor("empty", "", "not enough bytes left")
cbor("length-2-64", "5b ffffffffffffffff", "not enough bytes left")
case(
    "cbor-over-size-cap",
    "value_cbor",
    encode(bytes(70_000)),
    "over the value size cap of 65536 bytes",
    gz=True,
    type="ValueTooLargeError",
    grpc_code="RESOURCE_EXHAUSTED",
)

# -- values as DAG-JSON text (CLI --input; sdk dagjson.parse then runs.next) -------------------------
for name, text, error, fields in [
    ("json-nan", "NaN", "NaN is not allowed", {"cli": True}),
    ("json-infinity", "[1, Infinity]", "$[1]: Infinity is not allowed", {}),
    (
        "json-2-64",
        "18446744073709551616",
        "integer 18446744073709551616 is outside the 64-bit range",
        {"cli": True, "type": "InputError"},
    ),
    ("json-int-5000-digits", "1" + "0" * 5000, "integer of 5001 digits is outside the 64-bit range", {}),
    ("json-duplicate-key", '{"a": 1, "a": 2}', "$: duplicate key 'a'", {}),
    ("json-bad-base64", '{"/": {"bytes": "!!"}}', "invalid base64", {}),
    ("json-bad-link", '{"/": "bafyNOPE"}', "not a CID", {"type": "InvalidCIDError"}),
    ("json-slash-number", '{"/": 5}', "a '/' map must hold a CID string or {'bytes': ...}", {}),
    ("json-deep-700", "[" * 700 + "]" * 700, "nested too deeply", {}),
    ("json-wrong-type", "5", "segment 0 input 0: expected string, got int", {"type": "InputError"}),
    ("json-not-json", "{x", "not valid JSON", {}),
]:
    case(name, "value_json", text.encode(), error, type=fields.pop("type", "EncodingError"), **fields)

# -- CIDs as text ------------------------------------------------------------------------------
_real = str(UNKNOWN)
for name, text, error in [
    ("empty", "", "not a CID: ''"),
    ("prefix-only", "b", "CID bytes: empty"),
    ("uppercase", _real.upper(), "expected base32 text starting with 'b'"),
    ("cidv0", "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", "expected base32 text starting with 'b'"),
    ("base58btc", "z" + _real[1:], "expected base32 text starting with 'b'"),
    ("not-base32", "b1" + _real[2:], "is not valid base32"),
    ("truncated", _real[:-1], "digest is 31 bytes, header says 32"),
    ("one-char-more", _real + "a", "is not valid base32"),
    ("padding-bits", _real[:-1] + "7", "is not canonical base32"),
    ("version-255", "b7777777777", "version 255 is not supported"),
    ("spaces", f" {_real} ", "expected base32 text starting with 'b'"),
    ("non-ascii", "bafy\u00e9", "is not valid base32"),
    ("huge", "b" + "a" * 100_000, "(100001 characters)"),
]:
    case(
        f"text-{name}",
        "cid_text",
        text.encode(),
        error,
        type="InvalidCIDError",
        cli=name in ("uppercase", "truncated"),
    )

# -- CIDs as bytes (every CID field of the gRPC API) -----------------------------------------------
_raw = UNKNOWN.cid_bytes
for name, data, error, grpc_error in [
    ("empty", b"", "CID bytes: empty", "a CID is required"),
    ("version-0", b"\x00", "version 0 is not supported", None),
    ("version-only", b"\x01", "truncated or overlong varint for codec", None),
    ("no-multihash", b"\x01\x71", "truncated or overlong varint for multihash code", None),
    ("no-digest", _raw[:6], "digest is 0 bytes, header says 32", None),
    ("digest-short", _raw[:-1], "digest is 31 bytes, header says 32", None),
    ("digest-long", _raw + b"\x00", "digest is 33 bytes, header says 32", None),
    ("cidv0", b"\x12\x20" + bytes(32), "version 18 is not supported", None),
    ("overlong-varint", b"\x01" + b"\xff" * 12, "truncated or overlong varint for codec", None),
    ("random", bytes(random.Random(7).getrandbits(8) for _ in range(38)), "CID bytes", None),
]:
    case(
        f"bytes-{name}",
        "cid_bytes",
        data,
        error,
        type="InvalidCIDError",
        **({"grpc_error": grpc_error} if grpc_error else {}),
    )


# -- gRPC requests: filters, enums, paging, raw garbage -------------------------------------------
def request(name: str, method: str, message: Any, error: str, **fields: Any) -> None:
    data = message if isinstance(message, bytes) else message.SerializeToString()
    case(f"grpc-{name}", "request", data, error, method=method, **fields)


LIST, UPDATES = "/catenary.api.v1.Execution/List", "/catenary.api.v1.Execution/Updates"
F = definition_pb2.Filter
request(
    "filter-status-unknown",
    LIST,
    execution_pb2.ListExecutionsRequest(filter=F(statuses=[7])),
    "filter.statuses: unknown status 7",
)
request(
    "filter-status-unspecified",
    LIST,
    execution_pb2.ListExecutionsRequest(filter=F(statuses=[3, 0])),
    "filter.statuses: unknown status 0",
)
request(
    "filter-status-negative",
    LIST,
    execution_pb2.ListExecutionsRequest(filter=F(statuses=[-5])),
    "filter.statuses: unknown status -5",
)
for field in ("workflow", "run", "operation", "parent", "key"):
    request(
        f"filter-{field}-malformed",
        LIST,
        execution_pb2.ListExecutionsRequest(filter=F(**{field: b"\x01\x71\xa0"})),
        f"filter.{field}: CID bytes",
    )
request(
    "filter-created-after-and-bad-run",
    LIST,
    execution_pb2.ListExecutionsRequest(filter=F(created_after=-1, run=b"\x00")),
    "filter.run",
)
request(
    "page-size-over-max",
    LIST,
    execution_pb2.ListExecutionsRequest(page_size=5000),
    "page size must be between 1 and 1000, got 5000",
)
request(
    "page-token-junk",
    LIST,
    execution_pb2.ListExecutionsRequest(page_token="not a token"),
    "invalid page token",
)
request(
    "updates-status-unknown",
    UPDATES,
    execution_pb2.UpdatesRequest(filter=F(statuses=[99])),
    "filter.statuses: unknown status 99",
)
request(
    "updates-key-malformed",
    UPDATES,
    execution_pb2.UpdatesRequest(filter=F(key=b"\x01")),
    "filter.key: CID bytes",
)
request(
    "trace-direction-unknown",
    "/catenary.api.v1.Execution/Trace",
    execution_pb2.TraceRequest(hash=UNKNOWN.cid_bytes, direction=7),
    "direction: unknown value 7",
)
request(
    "update-status-unknown",
    "/catenary.api.v1.Execution/Update",
    execution_pb2.UpdateExecutionRequest(hash=UNKNOWN.cid_bytes, status=99),
    "status: unknown status 99",
)
request(
    "update-output-not-cbor",
    "/catenary.api.v1.Execution/Update",
    execution_pb2.UpdateExecutionRequest(hash=UNKNOWN.cid_bytes, status=3, output=b"\xff"),
    "bytes are not valid DAG-CBOR",
)
request(
    "create-parent-malformed",
    "/catenary.api.v1.Execution/Create",
    execution_pb2.CreateExecutionRequest(
        workflow=UNKNOWN.cid_bytes,
        run=UNKNOWN.cid_bytes,
        operation=UNKNOWN.cid_bytes,
        parents=[b"\x01\x02"],
        inputs=[UNKNOWN.cid_bytes],
    ),
    "parents[0]: CID bytes",
)
request(
    "next-input-not-cbor",
    "/catenary.api.v1.Run/Next",
    run_pb2.NextRequest(run=UNKNOWN.cid_bytes, inputs=[b"\x9f"]),
    "bytes are not valid DAG-CBOR",
)
request(
    "runs-list-workflow-malformed",
    "/catenary.api.v1.Run/List",
    run_pb2.ListRunsRequest(workflow=b"\x05"),
    "workflow: CID bytes",
)
request(
    "garbage-bytes",
    "/catenary.api.v1.Execution/Get",
    b"\xff\xff\xff\xff",
    "not a valid catenary.api.v1.GetExecutionRequest message",
)
request(
    "truncated-field",
    "/catenary.api.v1.Execution/Get",
    b"\x0a\x64\x01\x71",
    "not a valid catenary.api.v1.GetExecutionRequest message",
)
request("wrong-wire-type", "/catenary.api.v1.Run/Get", b"\x0d\x00\x00\x00\x00", "CID is required")
request(
    "manifest-not-utf8",
    "/catenary.api.v1.Workflow/Create",
    b"\x0a\x03\xff\xfe\xfd",
    "not a valid catenary.api.v1.CreateWorkflowRequest message",
)
request(
    "filter-not-a-message", LIST, b"\x0a\x02\xff\xff", "not a valid catenary.api.v1.ListExecutionsRequest"
)
request(
    "unknown-fields-and-bad-hash",
    "/catenary.api.v1.Value/Get",
    b"\xa2\x06\x01\x00\x0a\x01\x07",
    "cid: CID bytes: version 7 is not supported",
)


# -- page tokens -------------------------------------------------------------------------------
def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


_rnd = random.Random(11)
for name, token, error, fields in [
    (
        "random-bytes",
        bytes(_rnd.getrandbits(8) for _ in range(24)).decode("latin-1"),
        "invalid page token",
        {},
    ),
    ("random-base64", b64(bytes(_rnd.getrandbits(8) for _ in range(24))), "invalid page token", {}),
    ("junk-base64", b64(b"hello, I am a page token"), "invalid page token", {"cli": True}),
    ("not-base64", "!!!***", "invalid page token", {}),
    ("empty-list", b64(encode([])), "invalid page token", {}),
    ("wrong-version", b64(encode([2, 5, bytes(8)])), "invalid page token", {}),
    ("negative-id", b64(encode([1, -5, bytes(8)])), "invalid page token", {}),
    ("id-is-text", b64(encode([1, "5", bytes(8)])), "invalid page token", {}),
    ("map", b64(encode({"before": 5})), "invalid page token", {}),
    ("wrong-fingerprint", b64(encode([1, 5, bytes(8)])), "page token was made for a different filter", {}),
]:
    case(f"token-{name}", "page_token", token.encode("utf-8"), error, type="BadInputError", **fields)
for derive, error in [
    ("one-byte-changed-header", "invalid page token"),
    ("one-byte-changed-fingerprint", "page token was made for a different filter"),
    ("other-filter", "page token was made for a different filter"),
    ("id-over-int64", "invalid page token"),
    ("id-bool", "invalid page token"),
    ("megabyte", "(1000000 characters)"),
]:
    case(f"token-{derive}", "page_token", None, error, type="BadInputError", derive=derive)

# -- unknown ids ---------------------------------------------------------------------------------
for target, error, cli in [
    ("workflow", f"unknown workflow {UNKNOWN}", True),
    ("run", f"unknown run {UNKNOWN}", False),
    ("run-next", f"unknown run {UNKNOWN}", False),
    ("run-new", f"unknown workflow {UNKNOWN}", False),
    ("execution", f"unknown execution {UNKNOWN}", True),
    ("trace", f"unknown execution {UNKNOWN}", False),
    ("value", f"no value {UNKNOWN}", False),
    ("operation", f"unknown operation version {UNKNOWN}", False),
]:
    case(
        f"unknown-{target}",
        "unknown_id",
        str(UNKNOWN).encode(),
        error,
        type="NotFoundError",
        target=target,
        grpc_code="NOT_FOUND",
        cli=cli,
    )


def write(root: Path = HERE) -> list[Path]:
    """Write every corpus file and index.json under ``root``; return the paths written."""
    written = []
    index = []
    for entry in CASES:
        entry = dict(entry)
        content = entry.pop("_content", None)
        if content is not None:
            path = root / entry["file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            # mtime=0: the same bytes on every run, so the committed .gz files never churn.
            path.write_bytes(gzip.compress(content, mtime=0) if path.suffix == ".gz" else content)
            written.append(path)
        index.append(entry)
    (root / "index.json").write_text(json.dumps({"cases": index}, indent=1, ensure_ascii=True) + "\n")
    written.append(root / "index.json")
    return written


if __name__ == "__main__":
    paths = write()
    print(f"wrote {len(paths) - 1} corpus files and index.json ({len(CASES)} cases)")

"""Golden vectors (SPEC §1): value -> DAG-CBOR bytes -> CIDv1 dag-cbor blake2b-256.

The stored file tests/cid/golden_vectors.json was made once by the independent
implementation (dag-cbor + multiformats, see make_vectors.py). Here catenary and
the independent implementation must both reproduce it exactly.
"""

from __future__ import annotations

import json
import struct

import cbrrr
import dag_cbor
import pytest
from multiformats import CID as MfCID

from catenary.cid import CID, block, block_cid, cid_of, dagjson, decode, encode

from .helpers import assert_same, from_dag_json, independent_cid, load_vectors

VECTORS = load_vectors()
IDS = [v["name"] for v in VECTORS]


def catenary_value(vec):
    return from_dag_json(vec["value"], CID.parse)


def independent_value(vec):
    return from_dag_json(vec["value"], MfCID.decode)


# --- the file itself -------------------------------------------------------------


def _walk(value):
    yield value
    if isinstance(value, list):
        for v in value:
            yield from _walk(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)


def test_file_is_well_formed_and_covers_every_kind():
    assert len(VECTORS) >= 24
    assert len(set(IDS)) == len(IDS), "vector names must be unique"
    for vec in VECTORS:
        assert set(vec) == {"name", "value", "bytes", "cid"}, vec["name"]
        assert vec["cid"].startswith("bafy2bza"), vec["name"]
        bytes.fromhex(vec["bytes"])

    tops = [catenary_value(v) for v in VECTORS]
    everything = [x for t in tops for x in _walk(t)]
    kinds = {type(x) for x in everything}
    assert {type(None), bool, int, float, str, bytes, list, dict, CID} <= kinds

    ints = {x for x in tops if type(x) is int}
    for boundary in (0, 23, 24, 255, 256, 65535, 65536, 2**32, 2**63 - 1, 2**64 - 1, -1, -(2**63)):
        assert boundary in ints, boundary
    float_bits = {struct.pack(">d", x) for x in tops if type(x) is float}
    for f in (0.0, -0.0, 1.5, 1e300, 5e-324):
        assert struct.pack(">d", f) in float_bits, f
    assert "" in tops and b"" in tops
    assert any(type(x) is str and any(ord(c) > 0xFFFF for c in x) for x in tops), "emoji string"
    assert any(type(x) is dict and {"b", "aa", "a", "ab"} <= set(x) for x in tops), "key-order trap"
    assert any(type(x) is dict and any(any(ord(c) > 127 for c in k) for k in x) for x in tops)
    assert any(type(x) is list and len(x) > 1 and all(type(i) is CID for i in x) for x in tops)
    assert any(
        type(x) is dict
        and {"workflow", "segment", "step", "operation", "config", "parents", "inputs"} <= set(x)
        for x in tops
    ), "execution record pre-image"


def test_key_order_trap_bytes_are_length_first():
    vec = next(v for v in VECTORS if v["name"] == "map key order trap")
    # a4 | "a" 03 | "b" 01 | "aa" 02 | "ab" 04
    assert vec["bytes"] == "a46161036162016261610262616204"


# --- catenary against the file ------------------------------------------------


@pytest.mark.parametrize("vec", VECTORS, ids=IDS)
def test_catenary_encode_gives_stored_bytes_and_cid(vec):
    value = catenary_value(vec)
    data = encode(value)
    assert data.hex() == vec["bytes"]
    assert str(cid_of(value)) == vec["cid"]
    cid, blk = block(value)
    assert (str(cid), blk.hex()) == (vec["cid"], vec["bytes"])
    assert str(block_cid(bytes.fromhex(vec["bytes"]))) == vec["cid"]


@pytest.mark.parametrize("vec", VECTORS, ids=IDS)
def test_catenary_decode_round_trips(vec):
    data = bytes.fromhex(vec["bytes"])
    decoded = decode(data)
    assert_same(decoded, catenary_value(vec))
    for x in _walk(decoded):
        if isinstance(x, cbrrr.CID):
            assert type(x) is CID, "links must decode as catenary CIDs"
    assert encode(decoded) == data


@pytest.mark.parametrize("vec", VECTORS, ids=IDS)
def test_catenary_dagjson_view_matches_stored_value(vec):
    decoded = decode(bytes.fromhex(vec["bytes"]))
    # Compare as JSON text so that -0.0 vs 0.0 and 1.0 vs 1 are told apart.
    assert json.dumps(dagjson.to_json(decoded), sort_keys=True) == json.dumps(vec["value"], sort_keys=True)
    assert_same(dagjson.from_json(vec["value"]), catenary_value(vec))


@pytest.mark.parametrize("vec", VECTORS, ids=IDS)
def test_cid_text_and_bytes_round_trip(vec):
    cid = CID.parse(vec["cid"])
    assert str(cid) == vec["cid"]
    assert cid.codec == 0x71
    assert cid.cid_bytes == bytes(MfCID.decode(vec["cid"]))
    assert CID.from_bytes(cid.cid_bytes) == cid


# --- the independent implementation against the file ----------------------------


@pytest.mark.parametrize("vec", VECTORS, ids=IDS)
def test_independent_implementation_agrees(vec):
    value = independent_value(vec)
    data = dag_cbor.encode(value)
    assert data.hex() == vec["bytes"]
    cid = independent_cid(data)
    assert str(cid) == vec["cid"]
    parsed = MfCID.decode(vec["cid"])
    assert (parsed.version, parsed.codec.name, parsed.hashfun.name) == (1, "dag-cbor", "blake2b-256")
    # and it reads the bytes back to the same value
    assert_same(dag_cbor.decode(data), value)

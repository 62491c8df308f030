"""The one varint and the one table of CID prefixes behind CID bytes, CAR framing, bundles
and WASM modules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multiformats import CID as MfCID
from multiformats import multihash

from catenary.cid import CID, block_cid, raw_cid, raw_sha256_cid
from catenary.cid.car import read_varint as car_varint
from catenary.cid.cid import BLAKE2B_256, DAG_CBOR, PREFIXES, RAW, SHA2_256, kind_of
from catenary.cid.varint import VarintProblem, encode_varint, read_varint
from catenary.errors import InvalidCIDError, UnreadableBundleError


def _problem(problem: VarintProblem) -> Exception:
    return ValueError(problem.name)


@given(st.integers(min_value=0, max_value=2**63 - 1), st.binary(max_size=4))
def test_round_trip_at_any_offset(value: int, before: bytes) -> None:
    data = before + encode_varint(value) + b"\xff"
    assert read_varint(data, len(before), _problem) == (value, len(data) - 1)


@pytest.mark.parametrize(
    "data, problem",
    [(b"\x80", "TRUNCATED"), (b"\x80" * 9 + b"\x01", "TOO_LONG"), (b"\x81\x00", "NOT_MINIMAL")],
)
def test_each_problem_is_named(data: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        read_varint(data, 0, _problem)


def test_a_padded_varint_passes_in_a_cid_but_not_in_car_framing() -> None:
    # CID.from_bytes has always taken one; CAR framing has always refused it.
    padded = bytes([0x01, 0xF1, 0x00, 0xA0, 0xE4, 0x02, 0x20]) + bytes(32)
    assert CID.from_bytes(padded).codec == DAG_CBOR
    with pytest.raises(UnreadableBundleError, match="CAR byte 0: length varint is not minimally"):
        car_varint(b"\x81\x00", 0, "length")
    with pytest.raises(InvalidCIDError, match="varint for codec at byte 1"):
        CID.from_bytes(b"\x01\x80")


@given(st.binary(max_size=64))
def test_every_helper_matches_multiformats(data: bytes) -> None:
    for cid, codec, hash_name in [
        (block_cid(data), "dag-cbor", "blake2b-256"),
        (raw_cid(data), "raw", "blake2b-256"),
        (raw_sha256_cid(data), "raw", "sha2-256"),
    ]:
        assert str(cid) == str(MfCID("base32", 1, codec, multihash.digest(data, hash_name)))


def test_the_prefix_table_names_each_kind() -> None:
    assert PREFIXES[DAG_CBOR, BLAKE2B_256].hex() == "0171a0e40220"
    assert PREFIXES[RAW, BLAKE2B_256].hex() == "0155a0e40220"
    assert PREFIXES[RAW, SHA2_256].hex() == "01551220"
    assert kind_of(block_cid(b"x")) == (DAG_CBOR, BLAKE2B_256)
    assert kind_of(raw_cid(b"x")) == (RAW, BLAKE2B_256)
    assert kind_of(raw_sha256_cid(b"x")) == (RAW, SHA2_256)
    assert kind_of(CID.from_bytes(bytes([0x01, 0x70, 0x12, 0x20]) + bytes(32))) is None

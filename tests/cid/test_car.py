"""CARv1 framing: round trips, and every malformed input refused with a byte offset."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catenary.cid import block
from catenary.cid.car import car_bytes, encode_varint, read_car, read_varint, write_car
from catenary.errors import UnreadableBundleError

BLOCKS = [block(v) for v in ("a", {"n": 1}, b"\x00" * 300, [1, 2, 3])]


def sample() -> bytes:
    return car_bytes([BLOCKS[0][0], BLOCKS[1][0]], BLOCKS)


def test_round_trip_keeps_roots_blocks_and_order() -> None:
    buffer = io.BytesIO()
    written = write_car(buffer, [BLOCKS[0][0]], BLOCKS)
    data = buffer.getvalue()
    assert written == len(data)
    car = read_car(data)
    assert car.roots == [BLOCKS[0][0]]
    assert [(b.cid, b.data) for b in car.blocks] == BLOCKS
    # Offsets point at each section's length varint.
    for item in car.blocks:
        length, at = read_varint(data, item.offset, "test")
        assert data[at : at + length] == item.cid.cid_bytes + item.data


def test_header_is_the_dag_cbor_map_of_the_spec() -> None:
    data = sample()
    length, at = read_varint(data, 0, "header")
    # {"roots": [...], "version": 1}: keys sorted length-first, roots (5) before version (7).
    assert data[at : at + 1] == b"\xa2" and data[at + 1 : at + 7] == b"eroots"
    assert data[at + length - 9 : at + length] == b"gversion\x01"


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_varint_round_trip(value: int) -> None:
    encoded = encode_varint(value)
    assert read_varint(encoded, 0, "v") == (value, len(encoded))


def test_truncated_file_is_refused_with_an_offset() -> None:
    data = sample()
    boundaries = {b.offset for b in read_car(data).blocks}
    for size in range(len(data)):
        if size in boundaries:
            # A cut between sections is a well-formed, shorter CAR: the bundle verifier is
            # what notices the missing blocks (tests/trust).
            assert len(read_car(data[:size]).blocks) < len(BLOCKS)
            continue
        with pytest.raises(UnreadableBundleError, match=r"CAR byte \d+|empty"):
            read_car(data[:size])


@pytest.mark.parametrize(
    "data,match",
    [
        (b"", "empty"),
        (b"\x05\xa0", "runs past the end"),
        (b"\x01\xff", "not DAG-CBOR"),
        (encode_varint(11) + bytes.fromhex("a167766572736976656f6e02"[:22]), "not DAG-CBOR|version"),
        (b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", "longer than 9 bytes"),
        (b"\x81\x00", "not minimally encoded"),
    ],
)
def test_bad_headers(data: bytes, match: str) -> None:
    with pytest.raises(UnreadableBundleError, match=match):
        read_car(data)


def test_wrong_version_and_empty_roots() -> None:
    from catenary.cid import encode

    for header, match in [
        ({"version": 2, "roots": [BLOCKS[0][0]]}, "version 2"),
        ({"version": 1, "roots": []}, "roots"),
        ([1], "version None"),
    ]:
        raw = encode(header)
        with pytest.raises(UnreadableBundleError, match=match):
            read_car(encode_varint(len(raw)) + raw)


def test_cidv0_section_is_refused() -> None:
    from catenary.cid import encode

    raw = encode({"version": 1, "roots": [BLOCKS[0][0]]})
    header = encode_varint(len(raw)) + raw
    section = b"\x12\x20" + b"\x11" * 32 + b"data"
    with pytest.raises(UnreadableBundleError, match="CIDv0"):
        read_car(header + encode_varint(len(section)) + section)


def test_section_longer_than_the_file() -> None:
    data = sample()
    car = read_car(data)
    last = car.blocks[-1].offset
    with pytest.raises(UnreadableBundleError, match=f"CAR byte {last}: section 3 claims"):
        read_car(data[:-1])

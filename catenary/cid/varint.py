"""Unsigned varints (multiformats' unsigned-varint, LEB128 of at most 9 bytes): the one
encoder and decoder behind CID bytes and CAR framing. Pure."""

from __future__ import annotations

import enum
from collections.abc import Callable

MAX_BYTES = 9


class VarintProblem(enum.Enum):
    """Why bytes are not a varint; the caller turns it into its own error, with its context."""

    TRUNCATED = "truncated"
    TOO_LONG = "longer than 9 bytes"
    NOT_MINIMAL = "not minimally encoded"


def encode_varint(value: int) -> bytes:
    """Unsigned LEB128, as multiformats' unsigned-varint."""
    if value < 0:
        raise ValueError("varints are unsigned")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(
    data: bytes | memoryview, pos: int, fail: Callable[[VarintProblem], Exception], minimal: bool = True
) -> tuple[int, int]:
    """Decode the varint at ``pos``; return (value, position after it). On bad bytes, raise
    ``fail(problem)``. ``minimal=False`` lets a padded encoding through (``0x81 0x00``)."""
    value = shift = 0
    for i in range(pos, min(pos + MAX_BYTES, len(data))):
        byte = data[i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if minimal and byte == 0 and i > pos:
                raise fail(VarintProblem.NOT_MINIMAL)
            return value, i + 1
        shift += 7
    raise fail(VarintProblem.TOO_LONG if pos + MAX_BYTES <= len(data) else VarintProblem.TRUNCATED)

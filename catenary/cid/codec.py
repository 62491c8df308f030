"""DAG-CBOR encoding and decoding (canonical, strict), with errors that say where."""

from __future__ import annotations

import math
from typing import Any

import cbrrr

from catenary.cid.cid import CID, block_cid
from catenary.errors import EncodingError, InvalidCIDError

INT_MIN = -(2**63)
INT_MAX = 2**64 - 1


def encode(value: Any) -> bytes:
    """Encode ``value`` as canonical DAG-CBOR.

    Raises EncodingError naming the offending path for NaN/Infinity,
    non-string map keys, integers outside 64 bits and unsupported types.
    """
    try:
        data = cbrrr.encode_dag_cbor(value, cid_type=CID)
    except (TypeError, ValueError, OverflowError) as exc:
        raise EncodingError(_locate(value) or f"value is not DAG-CBOR: {exc}") from exc
    _refuse_low_ints(value, data)
    return data


def encode_trusted(value: Any) -> bytes:
    """The bytes :func:`encode` gives, without its value checks: only for values built from
    parts already checked (CIDs, small non-negative ints, validated strings), where the
    checks have nothing to find and cost more than the encoding (engine hot path)."""
    return cbrrr.encode_dag_cbor(value, cid_type=CID)


def decode(data: bytes) -> Any:
    """Decode strict DAG-CBOR bytes; links come back as :class:`CID`."""
    data = bytes(data)
    try:
        value = cbrrr.decode_dag_cbor(data, cid_ctor=CID.from_bytes)
    except (cbrrr.CbrrrDecodeError, ValueError, TypeError, EOFError) as exc:
        raise EncodingError(f"bytes are not valid DAG-CBOR: {exc}{_hint(str(exc))}") from exc
    except InvalidCIDError as exc:  # a tag-42 link whose CID bytes are malformed
        raise EncodingError(f"bytes are not valid DAG-CBOR: bad link: {exc}") from exc
    _refuse_low_ints(value, data)
    return value


# cbrrr names the CBOR rule that failed; say what it means for a DAG-CBOR value.
_HINTS = [
    ("expected 3", "map keys must be strings"),
    ("invalid tag value", "the only tag allowed is 42 (a link): bignums and other tags are refused"),
    ("float mtype (25)", "floats must be 64-bit"),
    ("float mtype (26)", "floats must be 64-bit"),
    ("float mtype", "the only simple values are false, true and null"),
    ("extra info (31)", "indefinite lengths are not allowed"),
    ("not minimally encoded", "every length and integer must use its shortest form"),
    ("non-canonical map key ordering", "keys must be sorted by length, then bytewise, without repeats"),
]


def _hint(message: str) -> str:
    return next((f" ({hint})" for marker, hint in _HINTS if marker in message), "")


def _refuse_low_ints(value: Any, data: bytes) -> None:
    """cbrrr takes negative ints down to -2**64; the SPEC stops at -2**63.

    Such an int is encoded with head byte 0x3b, so only walk when that byte occurs.
    """
    if b"\x3b" in data:
        problem = _locate(value)
        if problem:
            raise EncodingError(problem)


def block(value: Any) -> tuple[CID, bytes]:
    """Encode ``value`` and return its CID with the bytes."""
    data = encode(value)
    return block_cid(data), data


def cid_of(value: Any) -> CID:
    """CID of a value's DAG-CBOR encoding."""
    return block_cid(encode(value))


def check_value(value: Any, path: str = "$") -> None:
    """Refuse what DAG-CBOR cannot hold faithfully, naming the path.

    cbrrr already refuses most of it; this walk adds the 64-bit integer range
    (SPEC: signed range plus the unsigned upper half) and gives the location.
    """
    problem = _locate(value, path)
    if problem:
        raise EncodingError(problem)


def _locate(value: Any, path: str = "$") -> str | None:
    # Exact types, as cbrrr checks them: a tuple, a str/int/dict subclass or a
    # foreign CID class is refused by encode(), so check_value() refuses it too.
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        kind = type(item)
        if kind is str:
            problem = _surrogate(item, where)
            if problem:
                return problem
            continue
        if item is None or kind in (bool, bytes, CID):
            continue
        if kind is int:
            if not INT_MIN <= item <= INT_MAX:
                shown = item if item.bit_length() <= 128 else f"of {item.bit_length()} bits"  # str() of a
                # huge int raises ValueError (Python's 4300-digit limit)
                return f"{where}: integer {shown} is outside the 64-bit range (bignums are refused)"
        elif kind is float:
            if math.isnan(item) or math.isinf(item):
                return f"{where}: float {item} is not allowed (DAG-CBOR has no NaN or Infinity)"
        elif kind is list:
            stack.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(item))))
        elif kind is dict:
            for k in item:
                if type(k) is not str:
                    shown = repr(k) if not isinstance(k, int) or k.bit_length() <= 128 else "(huge)"
                    return (
                        f"{where}: map key {shown[:60]} ({type(k).__name__}) is not a string "
                        "(DAG-CBOR keys are strings)"
                    )
                problem = _surrogate(k, f"{where} key")
                if problem:
                    return problem
            stack.extend((v, f"{where}.{k}") for k, v in reversed(list(item.items())))
        elif isinstance(item, cbrrr.CID):
            return f"{where}: {kind.__module__}.{kind.__name__} is not a catenary CID (use CID.coerce)"
        else:
            return f"{where}: {kind.__module__}.{kind.__qualname__} is not a DAG-CBOR type"
    return None


def _surrogate(text: str, where: str) -> str | None:
    """A lone surrogate (possible in a Python str, e.g. from JSON "\\ud800") is not UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"{where}: string has a lone surrogate at character {exc.start} (strings must be valid UTF-8)"
    return None

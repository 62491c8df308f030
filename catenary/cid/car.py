"""CARv1 (Content Addressable aRchive) reading and writing, over bytes.

A CARv1 file is::

    varint(len(header)) header          header = DAG-CBOR {"version": 1, "roots": [link, ...]}
    varint(len(cid) + len(data)) cid data    one section per block, repeated to the end

``cid`` is the binary CID (no multibase prefix) and ``data`` the block's bytes. This
module only frames blocks: it does not check that a block's bytes hash to its CID
(:func:`catenary.cid.block_cid` does that, and the bundle verifier reports each block
that does not). Every framing error names the byte offset where it was found.
Pure: no I/O besides the stream handed to :func:`write_car`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from catenary.cid import varint
from catenary.cid.cid import CID
from catenary.cid.codec import decode, encode
from catenary.cid.varint import VarintProblem, encode_varint
from catenary.errors import CatenaryError, UnreadableBundleError

__all__ = [
    "CarBlock",
    "CarFile",
    "car_bytes",
    "cid_length",
    "encode_varint",
    "read_car",
    "read_varint",
    "write_car",
]

# A section longer than this is refused before anything is allocated for it.
MAX_SECTION = 1 << 31


def read_varint(data: bytes | memoryview, pos: int, what: str) -> tuple[int, int]:
    """Decode the unsigned varint at ``pos`` (:mod:`catenary.cid.varint`); return (value,
    position after it). Bad bytes raise UnreadableBundleError naming the offset and ``what``."""

    def fail(problem: VarintProblem) -> UnreadableBundleError:
        if problem is VarintProblem.TRUNCATED:
            return UnreadableBundleError(f"CAR byte {pos}: file ends inside the {what} varint (truncated)")
        return UnreadableBundleError(f"CAR byte {pos}: {what} varint is {problem.value}")

    return varint.read_varint(data, pos, fail)


def cid_length(data: bytes | memoryview, pos: int, end: int) -> int:
    """Length of the binary CIDv1 that starts at ``pos`` (version, codec, multihash)."""
    if pos >= end:
        raise UnreadableBundleError(f"CAR byte {pos}: section holds no CID")
    if data[pos] != 0x01:
        if data[pos] == 0x12 and pos + 1 < end and data[pos + 1] == 0x20:
            raise UnreadableBundleError(f"CAR byte {pos}: CIDv0 blocks are not supported (only CIDv1)")
        raise UnreadableBundleError(f"CAR byte {pos}: CID version {data[pos]} is not supported (only CIDv1)")
    _codec, at = read_varint(data, pos + 1, "CID codec")
    _code, at = read_varint(data, at, "CID multihash code")
    length, at = read_varint(data, at, "CID digest length")
    if at + length > end:
        raise UnreadableBundleError(f"CAR byte {pos}: CID digest runs past the end of its section")
    return at + length - pos


@dataclass(frozen=True)
class CarBlock:
    """One section of a CAR file: a CID, the bytes stored under it, and where it starts."""

    cid: CID
    data: bytes
    offset: int  # byte offset of the section's length varint


@dataclass(frozen=True)
class CarFile:
    """A parsed CARv1 file: its roots and its blocks in file order."""

    roots: list[CID]
    blocks: list[CarBlock]


def read_car(data: bytes) -> CarFile:
    """Parse a whole CARv1 file; raise UnreadableBundleError naming the byte offset on any
    framing problem (truncation, bad varint, header that is not ``{version: 1, roots}``)."""
    data = bytes(data)
    if not data:
        raise UnreadableBundleError("CAR file is empty")
    view = memoryview(data)
    header_len, pos = read_varint(view, 0, "header length")
    if header_len == 0 or pos + header_len > len(data):
        raise UnreadableBundleError(
            f"CAR byte 0: header length {header_len} runs past the end of the file ({len(data)} bytes)"
            if header_len
            else "CAR byte 0: header length is 0"
        )
    try:
        header = decode(data[pos : pos + header_len])
    except CatenaryError as exc:
        raise UnreadableBundleError(f"CAR byte {pos}: header is not DAG-CBOR: {exc}") from exc
    if not isinstance(header, dict) or header.get("version") != 1:
        version = header.get("version") if isinstance(header, dict) else None
        raise UnreadableBundleError(f"CAR byte {pos}: not a CARv1 header (version {version!r}, expected 1)")
    roots = header.get("roots")
    if not isinstance(roots, list) or not roots or not all(isinstance(r, CID) for r in roots):
        raise UnreadableBundleError(f"CAR byte {pos}: header roots must be a non-empty list of links")
    pos += header_len
    blocks: list[CarBlock] = []
    while pos < len(data):
        start = pos
        length, pos = read_varint(view, pos, f"section {len(blocks)} length")
        if length == 0:
            raise UnreadableBundleError(f"CAR byte {start}: section {len(blocks)} has length 0")
        end = pos + length
        if length > MAX_SECTION or end > len(data):
            raise UnreadableBundleError(
                f"CAR byte {start}: section {len(blocks)} claims {length} bytes but only "
                f"{len(data) - pos} remain (truncated or corrupt)"
            )
        size = cid_length(view, pos, end)
        try:
            cid = CID.from_bytes(data[pos : pos + size])
        except CatenaryError as exc:
            raise UnreadableBundleError(f"CAR byte {pos}: section {len(blocks)}: {exc}") from exc
        blocks.append(CarBlock(cid, data[pos + size : end], start))
        pos = end
    return CarFile(roots, blocks)


def write_car(stream: BinaryIO, roots: list[CID], blocks: Iterable[tuple[CID, bytes]]) -> int:
    """Write a CARv1 file to ``stream``; return the number of bytes written."""
    header = encode({"version": 1, "roots": list(roots)})
    written = stream.write(encode_varint(len(header)) + header)
    for cid, data in blocks:
        raw = cid.cid_bytes
        written += stream.write(encode_varint(len(raw) + len(data)) + raw + data)
    return written


def car_bytes(roots: list[CID], blocks: Iterable[tuple[CID, bytes]]) -> bytes:
    """The bytes of a CARv1 file (see :func:`write_car`)."""
    import io

    buffer = io.BytesIO()
    write_car(buffer, roots, blocks)
    return buffer.getvalue()

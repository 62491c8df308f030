"""CIDv1 as an immutable, validated value (binary and base32 text forms)."""

from __future__ import annotations

import base64
import hashlib

import cbrrr

from catenary.cid.varint import VarintProblem, encode_varint, read_varint
from catenary.errors import InvalidCIDError

DAG_CBOR = 0x71
RAW = 0x55
BLAKE2B_256 = 0xB220
SHA2_256 = 0x12

# The CIDs catenary makes, by (codec, multihash): the bytes before the 32-byte digest
# (version 1, codec, multihash code, digest length, each a varint).
PREFIXES: dict[tuple[int, int], bytes] = {
    (codec, code): bytes([0x01]) + encode_varint(codec) + encode_varint(code) + bytes([0x20])
    for codec, code in ((DAG_CBOR, BLAKE2B_256), (RAW, BLAKE2B_256), (RAW, SHA2_256))
}
_PREFIX_DAG_CBOR_BLAKE2B = PREFIXES[DAG_CBOR, BLAKE2B_256]
_PREFIX_RAW_BLAKE2B = PREFIXES[RAW, BLAKE2B_256]
_PREFIX_RAW_SHA256 = PREFIXES[RAW, SHA2_256]


def _varint(data: bytes, pos: int, what: str) -> tuple[int, int]:
    def fail(_problem: VarintProblem) -> InvalidCIDError:
        return InvalidCIDError(f"CID bytes: truncated or overlong varint for {what} at byte {pos}")

    # Not minimal: CID.from_bytes has always taken a padded varint (only CAR framing refuses it).
    return read_varint(data, pos, fail, minimal=False)


def _shown(text: object) -> str:
    """The text as quoted in an error: a CID is ~62 characters, a 5 MB string is cut."""
    shown = repr(text)
    return shown if len(shown) <= 100 else f"{shown[:80]}... ({len(str(text))} characters)"


class CID(cbrrr.CID):
    """A CIDv1. Construct with :meth:`from_bytes`, :meth:`parse` or :func:`block_cid`.

    Subclasses cbrrr's CID so the DAG-CBOR codec encodes it as a tag-42 link
    without any conversion.
    """

    __slots__ = ()

    @classmethod
    def from_bytes(cls, data: bytes) -> CID:
        """Validate the binary form (version 1, codec, multihash) and wrap it."""
        data = bytes(data)
        if not data:
            raise InvalidCIDError("CID bytes: empty")
        if data[0] != 0x01:
            raise InvalidCIDError(f"CID bytes: version {data[0]} is not supported (only CIDv1)")
        _codec, pos = _varint(data, 1, "codec")
        _code, pos = _varint(data, pos, "multihash code")
        length, pos = _varint(data, pos, "digest length")
        if len(data) - pos != length:
            raise InvalidCIDError(f"CID bytes: digest is {len(data) - pos} bytes, header says {length}")
        return cls(data)

    @classmethod
    def parse(cls, text: str) -> CID:
        """Parse base32 text (multibase prefix ``b``), as shown by the CLI and JSON."""
        if not isinstance(text, str) or not text:
            raise InvalidCIDError(f"not a CID: {_shown(text)}")
        if text[0] != "b":
            raise InvalidCIDError(
                f"not a CID: {_shown(text)} (expected base32 text starting with 'b', e.g. bafy2bza...)"
            )
        body = text[1:].upper()
        try:
            raw = base64.b32decode(body + "=" * (-len(body) % 8))
        except ValueError as exc:
            raise InvalidCIDError(f"not a CID: {_shown(text)} is not valid base32") from exc
        try:
            cid = cls.from_bytes(raw)
        except InvalidCIDError as exc:
            raise InvalidCIDError(f"not a CID: {_shown(text)}: {exc}") from exc
        if str(cid) != text:
            # One CID, one text: refuse upper case and non-zero padding bits.
            raise InvalidCIDError(f"not a CID: {_shown(text)} is not canonical base32 (expected {cid})")
        return cid

    @classmethod
    def coerce(cls, value: CID | cbrrr.CID | bytes | str) -> CID:
        """Accept a CID, its binary form or its text form."""
        if isinstance(value, CID):
            return value
        if isinstance(value, cbrrr.CID):
            return cls.from_bytes(value.cid_bytes)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return cls.from_bytes(bytes(value))
        return cls.parse(value)

    @property
    def codec(self) -> int:
        return _varint(self.cid_bytes, 1, "codec")[0]

    def __str__(self) -> str:
        return "b" + base64.b32encode(self.cid_bytes).decode().lower().rstrip("=")

    def __repr__(self) -> str:
        return f"CID({self})"

    def __lt__(self, other: CID) -> bool:
        return self.cid_bytes < other.cid_bytes


def block_cid(data: bytes) -> CID:
    """CID of DAG-CBOR bytes: CIDv1, dag-cbor, blake2b-256."""
    return CID(_PREFIX_DAG_CBOR_BLAKE2B + hashlib.blake2b(data, digest_size=32).digest())


def raw_cid(data: bytes) -> CID:
    """CID of raw bytes as catenary names a WASM module: CIDv1, raw codec, blake2b-256
    (``bafk2bza...``). Here rather than in the wasm code, so reading a bundle never needs
    wasmtime."""
    return CID(_PREFIX_RAW_BLAKE2B + hashlib.blake2b(data, digest_size=32).digest())


def raw_sha256_cid(data: bytes) -> CID:
    """CID of raw bytes as IPFS shows it: CIDv1, raw codec, sha2-256."""
    return CID(_PREFIX_RAW_SHA256 + hashlib.sha256(data).digest())


def kind_of(cid: CID) -> tuple[int, int] | None:
    """``(codec, multihash code)`` of a CID catenary makes (a key of :data:`PREFIXES`), or None."""
    head = cid.cid_bytes[:-32]
    return next((kind for kind, prefix in PREFIXES.items() if prefix == head), None)

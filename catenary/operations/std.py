"""The standard library of built-in operations; all deterministic."""

from __future__ import annotations

import hashlib
from typing import Any

import blake3

from catenary.cid import raw_sha256_cid
from catenary.operations.decorator import operation
from catenary.operations.exif import read_exif


@operation("std/hash", inputs=["bytes"], output="bytes",
           config={"algorithm": ["sha2-256", "blake2b-256", "blake3"]}, groups=["std"])
def hash_(data: bytes, algorithm: str = "sha2-256") -> bytes:
    """Raw digest of the bytes (config algorithm: sha2-256 (default), blake2b-256, blake3)."""
    if algorithm == "sha2-256":
        return hashlib.sha256(data).digest()
    if algorithm == "blake2b-256":
        return hashlib.blake2b(data, digest_size=32).digest()
    return blake3.blake3(data).digest()


@operation("std/cid", inputs=["bytes"], output="string", groups=["std"])
def cid(data: bytes) -> str:
    """CIDv1 of the bytes as IPFS shows it: raw codec, sha2-256, base32."""
    return str(raw_sha256_cid(data))


@operation("std/utf8-encode", inputs=["string"], output="bytes", groups=["std"])
def utf8_encode(text: str) -> bytes:
    """UTF-8 bytes of a string."""
    return text.encode("utf-8")


@operation("std/utf8-decode", inputs=["bytes"], output="string", groups=["std"])
def utf8_decode(data: bytes) -> str:
    """The string whose UTF-8 encoding is these bytes; invalid UTF-8 fails."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"std/utf8-decode: bytes are not valid UTF-8 at byte {exc.start}") from exc


@operation("std/concat", inputs=["any", "any"], output="any", groups=["std"])
def concat(a: Any, b: Any) -> Any:
    """a followed by b: both bytes or both strings, giving the same type."""
    if isinstance(a, bytes) and isinstance(b, bytes) or isinstance(a, str) and isinstance(b, str):
        return a + b
    raise TypeError(f"std/concat takes two bytes or two strings, got {type(a).__name__} and {type(b).__name__}")


@operation("std/equals", inputs=["any", "any"], output="bool", groups=["std"])
def equals(a: Any, b: Any) -> bool:
    """Whether the two values are equal (as IPLD data: type and value)."""
    return type(a) is type(b) and a == b


@operation("std/all", inputs=["bool", "bool"], output="bool", groups=["std"])
def all_(a: bool, b: bool) -> bool:
    """Both true."""
    return a and b


@operation("std/if", inputs=["bool", "any"], output="any", groups=["std"])
def if_(condition: bool, value: Any) -> Any:
    """The value when the condition is true, else null (gates a branch of a workflow)."""
    return value if condition else None


@operation("std/get", inputs=["any"], output="any", config={"path": []}, groups=["std"])
def get(value: Any, path: str = "") -> Any:
    """The value at a dotted path in maps and lists (e.g. ``a.b.0``); null where absent.

    Declared to take ``any`` so that a null from an upstream ``std/if`` flows
    through as null; anything but a map or list at a step gives null too.
    """
    for part in path.split(".") if path else ():
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


@operation("std/hex", inputs=["bytes"], output="string", groups=["std"])
def hex_(data: bytes) -> str:
    """The bytes as lowercase hex, as sha256sum prints a digest."""
    return data.hex()


@operation("std/num-equals", inputs=["any", "any"], output="bool", groups=["std"])
def num_equals(a: Any, b: Any) -> bool:
    """Whether two numbers are equal as numbers (1 and 1.0 are); anything but int or float fails."""
    for x in (a, b):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise TypeError(f"std/num-equals takes two numbers, got {type(x).__name__}")
    return a == b


@operation("std/exif", inputs=["bytes"], output="map", groups=["std", "image"])
def exif(data: bytes) -> dict[str, Any]:
    """EXIF tags of a JPEG/TIFF image by name (Make, Model, BodySerialNumber, LensSerialNumber, ...)."""
    return read_exif(data)


# Registered with the standard library: defined in their own modules, found here by the registry.
from catenary.operations.c2pa import c2pa  # noqa: E402,F401
from catenary.operations.signature import verify_ed25519, verify_p256  # noqa: E402,F401

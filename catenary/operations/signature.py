"""Signature checks as operations: a workflow can require an input signed by a given key.

The public key is config, so it is part of the workflow's hashed manifest: changing the key
changes the workflow id. Both take ``[message, signature]`` (bytes) and give ``true`` or
``false``; a key that cannot be read fails the execution (a broken workflow, not a ``false``).
Verification is deterministic: the same message, signature and key always give the same answer.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from catenary.operations.decorator import operation
from catenary.operations.hexkey import parse_hex as _hex


@operation("std/verify-ed25519", inputs=["bytes", "bytes"], output="bool",
           config={"public_key": []}, groups=["std", "signature"])
def verify_ed25519(message: bytes, signature: bytes, public_key: str = "") -> bool:
    """Whether ``signature`` is the ed25519 signature of ``message`` by ``public_key`` (config:
    32 raw bytes as hex, or a did:key)."""
    if public_key.startswith("did:key:"):
        from catenary.trust.identity import public_key_from_did

        raw = public_key_from_did(public_key)
    else:
        raw = _hex(public_key, "std/verify-ed25519")
    if len(raw) != 32:
        raise ValueError(f"std/verify-ed25519: public_key is {len(raw)} bytes, an ed25519 key is 32")
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, message)
    except InvalidSignature:
        return False
    return True


@operation("std/verify-p256", inputs=["bytes", "bytes"], output="bool",
           config={"public_key": []}, groups=["std", "signature"])
def verify_p256(message: bytes, signature: bytes, public_key: str = "") -> bool:
    """Whether ``signature`` is an ECDSA P-256 / SHA-256 signature of ``message`` by
    ``public_key`` (config: the SEC1 point as hex, compressed or not). The signature is
    64 bytes ``r || s`` (as WebCrypto and COSE write it) or DER."""
    raw = _hex(public_key, "std/verify-p256")
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise ValueError(f"std/verify-p256: public_key is not a P-256 point ({exc})") from None
    if len(signature) == 64:
        signature = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                         int.from_bytes(signature[32:], "big"))
    try:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True

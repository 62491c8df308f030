"""std/verify-ed25519 and std/verify-p256 against signatures made by the cryptography package."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from catenary.operations.signature import verify_ed25519, verify_p256
from catenary.trust.identity import Identity

MESSAGE = b"photo bytes"


def test_ed25519_true_false_and_key_forms() -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    sig = key.sign(MESSAGE)
    assert verify_ed25519(MESSAGE, sig, public_key=raw.hex()) is True
    assert verify_ed25519(MESSAGE + b"!", sig, public_key=raw.hex()) is False
    assert verify_ed25519(MESSAGE, sig[:-1] + bytes([sig[-1] ^ 1]), public_key=raw.hex()) is False
    assert verify_ed25519(MESSAGE, b"short", public_key=raw.hex()) is False
    other = Identity.generate()
    assert verify_ed25519(MESSAGE, other.sign(MESSAGE), public_key=other.id) is True
    assert verify_ed25519(MESSAGE, sig, public_key=other.id) is False


@pytest.mark.parametrize(
    "key,words", [("zz", "must be hex"), ("00" * 31, "is 31 bytes"), ("did:key:zNope", "not")]
)
def test_ed25519_unreadable_key_fails_the_execution(key: str, words: str) -> None:
    with pytest.raises(Exception) as info:
        verify_ed25519(MESSAGE, b"\0" * 64, public_key=key)
    assert words in str(info.value)


def test_p256_raw_and_der_signatures() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    compressed = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    der = key.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    for pub in (point.hex(), compressed.hex()):
        assert verify_p256(MESSAGE, der, public_key=pub) is True
        assert verify_p256(MESSAGE, raw, public_key=pub) is True
        assert verify_p256(MESSAGE + b"!", raw, public_key=pub) is False
        assert verify_p256(MESSAGE, b"\x30garbage", public_key=pub) is False
    with pytest.raises(ValueError, match="not a P-256 point"):
        verify_p256(MESSAGE, raw, public_key="04" + "00" * 64)


def test_signature_checks_are_deterministic_operations() -> None:
    assert verify_ed25519.manifest.config == {"public_key": ()}
    assert verify_p256.manifest.inputs == ("bytes", "bytes") and verify_p256.manifest.output == "bool"

"""Node identity: the ed25519 key file, the did:key id, and base58btc."""

from __future__ import annotations

import os
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catenary import Node
from catenary.errors import BadInputError, StoreError
from catenary.trust.identity import (
    KEY_FILE,
    Identity,
    b58decode,
    b58encode,
    did_from_public_key,
    public_key_from_did,
    verify_signature,
)


@pytest.mark.parametrize(
    "raw,text",
    [
        (b"", ""),
        (b"\x00", "1"),
        (b"\x00\x00\x01", "112"),
        (b"hello world", "StV1DL6CwTryKyV"),
        (
            bytes.fromhex("00eb15231dfceb60925886b67d065299925915aeb172c06647"),
            "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L",
        ),  # a Bitcoin address: leading zero byte -> "1"
    ],
)
def test_base58_vectors(raw: bytes, text: str) -> None:
    assert b58encode(raw) == text
    assert b58decode(text) == raw


@given(st.binary(max_size=64))
def test_base58_round_trip(raw: bytes) -> None:
    assert b58decode(b58encode(raw)) == raw


def test_base58_refuses_characters_outside_the_alphabet() -> None:
    with pytest.raises(ValueError, match="'0' at position 2"):
        b58decode("ab0c")


def test_did_key_of_the_w3c_example() -> None:
    # The ed25519 example of the did:key method specification.
    did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    public = public_key_from_did(did)
    assert len(public) == 32
    assert did_from_public_key(public) == did


@pytest.mark.parametrize(
    "did,match",
    [
        ("node-1234", "not a did:key"),
        ("did:key:zIl0", "not valid base58btc"),
        ("did:key:z" + b58encode(b"\xe7\x01" + b"\x02" * 33), "not an ed25519 did:key"),
    ],
)
def test_bad_did_keys(did: str, match: str) -> None:
    with pytest.raises(BadInputError, match=match):
        public_key_from_did(did)


def test_sign_and_verify() -> None:
    me, other = Identity.generate(), Identity.generate()
    signature = me.sign(b"message")
    assert verify_signature(me.id, signature, b"message") is None
    assert "does not verify" in verify_signature(me.id, signature, b"messagE")
    assert "does not verify" in verify_signature(other.id, signature, b"message")  # foreign
    assert "64 bytes" in verify_signature(me.id, signature[:10], b"message")
    assert "not a did:key" in verify_signature("node-x", signature, b"message")


def test_key_file_is_created_once_with_mode_0600(tmp_path) -> None:
    first = Node(tmp_path / "d")
    path = tmp_path / "d" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.id.startswith("did:key:z6Mk")  # every ed25519 did:key starts so
    assert public_key_from_did(first.id) == first.identity.public_key
    first.close()
    second = Node(tmp_path / "d")
    assert second.id == first.id
    second.close()
    assert Node(tmp_path / "other").id != first.id


def test_a_key_readable_by_others_is_refused(tmp_path) -> None:
    Node(tmp_path / "d").close()
    path = tmp_path / "d" / KEY_FILE
    os.chmod(path, 0o644)
    with pytest.raises(StoreError, match="chmod 600"):
        Node(tmp_path / "d")


def test_a_corrupt_key_is_refused(tmp_path) -> None:
    (tmp_path / "d").mkdir()
    path = tmp_path / "d" / KEY_FILE
    path.write_bytes(b"not a key")
    os.chmod(path, 0o600)
    with pytest.raises(StoreError, match="not a PEM ed25519 private key"):
        Node(tmp_path / "d")


def test_executions_name_the_did_key_as_executor(finished) -> None:
    node, _, result = finished
    assert node.executions.get(result.final).executor == node.id

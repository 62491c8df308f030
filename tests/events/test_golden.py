"""Emitted events against golden vectors made by the independent implementation
(tests/events/make_vectors.py: dag-cbor, multiformats, cryptography; never catenary)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import dag_cbor
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from catenary.cid import CID, cid_of, decode, encode
from catenary.errors import BadInputError, VerificationError
from catenary.events import check, sign
from catenary.model.emitted import EmittedEvent, SignedEvent
from catenary.trust.identity import Identity

DOCUMENT = json.loads(Path(__file__).with_name("golden_events.json").read_text())
VECTORS = DOCUMENT["vectors"]
KEY = Identity(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(DOCUMENT["seed"])))


def _event(vec: dict) -> EmittedEvent:
    source = CID.parse(vec["source"]) if "source" in vec else None
    return EmittedEvent(
        vec["emitter"],
        vec["key"],
        CID.parse(vec["data_cid"]),
        vec["time"],
        bytes.fromhex(vec["nonce"]),
        source,
    )


@pytest.mark.parametrize("vec", VECTORS, ids=[v["name"] for v in VECTORS])
def test_catenary_reproduces_the_vector(vec: dict) -> None:
    event = _event(vec)
    assert cid_of(vec["data"]) == event.data
    assert encode(event.data_map()).hex() == vec["bytes"]
    assert str(event.id) == vec["id"]
    assert KEY.id == vec["emitter"]
    signed = sign(KEY, event)  # ed25519 is deterministic: the same signature as the vector's
    assert base64.b64encode(signed.signature).decode() == vec["signature"]
    check(signed)
    assert EmittedEvent.from_data(decode(bytes.fromhex(vec["bytes"]))) == event


@pytest.mark.parametrize("vec", VECTORS, ids=[v["name"] for v in VECTORS])
def test_independent_decoder_reads_the_bytes(vec: dict) -> None:
    decoded = dag_cbor.decode(bytes.fromhex(vec["bytes"]))
    assert set(decoded) == {"emitter", "key", "data", "time", "nonce"} | (
        {"source"} if "source" in vec else set()
    )
    assert decoded["data"].encode("base32") == vec["data_cid"]
    assert dag_cbor.encode(decoded).hex() == vec["bytes"]


def test_every_field_changes_the_id() -> None:
    base = _event(VECTORS[0])
    variants = [
        EmittedEvent(Identity.generate().id, base.key, base.data, base.time, base.nonce),
        EmittedEvent(base.emitter, "photo.deleted", base.data, base.time, base.nonce),
        EmittedEvent(base.emitter, base.key, cid_of(1), base.time, base.nonce),
        EmittedEvent(base.emitter, base.key, base.data, base.time + 1, base.nonce),
        EmittedEvent(base.emitter, base.key, base.data, base.time, bytes(16)),
        EmittedEvent(base.emitter, base.key, base.data, base.time, base.nonce, cid_of(2)),
    ]
    assert len({base.id, *(v.id for v in variants)}) == 7


def test_altered_or_foreign_signatures_are_refused() -> None:
    event = _event(VECTORS[0])
    signed = sign(KEY, event)
    flipped = bytes([signed.signature[0] ^ 1]) + signed.signature[1:]
    with pytest.raises(VerificationError, match="does not verify"):
        check(SignedEvent(event, flipped))
    with pytest.raises(VerificationError, match="unsigned"):
        check(SignedEvent(event, b""))
    other = Identity.generate()
    with pytest.raises(VerificationError, match="does not verify"):
        check(SignedEvent(event, other.sign(event.signed_bytes())))
    with pytest.raises(BadInputError, match="emitter is"):
        sign(other, event)


def test_from_data_names_the_bad_key() -> None:
    data = _event(VECTORS[0]).data_map()
    with pytest.raises(BadInputError, match="^colour: unknown key"):
        EmittedEvent.from_data(data | {"colour": "red"})
    with pytest.raises(BadInputError, match="^time: expected int"):
        EmittedEvent.from_data(data | {"time": "now"})

"""Make tests/events/golden_events.json with the independent implementation only
(dag-cbor, multiformats, cryptography), never catenary. Run once; the file is checked in.

    python -m tests.events.make_vectors
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import dag_cbor
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from multiformats import CID, multibase, multihash

OUT = Path(__file__).with_name("golden_events.json")
SEED = bytes(range(32))  # the test key: never a real one


def cid(data: bytes) -> CID:
    return CID("base32", 1, "dag-cbor", multihash.digest(data, "blake2b-256"))


def did(public: bytes) -> str:
    return "did:key:" + multibase.encode(b"\xed\x01" + public, "base58btc")


def main() -> None:
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    emitter = did(public)
    # A result event's source: the CID of an execution pre-image (any dag-cbor block will do).
    source = cid(dag_cbor.encode({"an": "execution"}))
    workflow = cid(dag_cbor.encode({"a": "workflow"}))
    cases = [
        (
            "photo uploaded",
            "photo.uploaded",
            {"name": "a.jpg", "size": 1024},
            1_767_225_600_000_000_000,
            None,
        ),
        (
            "schedule tick",
            "schedule.tick",
            {"tick": 1_767_225_660_000_000_000},
            1_767_225_660_000_000_001,
            None,
        ),
        ("run result", "result." + workflow.encode("base32"), 43, 1_767_225_720_000_000_000, source),
    ]
    vectors = []
    for name, event_key, data, time, source_cid in cases:
        data_bytes = dag_cbor.encode(data)
        preimage = {
            "emitter": emitter,
            "key": event_key,
            "data": cid(data_bytes),
            "time": time,
            "nonce": bytes(range(16)),
        }
        if source_cid is not None:  # optional: present only on result events
            preimage["source"] = source_cid
        record = dag_cbor.encode(preimage)
        event_id = cid(record)
        vectors.append(
            {
                **({"source": source_cid.encode("base32")} if source_cid is not None else {}),
                "name": name,
                "emitter": emitter,
                "key": event_key,
                "data": data,
                "data_cid": str(cid(data_bytes)),
                "time": time,
                "nonce": bytes(range(16)).hex(),
                "bytes": record.hex(),
                "id": str(event_id),
                "signature": base64.b64encode(key.sign(bytes(event_id))).decode(),
            }
        )
    document = {
        "description": "emitted events: pre-image bytes, id and the emitter's signature over "
        "the binary id; signed with the test seed 000102..1f (docs/hashing.md)",
        "seed": SEED.hex(),
        "vectors": vectors,
    }
    OUT.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()

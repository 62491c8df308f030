"""DSSE envelopes (Dead Simple Signing Envelope, secure-systems-lab/dsse v1.0), signed with ed25519.

The signature covers the pre-authentication encoding (PAE), never the JSON around it::

    PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body

with LEN the decimal byte count. The envelope's JSON form is the standard one::

    {"payloadType": "application/vnd.in-toto+json",
     "payload": base64(body),
     "signatures": [{"keyid": "did:key:z...", "sig": base64(signature)}]}

``keyid`` is the signer's did:key, which holds the public key: anyone can check a
signature with nothing but the envelope. Pure: no I/O, no store.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from catenary.errors import BadInputError
from catenary.trust.identity import Identity, verify_signature

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """The bytes a DSSE signature signs."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    """A DSSE envelope: the payload, its type, and its signatures."""

    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]

    @classmethod
    def sign(cls, identity: Identity, payload: bytes, payload_type: str = IN_TOTO_PAYLOAD_TYPE) -> Envelope:
        return cls(
            payload_type, payload, (Signature(identity.id, identity.sign(pae(payload_type, payload))),)
        )

    def check(self) -> tuple[str | None, str | None]:
        """``(signer, None)`` when the one signature verifies under its keyid (a did:key),
        else ``(keyid or None, why not)``."""
        if len(self.signatures) != 1:
            return None, f"expected exactly one signature (the claimant's), found {len(self.signatures)}"
        signature = self.signatures[0]
        why = verify_signature(signature.keyid, signature.sig, pae(self.payload_type, self.payload))
        return signature.keyid, why

    def to_json(self) -> dict[str, Any]:
        return {
            "payloadType": self.payload_type,
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "signatures": [
                {"keyid": s.keyid, "sig": base64.b64encode(s.sig).decode("ascii")} for s in self.signatures
            ],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"

    @classmethod
    def from_json(cls, data: Any, where: str = "envelope") -> Envelope:
        """Parse the JSON form strictly; BadInputError names the field that is wrong."""
        if not isinstance(data, dict):
            raise BadInputError(f"{where}: a DSSE envelope is a JSON object")
        missing = {"payloadType", "payload", "signatures"} - data.keys()
        if missing:
            raise BadInputError(f"{where}: not a DSSE envelope, missing {', '.join(sorted(missing))}")
        if not isinstance(data["payloadType"], str):
            raise BadInputError(f"{where}.payloadType: expected a string")
        payload = _b64(data["payload"], f"{where}.payload")
        if not isinstance(data["signatures"], list):
            raise BadInputError(f"{where}.signatures: expected a list")
        signatures = []
        for i, item in enumerate(data["signatures"]):
            at = f"{where}.signatures[{i}]"
            if not isinstance(item, dict) or not isinstance(item.get("keyid"), str):
                raise BadInputError(f'{at}: expected {{"keyid": string, "sig": base64}}')
            signatures.append(Signature(item["keyid"], _b64(item.get("sig"), f"{at}.sig")))
        return cls(data["payloadType"], payload, tuple(signatures))

    @classmethod
    def loads(cls, text: str | bytes, where: str = "envelope") -> Envelope:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadInputError(f"{where}: not JSON ({exc})") from None
        except RecursionError:
            raise BadInputError(f"{where}: JSON nested too deeply") from None
        return cls.from_json(data, where)

    def block_value(self) -> dict[str, Any]:
        """The envelope as IPLD data (bytes as bytes): its DAG-CBOR CID names the statement."""
        return {
            "payloadType": self.payload_type,
            "payload": self.payload,
            "signatures": [{"keyid": s.keyid, "sig": s.sig} for s in self.signatures],
        }

    @classmethod
    def from_block_value(cls, value: Any, where: str) -> Envelope:
        ok = (
            isinstance(value, dict)
            and set(value) == {"payloadType", "payload", "signatures"}
            and isinstance(value["payloadType"], str)
            and isinstance(value["payload"], bytes)
            and isinstance(value["signatures"], list)
            and all(
                isinstance(s, dict)
                and set(s) == {"keyid", "sig"}
                and isinstance(s["keyid"], str)
                and isinstance(s["sig"], bytes)
                for s in value["signatures"]
            )
        )
        if not ok:
            raise BadInputError(
                f"{where}: expected {{payloadType: string, payload: bytes, "
                f"signatures: [{{keyid: string, sig: bytes}}]}}"
            )
        return cls(
            value["payloadType"],
            value["payload"],
            tuple(Signature(s["keyid"], s["sig"]) for s in value["signatures"]),
        )


def _b64(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise BadInputError(f"{where}: expected base64 text")
    try:
        # DSSE allows either base64 alphabet; padding is required by the standard one.
        alphabet = value.replace("-", "+").replace("_", "/")
        return base64.b64decode(alphabet + "=" * (-len(alphabet) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadInputError(f"{where}: not base64 ({exc})") from None

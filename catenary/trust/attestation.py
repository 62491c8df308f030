"""Signed attestations: "execution E, whose key is K, produced output O", signed by a node.

An attestation is an IPLD block (DAG-CBOR)::

    {execution: link, key: link, output: link, signer: "did:key:z...", signature: bytes(64)}

``signature`` is the ed25519 signature, by the key inside ``signer``, of the DAG-CBOR
encoding of the same map without ``signature``. Its CID is the attestation's id.
The role (``executor`` for the node that did the work, ``validator`` for one that
re-executed it and got the same output, ``dissent`` for one that got another output)
is not signed: it follows from the record (see :func:`role_for`). A dissent is the same
statement with the output the signer computed: the signed half of a dispute, which other
nodes weigh under their quorum policy (docs/network.md).
"""

from __future__ import annotations

from typing import Any

from catenary.cid import CID, block, decode, encode
from catenary.errors import CatenaryError
from catenary.model.enums import Role as Role
from catenary.model.results import EXECUTOR as EXECUTOR
from catenary.model.results import VALIDATOR as VALIDATOR
from catenary.model.results import AttestationCheck as AttestationCheck
from catenary.store import AttestationRow
from catenary.trust.identity import Identity, verify_signature

DISSENT = Role.DISSENT
FIELDS = ("execution", "key", "output", "signer", "signature")


def unsigned_data(execution: CID, key: CID, output: CID, signer: str) -> dict[str, Any]:
    """The map a signature covers."""
    return {"execution": execution, "key": key, "output": output, "signer": signer}


def sign(identity: Identity, execution: CID, key: CID, output: CID, role: Role) -> AttestationRow:
    """A new attestation by ``identity``, ready to store."""
    data = unsigned_data(execution, key, output, identity.id)
    data["signature"] = identity.sign(encode(data))
    cid, raw = block(data)
    return AttestationRow(execution, cid, raw, identity.id, Role(role).value)


def report(identity: Identity, execution: CID, key: CID, output: Any) -> bytes:
    """The attestation block an executor sends with its report of ``output`` (a value) as the
    result of ``execution`` (whose key is ``key``); the node checks and stores it."""
    return sign(identity, execution, key, block(output)[0], EXECUTOR).data


def role_for(
    signer: str,
    executor: str | None,
    cached_from: CID | None,
    attested: CID | None = None,
    recorded: CID | None = None,
) -> Role:
    """``executor`` when the signer is the node that recorded the execution by doing the
    work (not a cache hit); else ``dissent`` when the attested output is not the recorded
    one; ``validator`` otherwise. An executor never dissents from its own record: its
    attestation must match it (:func:`check` says so when it does not)."""
    if signer == executor and cached_from is None:
        return EXECUTOR
    if attested is not None and attested != recorded:
        return Role.DISSENT
    return VALIDATOR


def claim(data: bytes) -> tuple[str, CID] | None:
    """``(signer, output)`` of an attestation block, unchecked (None when it is not one)."""
    try:
        value = decode(data)
    except CatenaryError:
        return None
    if not isinstance(value, dict):
        return None
    signer, output = value.get("signer"), value.get("output")
    return (signer, output) if isinstance(signer, str) and isinstance(output, CID) else None


def role_of(data: bytes, executor: str | None, cached_from: CID | None, recorded: CID | None) -> Role:
    """The role of an attestation block on an execution (see :func:`role_for`)."""
    found = claim(data)
    return role_for(found[0], executor, cached_from, found[1], recorded) if found else VALIDATOR


def attested_output(data: bytes) -> CID | None:
    """The output an attestation block vouches for (None when it is not one)."""
    found = claim(data)
    return found[1] if found else None


def check(
    cid: CID, data: bytes, execution: CID, key: CID, output: CID | None, role: Role = VALIDATOR
) -> AttestationCheck:
    """Check an attestation block: shape, signature, and that it attests this very
    execution, key and output. Never raises for a bad attestation: it is reported invalid."""

    def invalid(reason: str, signer: str | None = None) -> AttestationCheck:
        return AttestationCheck(cid, signer, role, False, reason)

    try:
        value = decode(data)
    except CatenaryError as exc:
        return invalid(f"not DAG-CBOR: {exc}")
    if not isinstance(value, dict) or set(value) != set(FIELDS):
        got = sorted(value) if isinstance(value, dict) else type(value).__name__
        return invalid(f"not an attestation: expected keys {', '.join(FIELDS)}, got {got}")
    signer = value["signer"]
    if not isinstance(signer, str):
        return invalid("signer is not a string")
    for name in ("execution", "key", "output"):
        if not isinstance(value[name], CID):
            return invalid(f"{name} is not a link", signer)
    unsigned = {k: v for k, v in value.items() if k != "signature"}
    problem = verify_signature(signer, value["signature"], encode(unsigned))
    if problem:
        return invalid(problem, signer)
    if value["execution"] != execution:
        return invalid(f"signed for execution {value['execution']}, not {execution}", signer)
    if value["key"] != key:
        return invalid(f"signed key {value['key']}, but the execution's key is {key}", signer)
    if role is Role.DISSENT:
        if value["output"] == output:
            return invalid("a dissent that vouches for the recorded output", signer)
        return AttestationCheck(
            cid, signer, role, True, f"signature verifies; dissents: re-execution gave {value['output']}"
        )
    if value["output"] != output:
        return invalid(f"signed output {value['output']}, but the execution's output is {output}", signer)
    return AttestationCheck(cid, signer, role, True, "signature verifies; attests this key and output")

"""Statements: made by catenary, checked by an independent DSSE / in-toto implementation
(securesystemslib, in-toto-attestation), and refused, naming why, when anything is off."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import importlib.util
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement as InTotoStatement
from securesystemslib.dsse import Envelope as SslEnvelope
from securesystemslib.exceptions import VerificationError as SslVerificationError
from securesystemslib.signer import SSlibKey

from catenary import Node
from catenary.cid import block, cid_of
from catenary.cid.car import car_bytes, read_car
from catenary.errors import BadInputError, NotFoundError, VerificationError
from catenary.statements import PREDICATE_TYPE, Envelope, create
from catenary.statements.dsse import Signature
from catenary.trust.identity import Identity

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "camera-ownership"
CLAIM = {"owns": {"camera": "CX1-004217", "lens": "L35-99812"}}
_spec = importlib.util.spec_from_file_location("make_photo", DEMO / "make_photo.py")
_photo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_photo)


@pytest.fixture
def proven(make_node: Callable[..., Node], tmp_path: Path) -> tuple[Node, Any, Any]:
    """A node after the demo's EXIF proof: (node, proven final execution, disproven one)."""
    node = make_node(data_dir=tmp_path / "owner", operations=[], db=None)
    _photo.make_photo(str(tmp_path / "photo.jpg"), "CX1-004217", "L35-99812")
    photo = (tmp_path / "photo.jpg").read_bytes()
    wf = node.workflows.create(DEMO / "manifest.json")
    _, yes = node.runs.run(wf.id, {0: [photo], 2: ["CX1-004217"], 4: ["L35-99812"]})
    _, no = node.runs.run(wf.id, {0: [photo], 2: ["CX1-004217"], 4: ["L35-00000"]})
    assert yes.result == "L35-99812" and no.result is None
    return node, node.executions.get(yes.final), node.executions.get(no.final)


@pytest.fixture
def owner() -> Identity:
    return Identity.generate()


def _key_file(tmp_path: Path, identity: Identity | None = None) -> Path:
    from cryptography.hazmat.primitives import serialization

    path = tmp_path / "owner.pem"
    private = (identity or Identity.generate())._private
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)
    return path


# -- an independent implementation accepts what catenary signs --------------------------------


def test_independent_dsse_and_in_toto_verify_a_catenary_statement(proven, owner) -> None:
    node, final, _ = proven
    sid, envelope = node.statements.create(final.hash, CLAIM, owner)
    document = json.loads(envelope.dumps())

    # securesystemslib: the DSSE signature over PAE, with the key taken from the did:key.
    key = SSlibKey(owner.id, "ed25519", "ed25519", {"public": owner.public_key.hex()})
    ssl_envelope = SslEnvelope.from_dict(document)
    assert set(ssl_envelope.verify([key], 1)) == {owner.id}
    other = Identity.generate()
    # A fresh copy: from_dict consumes the signatures of the dict it is given.
    with pytest.raises(SslVerificationError):
        SslEnvelope.from_dict(json.loads(envelope.dumps())).verify(
            [SSlibKey(owner.id, "ed25519", "ed25519", {"public": other.public_key.hex()})], 1
        )

    # in-toto-attestation: the payload is a valid Statement v1 with catenary's predicate.
    assert document["payloadType"] == "application/vnd.in-toto+json"
    payload = json.loads(base64.b64decode(document["payload"]))
    statement = InTotoStatement.copy_from_pb(json_format.ParseDict(payload, statement_pb2.Statement()))
    statement.validate()
    assert statement.pb.predicate_type == PREDICATE_TYPE
    predicate = json_format.MessageToDict(statement.pb.predicate)
    assert predicate["claimant"] == owner.id and predicate["claim"] == CLAIM
    assert predicate["proof"]["execution"] == str(final.hash)
    # The subjects are the proven result and the photo, by the sha256 of their DAG-CBOR bytes.
    digests = {s.name: s.digest["sha256"] for s in statement.pb.subject}
    result_bytes = node.store.get_block(final.output)
    assert digests[str(final.output)] == hashlib.sha256(result_bytes).hexdigest()
    assert len(digests) == 3  # result, photo, body serial (the lens serial is the result)
    assert sid == cid_of(envelope.block_value())


def test_the_same_claim_gives_the_same_statement(proven, owner) -> None:
    node, final, _ = proven
    first = node.statements.create(final.hash, CLAIM, owner)
    again = node.statements.create(final.hash, CLAIM, owner)
    assert first == again
    assert [s.id for s in node.statements.list()] == [first[0]]
    assert node.statements.get(first[0]) == first[1]


# -- refusals, each naming which check refused -----------------------------------------------


def _holds(node: Node, envelope: Envelope) -> None:
    report = node.statements.verify(envelope)
    assert report.ok, report.message()
    assert report.claimant and report.claim == CLAIM


def test_a_flipped_byte_is_refused_as_signature(proven, owner) -> None:
    node, final, _ = proven
    _, envelope = node.statements.create(final.hash, CLAIM, owner)
    _holds(node, envelope)
    payload = bytearray(envelope.payload)
    payload[payload.index(b"L35-99812")] ^= 0x01  # "L35-99812" -> "M35-99812"
    report = node.statements.verify(dataclasses.replace(envelope, payload=bytes(payload)))
    assert report.refused == "signature" and "does not verify" in report.reason
    assert "refused (signature)" in report.message()
    sig = bytearray(envelope.signatures[0].sig)
    sig[10] ^= 0x80
    flipped = dataclasses.replace(envelope, signatures=(Signature(owner.id, bytes(sig)),))
    assert node.statements.verify(flipped).refused == "signature"


def test_a_wrong_key_is_refused_as_signature(proven, owner) -> None:
    node, final, _ = proven
    _, envelope = node.statements.create(final.hash, CLAIM, owner)
    stranger = Identity.generate()
    # The owner's claim, re-signed by someone else: valid signature, wrong claimant.
    resigned = Envelope.sign(stranger, envelope.payload)
    report = node.statements.verify(resigned)
    assert report.refused == "signature"
    assert f"signed by {stranger.id}, but the claimant is {owner.id}" in report.reason
    # The owner's signature presented under another key id.
    relabelled = dataclasses.replace(
        envelope, signatures=(Signature(stranger.id, envelope.signatures[0].sig),)
    )
    assert node.statements.verify(relabelled).refused == "signature"


def test_a_claim_the_result_does_not_support_is_refused(proven, owner) -> None:
    node, final, disproven = proven
    events = node.store.lineage(final.hash, "ancestors", 0).events
    wrong = {"owns": {"camera": "CX1-004217", "lens": "L35-00000"}}
    signed = create(owner, wrong, final, events, node.store.get_block)  # signed, but not true
    report = node.statements.verify(signed)
    assert report.refused == "claim" and 'claim.owns.lens = "L35-00000"' in report.reason
    with pytest.raises(VerificationError, match="claim does not match the proven result"):
        node.statements.create(final.hash, wrong, owner)
    # A proof whose result is null supports no claim at all.
    with pytest.raises(VerificationError, match="the proven result is null"):
        node.statements.create(disproven.hash, CLAIM, owner)
    assert node.statements.list() == []  # nothing was kept


def test_a_proof_that_does_not_verify_is_refused(proven, owner, make_node, tmp_path) -> None:
    node, final, _ = proven
    _, envelope = node.statements.create(final.hash, CLAIM, owner)
    stream = io.BytesIO()
    node.trust.export(final.hash, stream)
    car = read_car(stream.getvalue())
    # Alter the proven result: its block is re-labelled so the CAR reads, but the
    # execution's recorded output no longer re-computes from its inputs.
    forged_cid, forged = block("L35-00000")
    blocks = [(forged_cid, forged) if b.cid == final.output else (b.cid, b.data) for b in car.blocks]
    fresh = make_node(data_dir=tmp_path / "stranger", operations=[], db=None)
    report = fresh.trust.verify_bundle(car_bytes(list(car.roots), blocks))
    checked = fresh.statements.verify_bundle(report)
    assert [r.refused for r in checked] == ["proof"]
    assert "does not verify" in checked[0].reason
    # And a statement whose proof this node does not hold at all.
    missing = fresh.statements.verify(envelope)
    assert missing.refused == "proof" and "not on this node" in missing.reason


def test_the_statement_travels_in_the_bundle_and_holds_on_a_fresh_node(
    proven, owner, make_node, tmp_path
) -> None:
    node, final, _ = proven
    sid, _ = node.statements.create(final.hash, CLAIM, owner)
    stream = io.BytesIO()
    node.trust.export(final.hash, stream)
    fresh = make_node(data_dir=tmp_path / "stranger", operations=[], db=None)
    report = fresh.trust.verify_bundle(stream.getvalue())
    assert report.ok, report.summary()
    [checked] = fresh.statements.verify_bundle(report)
    assert checked.ok and checked.id == sid and checked.claimant == owner.id
    assert not (tmp_path / "stranger" / "statements").exists()  # verifying stores nothing


def test_bad_input_is_refused_clearly(proven, owner, tmp_path) -> None:
    node, final, _ = proven
    with pytest.raises(BadInputError, match="a claim is a non-empty JSON object"):
        node.statements.create(final.hash, [], owner)
    with pytest.raises(BadInputError, match="not floats|not float"):
        node.statements.create(final.hash, {"owns": 1.5}, owner)
    with pytest.raises(NotFoundError):
        node.statements.create(block("nothing")[0], CLAIM, owner)
    with pytest.raises(BadInputError, match="not a DSSE envelope"):
        Envelope.loads('{"payload": "eA=="}')
    with pytest.raises(BadInputError, match="not base64"):
        Envelope.loads('{"payloadType": "x", "payload": "***", "signatures": []}')
    assert node.statements.list() == []


# -- the CLI ---------------------------------------------------------------------------------------


def _cli(home: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CATENARY_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-m", "catenary", *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == code, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_cli_create_verify_list_and_refusals(proven, tmp_path) -> None:
    node, final, disproven = proven
    home = node.data_dir
    node.close()
    key = _key_file(tmp_path)
    made = json.loads(
        _cli(
            home,
            "statement",
            "create",
            "--proof",
            str(final.hash),
            "--claim",
            json.dumps(CLAIM),
            "--key",
            str(key),
            "-o",
            str(tmp_path / "s.json"),
            "--json",
        ).stdout
    )
    checked = json.loads(_cli(home, "statement", "verify", str(tmp_path / "s.json"), "--json").stdout)
    assert checked["statements"][0]["verdict"] == "holds"
    assert checked["statements"][0]["id"] == made["id"]
    listed = json.loads(_cli(home, "statement", "list", "--json").stdout)
    assert [s["id"] for s in listed["statements"]] == [made["id"]]

    document = json.loads((tmp_path / "s.json").read_text())
    document["payload"] = (
        document["payload"][:-8] + ("A" if document["payload"][-8] != "A" else "B") + document["payload"][-7:]
    )
    (tmp_path / "bad.json").write_text(json.dumps(document))
    refused = _cli(home, "statement", "verify", str(tmp_path / "bad.json"), code=1)
    assert "refused (signature)" in refused.stderr
    over_null = _cli(
        home,
        "statement",
        "create",
        "--proof",
        str(disproven.hash),
        "--claim",
        json.dumps(CLAIM),
        "--key",
        str(key),
        code=1,
    )
    assert "the proven result is null" in over_null.stderr
    assert (
        "not JSON"
        in _cli(
            home,
            "statement",
            "create",
            "--proof",
            str(final.hash),
            "--claim",
            "{nope",
            "--key",
            str(key),
            code=2,
        ).stderr
    )
    assert (
        "does not exist"
        in _cli(
            home,
            "statement",
            "create",
            "--proof",
            str(final.hash),
            "--claim",
            "{}",
            "--key",
            str(tmp_path / "none.pem"),
            code=2,
        ).stderr
    )
    (tmp_path / "junk.pem").write_text("junk")
    (tmp_path / "junk.pem").chmod(0o600)
    assert (
        "is not a PEM ed25519 private key"
        in _cli(
            home,
            "statement",
            "create",
            "--proof",
            str(final.hash),
            "--claim",
            json.dumps(CLAIM),
            "--key",
            str(tmp_path / "junk.pem"),
            code=2,
        ).stderr
    )

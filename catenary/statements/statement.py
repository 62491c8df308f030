"""Statements: a claimant's signed claim, bound to the execution whose verified result supports it.

A statement is an in-toto Statement v1 (https://in-toto.io/Statement/v1) with the catenary
predicate type, carried in a DSSE envelope signed by the claimant (:mod:`.dsse`)::

    {"_type": "https://in-toto.io/Statement/v1",
     "subject": [{"name": "<value CID>", "digest": {"sha256": "<hex of the value's DAG-CBOR bytes>"},
                  "annotations": {"role": "result" | "input", ...}}, ...],
     "predicateType": "https://catenary.dev/statement/v1",
     "predicate": {"claimant": "did:key:z...",
                   "claim": {"owns": {"camera": "CX1-004217", "lens": "L35-99812"}},
                   "proof": {"execution": "<hash>", "workflow": "<id>", "run": "<id>",
                             "output": "<value CID>"}}}

The subjects are the proven result and the external inputs of its trace (the photo), by
digest. Nothing in it depends on the time or the signing node, and ed25519 is deterministic:
the same claimant, claim and proof always give the same envelope and the same statement id
(the CID of the envelope as DAG-CBOR).

A statement holds when, in this order (the first that fails names the refusal):

1. ``signature``: the envelope has one ed25519 signature by a did:key over the DSSE PAE, the
   payload is an in-toto Statement v1 with this predicate, and the signer is the claimant;
2. ``proof``: the execution and its whole ancestry verify by re-execution, and the predicate's
   workflow, run, output and subject digests are the execution's;
3. ``claim``: the proven result is neither null nor false, and every scalar in the claim is a
   value the proof established (the result, a field of it, or an external input of the trace).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from catenary.cid import CID, block, decode
from catenary.errors import BadInputError, CatenaryError
from catenary.limits import shown
from catenary.model import Event, Execution
from catenary.statements.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope
from catenary.trust.identity import Identity
from catenary.trust.verify import Verdict

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://catenary.dev/statement/v1"
SIGNATURE, PROOF, CLAIM = "signature", "proof", "claim"
MAX_CLAIM_BYTES = 4096
_SCALARS = (str, int, bool)


@dataclass(frozen=True)
class Proof:
    """What the statement rests on: an execution, its workflow and run, and its output."""

    execution: CID
    workflow: CID
    run: CID
    output: CID

    # Fields, then the map that is signed: the shape of EmittedEvent.data_map, other fields.
    def data(self) -> dict[str, str]:
        return {
            "execution": str(self.execution),
            "workflow": str(self.workflow),
            "run": str(self.run),
            "output": str(self.output),
        }


@dataclass(frozen=True)
class Statement:
    """A decoded statement: who claims what, on which proof, about which values."""

    claimant: str
    claim: dict[str, Any]
    proof: Proof
    subjects: tuple[dict[str, Any], ...]

    def data(self) -> dict[str, Any]:
        return {
            "_type": STATEMENT_TYPE,
            "subject": [dict(s) for s in self.subjects],
            "predicateType": PREDICATE_TYPE,
            "predicate": {"claimant": self.claimant, "claim": self.claim, "proof": self.proof.data()},
        }

    def payload(self) -> bytes:
        # Sorted keys and no spaces: the same statement always gives the same payload bytes.
        return json.dumps(self.data(), sort_keys=True, separators=(",", ":")).encode("utf-8")


def statement_id(envelope: Envelope) -> CID:
    """The statement's id: the CID of its envelope as DAG-CBOR."""
    return block(envelope.block_value())[0]


def subject(cid: CID, data: bytes, role: str, **where: int) -> dict[str, Any]:
    return {
        "name": str(cid),
        "digest": {"sha256": hashlib.sha256(data).hexdigest()},
        "annotations": {"role": role, **where},
    }


def parse_claim(claim: Any, where: str = "claim") -> dict[str, Any]:
    """Check that ``claim`` is a small typed map: string keys; strings, integers, booleans,
    lists and maps as values (no floats, no bytes: a claim is read by people and JSON tools)."""
    if not isinstance(claim, dict) or not claim:
        raise BadInputError(
            f'{where}: a claim is a non-empty JSON object, e.g. {{"owns": {{"camera": "CX1-004217"}}}}'
        )

    def walk(value: Any, path: str, depth: int) -> None:
        if depth > 4:
            raise BadInputError(f"{path}: a claim nests at most 4 levels")
        if isinstance(value, dict):
            for key, inner in value.items():
                if not isinstance(key, str) or not key:
                    raise BadInputError(f"{path}: keys are non-empty strings")
                walk(inner, f"{path}.{key}", depth + 1)
        elif isinstance(value, list):
            for i, inner in enumerate(value):
                walk(inner, f"{path}[{i}]", depth + 1)
        elif not isinstance(value, _SCALARS):
            raise BadInputError(
                f"{path}: a claim holds strings, integers, booleans, lists and maps, "
                f"not {type(value).__name__}"
            )

    walk(claim, where, 0)
    if len(json.dumps(claim)) > MAX_CLAIM_BYTES:
        raise BadInputError(f"{where}: larger than {MAX_CLAIM_BYTES} bytes as JSON")
    return claim


def create(
    identity: Identity,
    claim: dict[str, Any],
    root: Execution,
    events: Iterable[Event],
    get_block: Callable[[CID], bytes | None],
) -> Envelope:
    """Sign a statement by ``identity`` over the proof ``root`` (already verified by the caller)."""
    if root.output is None:
        raise BadInputError(f"execution {root.hash} has no output to make a statement about")
    subjects = [_subject(root.output, get_block, "result")]
    seen = {root.output}
    for event in sorted(events, key=lambda e: e.segment):
        for slot, cid in enumerate(event.inputs):
            if cid not in seen:  # one subject per value (the result may also be an input)
                seen.add(cid)
                subjects.append(_subject(cid, get_block, "input", segment=event.segment, slot=slot))
    statement = Statement(
        identity.id,
        parse_claim(claim),
        Proof(root.hash, root.workflow, root.run, root.output),
        tuple(subjects),
    )
    return Envelope.sign(identity, statement.payload())


def _subject(cid: CID, get_block: Callable[[CID], bytes | None], role: str, **where: int) -> dict[str, Any]:
    data = get_block(cid)
    if data is None:
        raise BadInputError(f"value {cid} ({role}) is not on this node")
    return subject(cid, data, role, **where)


def read(envelope: Envelope) -> Statement:
    """The statement inside an envelope; BadInputError names what is not a catenary statement."""
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise BadInputError(
            f"payloadType is {shown(envelope.payload_type)}, expected {IN_TOTO_PAYLOAD_TYPE!r}"
        )
    try:
        data = json.loads(envelope.payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInputError(f"payload is not JSON ({exc})") from None
    except RecursionError:
        raise BadInputError("payload is JSON nested too deeply") from None
    if not isinstance(data, dict) or data.get("_type") != STATEMENT_TYPE:
        raise BadInputError(f"payload is not an in-toto Statement v1 (_type must be {STATEMENT_TYPE})")
    if data.get("predicateType") != PREDICATE_TYPE:
        raise BadInputError(
            f"predicateType is {shown(data.get('predicateType'))}, expected {PREDICATE_TYPE!r}"
        )
    predicate, subjects = data.get("predicate"), data.get("subject")
    if not isinstance(predicate, dict) or set(predicate) != {"claimant", "claim", "proof"}:
        raise BadInputError("predicate: expected exactly claimant, claim and proof")
    if not isinstance(predicate["claimant"], str):
        raise BadInputError("predicate.claimant: expected a did:key string")
    raw = predicate["proof"]
    if not isinstance(raw, dict) or set(raw) != {"execution", "workflow", "run", "output"}:
        raise BadInputError("predicate.proof: expected exactly execution, workflow, run and output")
    try:
        proof = Proof(*(CID.parse(raw[k]) for k in ("execution", "workflow", "run", "output")))
    except (CatenaryError, TypeError) as exc:
        raise BadInputError(f"predicate.proof: {exc}") from None
    if (
        not isinstance(subjects, list)
        or not subjects
        or not all(
            isinstance(s, dict) and isinstance(s.get("name"), str) and isinstance(s.get("digest"), dict)
            for s in subjects
        )
    ):
        raise BadInputError("subject: expected a non-empty list of {name, digest}")
    return Statement(
        predicate["claimant"], parse_claim(predicate["claim"], "predicate.claim"), proof, tuple(subjects)
    )


@dataclass(frozen=True)
class StatementReport:
    """The outcome of checking one statement. ``refused`` is ``signature``, ``proof`` or
    ``claim`` (the first check that failed), or None when the statement holds."""

    id: CID
    claimant: str | None
    claim: dict[str, Any] | None
    proof: Proof | None
    refused: str | None
    reason: str
    verdicts: tuple[Verdict, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.refused is None

    def message(self) -> str:
        if self.ok:
            return f"{self.claimant} claims {json.dumps(self.claim, sort_keys=True)}: {self.reason}"
        return f"refused ({self.refused}): {self.reason}"


@dataclass(frozen=True)
class ProofEvidence:
    """What a proof was checked against: the verdicts over the execution's ancestry (from the
    store or a bundle), the execution, the events of its trace, and a way to read values."""

    root: Execution | None
    verdicts: tuple[Verdict, ...]
    events: tuple[Event, ...]
    block: Callable[[CID], bytes | None]
    problem: str | None = None  # why the evidence itself is not there, when it is not


def check(envelope: Envelope, evidence: Callable[[CID], ProofEvidence]) -> StatementReport:
    """Check a statement: signature, then the proof (``evidence(execution)``), then the claim."""
    sid = statement_id(envelope)
    signer, why = envelope.check()
    try:
        statement = read(envelope)
    except BadInputError as exc:
        return StatementReport(
            sid, signer, None, None, SIGNATURE, f"the signed payload is not a catenary statement: {exc}"
        )
    refuse = _refuser(sid, statement)
    if why is not None:
        return refuse(SIGNATURE, why)
    if signer != statement.claimant:
        return refuse(SIGNATURE, f"signed by {signer}, but the claimant is {statement.claimant}")
    found = evidence(statement.proof.execution)
    problem = _proof_problem(statement, found)
    if problem is not None:
        return refuse(PROOF, problem, found.verdicts)
    assert found.root is not None and found.root.output is not None
    # The proof verified, so every block it names is present.
    result = decode(cast(bytes, found.block(found.root.output)))
    inputs = [decode(cast(bytes, found.block(cid))) for e in found.events for cid in e.inputs]
    mismatch = claim_problem(statement.claim, result, inputs)
    if mismatch is not None:
        return refuse(CLAIM, mismatch, found.verdicts)
    return StatementReport(
        sid,
        statement.claimant,
        statement.claim,
        statement.proof,
        None,
        f"the proof holds ({len(found.verdicts)} execution(s) re-executed) and the claim matches its result",
        found.verdicts,
    )


def _refuser(sid: CID, statement: Statement) -> Callable[..., StatementReport]:
    def refuse(kind: str, reason: str, verdicts: tuple[Verdict, ...] = ()) -> StatementReport:
        return StatementReport(
            sid, statement.claimant, statement.claim, statement.proof, kind, reason, verdicts
        )

    return refuse


def _proof_problem(statement: Statement, found: ProofEvidence) -> str | None:
    proof = statement.proof
    if found.problem is not None:
        return found.problem
    root = found.root
    if root is None:
        return f"execution {proof.execution} is not in the evidence"
    bad = [v for v in found.verdicts if not v.ok]
    if bad or not found.verdicts:
        first = bad[0] if bad else None
        return f"execution {proof.execution} does not verify: " + (
            f"{first.verdict} at segment {first.segment} step {first.step} ({first.name}): {first.reason}"
            if first
            else "nothing was re-executed"
        )
    for name, recorded in (("workflow", root.workflow), ("run", root.run), ("output", root.output)):
        if getattr(proof, name) != recorded:
            return f"the statement names {name} {getattr(proof, name)}, the execution has {recorded}"
    for s in statement.subjects:
        try:
            data = found.block(CID.parse(s["name"]))
        except CatenaryError:
            data = None
        expected = hashlib.sha256(data).hexdigest() if data is not None else None
        if expected is None or s["digest"].get("sha256") != expected:
            return f"subject {s['name']}: its sha256 digest is not that of the proven value"
    return None


def claim_problem(claim: dict[str, Any], result: Any, inputs: list[Any]) -> str | None:
    """Why the proven ``result`` (with the trace's external ``inputs``) does not support the
    claim, or None. A proof supports only what it established: a null or false result
    establishes nothing, and each scalar the claim states must be among the proven values."""
    if result is None or result is False:
        return f"the proven result is {json.dumps(result)}: the proof establishes nothing to claim"
    proven: set[tuple[type, Any]] = set()
    for value in (result, *inputs):
        _scalars(value, proven)
    for path, value in _leaves(claim, "claim"):
        if (type(value), value) not in proven:
            return (
                f"{path} = {json.dumps(value)} is not among the proven values (the result "
                f"{_brief(result)} and the external inputs of its trace)"
            )
    return None


def _scalars(value: Any, into: set[tuple[type, Any]]) -> None:
    if isinstance(value, dict):
        for inner in value.values():
            _scalars(inner, into)
    elif isinstance(value, list):
        for inner in value:
            _scalars(inner, into)
    elif isinstance(value, _SCALARS):
        into.add((type(value), value))


def _leaves(value: Any, path: str) -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _leaves(inner, f"{path}[{i}]")
    else:
        yield path, value


def _brief(value: Any) -> str:
    text = json.dumps(value, default=lambda v: f"<{type(v).__name__}>", sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."

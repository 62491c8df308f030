"""Statements manager: ``node.statements`` creates, stores, lists and verifies signed claims.

A statement is only made over a result that verifies here by re-execution (its whole
ancestry) and that supports the claim; verifying never stores anything. Statements are
kept as DSSE JSON files in ``<data dir>/statements/<statement id>.json`` (the data dir
also holds the node's identity), and travel inside the proof bundle of their execution.
"""

from __future__ import annotations

import builtins  # the method list() hides the built-in in the class body
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from catenary.cid import CID, decode
from catenary.errors import BadInputError, CatenaryError, NotFoundError, StoreError, VerificationError
from catenary.operations import Registry
from catenary.statements import (
    Envelope,
    Proof,
    ProofEvidence,
    StatementReport,
    check,
    claim_problem,
    create,
    read,
    statement_id,
)
from catenary.store import Store
from catenary.trust.bundle import BundleReport
from catenary.trust.identity import Identity
from catenary.trust.verify import Verifier

STATEMENTS_DIR = "statements"


@dataclass(frozen=True)
class StoredStatement:
    """A statement kept by this node (as signed; listing does not re-check it)."""

    id: CID
    claimant: str
    claim: dict[str, Any]
    proof: Proof
    envelope: Envelope


def load_key(path: str | Path) -> Identity:
    """The ed25519 key in a PEM file (the format of a node's ``node_key.pem``)."""
    try:
        return Identity.load_file(Path(path))
    except StoreError as exc:  # an unreadable key is the caller's input here, not a broken store
        raise BadInputError(str(exc)) from exc


class StatementManager:
    def __init__(self, store: Store, registry: Registry, data_dir: Path) -> None:
        self._store = store
        self._registry = registry
        self._dir = Path(data_dir) / STATEMENTS_DIR

    # -- evidence ---------------------------------------------------------------------------
    def _store_evidence(self, execution_hash: CID) -> ProofEvidence:
        """Re-execute the execution's ancestry from this node's store (nothing is written)."""
        from catenary.sdk.trust import StoreEvidence  # the same evidence `catenary verify` reads

        lineage = self._store.lineage(execution_hash, "ancestors", 0)
        root = self._store.get_execution(execution_hash)
        if lineage is None or root is None:
            return ProofEvidence(
                None,
                (),
                (),
                self._store.get_block,
                f"execution {execution_hash} is not on this node (verify the proof "
                f"bundle that carries the statement instead)",
            )
        verifier = Verifier(StoreEvidence(self._store), self._registry)
        ordered = sorted(lineage.executions, key=lambda e: (e.segment, e.step))
        return ProofEvidence(
            root, tuple(verifier.verify(e) for e in ordered), tuple(lineage.events), self._store.get_block
        )

    # -- create, list, get -------------------------------------------------------------------
    def create(self, proof: CID, claim: dict[str, Any], key: Identity) -> tuple[CID, Envelope]:
        """Sign ``claim`` with ``key`` over the execution ``proof``; refused (VerificationError,
        nothing stored) unless the proof verifies by re-execution and supports the claim."""
        found = self._store_evidence(proof)
        if found.problem is not None:
            raise NotFoundError(f"execution {proof} is not on this node")
        bad = [v for v in found.verdicts if not v.ok]
        if bad:
            raise VerificationError(
                f"proof does not verify: execution {bad[0].execution} is "
                f"{bad[0].verdict} ({bad[0].reason}); no statement was made"
            )
        root = found.root
        assert root is not None
        if root.output is None:
            raise VerificationError(f"proof does not verify: execution {proof} has no output")
        result = decode(self._store.get_block(root.output) or b"")
        # The proof verified, so every block its events name is present.
        inputs = [decode(cast(bytes, found.block(cid))) for e in found.events for cid in e.inputs]
        envelope = create(key, claim, root, found.events, self._store.get_block)
        problem = claim_problem(read(envelope).claim, result, inputs)
        if problem is not None:
            raise VerificationError(
                f"claim does not match the proven result: {problem}; no statement was made"
            )
        sid = statement_id(envelope)
        self._save(sid, envelope)
        return sid, envelope

    def _save(self, sid: CID, envelope: Envelope) -> None:
        self._dir.mkdir(exist_ok=True)
        path = self._dir / f"{sid}.json"
        if path.exists():
            return  # same claimant, claim and proof: the very same statement
        tmp = path.with_name(f".{sid}.{os.getpid()}.tmp")
        tmp.write_text(envelope.dumps())
        os.replace(tmp, path)

    def list(self, execution: CID | None = None) -> list[StoredStatement]:
        """The statements kept here (all, or those over one execution), by id."""
        found = []
        for path in sorted(self._dir.glob("*.json")) if self._dir.is_dir() else ():
            try:
                envelope = Envelope.loads(path.read_text(), str(path))
                statement = read(envelope)
            except (CatenaryError, OSError):
                continue  # not a statement this node made; `statement verify FILE` says why
            if execution is None or statement.proof.execution == execution:
                found.append(
                    StoredStatement(
                        statement_id(envelope), statement.claimant, statement.claim, statement.proof, envelope
                    )
                )
        return found

    def get(self, sid: CID) -> Envelope:
        path = self._dir / f"{sid}.json"
        if not path.is_file():
            raise NotFoundError(f"unknown statement {sid}")
        return Envelope.loads(path.read_text(), str(path))

    def envelopes(self, execution: CID) -> builtins.list[Envelope]:
        """What a proof bundle of ``execution`` carries."""
        return [s.envelope for s in self.list(execution)]

    # -- verify --------------------------------------------------------------------------------
    def verify(self, envelope: Envelope) -> StatementReport:
        """Check a statement against this node's store: signature, proof by re-execution, claim."""
        return check(envelope, self._store_evidence)

    def submit(self, envelope: Envelope) -> StatementReport:
        """Verify a statement signed elsewhere and keep it here only if it holds."""
        report = self.verify(envelope)
        if report.ok:
            self._save(report.id, envelope)
        return report

    def verify_bundle(self, report: BundleReport) -> builtins.list[StatementReport]:
        """Check each statement a verified-or-not bundle carries against the bundle alone."""
        bundle = report.bundle
        if bundle is None:
            return []

        def evidence(execution_hash: CID) -> ProofEvidence:
            problem = None
            if execution_hash != bundle.root:
                problem = (
                    f"the statement is about execution {execution_hash}, the bundle proves {bundle.root}"
                )
            elif not report.ok:
                problem = f"the bundle does not verify ({report.overall}): {report.summary()}"
            return ProofEvidence(
                bundle.executions.get(execution_hash),
                tuple(report.verdicts),
                tuple(bundle.events.values()),
                bundle.block,
                problem,
            )

        return [check(envelope, evidence) for envelope in bundle.statements.values()]

"""Trust managers: ``node.trust`` (verify, export, verify and import bundles) and
``node.attestations`` (the signed attestations of an execution, each checked)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, BinaryIO

from catenary.cid import CID, decode
from catenary.cid.cid import block_cid
from catenary.errors import BadInputError, CatenaryError, NotFoundError, ShadowingError, VerificationError
from catenary.model import Event, Execution, OperationManifest, OperationVersion, Workflow
from catenary.model.enums import Role
from catenary.model.results import MISMATCH, AttestationCheck, Verdict, VerifyReport
from catenary.operations import Registry
from catenary.store import AttestationRow, Dispute, Store
from catenary.trust import attestation, bundle
from catenary.trust.identity import Identity
from catenary.trust.verify import REEXECUTION_GAVE, Verifier


class StoreEvidence:
    """The local store as evidence for a :class:`~catenary.trust.verify.Verifier`."""

    def __init__(self, store: Store, known: dict[CID, Execution] | None = None) -> None:
        self._store = store
        self._known = known or {}  # executions already read (a trace's lineage): no query each

    # The same five lookups as trust/bundle/read.py's Bundle: one protocol, two sources.
    def execution(self, execution_hash: CID) -> Execution | None:
        found = self._known.get(execution_hash)
        return found if found is not None else self._store.get_execution(execution_hash)

    def event(self, event_hash: CID) -> Event | None:
        return self._store.get_event(event_hash)

    def block(self, cid: CID) -> bytes | None:
        return self._store.get_block(cid)

    def workflow(self, workflow_id: CID) -> Workflow | None:
        return self._store.get_workflow(workflow_id)

    def version(self, version_id: CID) -> tuple[OperationManifest, OperationVersion] | None:
        return self._store.get_version(version_id)


class AttestationManager:
    """The attestations recorded for executions."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def list(self, execution_hash: CID) -> list[AttestationCheck]:
        """Each attestation of the execution with its check result; a bad or foreign
        signature, or one over another execution, key or output, is reported invalid."""
        e = self._store.get_execution(execution_hash)
        if e is None:
            raise NotFoundError(f"unknown execution {execution_hash}")
        checks = []
        for row in self._store.list_attestations(execution_hash):
            if not row.data:
                problem = "the attestation block is missing from the value store"
            elif block_cid(row.data) != row.cid:
                problem = "the stored block's bytes do not hash to its CID"
            else:
                checks.append(attestation.check(row.cid, row.data, e.hash, e.key, e.output, Role(row.role)))
                continue
            checks.append(AttestationCheck(row.cid, row.signer, Role(row.role), False, problem))
        return checks

    def add(self, data: bytes) -> AttestationCheck:
        """Store one attestation block received alone (a validator's vote, or a dissent, from a
        peer): it must attest an execution stored here, with its key, signed by its signer.
        Refused with one error naming what is wrong, nothing stored: NotFoundError for an
        unknown execution, VerificationError for a bad signature or another key."""
        if not isinstance(data, (bytes, bytearray)) or not data:
            raise BadInputError("an attestation is the bytes of its DAG-CBOR block")
        data = bytes(data)
        cid = block_cid(data)
        try:
            value = decode(data)
        except CatenaryError as exc:
            raise BadInputError(f"attestation {cid}: not DAG-CBOR: {exc}") from None
        target = value.get("execution") if isinstance(value, dict) else None
        if not isinstance(target, CID):
            raise BadInputError(
                f"attestation {cid}: no execution link (expected keys {', '.join(attestation.FIELDS)})"
            )
        e = self._store.get_execution(target)
        if e is None:
            raise NotFoundError(
                f"attestation {cid}: unknown execution {target} (import the execution first; nothing stored)"
            )
        role = attestation.role_of(data, e.executor, e.cached_from, e.output)
        result = attestation.check(cid, data, e.hash, e.key, e.output, role)
        if not result.valid:
            raise VerificationError(
                f"attestation {cid} on execution {e.hash} is invalid: {result.reason}; nothing stored"
            )
        assert result.signer is not None  # a valid check names its signer
        self._store.put_attestations(
            [AttestationRow(e.hash, cid, data, result.signer, role.value)], time.time_ns()
        )
        return AttestationCheck(cid, result.signer, role, True, result.reason)


class TrustManager:
    """Verification by re-execution and proof bundles."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        identity: Identity,
        statements: Callable[[CID], list[Any]] | None = None,
    ) -> None:
        self._store = store
        self._statements = statements  # the signed statements a bundle of an execution carries
        self._registry = registry
        self._identity = identity
        self._attestations = AttestationManager(store)

    def verify(self, execution_hash: CID, trace: bool = False) -> VerifyReport:
        """Re-execute an execution (with ``trace``: every execution of its ancestry) and check
        each record; add this node's validator attestation to each one verified."""
        if trace:
            found_all = self._store.ancestry(execution_hash)  # through result events too
            if found_all is None:
                raise NotFoundError(f"unknown execution {execution_hash}")
            lineage = found_all[0]
            executions = sorted(lineage.executions, key=lambda e: (e.segment, e.step))
        else:
            found = self._store.get_execution(execution_hash)
            if found is None:
                raise NotFoundError(f"unknown execution {execution_hash}")
            executions = [found]
        self._load_stored_wasm({e.operation for e in executions})
        verifier = Verifier(StoreEvidence(self._store, {e.hash: e for e in executions}), self._registry)
        verdicts, rows = [], []
        checks_by_execution = {}
        for e in executions:
            checks = checks_by_execution[e.hash] = tuple(self._attestations.list(e.hash))
            verdict = verifier.verify(e, checks)
            verdicts.append(verdict)
            # A verified execution has its output (the `is not None` only tells the type checker).
            if (
                verdict.ok
                and e.output is not None
                and not any(c.signer == self._identity.id and c.valid for c in checks)
            ):
                rows.append(
                    attestation.sign(
                        self._identity,
                        e.hash,
                        e.key,
                        e.output,
                        attestation.role_for(self._identity.id, e.executor, e.cached_from),
                    )
                )
        rows += self._dissents(executions, verdicts, checks_by_execution)
        if rows:
            self._store.put_attestations(rows, time.time_ns())
        self._dispute(executions, verdicts)
        attested = [r.execution for r in rows if r.role != attestation.DISSENT]
        return VerifyReport(execution_hash, verdicts, attested, self._identity.id)

    def _dissents(
        self,
        executions: list[Execution],
        verdicts: list[Verdict],
        checks: dict[CID, tuple[AttestationCheck, ...]],
    ) -> list[AttestationRow]:
        """This node's signed dissent for each execution whose re-execution gave another
        output: the shareable half of a dispute (the dispute row is local)."""
        rows = []
        for e, v in zip(executions, verdicts):
            if (
                v.verdict == MISMATCH
                and v.reason.startswith(REEXECUTION_GAVE)
                and v.got is not None
                # the executor's own attestation must match its record: it does not dissent
                and attestation.role_for(self._identity.id, e.executor, e.cached_from) != attestation.EXECUTOR
                and not any(c.signer == self._identity.id and c.valid for c in checks[e.hash])
            ):
                rows.append(attestation.sign(self._identity, e.hash, e.key, v.got, attestation.DISSENT))
        return rows

    def _dispute(self, executions: list[Execution], verdicts: list[Verdict]) -> None:
        """Mark each execution whose re-execution disagreed disputed, and the execution it was
        cached from (same key, same output: the same claim), so neither is reused again."""
        now = time.time_ns()
        disputes = []
        for e, v in zip(executions, verdicts):
            if v.verdict != MISMATCH:
                continue
            detail = f"verify by {self._identity.id}: {v.reason}"
            disputes.append(Dispute(e.hash, now, detail))
            if e.cached_from is not None:
                disputes.append(Dispute(e.cached_from, now, f"{detail} (found on {e.hash}, cached from it)"))
        if disputes:
            self._store.put_disputes(disputes)

    def _load_stored_wasm(self, version_ids: set[CID]) -> None:
        """Register the stored wasm versions among ``version_ids`` that this process lacks: a
        long-running node (``catenary serve``) then verifies executions of modules that another
        process added or imported after it started."""
        wanted = [
            found
            for v in version_ids
            if self._registry.get(v) is None
            for found in [self._store.get_version(v)]
            if found and found[1].kind == "wasm"
        ]
        if wanted:
            from catenary.operations import wasm  # imports wasmtime: only when a module is needed

            # by version only: verifying must not change what a name resolves to in this process
            wasm.load_stored(self._registry, wanted, self._store.get_block, bind_names=False)

    def export(self, execution_hash: CID, stream: BinaryIO) -> dict[str, int]:
        """Write the execution's proof bundle (CARv1) to ``stream``."""
        carried = self._statements(execution_hash) if self._statements else []
        return bundle.export_bundle(self._store, self._registry, execution_hash, stream, carried)

    def verify_bundle(
        self, data: bytes, on_progress: Callable[[int, int], None] | None = None, *, reexecute: bool = True
    ) -> bundle.BundleReport:
        """Check a bundle offline (nothing is stored). Without ``reexecute`` only the bundle's
        own WASM modules run: the Python operations are left to validators."""
        _not_empty(data)
        return bundle.verify_bundle(data, self._registry if reexecute else Registry(), on_progress)

    def import_bundle(
        self, data: bytes, *, allow_shadow: bool = False
    ) -> tuple[bundle.BundleReport, dict[str, int]]:
        """Verify a bundle and load it into this node's store, all or nothing
        (VerificationError, nothing stored, when it does not verify)."""
        _not_empty(data)
        report = self.verify_bundle(data)
        return report, self.import_verified(report, allow_shadow=allow_shadow)

    def import_verified(
        self, report: bundle.BundleReport, *, allow_shadow: bool = False, deferred: bool = False
    ) -> dict[str, int]:
        """Load a bundle already checked by :meth:`verify_bundle` (refused unless it verified).

        Its WASM operations become executable here at once, by version id: an import never
        changes what an ``{"op": NAME}`` shorthand resolves to. A bundle carrying one under a
        name this node gives to another version is refused (ShadowingError, nothing stored)
        unless ``allow_shadow``; the name then stays with the local version. With ``deferred``
        a report whose only gaps are re-executions not done here is loaded too (their outputs
        are pending until the quorum accepts them: docs/network.md)."""
        if not allow_shadow and report.bundle:
            self._refuse_shadowing(report.bundle)
        counts = bundle.load_bundle(self._store, report, deferred=deferred)
        wanted = (
            [report.bundle.versions[v] for v in report.bundle.modules if self._registry.get(v) is None]
            if report.bundle
            else []
        )
        if wanted:
            from catenary.operations import wasm  # imports wasmtime: only for a bundle with modules

            wasm.load_stored(self._registry, wanted, self._store.get_block, bind_names=False)
        return counts

    def _refuse_shadowing(self, carried: bundle.Bundle) -> None:
        shadowed = []
        for version_id in carried.modules:
            manifest, _ = carried.versions[version_id]
            held = self._registry.by_name(manifest.name)
            if held is not None and held.version_id != version_id:
                shadowed.append(f"{manifest.name!r} (here {held.version_id}, in the bundle {version_id})")
        if shadowed:
            raise ShadowingError(
                f"the bundle carries operation(s) named like local ones: {'; '.join(shadowed[:5])}"
                f"{f'; ... ({len(shadowed) - 5} more)' if len(shadowed) > 5 else ''}; nothing was "
                f"imported (import --allow-shadow to import them anyway: the names stay with this node's)"
            )


def _not_empty(data: bytes) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise BadInputError("a bundle is the bytes of a CAR file")

"""Loading a verified bundle into a store, in one transaction."""

from __future__ import annotations

import time

from catenary.errors import VerificationError
from catenary.operations import Registry
from catenary.store import AttestationRow, ImportBatch, RunState, Store
from catenary.trust import attestation
from catenary.trust.bundle.verify import BundleReport, verify_bundle


def import_bundle(store: Store, registry: Registry, data: bytes) -> tuple[BundleReport, dict[str, int]]:
    """Verify a bundle and, only if everything holds, load it into ``store`` in one
    transaction. Raises VerificationError (nothing stored) when it does not verify."""
    report = verify_bundle(data, registry)
    return report, load_bundle(store, report)


def load_bundle(store: Store, report: BundleReport, *, deferred: bool = False) -> dict[str, int]:
    """Load a bundle that :func:`verify_bundle` found to hold completely (with ``deferred``:
    all but the re-executions it could not do, left to validators); refuses any other
    report (VerificationError, nothing stored). Returns how many records of each kind were new."""
    bundle = report.bundle
    if not (report.checked if deferred else report.ok) or bundle is None:
        raise VerificationError(
            f"bundle does not verify ({report.overall}): {report.summary()}; nothing was imported"
        )
    wanted = bundle.values | bundle.sources
    runs = []
    for state in bundle.runs.values():
        missing = [s for s in range(state.next_segment) if s not in state.outputs]
        if state.status == "running" and missing:
            # The bundle holds the ancestry of one execution, not the whole run: the run
            # cannot be stepped further here, so it is recorded as ended, with the reason.
            state = RunState(
                state.id,
                state.workflow,
                state.nonce,
                "failed",
                state.next_segment,
                state.total_time,
                f"imported from a bundle without the output of "
                f"segment(s) {', '.join(map(str, missing))}; start a new run here "
                f"(memoization reuses the imported results)",
                state.created_at,
                state.updated_at,
                state.outputs,
            )
        runs.append(state)
    attestations = []
    for hash_, rows in bundle.attestations.items():
        e = bundle.executions[hash_]
        for cid, raw, signer in rows:
            attestations.append(
                AttestationRow(
                    hash_, cid, raw, signer, attestation.role_of(raw, e.executor, e.cached_from, e.output)
                )
            )
    batch = ImportBatch(
        blocks=[(cid, bundle.blocks[cid]) for cid in wanted],
        operations=list(bundle.versions.values()),
        workflows=list(bundle.workflows.values()),
        runs=runs,
        events=list(bundle.events.values()),
        executions=sorted(bundle.executions.values(), key=lambda e: (e.segment, e.step)),
        attestations=attestations,
        now=time.time_ns(),
        emitted=[(s, bundle.blocks[s.event.data]) for s in bundle.emitted.values()],
    )
    return store.import_batch(batch)

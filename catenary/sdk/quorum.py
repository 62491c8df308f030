"""Acceptance and validation: ``node.acceptance`` (does an execution's output count here,
under the policy's quorum) and ``node.validator`` (re-execute what other nodes executed).

A validator re-executes completed executions present here that another node did the work
for (imported from a bundle, read from a shared database, or synced from a peer) and whose
operation this node runs. A match adds its signed ``validator`` attestation, a mismatch a
signed ``dissent`` and a dispute row (``TrustManager.verify`` does both). Both are stored as
attestations, so they travel with bundles and updates like any other.

Sampling is deterministic by key: an execution is picked when the first 8 bytes of
sha256(key bytes), read as a big-endian fraction of 2^64, are below the operation's
fraction. Every validator with the same fraction so picks the same executions, and each
picked execution gathers every validator's vote: a quorum forms on it instead of being
spread thin (docs/network.md).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from catenary.cid import CID
from catenary.errors import CatenaryError, NotFoundError
from catenary.model import Execution, Status
from catenary.model.enums import Acceptance
from catenary.model.filter import ExecutionFilter
from catenary.model.results import Standing
from catenary.operations import Registry
from catenary.sdk.trust import TrustManager
from catenary.store import Store
from catenary.trust import quorum
from catenary.trust.policy import Policy

log = logging.getLogger("catenary.validator")


def sampled(key: CID, fraction: float) -> bool:
    """Whether an execution with this key falls in the sampled ``fraction`` (same on every node)."""
    if fraction >= 1:
        return True
    return int.from_bytes(hashlib.sha256(key.cid_bytes).digest()[:8], "big") < fraction * 2**64


class AcceptanceManager:
    """The acceptance of executions under this node's policy."""

    def __init__(self, store: Store, policy: Policy) -> None:
        self._store = store
        self._policy = policy
        self._names: dict[CID, str] = {}  # version id -> operation name, read once each

    def operation(self, version_id: CID) -> tuple[str, ...]:
        """The names a policy rule may use for a version: its operation name and its id."""
        if version_id not in self._names:
            found = self._store.get_version(version_id)
            self._names[version_id] = found[0].name if found else ""
        name = self._names[version_id]
        return (name, str(version_id)) if name else (str(version_id),)

    def get(self, execution_hash: CID) -> Standing:
        """The standing of a stored execution (NotFoundError for an unknown one)."""
        e = self._store.get_execution(execution_hash)
        if e is None:
            raise NotFoundError(f"unknown execution {execution_hash}")
        return self.of(e)

    def of(self, e: Execution) -> Standing:
        """The standing of ``e``: one indexed read of the attestations over its key."""
        rule = self._policy.quorum_for(self.operation(e.operation))
        if e.status is not Status.COMPLETED or e.output is None:
            return Standing(e.hash, Acceptance.PENDING, rule.label, rule.need, None, (), "not completed")
        rows = self._store.key_attestations(e.key)
        votes = quorum.votes(rows, lambda signer: self._policy.counts(rule, signer))
        dispute = self._store.get_dispute(e.hash)
        if dispute is None and e.cached_from is not None:
            dispute = self._store.get_dispute(e.cached_from)
        return quorum.standing(e, votes, rule, dispute.detail if dispute else None)

    def status(self, e: Execution) -> Acceptance:
        return self.of(e).status


@dataclass(frozen=True)
class Validation:
    """What a validator did with one execution: ``validated``, ``dissent``, or ``skipped``
    (``reason`` says why: executed here, not sampled, already signed, no implementation)."""

    execution: CID
    outcome: str
    reason: str


class Validator:
    """Re-executes executions other nodes did, signing the outcome (see the module doc)."""

    def __init__(
        self, store: Store, registry: Registry, trust: TrustManager, policy: Policy, node: str
    ) -> None:
        self._store = store
        self._registry = registry
        self._trust = trust
        self._policy = policy
        self._node = node
        self._acceptance = AcceptanceManager(store, policy)

    def why_not(self, e: Execution, sample: bool = True) -> str | None:
        """Why this node does not validate ``e``, or None when it should."""
        if e.status is not Status.COMPLETED:
            return f"execution is {e.status.value}"
        if e.cached_from is not None:
            return f"a cache hit: validate {e.cached_from}, which did the work"
        if e.executor == self._node:
            return "executed here"
        if any(a.signer == self._node for a in self._store.list_attestations(e.hash)):
            return "already signed here"
        if self._store.get_dispute(e.hash) is not None:
            return "already disputed here"
        names = self._acceptance.operation(e.operation)
        if self._registry.get(e.operation) is None and not self._stored_wasm(e.operation):
            return f"operation {names[0]} has no implementation here"
        fraction = self._policy.sample_for(names)
        if sample and not sampled(e.key, fraction):
            return f"not sampled (validate.sample {fraction:g} for {names[0]})"
        return None

    def _stored_wasm(self, version_id: CID) -> bool:
        found = self._store.get_version(version_id)
        return found is not None and found[1].kind == "wasm"

    def validate(self, execution_hash: CID, sample: bool = False) -> Validation:
        """Validate one execution (sampling applies only when ``sample``)."""
        e = self._store.get_execution(execution_hash)
        if e is None:
            raise NotFoundError(f"unknown execution {execution_hash}")
        return self._validate(e, sample)

    def _validate(self, e: Execution, sample: bool) -> Validation:
        why = self.why_not(e, sample)
        if why is not None:
            return Validation(e.hash, "skipped", why)
        report = self._trust.verify(e.hash)
        verdict = report.verdicts[0]
        if verdict.ok:
            return Validation(e.hash, "validated", "re-executed: same output; signed")
        if verdict.verdict == "mismatch":
            return Validation(e.hash, "dissent", f"{verdict.reason}; dispute signed")
        return Validation(e.hash, "skipped", verdict.reason)

    def validate_run(self, run: CID) -> list[Validation]:
        """Validate every execution of a run (sampled, as a serving validator would)."""
        if self._store.get_run(run) is None:
            raise NotFoundError(f"unknown run {run}")
        flt = ExecutionFilter(statuses=(Status.COMPLETED,), run=run)
        found = list(self._all(flt))
        return [self._validate(e, True) for e in sorted(found, key=lambda e: (e.segment, e.step))]

    def _all(self, flt: ExecutionFilter) -> Iterator[Execution]:
        before = None
        while True:
            page, before = self._store.list_executions(flt, 500, before)
            yield from page
            if before is None:
                return

    def watch(self, updates: Iterator[Execution]) -> None:
        """Validate each execution the iterator yields that it should (see :meth:`why_not`)."""
        for e in updates:
            try:
                if self.why_not(e) is None:
                    self._validate(e, True)
            except CatenaryError as exc:  # one bad record must not stop the validator
                log.warning("validator: %s: %s", e.hash, exc)

    def start(
        self, updates: Callable[[ExecutionFilter, int, threading.Event], Iterator[Execution]]
    ) -> threading.Event:
        """Validate, on a daemon thread, every completed execution stored so far and each one
        committed later (``updates``: ``node.executions.updates``); set the event to stop."""
        stop = threading.Event()
        stream = updates(ExecutionFilter(statuses=(Status.COMPLETED,)), 0, stop)
        threading.Thread(target=self.watch, args=(stream,), name="catenary-validator", daemon=True).start()
        return stop

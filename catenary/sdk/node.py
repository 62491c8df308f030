"""A node: one data directory, its store, its operations, and the managers over them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from catenary.cid import CID
from catenary.engine import DEFAULT_MAX_VALUE_SIZE, Engine
from catenary.engine.executor import Executor
from catenary.engine.runtime import DEFAULT_REMOTE_WAIT
from catenary.model.enums import Acceptance
from catenary.network.peers import PeerBook
from catenary.operations import Operation, Registry
from catenary.project import DEFAULT_DATA_DIR as DEFAULT_DATA_DIR
from catenary.project import default_data_dir as default_data_dir
from catenary.runs.driver import DEFAULT_RUN_LEASE
from catenary.sdk.catalog import build_registry, open_operations
from catenary.sdk.doctor import Doctor
from catenary.sdk.event import EventManager
from catenary.sdk.execution import DEFAULT_LEASE, ExecutionManager
from catenary.sdk.quorum import AcceptanceManager, Validator
from catenary.sdk.run import RunManager
from catenary.sdk.schedule import ScheduleManager
from catenary.sdk.statement import StatementManager
from catenary.sdk.trigger import TriggerManager
from catenary.sdk.trust import AttestationManager, TrustManager
from catenary.sdk.value import ValueManager
from catenary.sdk.workflow import DEFAULT_MAX_SEGMENTS, DEFAULT_MAX_SEQUENCE, WorkflowManager
from catenary.store import AttestationRow, MemoCandidate, RunState, Store, open_store
from catenary.trust import attestation
from catenary.trust.identity import Identity
from catenary.trust.policy import Policy


class Node:
    """Everything the CLI and the API use, over one store.

    >>> node = Node("/tmp/data")                       # doctest: +SKIP
    >>> wf = node.workflows.create(manifest)           # doctest: +SKIP
    >>> run = node.runs.new(wf.id)                     # doctest: +SKIP
    >>> node.runs.next(run.id, [b"photo bytes"])       # doctest: +SKIP
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        operations: Iterable[str | ModuleType | Operation] = (),
        registry: Registry | None = None,
        std: bool = True,
        plugins: bool = True,
        max_value_size: int = DEFAULT_MAX_VALUE_SIZE,
        max_segments: int = DEFAULT_MAX_SEGMENTS,
        max_sequence: int = DEFAULT_MAX_SEQUENCE,
        store: Store | None = None,
        db: str | None = None,
        operation_timeout: float | None = None,
        executor: Executor | str | None = None,
        remote_wait: float | None = DEFAULT_REMOTE_WAIT,
        lease: float = DEFAULT_LEASE,
        run_lease: float = DEFAULT_RUN_LEASE,
    ) -> None:
        """``db``: a ``postgresql://`` URL to keep the execution DB and values in PostgreSQL
        (shared with other nodes); by default they are in ``<data_dir>/catenary.db`` (SQLite).
        The data dir holds this node's identity either way.

        ``operations``: operation objects (``@operation`` functions), modules, or module names
        whose top-level operations to load. ``registry``: a registry to use instead of a new one;
        it gets the standard library too unless ``std=False``. ``plugins``: load the operations
        of installed packages (entry-point group ``catenary.operations``).

        ``executor``: where operations run, ``local`` (default), ``dask:local``,
        ``dask://HOST:PORT`` or an :class:`~catenary.engine.executor.Executor`.
        ``remote_wait``: seconds ``next()`` waits for external executors to finish a remote
        step (None: no limit). ``lease``: seconds a claim lasts when the claimant asks for none.
        ``run_lease``: seconds this node's lease on a run it drives lasts unrenewed (catenary.runs)."""
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.created = not self.data_dir.exists()  # a new data dir: the CLI says so
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # The node id is the did:key of the ed25519 key made on first start (node_key.pem).
        self.identity = Identity.load_or_create(self.data_dir)
        self.id = self.identity.id
        # The standard library, installed packages' operations (entry points), the given ones.
        self.registry, self.plugins = build_registry(operations, registry=registry, std=std, plugins=plugins)
        self.store = store or open_store(db, self.data_dir)
        # What this node lets others do, and whose results it reuses (data_dir/policy.toml).
        self.policy = Policy.load(self.data_dir, self.id)
        self.engine = Engine(
            self.store,
            self.registry,
            self.id,
            max_value_size,
            attest=self._attest,
            operation_timeout=operation_timeout,
            executor=executor,
            remote_wait=remote_wait,
            reusable=self._reusable,
        )
        self.values = ValueManager(self.store, max_value_size)
        self.operations = open_operations(self.store, self.registry)
        self.workflows = WorkflowManager(self.store, self.operations, max_segments, max_sequence)
        self.runs = RunManager(
            self.engine, self.store, lambda: self.triggers.dispatch(), self.id, lease=run_lease
        )
        # accepted | pending | disputed, under the policy's quorum (docs/network.md)
        self.acceptance = AcceptanceManager(self.store, self.policy)
        self.executions = ExecutionManager(
            self.store, self.operations, self.values, lease=lease, standing=self.acceptance.status
        )
        self.attestations = AttestationManager(self.store)
        self.triggers = TriggerManager(self.store, self.engine, self.values, self.identity)
        self.events = EventManager(self.store, self.values, self.identity, self.triggers.dispatch)
        self.schedules = ScheduleManager(self.store, self.values, self.identity, self.events.announce)
        self.statements = StatementManager(self.store, self.registry, self.data_dir)
        self.trust = TrustManager(
            self.store, self.registry, self.identity, statements=self.statements.envelopes
        )
        self.validator = Validator(self.store, self.registry, self.trust, self.policy, self.id)
        self.peers = PeerBook(self.store, self.id)  # the nodes this one follows (catenary.network)
        # The data dir's invariants: node.doctor.check(repair=...); runs nothing drives, it drives.
        self.doctor = Doctor(self.store, drive=self._drive)

    def _drive(self, run_id: CID) -> RunState:
        """Take over a run whose node stopped driving it and drive it to the end here."""
        self.runs.driver.start()  # renew the lease while it goes
        return self.runs.driver.drive(run_id)

    def _reusable(self, candidate: MemoCandidate, op: Operation) -> bool:
        """Whether memoization may reuse this result of ``op`` here: one of its signers is
        trusted (``[[rules.trust_executor]]``), or with ``[memo] reuse = "accepted"`` the
        quorum accepts it (docs/trust.md, "What is reused")."""
        if self.policy.reuse == "accepted":  # the node's own results stay reusable, as in trusted
            if self.id in candidate.signers:
                return True
            return self.acceptance.get(candidate.origin).status is Acceptance.ACCEPTED
        target = (op.name, str(op.version_id))
        return any(self.policy.trusts_executor(signer, target) for signer in candidate.signers)

    def _attest(self, execution: CID, key: CID, output: CID) -> AttestationRow:
        """The executor attestation the engine records with each execution that did the work."""
        return attestation.sign(self.identity, execution, key, output, attestation.EXECUTOR)

    def close(self) -> None:
        self.runs.close()
        self.executions.close()
        self.events.close()
        self.engine.executor.close()
        self.store.close()

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

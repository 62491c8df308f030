"""What a node answers: the result dataclasses a local :class:`~catenary.sdk.Node` and a
remote :class:`~catenary.client.Client` both return.

They live here, below the sdk, the engine, the store and the trust code, so that a client
can build them without importing any of those (``import catenary.client`` stays light).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from catenary.cid import CID
from catenary.errors import BadInputError
from catenary.model.emitted import SignedEvent
from catenary.model.enums import Acceptance, Direction, Role, VerdictKind
from catenary.model.execution import Execution
from catenary.model.filter import ExecutionFilter
from catenary.model.operation import OperationManifest, OperationVersion
from catenary.model.workflow import Workflow

# The largest value (DAG-CBOR bytes) a node stores or a client sends, by default.
DEFAULT_MAX_VALUE_SIZE = 64 * 1024 * 1024

# The most executions one page holds.
MAX_PAGE_SIZE = 1000

# Verdicts of verification by re-execution (catenary.trust.verify).
VERIFIED = VerdictKind.VERIFIED
MISMATCH = VerdictKind.MISMATCH
UNVERIFIABLE = VerdictKind.UNVERIFIABLE

# Attestation roles (catenary.trust.attestation).
EXECUTOR = Role.EXECUTOR
VALIDATOR = Role.VALIDATOR


@dataclass(frozen=True)
class StepResult:
    """What ``next()`` returns. ``result`` is set only when ``done``; times are milliseconds."""

    run: CID
    segment: int
    done: bool
    result: Any
    segment_time: float
    total_time: float
    final: CID  # hash of the segment's last execution


@dataclass(frozen=True)
class Dispute:
    """A verification that re-executed an execution and got another output: it is never reused."""

    execution: CID
    at: int  # unix ns
    detail: str


@dataclass(frozen=True)
class Attempt:
    """One try of an execution's operation under a retry policy (catenary.engine.policy):
    ``error`` is None for the attempt that completed it. The execution record keeps only the
    outcome of the last attempt; its attempts are kept beside it."""

    execution: CID
    attempt: int  # 1-based
    started_at: int  # unix ns
    finished_at: int
    error: str | None


@dataclass(frozen=True)
class SegmentOutput:
    """A finished segment of a run: its output value and the execution that produced it."""

    segment: int
    output: CID
    producer: CID
    segment_time: float


@dataclass(frozen=True)
class RunState:
    """A run and where it stands."""

    id: CID
    workflow: CID
    nonce: bytes
    status: str  # running | completed | failed
    next_segment: int
    total_time: float
    error: str | None
    created_at: int
    updated_at: int
    outputs: dict[int, SegmentOutput] = field(default_factory=dict)


class RunResult(NamedTuple):
    """What ``runs.run()`` (and ``WorkflowBuilder.run()``) return: the finished run and its
    last step. ``result`` is the run's result value, ``final`` the hash of the execution that
    produced it (give it to ``exec trace``, ``trust.verify`` or ``export``).

    It is a named tuple, so ``state, last = node.runs.run(...)`` unpacks as before."""

    state: RunState
    last: StepResult

    # Shortcuts to fields of state and last: one-line properties, alike in shape by nature.
    @property
    def id(self) -> CID:
        return self.state.id

    @property
    def status(self) -> str:
        return self.state.status

    @property
    def result(self) -> Any:
        return self.last.result

    @property
    def final(self) -> CID:
        return self.last.final

    @property
    def outputs(self) -> dict[int, SegmentOutput]:
        """Each segment's output value CID and producing execution, by segment index."""
        return self.state.outputs

    @property
    def total_time(self) -> float:
        """Milliseconds spent executing, all segments."""
        return self.last.total_time


@dataclass(frozen=True)
class Page:
    """One page of executions, newest first; pass ``next_page_token`` to get the next one."""

    executions: list[Execution]
    next_page_token: str | None


def check_page_size(page_size: int) -> None:
    """Refuse a page size out of range, before any call (a remote one sends 0 as "default")."""
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise BadInputError(f"page size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")


def iterate_pages(
    list_page: Callable[[ExecutionFilter | None, int, str | None], Page],
    flt: ExecutionFilter | None,
    page_size: int,
) -> Iterator[Execution]:
    """Every execution a paged ``list`` gives (the sdk's or a remote client's), lazily."""
    token: str | None = None
    while True:
        page = list_page(flt, page_size, token)
        yield from page.executions
        if not page.next_page_token:
            return
        token = page.next_page_token


def check_trace_request(direction: Direction | str, depth: int) -> None:
    """Refuse a trace direction or depth out of range, before any call (a remote one could not
    send a negative depth, and would read an unknown direction as ``ancestors``)."""
    if direction not in tuple(Direction):
        raise BadInputError(f"direction must be ancestors or descendants, not {direction!r}")
    if depth < 0:
        raise BadInputError(f"depth must be >= 0, got {depth}")


@dataclass(frozen=True)
class TraceNode:
    """A node of a trace: an execution, or the event that carried external inputs."""

    kind: str  # "execution" | "event"
    hash: CID
    execution: Execution | None = None
    inputs: tuple[CID, ...] = ()
    segment: int | None = None
    run: CID | None = None  # for events
    cause: SignedEvent | None = None  # for an event of a triggered run: the emitted event (issue 17)


@dataclass(frozen=True)
class Trace:
    """The sub-DAG an execution came from: nodes (each once) and edges parent -> child."""

    root: CID
    nodes: list[TraceNode]
    edges: list[tuple[CID, CID]]


@dataclass(frozen=True)
class WorkflowInfo:
    id: CID
    workflow: Workflow
    created_at: int | None = None


@dataclass(frozen=True)
class OperationInfo:
    """An operation version with its manifest, and whether this process can execute it."""

    manifest: OperationManifest
    version: OperationVersion
    available: bool

    @property
    def version_id(self) -> CID:
        return self.version.id


@dataclass(frozen=True)
class AttestationCheck:
    """The result of checking one attestation against the execution it is listed for."""

    cid: CID
    signer: str | None
    role: Role
    valid: bool
    reason: str


@dataclass(frozen=True)
class Vote:
    """One signer vouching for one output of an execution's key (an attestation's claim)."""

    signer: str
    output: CID
    role: Role
    execution: CID  # the execution the attestation is on (any execution with the same key)
    counted: bool  # whether the quorum rule counts this signer


@dataclass(frozen=True)
class Standing:
    """Whether an execution's output counts here, and why (catenary/trust/quorum.py)."""

    execution: CID
    status: Acceptance
    rule: str  # the policy rule that decided (quorum[0], or the default)
    need: int  # how many counted signers must vouch for one output
    canonical: CID | None  # the one output the quorum agreed on, if any
    votes: tuple[Vote, ...]
    reason: str


@dataclass(frozen=True)
class Verdict:
    """The outcome for one execution. ``expected`` / ``got`` are the CIDs that differ
    (recorded vs recomputed) for a mismatch, or the agreeing output when verified."""

    execution: CID
    verdict: VerdictKind
    reason: str
    operation: CID
    name: str | None
    segment: int
    step: int
    expected: CID | None = None
    got: CID | None = None
    attestations: tuple[AttestationCheck, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.verdict == VERIFIED


@dataclass(frozen=True)
class VerifyReport:
    """What ``node.trust.verify`` found: one verdict per execution checked (the execution
    itself, or with ``trace`` its whole ancestry), the validator attestations it added, and
    ``signer``, the id of the node that verified (and signed them)."""

    root: CID
    verdicts: list[Verdict]
    attested: list[CID] = field(default_factory=list)
    signer: str | None = None

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts)

    @property
    def overall(self) -> VerdictKind:
        if self.ok:
            return VERIFIED
        return MISMATCH if any(v.verdict == MISMATCH for v in self.verdicts) else UNVERIFIABLE

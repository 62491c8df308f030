"""The small closed vocabularies of catenary, as string enums.

Each member is a ``str`` equal to its value (``Direction.ANCESTORS == "ancestors"``, same hash,
same JSON, same text in an f-string), so JSON documents, SQL rows and gRPC strings are what
they were with plain strings. DAG-CBOR does not take enum members: encode ``.value``.
"""

from __future__ import annotations

import enum


class VerdictKind(enum.StrEnum):
    """What re-executing one execution showed (:class:`catenary.trust.Verdict`)."""

    VERIFIED = "verified"  # the recomputed output is the recorded one
    MISMATCH = "mismatch"  # a recorded CID differs from the recomputed one
    UNVERIFIABLE = "unverifiable"  # no implementation here, a value missing, or not completed


class Role(enum.StrEnum):
    """Who signed an attestation, as the record shows it (not signed itself)."""

    EXECUTOR = "executor"  # the node that did the work
    VALIDATOR = "validator"  # a node that re-executed it and got the same output
    DISSENT = "dissent"  # a node that re-executed it and got another output (docs/network.md)


class Acceptance(enum.StrEnum):
    """Whether an execution's output counts, under the node's quorum policy (docs/network.md)."""

    ACCEPTED = "accepted"  # its attestations satisfy the quorum rule for its operation
    PENDING = "pending"  # not yet: too few trusted signers have vouched for its output
    DISPUTED = "disputed"  # trusted signers vouched for another output, or a re-execution here disagreed


class Direction(enum.StrEnum):
    """Which way a trace walks from an execution."""

    ANCESTORS = "ancestors"  # back to the events that started it (lineage)
    DESCENDANTS = "descendants"  # everything computed from it (impact)


class RunStatus(enum.StrEnum):
    """A run's status: running until its last segment completes, a step fails, or someone
    cancels it (``runs cancel``, docs/design.md "Runs owned by nodes")."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class NodeKind(enum.StrEnum):
    """What a node of a trace is."""

    EXECUTION = "execution"
    EVENT = "event"  # the event that carried a run's external inputs

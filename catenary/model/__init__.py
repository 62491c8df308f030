"""The records catenary stores and the hashes that identify them."""

from catenary.model.enums import Direction, NodeKind, Role, RunStatus, VerdictKind
from catenary.model.execution import (
    Execution,
    Invocation,
    Preimages,
    Status,
    check_transition,
    hash_data,
    key_data,
)
from catenary.model.operation import OperationManifest, OperationVersion
from catenary.model.run import Event, Run
from catenary.model.workflow import Segment, Step, Workflow

__all__ = [
    "Direction",
    "Event",
    "Execution",
    "Invocation",
    "NodeKind",
    "OperationManifest",
    "OperationVersion",
    "Preimages",
    "Role",
    "Run",
    "RunStatus",
    "Segment",
    "Status",
    "Step",
    "VerdictKind",
    "Workflow",
    "check_transition",
    "hash_data",
    "key_data",
]

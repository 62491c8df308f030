"""The records catenary stores and the hashes that identify them."""

from catenary.model.execution import (
    Execution, Invocation, Preimages, Status, check_transition, hash_data, key_data,
)
from catenary.model.operation import OperationManifest, OperationVersion
from catenary.model.run import Event, Run
from catenary.model.workflow import Segment, Step, Workflow

__all__ = [
    "Event", "Execution", "Invocation", "OperationManifest", "OperationVersion", "Preimages", "Run",
    "Segment", "Status", "Step", "Workflow", "check_transition", "hash_data", "key_data",
]

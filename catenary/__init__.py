"""catenary: a workflow engine whose every execution is content-addressed, traceable and verifiable."""

from catenary.cid import CID
from catenary.engine import StepResult
from catenary.errors import (
    BadInputError, CatenaryError, EncodingError, ExecutionFailedError, InputError, InvalidCIDError,
    ManifestError, NotFoundError, RunStateError, StatusTransitionError, StoreError,
)
from catenary.model import Execution, Status
from catenary.model.filter import ExecutionFilter
from catenary.operations import Operation, operation
from catenary.sdk import Node

__version__ = "0.1.0"

__all__ = [
    "BadInputError", "CID", "CatenaryError", "EncodingError", "Execution", "ExecutionFailedError",
    "ExecutionFilter", "InputError", "InvalidCIDError", "ManifestError", "Node", "NotFoundError",
    "Operation", "RunStateError", "Status", "StatusTransitionError", "StepResult", "StoreError",
    "operation",
]

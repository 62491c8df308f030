"""catenary: a workflow engine whose every execution is content-addressed, traceable and verifiable."""

from catenary.cid import CID
from catenary.engine import StepResult
from catenary.errors import (
    AlreadyExistsError, BadInputError, CatenaryError, EncodingError, ExecutionFailedError,
    ExecutionPendingError, ExecutorUnavailableError, InputError, InvalidCIDError,
    InvalidModuleError, LimitExceededError, ManifestError, NotFoundError, OperationTimeout,
    RunStateError, StatusTransitionError, StoreError, UnreadableBundleError, ValueTooLargeError,
    VerificationError, WasmExecutionError,
)
from catenary.model import Execution, Status
from catenary.model.filter import ExecutionFilter
from catenary.operations import Operation, operation
from catenary.sdk import Node

__version__ = "0.1.0"

__all__ = [
    "AlreadyExistsError", "BadInputError", "CID", "CatenaryError", "EncodingError", "Execution",
    "ExecutionFailedError", "ExecutionFilter", "ExecutionPendingError", "ExecutorUnavailableError",
    "InputError", "InvalidCIDError", "InvalidModuleError", "LimitExceededError", "ManifestError",
    "Node", "NotFoundError", "Operation", "OperationTimeout", "RunStateError", "Status",
    "StatusTransitionError", "StepResult", "StoreError", "UnreadableBundleError",
    "ValueTooLargeError", "VerificationError", "WasmExecutionError", "operation",
]

"""catenary: a workflow engine whose every execution is content-addressed, traceable and verifiable.

The names below are imported on first use (PEP 562), so that ``import catenary.client``
(or any light submodule) does not load the engine, the store and the trust code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from catenary._lazy import lazy_exports
from catenary._version import __version__ as __version__

if TYPE_CHECKING:
    from catenary.builder import WorkflowBuilder, step
    from catenary.cid import CID

    # The lazy names again, for type checkers (PEP 562 hides them); import lists, no logic.
    from catenary.errors import (
        AlreadyExistsError,
        AuthenticationError,
        BadInputError,
        CatenaryError,
        EncodingError,
        ExecutionFailedError,
        ExecutionPendingError,
        ExecutorUnavailableError,
        InputError,
        InvalidCIDError,
        InvalidModuleError,
        LeaseLostError,
        LimitExceededError,
        ManifestError,
        MissingExtraError,
        NotFoundError,
        OperationTimeout,
        PermissionDeniedError,
        RunCancelledError,
        RunStateError,
        ShadowingError,
        StatusTransitionError,
        StoreError,
        StoreReadOnlyError,
        StoreUnavailableError,
        TokenError,
        UnreadableBundleError,
        ValueTooLargeError,
        VerificationError,
        WasmExecutionError,
    )
    from catenary.model import Execution, Status
    from catenary.model.filter import ExecutionFilter
    from catenary.model.node import NodeLike
    from catenary.model.results import RunResult, StepResult
    from catenary.operations import Operation, operation
    from catenary.sdk import Node

# Each public name and the module that defines it.
_EXPORTS = {
    "AlreadyExistsError": "catenary.errors",
    "AuthenticationError": "catenary.errors",
    "PermissionDeniedError": "catenary.errors",
    "BadInputError": "catenary.errors",
    "CID": "catenary.cid",
    "CatenaryError": "catenary.errors",
    "EncodingError": "catenary.errors",
    "Execution": "catenary.model",
    "ExecutionFailedError": "catenary.errors",
    "ExecutionFilter": "catenary.model.filter",
    "ExecutionPendingError": "catenary.errors",
    "ExecutorUnavailableError": "catenary.errors",
    "InputError": "catenary.errors",
    "InvalidCIDError": "catenary.errors",
    "InvalidModuleError": "catenary.errors",
    "LeaseLostError": "catenary.errors",
    "LimitExceededError": "catenary.errors",
    "ManifestError": "catenary.errors",
    "MissingExtraError": "catenary.errors",
    "Node": "catenary.sdk",
    "NodeLike": "catenary.model.node",
    "NotFoundError": "catenary.errors",
    "Operation": "catenary.operations",
    "OperationTimeout": "catenary.errors",
    "RunResult": "catenary.model.results",
    "RunCancelledError": "catenary.errors",
    "RunStateError": "catenary.errors",
    "ShadowingError": "catenary.errors",
    "StoreReadOnlyError": "catenary.errors",
    "StoreUnavailableError": "catenary.errors",
    "Status": "catenary.model",
    "StatusTransitionError": "catenary.errors",
    "StepResult": "catenary.model.results",
    "StoreError": "catenary.errors",
    "TokenError": "catenary.errors",
    "UnreadableBundleError": "catenary.errors",
    "ValueTooLargeError": "catenary.errors",
    "VerificationError": "catenary.errors",
    "WasmExecutionError": "catenary.errors",
    "WorkflowBuilder": "catenary.builder",
    "operation": "catenary.operations",
    "step": "catenary.builder",
}

# The public names, errors.py's among them: re-exported, so listed here again.
__all__ = [
    "AlreadyExistsError",
    "AuthenticationError",
    "PermissionDeniedError",
    "BadInputError",
    "CID",
    "CatenaryError",
    "EncodingError",
    "Execution",
    "ExecutionFailedError",
    "ExecutionFilter",
    "ExecutionPendingError",
    "ExecutorUnavailableError",
    "InputError",
    "InvalidCIDError",
    "InvalidModuleError",
    "LeaseLostError",
    "LimitExceededError",
    "ManifestError",
    "MissingExtraError",
    "Node",
    "NodeLike",
    "NotFoundError",
    "Operation",
    "OperationTimeout",
    "RunResult",
    "RunCancelledError",
    "RunStateError",
    "ShadowingError",
    "Status",
    "StatusTransitionError",
    "StepResult",
    "StoreError",
    "StoreReadOnlyError",
    "StoreUnavailableError",
    "TokenError",
    "UnreadableBundleError",
    "ValueTooLargeError",
    "VerificationError",
    "WasmExecutionError",
    "WorkflowBuilder",
    "operation",
    "step",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

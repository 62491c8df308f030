"""catenary: a workflow engine whose every execution is content-addressed, traceable and verifiable."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from catenary._version import __version__

if TYPE_CHECKING:
    from catenary.cid import CID
    from catenary.engine import StepResult
    from catenary.errors import (
        BadInputError,
        CatenaryError,
        EncodingError,
        ExecutionFailedError,
        InputError,
        InvalidCIDError,
        ManifestError,
        MissingExtraError,
        NotFoundError,
        RunStateError,
        StatusTransitionError,
        StoreError,
    )
    from catenary.model import Execution, Status
    from catenary.model.filter import ExecutionFilter
    from catenary.operations import Operation, operation
    from catenary.sdk import Node

# Loaded on first use: `import catenary.cli.main` or `catenary.client` must not pay for the engine
# and the store (the CLI's start-up budget, docs/benchmarks.md).
_WHERE = {
    "CID": "catenary.cid", "StepResult": "catenary.engine",
    "Execution": "catenary.model", "Status": "catenary.model",
    "ExecutionFilter": "catenary.model.filter",
    "Operation": "catenary.operations", "operation": "catenary.operations",
    "Node": "catenary.sdk",
    **{name: "catenary.errors" for name in (
        "BadInputError", "CatenaryError", "EncodingError", "ExecutionFailedError", "InputError",
        "InvalidCIDError", "ManifestError", "MissingExtraError", "NotFoundError", "RunStateError",
        "StatusTransitionError", "StoreError")},
}

__all__ = [
    "BadInputError", "CID", "CatenaryError", "EncodingError", "Execution", "ExecutionFailedError",
    "ExecutionFilter", "InputError", "InvalidCIDError", "ManifestError", "MissingExtraError", "Node",
    "NotFoundError", "Operation", "RunStateError", "Status", "StatusTransitionError", "StepResult",
    "StoreError", "__version__", "operation",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'catenary' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

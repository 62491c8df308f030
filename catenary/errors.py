"""The one exception hierarchy of catenary.

    CatenaryError                  every error catenary raises on purpose
    ├── BadInputError              the caller's input is wrong; nothing was stored (CLI exit 2)
    │   ├── EncodingError          a value cannot be DAG-CBOR (NaN, non-string key, bignum, ...)
    │   ├── InvalidCIDError        a CID's text or bytes are malformed
    │   ├── ManifestError          a workflow or operation manifest is invalid (names the JSON path)
    │   ├── InputError             external inputs of next()/run are wrong (count, type, size)
    │   │   └── ValueTooLargeError a value over the node's size cap
    │   ├── NotFoundError          an id, hash or CID that this node does not know
    │   ├── AlreadyExistsError     creating something whose id is already recorded
    │   ├── LimitExceededError     a cap of the node is reached (open Updates subscribers, ...)
    │   ├── UnreadableBundleError  a CAR file that cannot be parsed (truncated, corrupt; exit 2)
    │   ├── ShadowingError         an import would bind a name this node gives to another operation
    │   └── InvalidModuleError     a WASM module refused: not WebAssembly, or not the ABI
    ├── ExecutionFailedError       an operation failed; its execution and run are marked failed (exit 1)
    ├── ExecutionPendingError      a remote execution was not finished within the wait; the run has not moved
    ├── ExecutorUnavailableError   the execution backend (a Dask cluster) is unreachable; nothing was recorded
    ├── OperationTimeout           an operation ran past the node's timeout (recorded as its failure)
    ├── WasmExecutionError         a WASM module trapped, ran out of fuel or memory, or gave bad output
    ├── RunStateError              the run cannot be stepped (finished, failed, stepped concurrently; exit 2)
    │   └── RunCancelledError      the run was cancelled (`runs cancel`); its record says by whom (exit 1)
    ├── StatusTransitionError      an execution status change that the state machine forbids
    │   └── LeaseLostError         an executor's lease lapsed and the execution went back or to another
    ├── VerificationError          a re-execution, record, block or signature check did not hold (exit 1)
    ├── MissingExtraError          an optional dependency is not installed; names the pip extra (exit 2)
    ├── AuthenticationError        a call's proof of identity is missing or wrong (gRPC UNAUTHENTICATED)
    │   └── TokenError             a refused call token; ``problem`` says which check failed
    ├── PermissionDeniedError      the policy does not allow this key this act (gRPC PERMISSION_DENIED)
    └── StoreError                 the database is unusable (newer schema, corrupt file, ...)
        ├── StoreUnavailableError  disk full, database locked past the busy timeout, I/O error
        └── StoreReadOnlyError     the data dir cannot be written: read-only file system, permissions

Every class is exported here and from the ``catenary`` package (tests/test_errors.py checks
both, and that this tree is the real one). Over gRPC each maps to one status code, and the
fields of those that have some (``ManifestError.path``, ``WasmExecutionError.fuel``, ...)
travel with it (``catenary/api/errors.py``).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, TypeVar

from catenary.limits import cut

if TYPE_CHECKING:  # cid and model raise these errors, so they cannot be imported here at run time
    from catenary.cid import CID
    from catenary.model import Execution


# Re-exported by catenary/__init__.py, whose __all__ lists these names again.
__all__ = [
    "AlreadyExistsError",
    "AuthenticationError",
    "BadInputError",
    "CatenaryError",
    "EncodingError",
    "ExecutionFailedError",
    "ExecutionPendingError",
    "ExecutorUnavailableError",
    "InputError",
    "InvalidCIDError",
    "InvalidModuleError",
    "LeaseLostError",
    "LimitExceededError",
    "ManifestError",
    "MissingExtraError",
    "NotFoundError",
    "OperationTimeout",
    "PermissionDeniedError",
    "RunCancelledError",
    "RunStateError",
    "ShadowingError",
    "StatusTransitionError",
    "StoreError",
    "StoreReadOnlyError",
    "StoreUnavailableError",
    "TokenError",
    "UnreadableBundleError",
    "ValueTooLargeError",
    "VerificationError",
    "WasmExecutionError",
]


class CatenaryError(Exception):
    """Root of every error raised by catenary on purpose."""

    exit_code = 1

    def __str__(self) -> str:
        # Bounded here, once, for the CLI line, gRPC details and HTTP bodies alike: a message
        # that quotes a 20 MB input keeps its head and tail (catenary/limits.py).
        return cut(super().__str__())


class BadInputError(CatenaryError):
    """The input is wrong; nothing stored was changed."""

    exit_code = 2


class EncodingError(BadInputError):
    """A value cannot be encoded as (or decoded from) DAG-CBOR."""


class InvalidCIDError(BadInputError):
    """A CID's text or binary form is malformed or unsupported."""


class ManifestError(BadInputError):
    """A manifest is invalid; ``path`` names where (e.g. ``segments[3].inputs[0]``)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}" if path else message)


class InputError(BadInputError):
    """External inputs handed to a run are wrong (count, type or size)."""


_T = TypeVar("_T")


class NotFoundError(BadInputError):
    """Something named by id, hash or CID is not known here."""

    @staticmethod
    def require(found: _T | None, missing: str, *args: object) -> _T:
        """``found``, the result of a lookup that must find; None raises this error with
        ``missing.format(*args)`` (formatted only then: lookups on hot paths use this)."""
        if found is None:
            raise NotFoundError(missing.format(*args))
        return found


class AlreadyExistsError(BadInputError):
    """Something with this id or hash is already recorded."""


class ValueTooLargeError(InputError):
    """A value is larger than the node's value-size cap."""


class LimitExceededError(BadInputError):
    """A configured cap of the node is reached (e.g. open Updates subscribers)."""


class ExecutionFailedError(CatenaryError):
    """An operation failed; its execution and its run were recorded as failed."""

    def __init__(self, message: str, execution: Execution | None = None) -> None:
        self.execution = execution
        super().__init__(message)


class ExecutionPendingError(CatenaryError):
    """No external executor finished a remote execution within the engine's wait. The execution
    stays recorded (``created`` or ``in_progress``) and the run has not moved: calling ``next()``
    again with the same inputs waits for the same execution."""

    def __init__(self, message: str, execution: Execution | None = None) -> None:
        self.execution = execution
        super().__init__(message)


class ExecutorUnavailableError(CatenaryError):
    """The backend that runs operations (e.g. a Dask cluster) cannot be reached or lost the work;
    nothing was recorded for the segment, so it can be stepped again."""


class OperationTimeout(CatenaryError):
    """An operation ran past the node's operation timeout. The engine records it as the
    execution's failure (``OperationTimeout: ...``), so the name has no ``Error`` suffix."""


class InvalidModuleError(BadInputError):
    """A module was refused at registration (or when loaded): not WASM, or not the ABI."""


class WasmExecutionError(CatenaryError):
    """A module failed while running: a trap, fuel or memory exhausted, an error it reported,
    or output that is not canonical DAG-CBOR. The engine records it as the execution's error."""

    def __init__(self, module: CID, cause: str, fuel: int | None = None) -> None:
        self.module = module
        self.cause = cause
        self.fuel = fuel
        super().__init__(f"wasm module {module}: {cause}")


# Error classes are rows of one shape (docstring, exit code), alike by design.
class RunStateError(CatenaryError):
    """The run is finished, failed, or was stepped by someone else meanwhile; nothing was stored."""

    exit_code = 2


class RunCancelledError(RunStateError):
    """The run was cancelled (``runs cancel``): it stopped at a step boundary, its finished
    steps are recorded, and it will not be stepped again."""

    exit_code = 1


class UnreadableBundleError(BadInputError):
    """A proof bundle (CAR file) cannot be read: truncated, corrupt, or not a CAR at all."""


class ShadowingError(BadInputError):
    """A bundle carries an executable operation under a name this node resolves to another
    version; nothing was imported (``catenary import --allow-shadow`` imports it, leaving the
    name to the local version)."""


class VerificationError(CatenaryError):
    """Something claimed could not be confirmed: a mismatch, a bad block, signature or record."""


class AuthenticationError(CatenaryError):
    """A call carries no proof of its caller's key, or a proof that does not hold (the message says
    which: missing, malformed, bad signature, expired, wrong audience, wrong method, replayed)."""

    exit_code = 2


class TokenError(AuthenticationError):
    """A refused call token; ``problem`` (a :class:`catenary.trust.token.Problem`) says which
    check failed, and its text starts the message."""

    def __init__(self, problem: Enum, detail: str) -> None:
        self.problem = problem
        super().__init__(f"{problem.value}: {detail}")


# Error classes are rows of one shape (docstring, exit code), alike by design.
class PermissionDeniedError(CatenaryError):
    """The caller is known, but the node's policy does not allow it this act (names key and rule)."""

    exit_code = 2


class StatusTransitionError(CatenaryError):
    """An execution status change the state machine does not allow."""


class LeaseLostError(StatusTransitionError):
    """An executor renewed or reported an execution whose lease it had lost: the lease lapsed
    (by the database's clock) and the execution went back to ``created``, perhaps to another
    executor since. Its work is not recorded; the executor should drop it and take more work."""


class StoreError(CatenaryError):
    """The store cannot be used as it is (schema from a newer catenary, corruption)."""


class StoreUnavailableError(StoreError):
    """A write or read failed for a reason that may pass: disk full, the database locked
    beyond the busy timeout, an I/O error. The transaction was rolled back: nothing changed."""


class StoreReadOnlyError(StoreError):
    """The data dir cannot be written (read-only file system, permission denied); commands
    that only read still work. The transaction was rolled back: nothing changed."""


class MissingExtraError(CatenaryError):
    """An optional dependency is not installed; ``extra`` names the pip extra that brings it."""

    exit_code = 2

    def __init__(self, what: str, extra: str) -> None:
        self.extra = extra
        super().__init__(f"{what} needs the {extra!r} extra: pip install 'catenary[{extra}]'")

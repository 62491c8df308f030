"""catenary errors <-> gRPC status codes, in one place for the server and the client."""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterator, TypeVar

import grpc

from catenary import errors

# The most specific class first: subclasses before their bases.
CODES: list[tuple[type[errors.CatenaryError], grpc.StatusCode]] = [
    (errors.NotFoundError, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExistsError, grpc.StatusCode.ALREADY_EXISTS),
    (errors.ValueTooLargeError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.LimitExceededError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.BadInputError, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.StatusTransitionError, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.RunStateError, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.ExecutionFailedError, grpc.StatusCode.ABORTED),
    (errors.StoreError, grpc.StatusCode.UNAVAILABLE),
    (errors.CatenaryError, grpc.StatusCode.INTERNAL),
]
ERROR_TYPE_KEY = "catenary-error-type"
_BY_NAME = {cls.__name__: cls for cls in vars(errors).values()
            if isinstance(cls, type) and issubclass(cls, errors.CatenaryError)}
_BY_CODE = {code: cls for cls, code in reversed(CODES)}

F = TypeVar("F", bound=Callable[..., Any])


def code_for(exc: errors.CatenaryError) -> grpc.StatusCode:
    return next(code for cls, code in CODES if isinstance(exc, cls))


def _abort(context: grpc.ServicerContext, exc: errors.CatenaryError) -> None:
    context.set_trailing_metadata(((ERROR_TYPE_KEY, type(exc).__name__),))
    context.abort(code_for(exc), str(exc))


def unary(method: F) -> F:
    """Turn a catenary error raised by a unary servicer method into its gRPC status."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except errors.CatenaryError as exc:
            _abort(context, exc)

    return wrapper  # type: ignore[return-value]


def stream(method: F) -> F:
    """The same for server-streaming methods (generators)."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield from method(self, request, context)
        except errors.CatenaryError as exc:
            _abort(context, exc)

    return wrapper  # type: ignore[return-value]


def from_rpc_error(exc: grpc.RpcError) -> errors.CatenaryError | grpc.RpcError:
    """The catenary error a server reported, rebuilt on the client side."""
    code = exc.code() if hasattr(exc, "code") else None
    message = exc.details() if hasattr(exc, "details") else str(exc)
    name = dict(exc.trailing_metadata() or ()).get(ERROR_TYPE_KEY) if hasattr(
        exc, "trailing_metadata") else None
    cls = _BY_NAME.get(name or "") or _BY_CODE.get(code)
    if cls is None:
        if code == grpc.StatusCode.UNAVAILABLE:
            return errors.CatenaryError(f"node unavailable: {message}")
        return exc
    if cls is errors.ManifestError:
        return errors.BadInputError(message)
    return cls(message)

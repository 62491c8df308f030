"""catenary errors <-> gRPC status codes, in one place for the server and the client.

A servicer's :class:`~catenary.errors.CatenaryError` becomes the status code of the first row
of :data:`CODES` it is an instance of, with its message as the details and, in the trailing
metadata, its class name (``catenary-error-type``) and the values of the row's fields as a
DAG-CBOR map (``catenary-error-fields-bin``; an execution as its protobuf bytes). The client
rebuilds the same class with the same message and fields, so a
:class:`~catenary.errors.ManifestError` keeps its JSON ``path`` and an
:class:`~catenary.errors.ExecutionFailedError` the failed execution.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf.message import DecodeError

from catenary import errors
from catenary.api import convert
from catenary.cid import decode, encode
from catenary.model import Execution
from catenary.proto.definition import execution_pb2


@dataclass(frozen=True)
class Row:
    """One error class, its status code, and the attributes that travel with it."""

    cls: type[errors.CatenaryError]
    code: grpc.StatusCode
    fields: tuple[str, ...] = ()


# The most specific class first: subclasses before their bases.
CODES: list[Row] = [
    Row(errors.NotFoundError, grpc.StatusCode.NOT_FOUND),
    Row(errors.AlreadyExistsError, grpc.StatusCode.ALREADY_EXISTS),
    Row(errors.ValueTooLargeError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    Row(errors.LimitExceededError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    Row(errors.ManifestError, grpc.StatusCode.INVALID_ARGUMENT, ("path", "reason")),
    Row(errors.ShadowingError, grpc.StatusCode.FAILED_PRECONDITION),
    Row(errors.BadInputError, grpc.StatusCode.INVALID_ARGUMENT),
    Row(errors.LeaseLostError, grpc.StatusCode.FAILED_PRECONDITION),
    Row(errors.StatusTransitionError, grpc.StatusCode.FAILED_PRECONDITION),
    # A bare ABORTED (no error type in the trailer) still reads as a failed operation.
    Row(errors.ExecutionFailedError, grpc.StatusCode.ABORTED, ("execution",)),
    Row(errors.RunCancelledError, grpc.StatusCode.ABORTED),
    Row(errors.RunStateError, grpc.StatusCode.FAILED_PRECONDITION),
    Row(errors.ExecutionPendingError, grpc.StatusCode.DEADLINE_EXCEEDED, ("execution",)),
    Row(errors.TokenError, grpc.StatusCode.UNAUTHENTICATED, ("problem",)),
    Row(errors.AuthenticationError, grpc.StatusCode.UNAUTHENTICATED),
    Row(errors.PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    Row(errors.MissingExtraError, grpc.StatusCode.FAILED_PRECONDITION, ("extra",)),
    Row(errors.StoreReadOnlyError, grpc.StatusCode.FAILED_PRECONDITION),
    Row(errors.StoreError, grpc.StatusCode.UNAVAILABLE),
    Row(errors.ExecutorUnavailableError, grpc.StatusCode.UNAVAILABLE),
    Row(errors.WasmExecutionError, grpc.StatusCode.INTERNAL, ("module", "cause", "fuel")),
    Row(errors.CatenaryError, grpc.StatusCode.INTERNAL),
]
ERROR_TYPE_KEY = "catenary-error-type"
ERROR_FIELDS_KEY = "catenary-error-fields-bin"  # "-bin": a path or cause may not be ASCII
_BY_NAME = {
    cls.__name__: cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, errors.CatenaryError)
}
# Without the class name (a status from elsewhere) the code alone picks the class: the first row
# with that code, unless it only refines a later one (ManifestError of BadInputError).
_BY_CODE = {
    row.code: row.cls
    for i, row in reversed(list(enumerate(CODES)))
    if not any(later.code == row.code and issubclass(row.cls, later.cls) for later in CODES[i + 1 :])
}
_FIELDS = {row.cls: row.fields for row in CODES if row.fields}


def _execution_to_wire(value: Any) -> bytes | None:
    return convert.execution_to_pb(value).SerializeToString() if isinstance(value, Execution) else None


def _execution_from_wire(value: Any) -> Execution | None:
    if not isinstance(value, bytes):
        return None
    return convert.execution_from_pb(execution_pb2.Execution.FromString(value))


def _identity(value: Any) -> Any:
    return value


# Fields whose values are not DAG-CBOR data, and how they travel.
_TO_WIRE: dict[str, Callable[[Any], Any]] = {
    "execution": _execution_to_wire,
    "problem": lambda problem: getattr(problem, "value", problem),  # an enum member: its text
}
_FROM_WIRE: dict[str, Callable[[Any], Any]] = {"execution": _execution_from_wire}

F = TypeVar("F", bound=Callable[..., Any])


def row_for(exc: errors.CatenaryError) -> Row:
    return next(row for row in CODES if isinstance(exc, row.cls))


def code_for(exc: errors.CatenaryError) -> grpc.StatusCode:
    return row_for(exc).code


def metadata_for(exc: errors.CatenaryError) -> tuple[tuple[str, str | bytes], ...]:
    """The trailing metadata that names ``exc``'s class and carries its fields."""
    row = row_for(exc)
    named: tuple[tuple[str, str | bytes], ...] = ((ERROR_TYPE_KEY, type(exc).__name__),)
    if not row.fields:
        return named
    try:
        fields = encode(
            {name: _TO_WIRE.get(name, _identity)(getattr(exc, name, None)) for name in row.fields}
        )
    except errors.EncodingError:  # a field a subclass set to something odd: send the message only
        return named
    return named + ((ERROR_FIELDS_KEY, fields),)


def _abort(context: grpc.ServicerContext, exc: errors.CatenaryError) -> None:
    context.set_trailing_metadata(metadata_for(exc))
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


class RequestDecoding(grpc.ServerInterceptor):
    """Answer a request whose bytes are not a valid message with INVALID_ARGUMENT.

    grpcio parses requests before the servicer runs and answers INTERNAL ("Exception
    deserializing request!") when that fails, as if the server were at fault. This
    interceptor gives unary-request methods the raw bytes and parses them itself, so
    garbage from a client is a clear bad-input error naming the method and the message.
    """

    def __init__(self) -> None:
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or handler.request_streaming or handler.request_deserializer is None:
            return handler
        wrapped = self._wrapped.get(details.method)
        if wrapped is None:
            wrapped = self._wrapped[details.method] = _parsing_handler(details.method, handler)
        return wrapped


def _parsing_handler(method: str, handler: Any) -> grpc.RpcMethodHandler[Any, Any]:
    deserialize = handler.request_deserializer
    message = getattr(getattr(deserialize, "__self__", None), "DESCRIPTOR", None)
    name = message.full_name if message is not None else "request"

    def parse(raw: bytes, context: grpc.ServicerContext) -> Any:
        try:
            return deserialize(raw)
        except Exception as exc:  # DecodeError, or whatever malformed bytes make the parser raise
            context.set_trailing_metadata(((ERROR_TYPE_KEY, errors.BadInputError.__name__),))
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{method}: the request is not a valid {name} message ({exc})",
            )

    if handler.response_streaming:

        def unary_stream(raw: bytes, context: grpc.ServicerContext) -> Iterator[Any]:
            yield from handler.unary_stream(parse(raw, context), context)

        return grpc.unary_stream_rpc_method_handler(
            unary_stream, response_serializer=handler.response_serializer
        )

    def unary_unary(raw: bytes, context: grpc.ServicerContext) -> Any:
        return handler.unary_unary(parse(raw, context), context)

    return grpc.unary_unary_rpc_method_handler(unary_unary, response_serializer=handler.response_serializer)


def from_rpc_error(exc: grpc.RpcError) -> errors.CatenaryError | grpc.RpcError:
    """The catenary error a server reported, rebuilt on the client side."""
    code = exc.code() if hasattr(exc, "code") else None
    message = exc.details() if hasattr(exc, "details") else str(exc)
    # Values are str, or bytes under a "-bin" key (ERROR_FIELDS_KEY). The stubs type each entry
    # as a _Metadatum class; grpc gives (key, value) tuples.
    metadata: dict[str, Any] = (
        dict(exc.trailing_metadata() or ())  # type: ignore[arg-type]
        if hasattr(exc, "trailing_metadata")
        else {}
    )
    cls = _BY_NAME.get(metadata.get(ERROR_TYPE_KEY) or "") or (
        _BY_CODE.get(code) if code is not None else None
    )
    if cls is None:
        if code == grpc.StatusCode.UNAVAILABLE:
            return errors.CatenaryError(f"node unavailable: {message}")
        return exc
    fields = next((names for base, names in _FIELDS.items() if issubclass(cls, base)), ())
    if not fields:
        return cls(message)
    return _with_fields(cls, message, fields, metadata.get(ERROR_FIELDS_KEY))


def _with_fields(
    cls: type[errors.CatenaryError], message: str | None, names: tuple[str, ...], raw: bytes | None
) -> errors.CatenaryError:
    """``cls`` with the server's message and fields, built without its ``__init__`` (which
    would compose the message again, and wants the fields typed: ``module`` is a CID)."""
    values: dict[str, Any] = {}
    if raw is not None:
        try:
            decoded = decode(raw)
        except errors.EncodingError:
            decoded = None
        if isinstance(decoded, dict):
            values = decoded
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    for name in names:
        try:
            setattr(error, name, _FROM_WIRE.get(name, _identity)(values.get(name)))
        except (errors.CatenaryError, DecodeError):  # a malformed field: the error still stands
            setattr(error, name, None)
    return error

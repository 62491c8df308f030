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
    (errors.ExecutionPendingError, grpc.StatusCode.DEADLINE_EXCEEDED),
    (errors.AuthenticationError, grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (errors.StoreError, grpc.StatusCode.UNAVAILABLE),
    (errors.ExecutorUnavailableError, grpc.StatusCode.UNAVAILABLE),
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


class RequestDecoding(grpc.ServerInterceptor):
    """Answer a request whose bytes are not a valid message with INVALID_ARGUMENT.

    grpcio parses requests before the servicer runs and answers INTERNAL ("Exception
    deserializing request!") when that fails, as if the server were at fault. This
    interceptor gives unary-request methods the raw bytes and parses them itself, so
    garbage from a client is a clear bad-input error naming the method and the message.
    """

    def __init__(self) -> None:
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or handler.request_streaming or handler.request_deserializer is None:
            return handler
        wrapped = self._wrapped.get(details.method)
        if wrapped is None:
            wrapped = self._wrapped[details.method] = _parsing_handler(details.method, handler)
        return wrapped


def _parsing_handler(method: str, handler: Any) -> grpc.RpcMethodHandler:
    deserialize = handler.request_deserializer
    message = getattr(getattr(deserialize, "__self__", None), "DESCRIPTOR", None)
    name = message.full_name if message is not None else "request"

    def parse(raw: bytes, context: grpc.ServicerContext) -> Any:
        try:
            return deserialize(raw)
        except Exception as exc:  # DecodeError, or whatever malformed bytes make the parser raise
            context.set_trailing_metadata(((ERROR_TYPE_KEY, errors.BadInputError.__name__),))
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"{method}: the request is not a valid {name} message ({exc})")

    if handler.response_streaming:
        def unary_stream(raw: bytes, context: grpc.ServicerContext) -> Iterator[Any]:
            yield from handler.unary_stream(parse(raw, context), context)

        return grpc.unary_stream_rpc_method_handler(
            unary_stream, response_serializer=handler.response_serializer)

    def unary_unary(raw: bytes, context: grpc.ServicerContext) -> Any:
        return handler.unary_unary(parse(raw, context), context)

    return grpc.unary_unary_rpc_method_handler(
        unary_unary, response_serializer=handler.response_serializer)


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

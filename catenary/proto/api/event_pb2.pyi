from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EmitRequest(_message.Message):
    __slots__ = ("emitter", "key", "value", "time", "nonce", "signature")
    EMITTER_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    emitter: str
    key: str
    value: bytes
    time: int
    nonce: bytes
    signature: bytes
    def __init__(self, emitter: _Optional[str] = ..., key: _Optional[str] = ..., value: _Optional[bytes] = ..., time: _Optional[int] = ..., nonce: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class EmittedEvent(_message.Message):
    __slots__ = ("id", "emitter", "key", "data", "time", "nonce", "signature", "position", "received_at", "value", "source")
    ID_FIELD_NUMBER: _ClassVar[int]
    EMITTER_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    id: bytes
    emitter: str
    key: str
    data: bytes
    time: int
    nonce: bytes
    signature: bytes
    position: int
    received_at: int
    value: bytes
    source: bytes
    def __init__(self, id: _Optional[bytes] = ..., emitter: _Optional[str] = ..., key: _Optional[str] = ..., data: _Optional[bytes] = ..., time: _Optional[int] = ..., nonce: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., position: _Optional[int] = ..., received_at: _Optional[int] = ..., value: _Optional[bytes] = ..., source: _Optional[bytes] = ...) -> None: ...

class GetEventRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: bytes
    def __init__(self, id: _Optional[bytes] = ...) -> None: ...

class ListEventsRequest(_message.Message):
    __slots__ = ("key", "emitter", "after", "limit")
    KEY_FIELD_NUMBER: _ClassVar[int]
    EMITTER_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    key: str
    emitter: str
    after: int
    limit: int
    def __init__(self, key: _Optional[str] = ..., emitter: _Optional[str] = ..., after: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[EmittedEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[EmittedEvent, _Mapping]]] = ...) -> None: ...

class EventUpdatesRequest(_message.Message):
    __slots__ = ("key", "emitter", "after", "from_now")
    KEY_FIELD_NUMBER: _ClassVar[int]
    EMITTER_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    FROM_NOW_FIELD_NUMBER: _ClassVar[int]
    key: str
    emitter: str
    after: int
    from_now: bool
    def __init__(self, key: _Optional[str] = ..., emitter: _Optional[str] = ..., after: _Optional[int] = ..., from_now: _Optional[bool] = ...) -> None: ...

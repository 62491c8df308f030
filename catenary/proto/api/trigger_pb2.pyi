from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateTriggerRequest(_message.Message):
    __slots__ = ("definition",)
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    definition: str
    def __init__(self, definition: _Optional[str] = ...) -> None: ...

class TriggerName(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class TriggerInfo(_message.Message):
    __slots__ = ("name", "definition", "enabled", "from_position", "created_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    FROM_POSITION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    definition: str
    enabled: bool
    from_position: int
    created_at: int
    def __init__(self, name: _Optional[str] = ..., definition: _Optional[str] = ..., enabled: _Optional[bool] = ..., from_position: _Optional[int] = ..., created_at: _Optional[int] = ...) -> None: ...

class ListTriggersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTriggersResponse(_message.Message):
    __slots__ = ("triggers",)
    TRIGGERS_FIELD_NUMBER: _ClassVar[int]
    triggers: _containers.RepeatedCompositeFieldContainer[TriggerInfo]
    def __init__(self, triggers: _Optional[_Iterable[_Union[TriggerInfo, _Mapping]]] = ...) -> None: ...

class DeleteTriggerResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TriggerHistoryRequest(_message.Message):
    __slots__ = ("name", "status", "limit")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    status: str
    limit: int
    def __init__(self, name: _Optional[str] = ..., status: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class Firing(_message.Message):
    __slots__ = ("trigger", "event", "status", "run", "reason", "at")
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    trigger: str
    event: bytes
    status: str
    run: bytes
    reason: str
    at: int
    def __init__(self, trigger: _Optional[str] = ..., event: _Optional[bytes] = ..., status: _Optional[str] = ..., run: _Optional[bytes] = ..., reason: _Optional[str] = ..., at: _Optional[int] = ...) -> None: ...

class TriggerHistoryResponse(_message.Message):
    __slots__ = ("firings",)
    FIRINGS_FIELD_NUMBER: _ClassVar[int]
    firings: _containers.RepeatedCompositeFieldContainer[Firing]
    def __init__(self, firings: _Optional[_Iterable[_Union[Firing, _Mapping]]] = ...) -> None: ...

class AddScheduleRequest(_message.Message):
    __slots__ = ("name", "cron", "key", "data", "catch_up", "start")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CRON_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    CATCH_UP_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    name: str
    cron: str
    key: str
    data: bytes
    catch_up: str
    start: int
    def __init__(self, name: _Optional[str] = ..., cron: _Optional[str] = ..., key: _Optional[str] = ..., data: _Optional[bytes] = ..., catch_up: _Optional[str] = ..., start: _Optional[int] = ...) -> None: ...

class ScheduleName(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class Tick(_message.Message):
    __slots__ = ("tick", "event")
    TICK_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    tick: int
    event: bytes
    def __init__(self, tick: _Optional[int] = ..., event: _Optional[bytes] = ...) -> None: ...

class ScheduleInfo(_message.Message):
    __slots__ = ("name", "cron", "key", "data", "catch_up", "last_tick", "created_at", "ticks")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CRON_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    CATCH_UP_FIELD_NUMBER: _ClassVar[int]
    LAST_TICK_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    TICKS_FIELD_NUMBER: _ClassVar[int]
    name: str
    cron: str
    key: str
    data: bytes
    catch_up: str
    last_tick: int
    created_at: int
    ticks: _containers.RepeatedCompositeFieldContainer[Tick]
    def __init__(self, name: _Optional[str] = ..., cron: _Optional[str] = ..., key: _Optional[str] = ..., data: _Optional[bytes] = ..., catch_up: _Optional[str] = ..., last_tick: _Optional[int] = ..., created_at: _Optional[int] = ..., ticks: _Optional[_Iterable[_Union[Tick, _Mapping]]] = ...) -> None: ...

class ListSchedulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSchedulesResponse(_message.Message):
    __slots__ = ("schedules",)
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    schedules: _containers.RepeatedCompositeFieldContainer[ScheduleInfo]
    def __init__(self, schedules: _Optional[_Iterable[_Union[ScheduleInfo, _Mapping]]] = ...) -> None: ...

class RemoveScheduleResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

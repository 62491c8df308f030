from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SegmentOutput(_message.Message):
    __slots__ = ("segment", "output", "producer", "segment_time")
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_TIME_FIELD_NUMBER: _ClassVar[int]
    segment: int
    output: bytes
    producer: bytes
    segment_time: float
    def __init__(self, segment: _Optional[int] = ..., output: _Optional[bytes] = ..., producer: _Optional[bytes] = ..., segment_time: _Optional[float] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ("id", "workflow", "nonce", "status", "next_segment", "total_time", "error", "created_at", "updated_at", "outputs")
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NEXT_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    id: bytes
    workflow: bytes
    nonce: bytes
    status: str
    next_segment: int
    total_time: float
    error: str
    created_at: int
    updated_at: int
    outputs: _containers.RepeatedCompositeFieldContainer[SegmentOutput]
    def __init__(self, id: _Optional[bytes] = ..., workflow: _Optional[bytes] = ..., nonce: _Optional[bytes] = ..., status: _Optional[str] = ..., next_segment: _Optional[int] = ..., total_time: _Optional[float] = ..., error: _Optional[str] = ..., created_at: _Optional[int] = ..., updated_at: _Optional[int] = ..., outputs: _Optional[_Iterable[_Union[SegmentOutput, _Mapping]]] = ...) -> None: ...

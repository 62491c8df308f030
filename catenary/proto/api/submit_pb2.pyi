from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SegmentInputs(_message.Message):
    __slots__ = ("segment", "values")
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    segment: int
    values: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, segment: _Optional[int] = ..., values: _Optional[_Iterable[bytes]] = ...) -> None: ...

class SubmitRequest(_message.Message):
    __slots__ = ("workflow", "inputs", "fresh")
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    FRESH_FIELD_NUMBER: _ClassVar[int]
    workflow: bytes
    inputs: _containers.RepeatedCompositeFieldContainer[SegmentInputs]
    fresh: bool
    def __init__(self, workflow: _Optional[bytes] = ..., inputs: _Optional[_Iterable[_Union[SegmentInputs, _Mapping]]] = ..., fresh: _Optional[bool] = ...) -> None: ...

class CancelRunRequest(_message.Message):
    __slots__ = ("run", "reason")
    RUN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    run: bytes
    reason: str
    def __init__(self, run: _Optional[bytes] = ..., reason: _Optional[str] = ...) -> None: ...

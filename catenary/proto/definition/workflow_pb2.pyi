from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Step(_message.Message):
    __slots__ = ("version_id", "config", "inputs", "output")
    class ConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    version_id: bytes
    config: _containers.ScalarMap[str, str]
    inputs: str
    output: str
    def __init__(self, version_id: _Optional[bytes] = ..., config: _Optional[_Mapping[str, str]] = ..., inputs: _Optional[str] = ..., output: _Optional[str] = ...) -> None: ...

class Segment(_message.Message):
    __slots__ = ("inputs", "sequence")
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    inputs: _containers.RepeatedScalarFieldContainer[int]
    sequence: _containers.RepeatedCompositeFieldContainer[Step]
    def __init__(self, inputs: _Optional[_Iterable[int]] = ..., sequence: _Optional[_Iterable[_Union[Step, _Mapping]]] = ...) -> None: ...

class Workflow(_message.Message):
    __slots__ = ("id", "name", "creators", "description", "groups", "segments", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATORS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: bytes
    name: str
    creators: _containers.RepeatedScalarFieldContainer[str]
    description: str
    groups: _containers.RepeatedScalarFieldContainer[str]
    segments: _containers.RepeatedCompositeFieldContainer[Segment]
    created_at: int
    def __init__(self, id: _Optional[bytes] = ..., name: _Optional[str] = ..., creators: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., groups: _Optional[_Iterable[str]] = ..., segments: _Optional[_Iterable[_Union[Segment, _Mapping]]] = ..., created_at: _Optional[int] = ...) -> None: ...

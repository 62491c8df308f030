from catenary.proto.api import submit_pb2 as _submit_pb2
from catenary.proto.definition import run_pb2 as _run_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NewRunRequest(_message.Message):
    __slots__ = ("workflow", "queues")
    class QueuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    workflow: bytes
    queues: _containers.ScalarMap[str, str]
    def __init__(self, workflow: _Optional[bytes] = ..., queues: _Optional[_Mapping[str, str]] = ...) -> None: ...

class NextRequest(_message.Message):
    __slots__ = ("run", "inputs", "fresh")
    RUN_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    FRESH_FIELD_NUMBER: _ClassVar[int]
    run: bytes
    inputs: _containers.RepeatedScalarFieldContainer[bytes]
    fresh: bool
    def __init__(self, run: _Optional[bytes] = ..., inputs: _Optional[_Iterable[bytes]] = ..., fresh: _Optional[bool] = ...) -> None: ...

class NextResponse(_message.Message):
    __slots__ = ("done", "result", "segment_time", "total_time", "final", "segment")
    DONE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_TIME_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TIME_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    done: bool
    result: bytes
    segment_time: float
    total_time: float
    final: bytes
    segment: int
    def __init__(self, done: _Optional[bool] = ..., result: _Optional[bytes] = ..., segment_time: _Optional[float] = ..., total_time: _Optional[float] = ..., final: _Optional[bytes] = ..., segment: _Optional[int] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: bytes
    def __init__(self, run: _Optional[bytes] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ("workflow", "limit")
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    workflow: bytes
    limit: int
    def __init__(self, workflow: _Optional[bytes] = ..., limit: _Optional[int] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[_run_pb2.Run]
    def __init__(self, runs: _Optional[_Iterable[_Union[_run_pb2.Run, _Mapping]]] = ...) -> None: ...

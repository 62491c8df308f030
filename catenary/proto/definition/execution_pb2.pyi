from catenary.proto.definition import quorum_pb2 as _quorum_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATUS_UNSPECIFIED: _ClassVar[Status]
    CREATED: _ClassVar[Status]
    IN_PROGRESS: _ClassVar[Status]
    COMPLETED: _ClassVar[Status]
    FAILED: _ClassVar[Status]
STATUS_UNSPECIFIED: Status
CREATED: Status
IN_PROGRESS: Status
COMPLETED: Status
FAILED: Status

class Execution(_message.Message):
    __slots__ = ("hash", "key", "workflow", "run", "segment", "step", "operation", "config", "parents", "inputs", "status", "output", "error", "executor", "cached_from", "created_at", "started_at", "finished_at", "seq", "disputed", "batch")
    class ConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    HASH_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    PARENTS_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    EXECUTOR_FIELD_NUMBER: _ClassVar[int]
    CACHED_FROM_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    DISPUTED_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    hash: bytes
    key: bytes
    workflow: bytes
    run: bytes
    segment: int
    step: int
    operation: bytes
    config: _containers.ScalarMap[str, str]
    parents: _containers.RepeatedScalarFieldContainer[bytes]
    inputs: _containers.RepeatedScalarFieldContainer[bytes]
    status: Status
    output: bytes
    error: str
    executor: str
    cached_from: bytes
    created_at: int
    started_at: int
    finished_at: int
    seq: int
    disputed: Dispute
    batch: _containers.RepeatedCompositeFieldContainer[Execution]
    def __init__(self, hash: _Optional[bytes] = ..., key: _Optional[bytes] = ..., workflow: _Optional[bytes] = ..., run: _Optional[bytes] = ..., segment: _Optional[int] = ..., step: _Optional[int] = ..., operation: _Optional[bytes] = ..., config: _Optional[_Mapping[str, str]] = ..., parents: _Optional[_Iterable[bytes]] = ..., inputs: _Optional[_Iterable[bytes]] = ..., status: _Optional[_Union[Status, str]] = ..., output: _Optional[bytes] = ..., error: _Optional[str] = ..., executor: _Optional[str] = ..., cached_from: _Optional[bytes] = ..., created_at: _Optional[int] = ..., started_at: _Optional[int] = ..., finished_at: _Optional[int] = ..., seq: _Optional[int] = ..., disputed: _Optional[_Union[Dispute, _Mapping]] = ..., batch: _Optional[_Iterable[_Union[Execution, _Mapping]]] = ...) -> None: ...

class Dispute(_message.Message):
    __slots__ = ("at", "detail")
    AT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    at: int
    detail: str
    def __init__(self, at: _Optional[int] = ..., detail: _Optional[str] = ...) -> None: ...

class Filter(_message.Message):
    __slots__ = ("statuses", "workflow", "run", "operation", "segment", "parent", "key", "created_after", "created_before", "input", "output", "acceptance")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTANCE_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[Status]
    workflow: bytes
    run: bytes
    operation: bytes
    segment: int
    parent: bytes
    key: bytes
    created_after: int
    created_before: int
    input: bytes
    output: bytes
    acceptance: _quorum_pb2.Acceptance
    def __init__(self, statuses: _Optional[_Iterable[_Union[Status, str]]] = ..., workflow: _Optional[bytes] = ..., run: _Optional[bytes] = ..., operation: _Optional[bytes] = ..., segment: _Optional[int] = ..., parent: _Optional[bytes] = ..., key: _Optional[bytes] = ..., created_after: _Optional[int] = ..., created_before: _Optional[int] = ..., input: _Optional[bytes] = ..., output: _Optional[bytes] = ..., acceptance: _Optional[_Union[_quorum_pb2.Acceptance, str]] = ...) -> None: ...

from catenary.proto.api import event_pb2 as _event_pb2
from catenary.proto.definition import event_pb2 as _event_pb2_1
from catenary.proto.definition import execution_pb2 as _execution_pb2
from catenary.proto.definition import quorum_pb2 as _quorum_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANCESTORS: _ClassVar[Direction]
    DESCENDANTS: _ClassVar[Direction]

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_UNSPECIFIED: _ClassVar[Verdict]
    VERIFIED: _ClassVar[Verdict]
    MISMATCH: _ClassVar[Verdict]
    UNVERIFIABLE: _ClassVar[Verdict]

class AttestationRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTESTATION_ROLE_UNSPECIFIED: _ClassVar[AttestationRole]
    EXECUTOR: _ClassVar[AttestationRole]
    VALIDATOR: _ClassVar[AttestationRole]
    DISSENT: _ClassVar[AttestationRole]
ANCESTORS: Direction
DESCENDANTS: Direction
VERDICT_UNSPECIFIED: Verdict
VERIFIED: Verdict
MISMATCH: Verdict
UNVERIFIABLE: Verdict
ATTESTATION_ROLE_UNSPECIFIED: AttestationRole
EXECUTOR: AttestationRole
VALIDATOR: AttestationRole
DISSENT: AttestationRole

class GetExecutionRequest(_message.Message):
    __slots__ = ("hash",)
    HASH_FIELD_NUMBER: _ClassVar[int]
    hash: bytes
    def __init__(self, hash: _Optional[bytes] = ...) -> None: ...

class ListExecutionsRequest(_message.Message):
    __slots__ = ("filter", "page_size", "page_token")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filter: _execution_pb2.Filter
    page_size: int
    page_token: str
    def __init__(self, filter: _Optional[_Union[_execution_pb2.Filter, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListExecutionsResponse(_message.Message):
    __slots__ = ("executions", "next_page_token")
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    executions: _containers.RepeatedCompositeFieldContainer[_execution_pb2.Execution]
    next_page_token: str
    def __init__(self, executions: _Optional[_Iterable[_Union[_execution_pb2.Execution, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdatesRequest(_message.Message):
    __slots__ = ("filter", "since_seq", "from_now", "batch")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    SINCE_SEQ_FIELD_NUMBER: _ClassVar[int]
    FROM_NOW_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    filter: _execution_pb2.Filter
    since_seq: int
    from_now: bool
    batch: int
    def __init__(self, filter: _Optional[_Union[_execution_pb2.Filter, _Mapping]] = ..., since_seq: _Optional[int] = ..., from_now: _Optional[bool] = ..., batch: _Optional[int] = ...) -> None: ...

class CreateExecutionRequest(_message.Message):
    __slots__ = ("workflow", "run", "segment", "step", "operation", "config", "parents", "inputs")
    class ConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    PARENTS_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    workflow: bytes
    run: bytes
    segment: int
    step: int
    operation: bytes
    config: _containers.ScalarMap[str, str]
    parents: _containers.RepeatedScalarFieldContainer[bytes]
    inputs: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, workflow: _Optional[bytes] = ..., run: _Optional[bytes] = ..., segment: _Optional[int] = ..., step: _Optional[int] = ..., operation: _Optional[bytes] = ..., config: _Optional[_Mapping[str, str]] = ..., parents: _Optional[_Iterable[bytes]] = ..., inputs: _Optional[_Iterable[bytes]] = ...) -> None: ...

class UpdateExecutionRequest(_message.Message):
    __slots__ = ("hash", "status", "executor", "output", "error", "lease_seconds", "attestation")
    HASH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXECUTOR_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LEASE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    hash: bytes
    status: _execution_pb2.Status
    executor: str
    output: bytes
    error: str
    lease_seconds: float
    attestation: bytes
    def __init__(self, hash: _Optional[bytes] = ..., status: _Optional[_Union[_execution_pb2.Status, str]] = ..., executor: _Optional[str] = ..., output: _Optional[bytes] = ..., error: _Optional[str] = ..., lease_seconds: _Optional[float] = ..., attestation: _Optional[bytes] = ...) -> None: ...

class TraceRequest(_message.Message):
    __slots__ = ("hash", "direction", "depth")
    HASH_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    hash: bytes
    direction: Direction
    depth: int
    def __init__(self, hash: _Optional[bytes] = ..., direction: _Optional[_Union[Direction, str]] = ..., depth: _Optional[int] = ...) -> None: ...

class TraceNode(_message.Message):
    __slots__ = ("execution", "event", "cause")
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    execution: _execution_pb2.Execution
    event: _event_pb2_1.Event
    cause: _event_pb2.EmittedEvent
    def __init__(self, execution: _Optional[_Union[_execution_pb2.Execution, _Mapping]] = ..., event: _Optional[_Union[_event_pb2_1.Event, _Mapping]] = ..., cause: _Optional[_Union[_event_pb2.EmittedEvent, _Mapping]] = ...) -> None: ...

class VerifyRequest(_message.Message):
    __slots__ = ("hash", "trace")
    HASH_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    hash: bytes
    trace: bool
    def __init__(self, hash: _Optional[bytes] = ..., trace: _Optional[bool] = ...) -> None: ...

class VerifyResponse(_message.Message):
    __slots__ = ("root", "verdict", "signer", "executions", "attested")
    ROOT_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    ATTESTED_FIELD_NUMBER: _ClassVar[int]
    root: bytes
    verdict: Verdict
    signer: str
    executions: _containers.RepeatedCompositeFieldContainer[ExecutionVerdict]
    attested: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, root: _Optional[bytes] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., signer: _Optional[str] = ..., executions: _Optional[_Iterable[_Union[ExecutionVerdict, _Mapping]]] = ..., attested: _Optional[_Iterable[bytes]] = ...) -> None: ...

class ExecutionVerdict(_message.Message):
    __slots__ = ("execution", "verdict", "reason", "operation", "name", "segment", "step", "expected", "got", "attestations")
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    GOT_FIELD_NUMBER: _ClassVar[int]
    ATTESTATIONS_FIELD_NUMBER: _ClassVar[int]
    execution: bytes
    verdict: Verdict
    reason: str
    operation: bytes
    name: str
    segment: int
    step: int
    expected: bytes
    got: bytes
    attestations: _containers.RepeatedCompositeFieldContainer[AttestationCheck]
    def __init__(self, execution: _Optional[bytes] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., reason: _Optional[str] = ..., operation: _Optional[bytes] = ..., name: _Optional[str] = ..., segment: _Optional[int] = ..., step: _Optional[int] = ..., expected: _Optional[bytes] = ..., got: _Optional[bytes] = ..., attestations: _Optional[_Iterable[_Union[AttestationCheck, _Mapping]]] = ...) -> None: ...

class AttestationCheck(_message.Message):
    __slots__ = ("cid", "signer", "role", "valid", "reason")
    CID_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    cid: bytes
    signer: str
    role: AttestationRole
    valid: bool
    reason: str
    def __init__(self, cid: _Optional[bytes] = ..., signer: _Optional[str] = ..., role: _Optional[_Union[AttestationRole, str]] = ..., valid: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class AttestationsRequest(_message.Message):
    __slots__ = ("hash",)
    HASH_FIELD_NUMBER: _ClassVar[int]
    hash: bytes
    def __init__(self, hash: _Optional[bytes] = ...) -> None: ...

class AttestationsResponse(_message.Message):
    __slots__ = ("attestations",)
    ATTESTATIONS_FIELD_NUMBER: _ClassVar[int]
    attestations: _containers.RepeatedCompositeFieldContainer[AttestationCheck]
    def __init__(self, attestations: _Optional[_Iterable[_Union[AttestationCheck, _Mapping]]] = ...) -> None: ...

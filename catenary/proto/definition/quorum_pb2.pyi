from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Acceptance(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCEPTANCE_UNSPECIFIED: _ClassVar[Acceptance]
    ACCEPTANCE_ACCEPTED: _ClassVar[Acceptance]
    ACCEPTANCE_PENDING: _ClassVar[Acceptance]
    ACCEPTANCE_DISPUTED: _ClassVar[Acceptance]
ACCEPTANCE_UNSPECIFIED: Acceptance
ACCEPTANCE_ACCEPTED: Acceptance
ACCEPTANCE_PENDING: Acceptance
ACCEPTANCE_DISPUTED: Acceptance

class Vote(_message.Message):
    __slots__ = ("signer", "output", "role", "execution", "counted")
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    COUNTED_FIELD_NUMBER: _ClassVar[int]
    signer: str
    output: bytes
    role: str
    execution: bytes
    counted: bool
    def __init__(self, signer: _Optional[str] = ..., output: _Optional[bytes] = ..., role: _Optional[str] = ..., execution: _Optional[bytes] = ..., counted: _Optional[bool] = ...) -> None: ...

class Standing(_message.Message):
    __slots__ = ("execution", "status", "rule", "need", "canonical", "votes", "reason")
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    NEED_FIELD_NUMBER: _ClassVar[int]
    CANONICAL_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    execution: bytes
    status: Acceptance
    rule: str
    need: int
    canonical: bytes
    votes: _containers.RepeatedCompositeFieldContainer[Vote]
    reason: str
    def __init__(self, execution: _Optional[bytes] = ..., status: _Optional[_Union[Acceptance, str]] = ..., rule: _Optional[str] = ..., need: _Optional[int] = ..., canonical: _Optional[bytes] = ..., votes: _Optional[_Iterable[_Union[Vote, _Mapping]]] = ..., reason: _Optional[str] = ...) -> None: ...

from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Operation(_message.Message):
    __slots__ = ("version_id", "id", "name", "description", "manifest", "implementation", "available")
    VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    IMPLEMENTATION_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    version_id: bytes
    id: bytes
    name: str
    description: str
    manifest: bytes
    implementation: bytes
    available: bool
    def __init__(self, version_id: _Optional[bytes] = ..., id: _Optional[bytes] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., manifest: _Optional[bytes] = ..., implementation: _Optional[bytes] = ..., available: _Optional[bool] = ...) -> None: ...

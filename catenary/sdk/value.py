"""Values by CID."""

from __future__ import annotations

from typing import Any

from catenary.cid import CID, block, check_value, decode
from catenary.errors import EncodingError, NotFoundError, ValueTooLargeError
from catenary.store import Store


class ValueManager:
    """Get and put values in the content-addressed value store."""

    def __init__(self, store: Store, max_size: int) -> None:
        self._store = store
        self._max_size = max_size

    @property
    def max_size(self) -> int:
        """The node's value size cap in bytes (``--max-value-size``)."""
        return self._max_size

    def get(self, cid: CID) -> Any:
        return decode(self.get_bytes(cid))

    def get_bytes(self, cid: CID) -> bytes:
        """The DAG-CBOR bytes of a value."""
        return NotFoundError.require(
            self._store.get_block(cid), "no value {} in this node's value store", cid
        )

    def encode(self, value: Any) -> tuple[CID, bytes]:
        """Check a value (DAG-CBOR kinds, 64-bit ints, size cap) and encode it."""
        check_value(value)
        cid, data = block(value)
        if len(data) > self._max_size:
            raise ValueTooLargeError(
                f"value is {len(data)} bytes, over the value size cap of {self._max_size} bytes"
            )
        return cid, data

    def put(self, value: Any) -> CID:
        """Store a value; returns its CID."""
        cid, data = self.encode(value)
        self._store.put_blocks([(cid, data)])
        return cid

    def put_bytes(self, data: bytes) -> CID:
        """Store a value given as DAG-CBOR bytes (checked to be canonical)."""
        value = decode(data)
        cid, canonical = self.encode(value)
        if canonical != bytes(data):
            raise EncodingError("value bytes are not canonical DAG-CBOR")
        self._store.put_blocks([(cid, canonical)])
        return cid

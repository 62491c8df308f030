"""Values by CID."""

from __future__ import annotations

from typing import Any

from catenary.cid import CID, block, check_value, decode
from catenary.errors import InputError, NotFoundError
from catenary.store import Store


class ValueManager:
    """Get and put values in the content-addressed value store."""

    def __init__(self, store: Store, max_size: int) -> None:
        self._store = store
        self._max_size = max_size

    def get(self, cid: CID) -> Any:
        return decode(self.get_bytes(cid))

    def get_bytes(self, cid: CID) -> bytes:
        """The DAG-CBOR bytes of a value."""
        data = self._store.get_block(cid)
        if data is None:
            raise NotFoundError(f"no value {cid} in this node's value store")
        return data

    def put(self, value: Any) -> CID:
        check_value(value)
        cid, data = block(value)
        if len(data) > self._max_size:
            raise InputError(f"value is {len(data)} bytes, over the cap of {self._max_size} bytes")
        self._store.put_blocks([(cid, data)])
        return cid

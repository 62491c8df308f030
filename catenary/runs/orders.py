"""What a run was submitted with: its ``-1`` inputs by segment (value CIDs) and ``fresh``.

Stored as DAG-CBOR in the run's lease row (catenary.store.leases), the values themselves in
the value store, so that whichever node takes the run over feeds the same inputs:
``{"fresh": bool, "inputs": {"<segment>": [CID, ...]}}`` (DAG-CBOR map keys are strings).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from catenary.cid import CID, decode, encode
from catenary.errors import NotFoundError, StoreError


@dataclass(frozen=True)
class Orders:
    inputs: dict[int, tuple[CID, ...]] = field(default_factory=dict)
    fresh: bool = False

    def encode(self) -> bytes:
        return encode(
            {"fresh": self.fresh, "inputs": {str(k): list(v) for k, v in sorted(self.inputs.items())}}
        )

    @classmethod
    def decode(cls, data: bytes, where: str) -> Orders:
        try:
            fields = decode(data)
            inputs = {int(k): tuple(v) for k, v in fields["inputs"].items()}
            return cls(inputs, bool(fields["fresh"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StoreError(f"the submitted inputs of run {where} are unreadable: {exc}") from None

    def values(self, segment: int, get_block: Callable[[CID], bytes | None]) -> list[Any]:
        """The values of ``segment``'s ``-1`` slots, read from the value store."""
        found = []
        for cid in self.inputs.get(segment, ()):
            data = get_block(cid)
            if data is None:
                raise NotFoundError(f"input value {cid} of segment {segment} is missing from the value store")
            found.append(decode(data))
        return found

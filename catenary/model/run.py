"""Runs and events (SPEC §2)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from catenary.cid import CID, cid_of


@dataclass(frozen=True)
class Run:
    """One run of a workflow; the nonce makes every run id unique."""

    workflow: CID
    nonce: bytes

    def data(self) -> dict[str, Any]:
        return {"workflow": self.workflow, "nonce": self.nonce}

    @functools.cached_property
    def id(self) -> CID:
        """Computed once: the record is frozen."""
        return cid_of(self.data())


@dataclass(frozen=True)
class Event:
    """The external inputs handed to one ``next()`` call."""

    run: CID
    segment: int
    inputs: tuple[CID, ...]

    def data(self) -> dict[str, Any]:
        return {"run": self.run, "segment": self.segment, "inputs": list(self.inputs)}

    @functools.cached_property
    def hash(self) -> CID:
        """Computed once: the record is frozen."""
        return cid_of(self.data())

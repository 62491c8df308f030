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
    """The external inputs handed to one ``next()`` call; ``cause`` links the emitted event
    whose trigger started the run (issue 17), hashed only when present so that every event
    without one keeps its id."""

    run: CID
    segment: int
    inputs: tuple[CID, ...]
    cause: CID | None = None

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"run": self.run, "segment": self.segment, "inputs": list(self.inputs)}
        if self.cause is not None:
            data["cause"] = self.cause
        return data

    @classmethod
    def from_data(cls, fields: dict[str, Any]) -> Event:
        return cls(fields["run"], fields["segment"], tuple(fields["inputs"]), fields.get("cause"))

    @functools.cached_property
    def hash(self) -> CID:
        """Computed once: the record is frozen."""
        return cid_of(self.data())

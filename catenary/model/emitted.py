"""Emitted events (SPEC §2, issue 17): what a service, a person or the node itself announces,
e.g. ``photo.uploaded``, and what triggers start workflows on.

The record is hashed like every other; the emitter's ed25519 signature over the binary id is
kept beside it (metadata, not hashed: the id names the content, the signature says who stands
behind it). Not to be confused with :class:`catenary.model.Event`, the external inputs of one
``next()`` call.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from catenary.cid import CID, cid_of

# A key names a kind of event: dotted lower-case words, as `photo.uploaded` or `schedule.tick`.
KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*")
MAX_KEY_LENGTH = 128
NONCE_SIZE = 16


@dataclass(frozen=True)
class EmittedEvent:
    """``{emitter, key, data, time, nonce}``: ``data`` is the CID of the value stored by CID;
    ``time`` (unix ns, as the emitter's clock says) and the random ``nonce`` make two emissions
    of one value by one emitter distinct. ``source`` (optional, hashed only when present): the
    execution whose output ``data`` is, for a result event; lineage crosses it."""

    emitter: str
    key: str
    data: CID
    time: int
    nonce: bytes
    source: CID | None = None

    def data_map(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "emitter": self.emitter,
            "key": self.key,
            "data": self.data,
            "time": self.time,
            "nonce": self.nonce,
        }
        if self.source is not None:
            fields["source"] = self.source
        return fields

    @functools.cached_property
    def id(self) -> CID:
        """Computed once: the record is frozen."""
        return cid_of(self.data_map())

    def signed_bytes(self) -> bytes:
        """What the emitter signs: the binary CID of the record."""
        return self.id.cid_bytes

    @classmethod
    def from_data(cls, data: Any) -> EmittedEvent:
        """The record from its decoded pre-image; a malformed one raises ManifestError naming the key."""
        from catenary.errors import ManifestError

        if not isinstance(data, dict):
            raise ManifestError("", "an emitted event is a map")
        expected = {"emitter", "key", "data", "time", "nonce"}
        unknown = sorted(set(data) - expected - {"source"})
        if unknown:
            raise ManifestError(unknown[0], "unknown key of an emitted event")
        missing = sorted(expected - set(data))
        if missing:
            raise ManifestError(missing[0], "missing")
        kinds = {"emitter": str, "key": str, "data": CID, "time": int, "nonce": bytes}
        for name, kind in kinds.items():
            if type(data[name]) is not kind:
                raise ManifestError(name, f"expected {kind.__name__}")
        source = data.get("source")
        if source is not None and type(source) is not CID:
            raise ManifestError("source", "expected CID")
        return cls(data["emitter"], data["key"], data["data"], data["time"], data["nonce"], source)


def key_problem(key: str) -> str | None:
    """None when ``key`` is a valid event key, else why not."""
    if not isinstance(key, str) or not key:
        return "an event key is a non-empty string, e.g. 'photo.uploaded'"
    if len(key) > MAX_KEY_LENGTH:
        return f"an event key is at most {MAX_KEY_LENGTH} characters (got {len(key)})"
    if not KEY_PATTERN.fullmatch(key):
        return (
            f"{key!r} is not an event key: dotted words of a-z, 0-9, '_' and '-', "
            "each starting with a letter or digit (e.g. 'photo.uploaded')"
        )
    return None


@dataclass(frozen=True)
class SignedEvent:
    """An emitted event as a node keeps it: the record, the emitter's signature over its id,
    its position in this node's event log (for paging, as an execution's ``seq``) and when
    this node stored it (unix ns)."""

    event: EmittedEvent
    signature: bytes
    position: int = 0
    received_at: int = 0

    @property
    def id(self) -> CID:
        return self.event.id


@dataclass(frozen=True)
class EventFilter:
    """Which emitted events a listing or a stream of updates gives: those with this key and
    from this emitter (None: any)."""

    key: str | None = None
    emitter: str | None = None

    def matches(self, signed: SignedEvent) -> bool:
        e = signed.event
        return (self.key is None or e.key == self.key) and (self.emitter is None or e.emitter == self.emitter)


@dataclass(frozen=True)
class TriggerRow:
    """A trigger as stored: its JSON definition (catenary.events.trigger.Trigger), whether it
    is enabled, and the event-log position it was created at (it fires on later events only)."""

    name: str
    definition: dict[str, Any]
    enabled: bool
    from_position: int
    created_at: int


@dataclass(frozen=True)
class Firing:
    """What became of one (trigger, event) pair: ``started`` (the run exists, its first segment
    not yet recorded), ``fired``, ``failed`` (with ``reason``) or ``skipped`` (the event did not
    match the trigger's emitters or where)."""

    trigger: str
    event: CID
    status: str
    run: CID | None
    reason: str | None
    at: int


@dataclass(frozen=True)
class ScheduleRow:
    """A schedule as stored (catenary.events.schedule): its cron expression (UTC), the key of
    the events its ticks emit, their extra data (DAG-CBOR), what a tick missed while no node
    served becomes (``once``: the latest one fires once; ``skip``: none), and the last tick
    fired or passed over (unix s; ticks after it are due)."""

    name: str
    cron: str
    key: str
    data: bytes
    catch_up: str
    last_tick: int
    created_at: int

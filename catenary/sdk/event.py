"""Events manager: ``node.events`` emits, accepts, gets and lists emitted events.

An event is stored (with its data value, in one transaction) before it is acknowledged: when
:meth:`EventManager.emit` or :meth:`EventManager.submit` returns, the event is durable. The
same signed event submitted twice is stored once (its id names it).
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from catenary.cid import CID
from catenary.errors import BadInputError, NotFoundError, ValueTooLargeError
from catenary.events import MAX_DATA_SIZE, check, new_event, sign
from catenary.model.emitted import EmittedEvent, EventFilter, SignedEvent
from catenary.sdk.updates import Hub
from catenary.sdk.value import ValueManager
from catenary.store import Store
from catenary.trust.identity import Identity

MAX_LIST = 1000


class EventManager:
    def __init__(
        self,
        store: Store,
        values: ValueManager,
        identity: Identity,
        on_stored: Callable[[], object] | None = None,
        poll_interval: float = 0.25,
    ) -> None:
        self._store = store
        self._values = values
        self._identity = identity  # the node's: what it emits itself is signed by it
        self._on_stored = on_stored  # the node's trigger dispatch
        self._feed = _Events(store)
        self._hub = Hub(self._feed, poll_interval)

    def _data(self, value: Any) -> tuple[CID, bytes]:
        cid, data = self._values.encode(value)
        if len(data) > MAX_DATA_SIZE:
            raise ValueTooLargeError(
                f"data: {len(data)} bytes, over the event data cap of {MAX_DATA_SIZE} bytes "
                "(put big values with `value put` and send their CID)"
            )
        return cid, data

    def emit(self, key: str, data: Any, identity: Identity | None = None) -> SignedEvent:
        """Make, sign (with ``identity``, by default this node's key) and store an event."""
        signer = identity or self._identity
        value = self._data(data)
        return self._store_event(sign(signer, new_event(signer.id, key, value[0])), value)

    def submit(self, signed: SignedEvent, data: Any, caller: str | None = None) -> SignedEvent:
        """Store an event signed elsewhere, with its data value; refuses a bad signature, data
        that is not the event's, or (when the call was authenticated) a caller that is not
        the emitter."""
        if caller is not None and caller != signed.event.emitter:
            raise BadInputError(
                f"emitter: the event names {signed.event.emitter}, but the call comes from {caller}; "
                "a key emits only its own events"
            )
        check(signed)
        value = self._data(data)
        if value[0] != signed.event.data:
            raise BadInputError(
                f"data: the value's CID is {value[0]}, but the event names {signed.event.data}"
            )
        return self._store_event(signed, value)

    def _store_event(self, signed: SignedEvent, value: tuple[CID, bytes]) -> SignedEvent:
        stored = self._store.put_emitted_event(signed, value, time.time_ns())
        self.announce()
        return stored

    def announce(self) -> None:
        """Events were stored (here or by a schedule): wake the update streams, fire triggers."""
        self._feed.wake()
        if self._on_stored is not None:
            # After the event is durable: a failing firing is recorded as such, never lost.
            self._on_stored()

    def get(self, event_id: CID) -> SignedEvent:
        found = self._store.get_emitted_event(event_id)
        if found is None:
            raise NotFoundError(f"no emitted event {event_id} on this node")
        return found

    def data(self, event: EmittedEvent) -> Any:
        return self._values.get(event.data)

    def list(
        self, key: str | None = None, emitter: str | None = None, after: int = 0, limit: int = 100
    ) -> list[SignedEvent]:
        """Events after position ``after``, oldest first; pass the last position seen to go on."""
        if not 0 < limit <= MAX_LIST:
            raise BadInputError(f"limit: between 1 and {MAX_LIST}, got {limit}")
        if after < 0:
            raise BadInputError(f"after: a position, not negative (got {after})")
        return self._store.list_emitted_events(key, emitter, after, limit)

    def newest(self, before: int | None = None, limit: int = 100) -> builtins.list[SignedEvent]:
        """Events newest first, at positions below ``before`` (None: from the latest); pass the
        last position seen to go on (the explorer's pages)."""
        if not 0 < limit <= MAX_LIST:
            raise BadInputError(f"limit: between 1 and {MAX_LIST}, got {limit}")
        if before is not None and before < 1:
            raise BadInputError(f"before: a position, at least 1 (got {before})")
        return self._store.emitted_events_before(before, limit)

    def updates(
        self,
        key: str | None = None,
        emitter: str | None = None,
        after: int = 0,
        stop: threading.Event | None = None,
    ) -> Iterator[SignedEvent]:
        """Stored events after position ``after``, then live ones as they are stored, oldest
        first; never one twice, never one skipped (as ``node.executions.updates`` by seq).
        Ends when ``stop`` is set or the node closes."""
        if after < 0:
            raise BadInputError(f"after: a position, not negative (got {after})")
        return self._hub.updates(EventFilter(key, emitter), after, stop)

    def latest_position(self) -> int:
        """The position of the latest event (start ``updates`` here to see only new ones)."""
        return self._store.last_event_position()

    def close(self) -> None:
        self._hub.close()


class _Events:
    """Emitted events by position (:class:`catenary.sdk.updates.Feed`). Events stored by this
    process wake the hub at once; another process's are seen at the next poll."""

    everything = EventFilter()

    def __init__(self, store: Store) -> None:
        self._store = store
        self._changed = threading.Condition()

    def wake(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def top(self) -> int:
        return self._store.last_event_position()

    def since(self, flt: EventFilter, seq: int, limit: int) -> list[SignedEvent]:
        return self._store.list_emitted_events(flt.key, flt.emitter, seq, limit)

    def seq(self, item: SignedEvent) -> int:
        return item.position

    def matches(self, flt: EventFilter, item: SignedEvent) -> bool:
        return flt.matches(item)

    def wait(self, seq: int, timeout: float) -> None:
        with self._changed:
            if self.top() <= seq:
                self._changed.wait(timeout)

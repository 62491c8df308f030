"""Emitted events (issue 17): records announced by an emitter's did:key, signed by it, and
stored before they are acknowledged. See docs/events.md; the record's pre-image is in
docs/hashing.md and :mod:`catenary.model.emitted`."""

from catenary.events.emission import MAX_DATA_SIZE, check, new_event, sign

__all__ = ["MAX_DATA_SIZE", "check", "new_event", "sign"]

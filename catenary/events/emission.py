"""Making and checking emitted events: the record, the emitter's signature over its id.

Pure apart from the clock and the random nonce of :func:`new_event`; nothing here stores."""

from __future__ import annotations

import os
import time as _time
from typing import TYPE_CHECKING

from catenary.cid import CID
from catenary.errors import BadInputError, VerificationError
from catenary.model.emitted import NONCE_SIZE, EmittedEvent, SignedEvent, key_problem

if TYPE_CHECKING:  # a client signs with its key without loading the node's trust code
    from catenary.trust.identity import Identity

# An event's data is a message, not a payload store: big values go in as values (`value put`)
# and the event carries their CID. The node's value-size cap applies too, whichever is lower.
MAX_DATA_SIZE = 256 * 1024


def new_event(
    emitter: str, key: str, data: CID, *, time: int | None = None, nonce: bytes | None = None
) -> EmittedEvent:
    """A new event record (now, a fresh nonce unless given); refuses a bad key."""
    problem = key_problem(key)
    if problem:
        raise BadInputError(f"key: {problem}")
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    if len(nonce) != NONCE_SIZE:
        raise BadInputError(f"nonce: expected {NONCE_SIZE} bytes, got {len(nonce)}")
    return EmittedEvent(emitter, key, data, _time.time_ns() if time is None else time, nonce)


def sign(identity: Identity, event: EmittedEvent) -> SignedEvent:
    """The event signed by ``identity``, which must be its emitter."""
    if identity.id != event.emitter:
        raise BadInputError(f"emitter is {event.emitter}, but the key given is {identity.id}")
    return SignedEvent(event, identity.sign(event.signed_bytes()))


def check(signed: SignedEvent) -> None:
    """Refuse an event whose key, nonce or signature does not hold (VerificationError for the
    signature: an unsigned, forged or altered event)."""
    event = signed.event
    problem = key_problem(event.key)
    if problem:
        raise BadInputError(f"key: {problem}")
    if len(event.nonce) != NONCE_SIZE:
        raise BadInputError(f"nonce: expected {NONCE_SIZE} bytes, got {len(event.nonce)}")
    if event.time < 0:
        raise BadInputError("time: unix nanoseconds, not negative")
    from catenary.trust.identity import verify_signature

    if not signed.signature:
        raise VerificationError(f"event {event.id} is unsigned: its emitter {event.emitter} must sign its id")
    why = verify_signature(event.emitter, signed.signature, event.signed_bytes())
    if why:
        raise VerificationError(f"event {event.id}: {why}")

"""Results as sources (issue 17): a completed run's final execution becomes an emitted event.

The event is the node's (emitter = the node's did:key, signed by its key), its key names the
workflow (``result.<workflow id>``), its data is the final execution's output and its hashed
``source`` is that execution, so lineage crosses from a run it triggers into the upstream one.
Its time and nonce come from the execution, not the clock: the event of one execution is one
record whichever node or restart makes it, so storing it twice stores it once.
"""

from __future__ import annotations

import hashlib
from typing import Any

from catenary.cid import CID
from catenary.errors import InvalidCIDError, ManifestError
from catenary.model import Execution
from catenary.model.emitted import NONCE_SIZE, EmittedEvent

PREFIX = "result."


def result_key(workflow: CID) -> str:
    """The key of the events a workflow's completed runs emit; a CID string is an event key
    word (base32, lower case)."""
    return PREFIX + str(workflow)


def result_workflow(key: str) -> CID | None:
    """The workflow a result key names, or None for another key."""
    if not key.startswith(PREFIX):
        return None
    try:
        return CID.parse(key[len(PREFIX) :])
    except InvalidCIDError:
        return None


def parse_on(on: Any) -> Any:
    """A trigger's ``on``: an event key, or ``{"workflow": ID}`` for the results of a
    workflow's runs, which is the key ``result.ID``."""
    if not isinstance(on, dict):
        return on
    if set(on) != {"workflow"}:
        raise ManifestError("$.on", 'a result filter is {"workflow": "bafy..."} (the upstream workflow id)')
    try:
        workflow = CID.parse(on["workflow"]) if isinstance(on["workflow"], str) else None
    except InvalidCIDError as exc:
        raise ManifestError("$.on.workflow", str(exc)) from None
    if workflow is None:
        raise ManifestError("$.on.workflow", "expected a workflow id (a CID string)")
    return result_key(workflow)


def result_event(emitter: str, final: Execution) -> EmittedEvent:
    """The event of a completed run's final execution (it must have an output)."""
    assert final.output is not None
    nonce = hashlib.blake2b(final.hash.cid_bytes, digest_size=NONCE_SIZE, person=b"catenary-result").digest()
    when = final.finished_at or final.created_at
    return EmittedEvent(emitter, result_key(final.workflow), final.output, when, nonce, final.hash)

"""Results as sources (issue 17): a completed execution becomes an emitted event.

A trigger's ``on`` may be a result source instead of an event key::

    {"workflow": "bafy..."}                 # the final result of each completed run
    {"name": "etl"}                         # ... of any workflow named "etl"
    {"workflow": "bafy...", "segment": 1}   # the output of segment 1 of each run
    {"workflow": "bafy...", "operation": "std/hash"}  # each execution of an operation
                                            # (its name or version id), in any segment or,
                                            # with "segment", in that one

The event is the node's (emitter = the node's did:key, signed by its key), its data is the
chosen execution's output and its hashed ``source`` is that execution, so lineage crosses from
a run it triggers into the upstream one. Its key names the source: ``result.<workflow id>``
for a workflow's final results (as before filters existed), otherwise ``result.`` and a
digest of the source's canonical form, so that each source is one stream of events and two
triggers on one source share its events. Its time and nonce come from the execution, not the
clock: the event of one execution under one key is one record whichever node or restart makes
it, so storing it twice stores it once.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from catenary.cid import CID, encode
from catenary.errors import InvalidCIDError, ManifestError
from catenary.model import Execution
from catenary.model.emitted import NONCE_SIZE, EmittedEvent

PREFIX = "result."
FIELDS = ("workflow", "name", "segment", "operation")


def result_key(workflow: CID) -> str:
    """The key of the events a workflow's completed runs emit; a CID string is an event key
    word (base32, lower case)."""
    return PREFIX + str(workflow)


def result_workflow(key: str) -> CID | None:
    """The workflow a final-result key names, or None for another key."""
    if not key.startswith(PREFIX):
        return None
    try:
        return CID.parse(key[len(PREFIX) :])
    except InvalidCIDError:
        return None


@dataclass(frozen=True)
class ResultSource:
    """Which completed executions become result events: of one workflow (by id) or of every
    workflow with a name; the run's final execution, or the output of ``segment``, or each
    execution of ``operation`` (a name or a version id string), within ``segment`` if given."""

    workflow: CID | None = None
    name: str | None = None
    segment: int | None = None
    operation: str | None = None

    @property
    def final(self) -> bool:
        """True: the source is each completed run's final execution."""
        return self.segment is None and self.operation is None

    @property
    def key(self) -> str:
        if self.workflow is not None and self.final:
            return result_key(self.workflow)
        digest = hashlib.blake2b(encode(self.to_json()), digest_size=15, person=b"catenary-source").digest()
        return PREFIX + base64.b32encode(digest).decode().lower()

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.workflow is not None:
            doc["workflow"] = str(self.workflow)
        if self.name is not None:
            doc["name"] = self.name
        if self.segment is not None:
            doc["segment"] = self.segment
        if self.operation is not None:
            doc["operation"] = self.operation
        return doc

    @classmethod
    def parse(cls, on: Any) -> ResultSource:
        """A source from a trigger's ``on`` object; every error names its JSON path."""
        for field in on:
            if field not in FIELDS:
                raise ManifestError(
                    f"$.on.{field}", f"unknown field of a result source (expected {', '.join(FIELDS)})"
                )
        if ("workflow" in on) == ("name" in on):
            raise ManifestError(
                "$.on", 'a result source names its workflow by "workflow" (an id) or "name", exactly one'
            )
        workflow = None
        if "workflow" in on:
            workflow = workflow_id(on["workflow"], "$.on.workflow")
        name = on.get("name")
        if name is not None and (not isinstance(name, str) or not name):
            raise ManifestError("$.on.name", "expected a workflow name (a non-empty string)")
        segment = on.get("segment")
        if segment is not None and (not isinstance(segment, int) or isinstance(segment, bool) or segment < 0):
            raise ManifestError("$.on.segment", "expected a segment index (0 or more)")
        operation = on.get("operation")
        if operation is not None and (not isinstance(operation, str) or not operation):
            raise ManifestError("$.on.operation", "expected an operation name or version id (a string)")
        return cls(workflow, name, segment, operation)

    @classmethod
    def from_key(cls, key: str) -> ResultSource | None:
        """The source a final-result key (``result.<workflow id>``) names; None otherwise."""
        workflow = result_workflow(key)
        return cls(workflow) if workflow is not None else None


def parse_on(on: Any) -> tuple[str, ResultSource | None]:
    """A trigger's ``on``: an event key, or a result source and the key of its events."""
    if isinstance(on, dict):
        source = ResultSource.parse(on)
        return source.key, source
    return on, ResultSource.from_key(on) if isinstance(on, str) else None


def result_event(emitter: str, execution: Execution, key: str | None = None) -> EmittedEvent:
    """The result event of a completed execution (it must have an output), under ``key``
    (default: its workflow's final-result key)."""
    assert execution.output is not None
    nonce = hashlib.blake2b(
        execution.hash.cid_bytes, digest_size=NONCE_SIZE, person=b"catenary-result"
    ).digest()
    when = execution.finished_at or execution.created_at
    return EmittedEvent(
        emitter, key or result_key(execution.workflow), execution.output, when, nonce, execution.hash
    )


def workflow_id(value: Any, path: str) -> CID:
    """A workflow id in a trigger document, or the error at its JSON ``path``."""
    try:
        workflow = CID.parse(value) if isinstance(value, str) else None
    except InvalidCIDError as exc:
        raise ManifestError(path, str(exc)) from None
    if workflow is None:
        raise ManifestError(path, "expected a workflow id (a CID string)")
    return workflow

"""The bundle format: its layout, its name, and the shape of each kind of block.

Layout (docs/trust.md draws it): the CAR header has two roots,

* ``roots[0]``: the execution's own block, i.e. its hashed pre-image, whose CID is the
  execution ``hash``. From it, links reach the workflow, the operation versions (and
  through them the operation manifests and python source texts), the parent executions,
  the events, the run, and the input values.
* ``roots[1]``: the bundle index ``{format: "catenary-bundle/1", execution: link,
  executions: [link], runs: [link]}``. Each ``executions`` entry is a metadata block
  carrying what an execution's hash does not cover::

      {execution: link, key: link, run: link, status, output: link | null, error,
       executor, cached_from: string | null, created_at, started_at, finished_at,
       attestations: [link]}

  ``key`` links the key pre-image block, ``output`` the output value, ``attestations``
  the signed attestation blocks. ``cached_from`` is CID text, not a link: the execution
  that did the work may be outside the bundle. Each ``runs`` entry is
  ``{run: link, status, next_segment, total_time, error, created_at, updated_at,
  outputs: [{segment, output: link, producer: link, segment_time}]}``.

Every block is DAG-CBOR named by CIDv1 dag-cbor blake2b-256, except the code of WASM
operations: each module is one ``raw`` block (CIDv1 raw blake2b-256, ``bafk2bza...``), linked
from its operation version. Any IPLD implementation can read the file and walk it from the
roots. A node that verifies the bundle runs those modules from the bundle's own bytes, so it
re-executes WASM executions without having any module beforehand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from catenary.cid import CID
from catenary.model import Status

FORMAT = "catenary-bundle/1"

Check = Callable[[Any], bool]


def _any(_value: Any) -> bool:
    return True


def _int(value: Any) -> bool:
    return type(value) is int  # not a bool


def _str(value: Any) -> bool:
    return isinstance(value, str)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float))


def _link(value: Any) -> bool:
    return isinstance(value, CID)


def _list(value: Any) -> bool:
    return isinstance(value, list)


def _links(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, CID) for item in value)


def _strings(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(item, str) for item in value.values())


def _status(value: Any) -> bool:
    return isinstance(value, str) and value in _STATUSES  # a list or map is unhashable


def _nullable(check: Check) -> Check:
    return lambda value: value is None or check(value)


_STATUSES = {s.value for s in Status}

# Every kind of block a bundle holds, as {key: check of its value}: a block must have exactly
# these keys (reader.map) and each value must pass its check (fits). ``_any`` marks a key
# whose value is checked where it is used (a link that is then read, or a format name).
SHAPES: dict[str, dict[str, Check]] = {
    "bundle index": {"format": _any, "execution": _any, "executions": _list, "runs": _list},
    "execution": {  # the hash pre-image
        "workflow": _link,
        "segment": _int,
        "step": _int,
        "operation": _link,
        "config": _strings,
        "parents": _links,
        "inputs": _links,
    },
    "execution metadata": {
        "execution": _any,
        "key": _link,
        "run": _link,
        "status": _status,
        "output": _nullable(_link),
        "error": _nullable(_str),
        "executor": _nullable(_str),
        "cached_from": _nullable(_str),
        "created_at": _int,
        "started_at": _nullable(_int),
        "finished_at": _nullable(_int),
        "attestations": _list,
    },
    "event": {"run": _link, "segment": _int, "inputs": _links},
    "run": {"workflow": _link, "nonce": lambda value: isinstance(value, bytes)},
    "run metadata": {
        "run": _any,
        "status": _str,
        "next_segment": _int,
        "total_time": _number,
        "error": _nullable(_str),
        "created_at": _int,
        "updated_at": _int,
        "outputs": _list,
    },
    "run output": {"segment": _int, "output": _link, "producer": _link, "segment_time": _number},
    "operation version": {"operation": _any, "implementation": _any},
}


# Keys a block of a kind may have beyond its SHAPES: added later, absent from older bundles.
OPTIONAL: dict[str, set[str]] = {
    "bundle index": {"statements", "emitted"},  # catenary.statements.bundle, .emitted
    "event": {"cause"},  # the emitted event that triggered the run (issue 17, docs/events.md)
}


def keys(kind: str) -> set[str]:
    """The keys a block of this kind always has."""
    return set(SHAPES[kind])


def has_keys(kind: str, value: dict[str, Any]) -> bool:
    """Whether a block has every key of its kind, and no key beyond its optional ones."""
    return keys(kind) <= set(value) <= keys(kind) | OPTIONAL.get(kind, set())


def fits(kind: str, value: dict[str, Any]) -> bool:
    """Whether every value of a block (with the right keys) passes its check."""
    return all(check(value[key]) for key, check in SHAPES[kind].items())

"""The OpenAPI 3.1 document of the JSON gateway, written by hand.

It describes the shapes of SPEC §5 (the CLI's ``--json`` documents); the tests
check the running gateway against it with schemathesis.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from catenary import __version__
from catenary.model import Direction, Execution, RunStatus

# Every id catenary makes is a CIDv1 dag-cbor blake2b-256: "bafy2bzace", then the 256-bit
# digest in base32 (the last character carries 4 bits and a zero pad bit). Every string of
# this pattern parses, so a well-formed but unknown id is a 404, never a 400.
CID_PATTERN = "^bafy2bzace[a-d][a-z2-7]{50}[acegikmoqsuwy246]$"


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema["type"]
    return {**schema, "type": [kind, "null"] if isinstance(kind, str) else [*kind, "null"]}


CID = {
    "type": "string",
    "pattern": CID_PATTERN,
    "description": "CIDv1 (dag-cbor, blake2b-256) in base32 text",
}
NS = {"type": "integer", "description": "unix time in nanoseconds"}
DAG_JSON = {"description": 'a value as DAG-JSON: bytes are {"/": {"bytes": base64}}, links {"/": CID}'}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "status"],
        "additionalProperties": False,
        "properties": {
            "error": {"type": "string", "description": "what was wrong, and where"},
            "status": {"type": "integer"},
        },
    },
    "Execution": {
        "type": "object",
        "additionalProperties": False,
        "description": "The SPEC §4 record, exactly its field names.",
        "required": [field.name for field in fields(Execution)],
        "properties": {
            "hash": CID,
            "key": CID,
            "workflow": CID,
            "run": CID,
            "segment": {"type": "integer", "minimum": 0},
            "step": {"type": "integer", "minimum": 0},
            "operation": CID,
            "config": {"type": "object", "additionalProperties": {"type": "string"}},
            "parents": {"type": "array", "items": CID},
            "inputs": {"type": "array", "items": CID},
            "status": {"type": "string", "enum": ["created", "in_progress", "completed", "failed"]},
            "output": _nullable(CID),
            "error": {"type": ["string", "null"]},
            "executor": {"type": ["string", "null"]},
            "cached_from": _nullable(CID),
            "created_at": NS,
            "started_at": _nullable(NS),
            "finished_at": _nullable(NS),
            "seq": {"type": "integer", "minimum": 0},
        },
    },
    "ExecutionPage": {
        "type": "object",
        "additionalProperties": False,
        "required": ["executions", "next_page_token"],
        "properties": {
            "executions": {"type": "array", "items": {"$ref": "#/components/schemas/Execution"}},
            "next_page_token": {
                "type": ["string", "null"],
                "description": "pass as page_token for the next page; null on the last",
            },
        },
    },
    "TraceNode": {
        "oneOf": [
            {
                "type": "object",
                "required": ["kind", "hash", "run", "segment", "inputs"],
                "additionalProperties": False,
                "properties": {
                    "kind": {"const": "event"},
                    "hash": CID,
                    "run": _nullable(CID),
                    "segment": {"type": ["integer", "null"]},
                    "inputs": {"type": "array", "items": CID},
                },
            },
            {"$ref": "#/components/schemas/TraceExecution"},
        ]
    },
    "Trace": {
        "type": "object",
        "additionalProperties": False,
        "required": ["root", "nodes", "edges"],
        "properties": {
            "root": CID,
            # JSON Schema arrays of objects: alike in shape by nature.
            "nodes": {"type": "array", "items": {"$ref": "#/components/schemas/TraceNode"}},
            "edges": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["from", "to"],
                    "additionalProperties": False,
                    "properties": {"from": CID, "to": CID},
                },
            },
        },
    },
    "Run": {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "run",
            "workflow",
            "nonce",
            "status",
            "next_segment",
            "segments",
            "total_time",
            "error",
            "created_at",
            "updated_at",
            "outputs",
        ],
        "properties": {
            "run": CID,
            "workflow": CID,
            "nonce": {"description": "16 bytes as DAG-JSON bytes", "type": "object"},
            "status": {"type": "string", "enum": [s.value for s in RunStatus]},
            "next_segment": {"type": "integer", "minimum": 0},
            "segments": {"type": ["integer", "null"]},
            "total_time": {"type": "number", "description": "milliseconds"},
            "error": {"type": ["string", "null"]},
            "created_at": NS,
            "updated_at": NS,
            "outputs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["segment", "output", "producer", "segment_time"],
                    "properties": {
                        "segment": {"type": "integer"},
                        "output": CID,
                        "producer": CID,
                        "segment_time": {"type": "number"},
                    },
                },
            },
        },
    },
    "EmittedEvent": {
        "type": "object",
        "additionalProperties": False,
        "description": "An emitted event as stored (docs/events.md), as `event get --json`.",
        "required": ["id", "emitter", "key", "data", "time", "nonce", "signature", "position", "received_at"],
        "properties": {
            "id": CID,
            "emitter": {"type": "string", "description": "the emitter's did:key"},
            "key": {"type": "string"},
            "data": CID,
            "time": NS,
            "nonce": {"type": "string", "description": "hex"},
            "signature": {"type": "string", "description": "base64 ed25519 over the id"},
            "position": {"type": "integer", "minimum": 1},
            "received_at": NS,
        },
    },
    "EventPage": {
        "type": "object",
        "additionalProperties": False,
        "required": ["events", "next_before"],
        "properties": {
            "events": {"type": "array", "items": {"$ref": "#/components/schemas/EmittedEvent"}},
            "next_before": _nullable({"type": "integer", "minimum": 1}),
        },
    },
    "EventGet": {
        "type": "object",
        "description": "The event, its data as DAG-JSON (`value`) and what each trigger did with it.",
        "properties": {
            "value": DAG_JSON,
            "firings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["trigger", "event", "status", "run", "reason", "at"],
                    "properties": {
                        "trigger": {"type": "string"},
                        "event": CID,
                        "status": {"type": "string", "enum": ["started", "fired", "failed", "skipped"]},
                        "run": _nullable(CID),
                        "reason": _nullable({"type": "string"}),
                        "at": NS,
                    },
                },
            },
        },
    },
    "RunList": {
        "type": "object",
        "additionalProperties": False,
        "required": ["runs"],
        "properties": {"runs": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}}},
    },
    "Workflow": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "data"],
        "properties": {
            "id": CID,
            "data": {
                "type": "object",
                "required": ["name", "creators", "description", "groups", "segments"],
                "properties": {
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "creators": {"type": "array", "items": {"type": "string"}},
                    # JSON Schema arrays of objects: alike in shape by nature.
                    "groups": {"type": "array", "items": {"type": "string"}},
                    "segments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["inputs", "sequence"],
                            "properties": {
                                "inputs": {"type": "array", "items": {"type": "integer"}},
                                "sequence": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["version_id", "config"],
                                        "properties": {
                                            "version_id": CID,
                                            "config": {
                                                "type": "object",
                                                "additionalProperties": {"type": "string"},
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "OperationList": {
        "type": "object",
        "required": ["operations"],
        "properties": {
            "operations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "id", "version_id", "inputs", "output", "config"],
                    "properties": {
                        "name": {"type": "string"},
                        "id": CID,
                        "version_id": CID,
                        "inputs": {"type": "array"},
                        "config": {"type": "object"},
                        "available": {"type": "boolean"},
                    },
                },
            }
        },
    },
}


# An execution node of a trace: the execution's fields and ``kind`` first.
SCHEMAS["TraceExecution"] = {
    **SCHEMAS["Execution"],
    "description": "An execution in a trace",
    "required": ["kind", *SCHEMAS["Execution"]["required"]],
    "properties": {"kind": {"const": "execution"}, **SCHEMAS["Execution"]["properties"]},
}

# ``exec get``: the record and whether a verify re-execution disputed it (never reused then).
SCHEMAS["ExecutionGet"] = {
    **SCHEMAS["Execution"],
    "description": "One execution: the SPEC §4 record, `disputed` and `acceptance`",
    "required": [*SCHEMAS["Execution"]["required"], "disputed", "acceptance"],
    "properties": {
        **SCHEMAS["Execution"]["properties"],
        "disputed": {
            "type": ["object", "null"],
            "description": "null, or why a verify re-execution disagreed (the result is never reused)",
            "additionalProperties": False,
            "required": ["at", "detail"],
            "properties": {"at": NS, "detail": {"type": "string"}},
        },
        "acceptance": {
            "type": "object",
            "description": "its standing under the node's quorum policy (docs/network.md)",
            "additionalProperties": False,
            "required": ["status", "rule", "need", "canonical", "reason", "votes"],
            "properties": {
                "status": {"enum": ["accepted", "pending", "disputed"]},
                "rule": {"type": "string"},
                "need": {"type": "integer", "minimum": 1},
                "canonical": {"type": ["string", "null"]},
                "reason": {"type": "string"},
                "votes": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["signer", "output", "role", "execution", "counted"],
                        "properties": {
                            "signer": {"type": "string"},
                            "output": {"type": "string"},
                            "role": {"enum": ["executor", "validator", "dissent"]},
                            "execution": {"type": "string"},
                            "counted": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    },
}


# An event with its data and firings: the event's fields and those two, and no others.
SCHEMAS["EventGet"] |= {
    "additionalProperties": False,
    "required": [*SCHEMAS["EmittedEvent"]["required"], "value", "firings"],
    "properties": {**SCHEMAS["EmittedEvent"]["properties"], **SCHEMAS["EventGet"]["properties"]},
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _json(_ref("Error"), "bad input: a malformed CID, filter, token or parameter"),
    "404": _json(_ref("Error"), "nothing with this hash, id or CID on this node"),
}


def _path_cid(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": CID}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


FILTER = [
    {
        **_query(
            "status",
            {
                "type": "array",
                "items": {"type": "string", "enum": ["created", "in_progress", "completed", "failed"]},
            },
            "any of these statuses (repeat the parameter)",
        ),
        "style": "form",
        "explode": True,
    },
    _query("workflow", CID, "workflow id"),
    _query("run", CID, "run id"),
    _query("operation", CID, "operation version id"),
    _query("segment", {"type": "integer", "minimum": 0}, "segment index"),
    _query("parent", CID, "executions with this parent (execution or event hash)"),
    _query("key", CID, "executions of this key (the same computation)"),
    _query("created_after", {"type": "integer", "minimum": 0}, "created after (unix ns, exclusive)"),
    _query("created_before", {"type": "integer", "minimum": 0}, "created before (unix ns, exclusive)"),
    _query("input", CID, "executions that took this value (CID) as an input"),
    _query("output", CID, "executions that produced this value (CID)"),
]


def _get(
    summary: str, ok: dict[str, Any], parameters: list[dict[str, Any]], not_found: bool = True
) -> dict[str, Any]:
    responses = {"200": ok, "400": ERRORS["400"]}
    if not_found:
        responses["404"] = ERRORS["404"]
    return {"get": {"summary": summary, "parameters": parameters, "responses": responses}}


def _deep(path: dict[str, Any]) -> dict[str, Any]:
    """A route that answers 422 for a value nested deeper than JSON can print."""
    path["get"]["responses"]["422"] = _json(
        _ref("Error"), "the value is nested too deeply for DAG-JSON: read its block instead"
    )
    return path


def _bytes(description: str, *media: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in media},
    }


def document() -> dict[str, Any]:
    """The OpenAPI document served at ``/api/openapi.json``."""
    value_cid = _path_cid("cid", "value CID")
    paths = {
        "/api/executions": _get(
            "List executions, newest first (keyset pages)",
            _json(_ref("ExecutionPage"), "one page"),
            [
                *FILTER,
                _query(
                    "page_size",
                    {"type": "integer", "minimum": 1, "maximum": 1000},
                    "executions per page (default 50)",
                ),
                _query(
                    "page_token",
                    {"type": "string"},
                    "next_page_token of the previous page, unchanged (opaque; a token that is "
                    "damaged or made for another filter is refused with 400)",
                ),
            ],
            not_found=False,
        ),
        "/api/executions/updates": {
            "get": {
                "summary": "Executions as they change (Server-Sent Events); resumes after Last-Event-ID",
                "parameters": [
                    *FILTER,
                    _query(
                        "since_seq",
                        {"type": "integer", "minimum": 0},
                        "replay stored changes after this seq (default: now)",
                    ),
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "the seq of the last event seen (set by EventSource)",
                    },
                ],
                "responses": {
                    "200": {
                        "description": "event: execution, id: seq, data: an Execution document",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    "400": ERRORS["400"],
                    "503": _json(_ref("Error"), "too many open streams"),
                },
            }
        },
        "/api/executions/{hash}": _get(
            "One execution",
            _json(_ref("ExecutionGet"), "the execution"),
            [_path_cid("hash", "execution hash")],
        ),
        "/api/executions/{hash}/trace": _get(
            "The lineage of an execution, events included",
            _json(_ref("Trace"), "the trace"),
            [
                _path_cid("hash", "execution hash"),
                _query(
                    "direction",
                    {"type": "string", "enum": [d.value for d in Direction]},
                    "ancestors (default): back to the events; descendants: what was computed from it",
                ),
                _query(
                    "depth",
                    {"type": "integer", "minimum": 0, "maximum": 10000},
                    "hops to follow (0, the default, = all)",
                ),
            ],
        ),
        "/api/runs": _get(
            "Runs, newest first",
            _json(_ref("RunList"), "runs"),
            [
                _query("workflow", CID, "only runs of this workflow"),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 10000}, "default 100"),
            ],
            not_found=False,
        ),
        "/api/runs/{id}": _get("One run", _json(_ref("Run"), "the run"), [_path_cid("id", "run id")]),
        "/api/workflows/{id}": _get(
            "A workflow manifest", _json(_ref("Workflow"), "the manifest"), [_path_cid("id", "workflow id")]
        ),
        "/api/operations": _get(
            "Operation versions known to the node",
            _json(_ref("OperationList"), "operations"),
            [],
            not_found=False,
        ),
        "/api/values/{cid}": _deep(_get("A value as DAG-JSON", _json(DAG_JSON, "the value"), [value_cid])),
        "/api/values/{cid}/raw": _get(
            "A value's content: bytes as themselves, a string as UTF-8 text, else its DAG-CBOR block",
            _bytes(
                "the content",
                "application/octet-stream",
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "text/plain; charset=utf-8",
                "application/vnd.ipld.dag-cbor",
            ),
            [value_cid],
        ),
        "/api/values/{cid}/block": _get(
            "A value's DAG-CBOR block (its blake2b-256 hash is in the CID)",
            _bytes("the block", "application/vnd.ipld.dag-cbor"),
            [value_cid],
        ),
        "/api/events": _get(
            "Emitted events, newest first (pages by position)",
            _json(_ref("EventPage"), "one page"),
            [
                _query(
                    "before", {"type": "integer", "minimum": 1}, "events below this position (next_before)"
                ),
                _query("page_size", {"type": "integer", "minimum": 1, "maximum": 999}, "default 50"),
            ],
            not_found=False,
        ),
        "/api/events/updates": {
            "get": {
                "summary": "Emitted events as stored (Server-Sent Events); resumes after Last-Event-ID",
                "parameters": [
                    _query("after", {"type": "integer", "minimum": 0}, "replay events after this position")
                ],
                "responses": {
                    "200": {
                        "description": "event: emitted, id: position, data: an EmittedEvent document",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    "400": ERRORS["400"],
                    "503": _json(_ref("Error"), "too many open streams"),
                },
            }
        },
        "/api/events/{id}": _get(
            "One emitted event, its data and its firings",
            _json(_ref("EventGet"), "the event"),
            [_path_cid("id", "event id")],
        ),
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "the OpenAPI document")},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "catenary node gateway",
            "version": __version__,
            "description": "Read-only JSON view of a catenary node: the same documents as the "
            "CLI's --json. CIDs are base32 text; values are DAG-JSON.",
        },
        "paths": paths,
        "components": {"schemas": SCHEMAS},
    }

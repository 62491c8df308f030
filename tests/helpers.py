"""Helpers shared by the tests (plain functions, no fixtures)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from catenary.cid import CID, cid_of

Step = tuple[str, dict[str, str]] | str


def manifest(*segments: tuple[Sequence[int], Iterable[Step]], name: str = "test") -> dict[str, Any]:
    """A manifest ``{"data": ...}`` naming operations by name:
    ``(inputs, ["test/inc", ("std/hash", {...})])``."""
    return {"data": data(*segments, name=name)}


def data(*segments: tuple[Sequence[int], Iterable[Step]], name: str = "test") -> dict[str, Any]:
    segs = []
    for inputs, steps in segments:
        seq = []
        for step in steps:
            op, config = (step, {}) if isinstance(step, str) else step
            seq.append({"op": op, "config": dict(config)})
        segs.append({"inputs": list(inputs), "sequence": seq})
    return {"name": name, "creators": ["tests"], "description": "", "groups": [], "segments": segs}


def snapshot(db_path: Path | str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read through a separate connection (sees the WAL). ``db_path``
    may also be a PostgreSQL URL (the ``db_path`` fixture on the postgresql backend)."""
    if _is_postgres(db_path):
        return _pg_snapshot(str(db_path))
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = [
            r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
        out = {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
        out["__user_version__"] = con.execute("PRAGMA user_version").fetchall()
        return out
    finally:
        con.close()


def query(db_path: Path | str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (``?`` placeholders) on a SQLite file or a PostgreSQL URL."""
    if _is_postgres(db_path):
        import psycopg

        with psycopg.connect(str(db_path), autocommit=True) as pg:
            return [tuple(r) for r in pg.execute(sql.replace("?", "%s"), tuple(params)).fetchall()]
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return con.execute(sql, tuple(params)).fetchall()
    finally:
        con.close()


def _is_postgres(db: Path | str) -> bool:
    return isinstance(db, str) and db.startswith(("postgresql://", "postgres://"))


def _pg_snapshot(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as pg:
        tables = [
            r[0]
            for r in pg.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                "ORDER BY table_name"
            )
        ]
        return {t: sorted((tuple(r) for r in pg.execute(f'SELECT * FROM "{t}"')), key=repr) for t in tables}


def run_events(db_path: Path, run: CID) -> dict[CID, tuple[int, bytes]]:
    """Events stored for a run: hash -> (segment, data bytes)."""
    rows = query(db_path, "SELECT hash, segment, data FROM events WHERE run = ?", (run.cid_bytes,))
    return {CID(h): (s, d) for h, s, d in rows}


def execution_preimage(e: Any) -> dict[str, Any]:
    """The SPEC §2 hashed map of an execution, written out by hand (not via the model)."""
    return {
        "workflow": e.workflow,
        "segment": e.segment,
        "step": e.step,
        "operation": e.operation,
        "config": dict(e.config),
        "parents": list(e.parents),
        "inputs": list(e.inputs),
    }


def key_preimage(e: Any) -> dict[str, Any]:
    return {"operation": e.operation, "config": dict(e.config), "inputs": list(e.inputs)}


def check_hashes(e: Any) -> None:
    """The stored hash and key recompute from the stored fields, two ways."""
    assert e.recomputed_hash() == e.hash
    assert e.recomputed_key() == e.key
    assert cid_of(execution_preimage(e)) == e.hash
    assert cid_of(key_preimage(e)) == e.key


def independent_cid(obj: Any) -> str:
    """CID text of ``obj`` computed with the PyPI ``dag-cbor`` + ``multiformats`` packages and
    hashlib: an implementation independent of catenary.cid."""
    import hashlib

    import dag_cbor
    from multiformats import CID as MCID
    from multiformats import multihash

    def convert(value: Any) -> Any:
        if isinstance(value, CID):
            return MCID.decode(bytes(value.cid_bytes))
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        return value

    encoded = dag_cbor.encode(convert(obj))
    digest = hashlib.blake2b(encoded, digest_size=32).digest()
    return str(MCID("base32", 1, "dag-cbor", multihash.wrap(digest, "blake2b-256")))


# Tests that talk to a served node without keys (written before calls were authenticated)
# run it with this policy: every rule also grants "anonymous". A fresh node refuses them.
OPEN_POLICY = """\
# Test policy: calls without any key are allowed, on loopback only.
[rules]
create_workflow = ["self", "any", "anonymous"]
run = ["self", "any", "anonymous"]
verify = ["self", "any", "anonymous"]
read = ["self", "any", "anonymous"]

[[rules.claim]]
keys = ["self", "any", "anonymous"]

[[rules.emit]]
keys = ["self", "any", "anonymous"]
"""


def allow_anonymous(data_dir: Path | str) -> Path:
    """Write OPEN_POLICY as ``data_dir/policy.toml`` (creating the dir) and return the dir."""
    path = Path(data_dir)
    path.mkdir(parents=True, exist_ok=True)
    (path / "policy.toml").write_text(OPEN_POLICY)
    return path


def open_policy(node: Any) -> Any:
    """OPEN_POLICY for ``Server(node, ..., policy=open_policy(node))``."""
    import tomllib

    from catenary.trust.policy import Policy

    return Policy.parse(tomllib.loads(OPEN_POLICY), node.id)


def remote_step_manifest(version_id: CID, name: str = "remote-step") -> str:
    """A workflow whose segment 0 is test/inc and segment 1 the operation ``version_id``."""
    import json

    built = manifest(([-1], ["test/inc"]), name=name)
    built["data"]["segments"].append(
        {"inputs": [0], "sequence": [{"version_id": str(version_id), "config": {}}]}
    )
    return json.dumps(built)


def create_remote_step(node: Any, version_id: CID, start: int = 0) -> Any:
    """Step a run of :func:`remote_step_manifest` through segment 0, then record its segment 1
    step 0 with ``Execution.Create``, where the engine would put it; returns the created record."""
    wf = node.workflows.create(remote_step_manifest(version_id))
    run = node.runs.new(wf.id)
    producer = node.executions.get(node.runs.next(run.id, [start]).final)
    return node.executions.create(
        workflow=wf.id,
        run=run.id,
        segment=1,
        step=0,
        operation=version_id,
        config={},
        parents=[producer.hash],
        inputs=[producer.output],
    )


# The JSON fields of an execution, in order (SPEC §4, then seq): written out here, apart from
# catenary.store.rows, so that a change to the record's shape fails the CLI and gateway tests.
EXECUTION_FIELDS = [
    "hash",
    "key",
    "workflow",
    "run",
    "segment",
    "step",
    "operation",
    "config",
    "parents",
    "inputs",
    "status",
    "output",
    "error",
    "executor",
    "cached_from",
    "created_at",
    "started_at",
    "finished_at",
    "seq",
]

"""A unique prefix or end of a stored CID stands for it; an ambiguous one lists the matches
(issue 19). Through the CLI, on SQLite and on PostgreSQL (--db)."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_project import cli

WF = {
    "data": {
        "name": "p",
        "creators": [],
        "description": "",
        "groups": [],
        "segments": [
            {
                "inputs": [-1],
                "sequence": [{"op": "std/utf8-encode", "config": {}}, {"op": "std/cid", "config": {}}],
            }
        ],
    }
}


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_prefix_and_end_resolve_and_ambiguity_lists(store: str, tmp_path, request) -> None:
    base = ["--data-dir", str(tmp_path / "d")]
    if store == "postgresql":
        base += ["--db", request.getfixturevalue("pg_database")]
    (tmp_path / "wf.json").write_text(json.dumps(WF))
    wid = json.loads(cli(tmp_path, *base, "--json", "workflow", "create", str(tmp_path / "wf.json")).stdout)[
        "id"
    ]
    run = json.loads(cli(tmp_path, *base, "--json", "run", wid, "--input", "0=text:a").stdout)
    final = run["final"]

    by_end = cli(tmp_path, *base, "--json", "workflow", "show", wid[-8:])
    assert by_end.returncode == 0, by_end.stderr
    assert json.loads(by_end.stdout)["id"] == wid
    by_prefix = cli(tmp_path, *base, "--json", "exec", "get", final[:20])
    assert by_prefix.returncode == 0, by_prefix.stderr
    assert json.loads(by_prefix.stdout)["hash"] == final

    ambiguous = cli(tmp_path, *base, "exec", "get", "bafy2bzace")  # every execution starts so
    assert ambiguous.returncode == 2
    line = ambiguous.stderr.strip()
    assert (
        "'bafy2bzace' is ambiguous: execution ids" in line and final in line and len(line.splitlines()) == 1
    )
    missing = cli(tmp_path, *base, "exec", "get", "zzzzzzzz")
    assert (
        missing.returncode == 2 and "no stored execution id starts or ends with 'zzzzzzzz'" in missing.stderr
    )

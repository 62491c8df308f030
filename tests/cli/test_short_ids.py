"""Tables show the distinguishing end of each CID, as the explorer does; --full and --json
keep whole ids; what a table shows (ellipsis included) is taken back as the id (issue 19)."""

from __future__ import annotations

import json
from pathlib import Path

from catenary.cid.display import short
from tests.cli.test_cid_prefix import WF
from tests.cli.test_project import cli


def test_short_form_is_the_tail_and_short_texts_stay_whole() -> None:
    cid = "bafy2bzaceajzjwkmpnmyb57kjdebduo45ythudsedwuowdja26dflzd6teli6"
    assert short(cid) == "…6dflzd6teli6"
    assert short(cid, full=True) == cid
    assert short("std/add") == "std/add" and short(None) == "-"


def test_tables_show_ends_full_and_json_whole_ids(tmp_path: Path) -> None:
    base = ["--data-dir", str(tmp_path / "d")]
    (tmp_path / "wf.json").write_text(json.dumps(WF))
    created = cli(tmp_path, *base, "--json", "workflow", "create", str(tmp_path / "wf.json"))
    wid = json.loads(created.stdout)["id"]
    ran = json.loads(cli(tmp_path, *base, "--json", "run", wid, "--input", "0=text:a").stdout)
    run, final = ran["run"], ran["final"]

    tables = {("workflow", "list"): [wid], ("runs", "list"): [run, wid], ("exec", "list"): [final]}
    for args, ids in tables.items():
        shown = cli(tmp_path, *base, *args)
        assert shown.returncode == 0, shown.stderr
        for cid in ids:
            assert short(cid) in shown.stdout and cid not in shown.stdout, (args, shown.stdout)
        whole = cli(tmp_path, *base, *args, "--full").stdout
        assert all(cid in whole for cid in ids), (args, whole)
        assert all(cid in cli(tmp_path, *base, "--json", *args).stdout for cid in ids)

    ops = json.loads(cli(tmp_path, *base, "--json", "op", "list").stdout)["operations"]
    some = ops[0]["version_id"]
    listed = cli(tmp_path, *base, "op", "list").stdout
    assert short(some) in listed and some not in listed
    assert some in cli(tmp_path, *base, "op", "list", "--full").stdout

    # What the table shows, pasted as it is (with the ellipsis), names the id.
    got = cli(tmp_path, *base, "--json", "exec", "get", short(final))
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["hash"] == final
    assert json.loads(cli(tmp_path, *base, "--json", "runs", "get", short(run)).stdout)["run"] == run

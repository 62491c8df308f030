"""Peers follow each other with no shared file: four nodes, restarts, provenance."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.helpers import query
from tests.network.nodes import Served, cli, held, run_on, wait_for


def test_a_run_on_a_is_seen_on_b_c_and_d(make_node: Callable[..., Served]) -> None:
    a, b, c, d = (make_node(n) for n in "abcd")
    b.follow(a)  # a line and a shortcut: c hears of a's work only through b, d from both
    c.follow(b)
    d.follow(a)
    d.follow(c)
    run = run_on(a)
    wanted = set(run["executions"])
    assert len(wanted) == 4
    for node in (b, c, d):
        wait_for(lambda node=node: wanted <= held(node), f"{node.data_dir.name} to hold a's run")
    # where each came from, and the counts in `peer list`
    rows = query(b.data_dir / "catenary.db", "SELECT peer FROM provenance")
    assert {r[0] for r in rows} == {a.id} and len(rows) == 4
    assert {r[0] for r in query(c.data_dir / "catenary.db", "SELECT peer FROM provenance")} == {b.id}
    peer = b.peers()[a.id]
    assert peer["received"] == 4 and peer["refused"] == 0 and peer["cursor"] > 0
    # the record on d is a's: same output, same executor, a's attestation kept
    got = json.loads(cli(d.data_dir, "exec", "get", run["final"], "--json").stdout)
    assert got["executor"] == a.id and got["status"] == "completed"
    on_a = run["executions"][run["final"]]
    assert got["output"] == str(on_a.output)
    signers = query(d.data_dir / "catenary.db", "SELECT DISTINCT signer FROM attestations")
    assert signers == [(a.id,)]  # a's signed claims travelled with its work, and no one else's
    for node in (b, c, d):
        assert "refused" not in node.log()


def test_a_node_killed_mid_sync_converges_after_restart(make_node: Callable[..., Served]) -> None:
    a = make_node("a")
    wanted: set[str] = set()
    for i in range(12):
        wanted |= set(run_on(a, (i, 100 + i))["executions"])
    assert len(wanted) == 48
    b = make_node("b")
    b.follow(a)
    partial = wait_for(lambda: held(b) or None, "the first synced execution", timeout=60)
    b.kill()  # SIGKILL, mid-sync: whatever was not committed is lost
    got = held(b)
    assert partial <= got and len(got) < len(wanted), "synced before the kill: give it more work"
    a.stop()  # and the peer goes away too, then comes back at the same address
    a.start()
    b.start()
    wanted |= set(run_on(a, (7, 7))["executions"])  # work done after both restarts
    wait_for(lambda: wanted <= held(b), "b to converge after the restart")
    # resumed from its cursor: each execution stored once, with its provenance, nothing refused
    rows = query(b.data_dir / "catenary.db", "SELECT execution, peer FROM provenance")
    assert len(rows) == len(wanted) and {r[1] for r in rows} == {a.id}
    peer = b.peers()[a.id]
    assert peer["refused"] == 0 and peer["received"] == len(wanted)


def test_a_peer_is_pinned_by_its_id(make_node: Callable[..., Served]) -> None:
    """A node at the address that is not the pinned id is not followed: nothing is read from it."""
    a = make_node("a")
    run_on(a)
    b = make_node("b")
    stranger = make_node("stranger", start=False)  # an id that is not a's
    cli(b.data_dir, "peer", "add", a.address, "--id", stranger.id, "--gateway", a.gateway)
    peer = wait_for(lambda: (p := b.peers()[stranger.id])["last_error"] and p, "the refusal")
    assert f"says it is {a.id}, not the pinned {stranger.id}" in peer["last_error"]
    assert peer["refused"] == 0 and peer["received"] == 0 and peer["cursor"] == 0
    assert held(b) == set()


def test_peer_commands_refuse_bad_arguments_and_store_nothing(make_node: Callable[..., Served]) -> None:
    b = make_node("b", start=False)
    a = make_node("a", start=False)
    cases = [
        (("127.0.0.1:1", "--id", "did:key:nope", "--gateway", "http://127.0.0.1:2"), "did:key"),
        (("no-port", "--id", a.id, "--gateway", "http://127.0.0.1:2"), "ADDRESS"),
        (("127.0.0.1:1", "--id", a.id, "--gateway", "ftp://x"), "--gateway"),
        (("127.0.0.1:1", "--id", a.id, "--gateway", "https://127.0.0.1:2"), "--tls-ca"),
        (("127.0.0.1:1", "--id", b.id, "--gateway", "http://127.0.0.1:2"), "this node itself"),
    ]
    for args, named in cases:
        proc = cli(b.data_dir, "peer", "add", *args, code=2)
        assert named in proc.stderr, proc.stderr
    assert json.loads(cli(b.data_dir, "peer", "list", "--json").stdout) == {"peers": []}
    assert "no peer" in cli(b.data_dir, "peer", "remove", a.id, code=2).stderr
    cli(b.data_dir, "peer", "add", "127.0.0.1:1", "--id", a.id, "--gateway", "http://127.0.0.1:2")
    moved = json.loads(
        cli(
            b.data_dir, "peer", "add", "127.0.0.1:3", "--id", a.id, "--gateway", "http://h:4/", "--json"
        ).stdout
    )
    assert moved["new"] is False and moved["address"] == "127.0.0.1:3" and moved["gateway"] == "http://h:4"
    cli(b.data_dir, "peer", "remove", a.id)
    assert b.peers() == {}

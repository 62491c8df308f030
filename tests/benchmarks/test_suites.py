"""The benchmark suites' own logic (benchmarks/peers, benchmarks/scaling) at toy sizes.

Nothing here is timed: these check that the catenary side of the peer workloads computes and
records what the benchmark claims (so a figure in docs/benchmarks.md measures real work),
and that the ratio table and the profile summary add up.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sqlite3
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def peers_dir() -> Path:
    sys.path.insert(0, str(BENCH / "peers"))
    yield BENCH / "peers"
    sys.path.remove(str(BENCH / "peers"))


def _counts(db: Path, run: bytes | None = None) -> list[tuple[int, int]]:
    """(executions, of which cached) per run, oldest run first."""
    conn = sqlite3.connect(str(db))
    try:
        return conn.execute(
            "SELECT count(*), count(cached_from) FROM executions GROUP BY run ORDER BY min(id)"
        ).fetchall()
    finally:
        conn.close()


def test_catenary_peer_records_every_operation_and_hits_the_cache(peers_dir: Path, tmp_path: Path) -> None:
    peer_module = _load("peer_catenary_under_test", peers_dir / "peer_catenary.py")
    common = sys.modules["common"]
    peer = peer_module.CatenaryPeer(tmp_path)
    try:
        peer.prepare(5)
        assert peer.chain(40, 5) == 45
        assert peer.chain(40, 5) == 45
        assert peer.fan(7, 5) == common.expected_fan(7, 5) == 5 * 8 + 10
        assert peer.fan(7, 5) == common.expected_fan(7, 5)
        assert peer.cpu(3, 1) == common.cpu_payload(3, 1)
    finally:
        peer.close()
    # chain: 5 fresh then 5 hits; fan: 5 + 2 fresh then 7 hits; cpu: 1 fresh.
    assert _counts(tmp_path / "catenary" / "catenary.db") == [(5, 0), (5, 5), (7, 0), (7, 7), (1, 0)]


def test_harness_refuses_a_wrong_result(peers_dir: Path) -> None:
    common = _load("common_under_test", peers_dir / "common.py")

    class Wrong:
        def prepare(self, n: int) -> None:
            pass

        def chain(self, start: int, n: int) -> int:
            return start + n - 1  # one operation short

    with pytest.raises(AssertionError):
        common.run_workloads(Wrong(), 3, 1, random.Random(0))


def test_catenary_one_op_chain_commits_per_operation(
    peers_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CATENARY_BENCH_CHAIN", "1op")
    peer_module = _load("peer_catenary_1op_under_test", peers_dir / "peer_catenary.py")
    peer = peer_module.CatenaryPeer(tmp_path)
    try:
        peer.prepare(4)
        assert peer.chain(10, 4) == 14
        assert peer.chain(10, 4) == 14
        segments = peer.node.store._read("SELECT count(DISTINCT segment) FROM executions")[0][0]
    finally:
        peer.close()
    assert segments == 4  # one operation per segment: a next() and a commit each
    assert _counts(tmp_path / "catenary" / "catenary.db") == [(4, 0), (4, 4)]


def test_ratio_table(peers_dir: Path) -> None:
    run = _load("peers_run_under_test", peers_dir / "run.py")
    base = {"chain": 1.0, "fan": 2.0, "chain_cached": 0.5, "fan_cached": 1.0, "cpu": 0.1}
    results = {
        "fsync": {
            "catenary-1op": [
                {"seconds": dict(base)},
                {"seconds": {k: v * 3 for k, v in base.items()}},
                {"seconds": dict(base)},
            ],
            "prefect": [
                {"seconds": {**{k: v * 10 for k, v in base.items()}, "chain_recorded": 40.0}},
                {"seconds": {**{k: v * 15 for k, v in base.items()}, "chain_recorded": 30.0}},
            ],
            "redun": [{"error": "exit 1"}],
        }
    }
    rows = run.table(results, 10)
    assert rows[0] == ["workload", "durability", "catenary-1op", "prefect"]  # no sample, no column
    by_label = {r[0]: r for r in rows[1:]}
    # Medians and min-max over the rounds; ratios per round (10 in round 1, 15/3 = 5 in round 2).
    assert by_label["(a) chain"] == [
        "(a) chain",
        "fsync",
        "100 (100-300) ms/op",
        "1,250 (1,000-1,500) ms/op, x7.5 (5-10)",
    ]
    # A peer that commits before returning uses its plain figure in the "until recorded" row.
    assert by_label["(a) chain, until recorded"][2:] == [
        "100 (100-300) ms/op",
        "3,500 (3,000-4,000) ms/op, x25 (10-40)",
    ]
    assert by_label["(b) fan-out/fan-in"][2] == "167 (167-500) ms/op"  # n + 2 operations
    assert by_label["(d) sha-256 of 64 MiB"][3].endswith("x7.5 (5-10)")
    text = run.render(rows, markdown=True)
    assert text.splitlines()[1] == "|---|---|---|---|"


def test_ratio_table_from_an_earlier_run(
    peers_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _load("peers_run_json_under_test", peers_dir / "run.py")
    saved = tmp_path / "peers.json"
    saved.write_text(
        json.dumps(
            {
                "n": 10,
                "date": "2026-12-03",
                "reps": 1,
                "samples": {
                    "tmpfs": {
                        "catenary-1op": [{"seconds": {"chain": 0.5}}],
                        "hamilton": [{"seconds": {"chain": 2.0}}],
                    }
                },
            }
        )
    )
    assert run.main(["--from-json", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "n = 10, 2026-12-03, 1 round(s)" in out
    assert "200 (200-200) ms/op, x4 (4-4)" in out
    saved.write_text("{}")
    with pytest.raises(SystemExit) as exc:
        run.main(["--from-json", str(saved)])
    assert exc.value.code == 2
    assert "not a file this script wrote" in capsys.readouterr().err


def test_minimal_floor_records_every_execution_and_hits_the_memo(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        et = _load("engine_throughput_under_test", BENCH / "engine_throughput.py")
    finally:
        sys.path.remove(str(BENCH))
    out = et.bench_minimal_floor(tmp_path, 3, 4)  # asserts 12 fresh, then 12 hits
    assert out["minimal_fresh_seconds"] > 0 and out["minimal_hits_seconds"] > 0
    db = sqlite3.connect(str(tmp_path / "minimal.db"))
    try:
        records, blocks = db.execute(
            "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM blocks)"
        ).fetchone()
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()
    assert (records, blocks) == (24, 12)  # a record per execution, hits too; a block per output
    assert tables == {"records", "blocks"}  # nothing of catenary's schema


def test_profile_summary_counts_only_engine_samples(tmp_path: Path) -> None:
    profile = _load("profile_under_test", BENCH / "scaling" / "profile.py")
    raw = "\n".join(
        [
            "<module> (a.py);_phase_fresh (profile.py);Engine.next (catenary/engine/runtime.py);"
            "SQLiteStore.commit_step (catenary/store/sqlite.py) 6",
            "<module> (a.py);_phase_fresh (profile.py);Engine.next (catenary/engine/runtime.py) 2",
            "<module> (a.py);_phase_fresh (profile.py);setup (a.py) 50",  # outside Engine.next
            "<module> (a.py);_phase_hits (profile.py);Engine.next (catenary/engine/runtime.py) 4",
        ]
    )
    file = tmp_path / "raw.txt"
    file.write_text(raw)
    text = profile.summarize(file, 5, {"fresh_seconds": 0.8, "hits_seconds": 0.4, "executions": 1000})
    assert "fresh: 1,000 executions in 0.800 s (800.0 us each); 8 samples inside Engine.next" in text
    assert "    75.0%    600.0  SQLiteStore.commit_step (sqlite.py)" in text
    assert "hits: 1,000 executions in 0.400 s (400.0 us each); 4 samples inside Engine.next" in text


def test_scaling_child_measures_a_small_workflow() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        scaling = _load("scaling_run_under_test", BENCH / "scaling" / "run.py")
        out = scaling.workflow_child(200, with_floor=True)
    finally:
        sys.path.remove(str(BENCH))
    assert (out["ops"], out["segments"], out["steps"]) == (200, 2, 100)
    assert out["fresh_seconds"] > 0 and out["hits_seconds"] > 0 and out["floor_seconds"] > 0
    assert out["rss_peak_mib"] >= out["rss_start_mib"] > 0

#!/usr/bin/env python
"""Run the peer workloads for catenary, redun, Prefect 3 and Hamilton back to back; print the ratios.

    benchmarks/peers/setup.sh                 # once: one venv per peer under benchmarks/peers/.venvs/
    .venv/bin/python benchmarks/peers/run.py  # or: make bench-peers (does both)

Every repetition of every contender is its own process (``peer_<name>.py`` in that peer's
venv, catenary in the project's .venv). A round runs every contender once in every durability
variant, interleaved (catenary, catenary 1-op, redun, Prefect, Hamilton, then the next
variant), and rounds repeat, so the load of a shared machine falls on all of them alike.

Durability variants (``--durability``, all three by default; common.py sets them up):

- ``fsync``: an fsync at every commit (SQLite ``synchronous=FULL``) for catenary, redun and
  Hamilton; Prefect's server always runs WAL with ``synchronous=NORMAL`` (not configurable);
- ``normal``: WAL with ``synchronous=NORMAL`` for all four (no fsync per commit);
- ``tmpfs``: ``fsync``'s settings with every store and temporary file on a tmpfs
  (``--tmpfs``, /dev/shm), where an fsync costs nothing: the engines' CPU cost alone.

Batching: catenary runs the chain as one segment (one transaction for n operations) and, as
"catenary-1op", as n one-operation segments (a transaction per operation, as the peers
commit per task). The fan is one operation per segment in both.

Printed: per workload and variant, each contender's median time per operation with its
min-max over the rounds, and the median of the per-round ratios contender / catenary-1op
(> 1: catenary is faster), with their min-max. ``--json PATH`` also writes every sample.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENVS = HERE / ".venvs"

# name -> (python, script, extra environment)
PEERS: dict[str, tuple[Path, Path, dict[str, str]]] = {
    "catenary": (ROOT / ".venv" / "bin" / "python", HERE / "peer_catenary.py", {}),
    "catenary-1op": (
        ROOT / ".venv" / "bin" / "python",
        HERE / "peer_catenary.py",
        {"CATENARY_BENCH_CHAIN": "1op"},
    ),
    "redun": (VENVS / "redun" / "bin" / "python", HERE / "peer_redun.py", {}),
    "prefect": (VENVS / "prefect" / "bin" / "python", HERE / "peer_prefect.py", {}),
    "hamilton": (VENVS / "hamilton" / "bin" / "python", HERE / "peer_hamilton.py", {}),
}
BASE = "catenary-1op"  # ratios are to it: like the peers, it commits once per operation
DURABILITIES = ("fsync", "normal", "tmpfs")

# (key in a peer's output, label, operations in it as a function of n)
WORKLOADS = [
    ("chain", "(a) chain", lambda n: n),
    ("fan", "(b) fan-out/fan-in", lambda n: n + 2),
    ("chain_cached", "(c) chain, all cached", lambda n: n),
    ("fan_cached", "(c') fan, all cached", lambda n: n + 2),
    ("cpu", "(d) sha-256 of 64 MiB", lambda n: 1),
]


def run_one(name: str, durability: str, n: int, cpu_mib: int, timeout: float, tmpfs: Path) -> dict:
    python, script, extra = PEERS[name]
    if not python.exists():
        return {"peer": name, "error": f"{python} is missing (run benchmarks/peers/setup.sh)"}
    env = {**os.environ, **extra, "PYTHONDONTWRITEBYTECODE": "1"}
    env["PEER_DURABILITY"] = "normal" if durability == "normal" else "fsync"
    if durability == "tmpfs":
        env["TMPDIR"] = str(tmpfs)  # the peer's store, Prefect's home: all under tempfile
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [str(python), str(script), "--n", str(n), "--cpu-mib", str(cpu_mib)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=str(ROOT),
        )
    except subprocess.TimeoutExpired:
        return {"peer": name, "error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        return {"peer": name, "error": f"exit {proc.returncode}:\n{tail}"}
    out = json.loads(lines[-1])
    out["process_seconds"] = time.perf_counter() - started
    return out


def values_of(samples: list[dict], key: str) -> list[float | None]:
    """``key``'s seconds in each round (None where that round failed)."""
    return [s["seconds"].get(key) if "seconds" in s else None for s in samples]


def seconds_key(samples: list[dict], key: str, recorded: bool) -> str:
    """``key + "_recorded"`` where the peer has it (asynchronous recording), else ``key``."""
    if recorded and any(v is not None for v in values_of(samples, key + "_recorded")):
        return key + "_recorded"
    return key


def spread(values: list[float], scale: float = 1.0, digits: str = "ms") -> str:
    """Median (min-max) of ``values`` times ``scale``."""
    median, low, high = (statistics.median(values) * scale, min(values) * scale, max(values) * scale)
    if digits == "ratio":
        return (
            f"x{median:.2g} ({low:.2g}-{high:.2g})"
            if median < 10
            else f"x{median:.0f} ({low:.0f}-{high:.0f})"
        )
    return f"{_ms(median)} ({_ms(low)}-{_ms(high)})"


def table(results: dict[str, dict[str, list[dict]]], n: int) -> list[list[str]]:
    """Rows: a workload and variant per row; per contender the median ms/op (min-max over the
    rounds) and the median of the per-round ratios to :data:`BASE` (min-max).

    A peer that records asynchronously (Prefect) also gets an "until recorded" row; the others
    have committed everything when the call returns, so their figure there is the same one.
    """
    peers = [p for p in PEERS if any("seconds" in s for v in results.values() for s in v.get(p, []))]
    rows = [["workload", "durability"] + peers]
    for durability, by_peer in results.items():
        for key, label, ops in WORKLOADS:
            variants = [(label, False)]
            if any(v is not None for p in peers for v in values_of(by_peer.get(p, []), key + "_recorded")):
                variants.append((label + ", until recorded", True))
            for text, recorded in variants:
                base = values_of(by_peer.get(BASE, []), key)
                row = [text, durability]
                for p in peers:
                    samples = by_peer.get(p, [])
                    got = values_of(samples, seconds_key(samples, key, recorded))
                    seen = [v for v in got if v is not None]
                    if not seen:
                        row.append("-")
                        continue
                    cell = spread(seen, 1000 / ops(n)) + " ms/op"
                    ratios = [v / b for v, b in zip(got, base) if v is not None and b]
                    if p != BASE and ratios:
                        cell += ", " + spread(ratios, digits="ratio")
                    row.append(cell)
                rows.append(row)
    return rows


def _ms(value: float) -> str:
    """Three significant digits, without an exponent above 100."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def render(rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)) for r in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=3, help="rounds (3); medians are reported")
    parser.add_argument("--n", type=int, default=1000, help="operations in the chain and the fan (1000)")
    parser.add_argument("--cpu-mib", type=int, default=64, help="MiB hashed by workload (d) (64)")
    parser.add_argument(
        "--peers", default=",".join(PEERS), help=f"comma-separated subset of {','.join(PEERS)}"
    )
    parser.add_argument(
        "--durability",
        default=",".join(DURABILITIES),
        help=f"comma-separated subset of {','.join(DURABILITIES)} (all)",
    )
    parser.add_argument("--tmpfs", type=Path, default=Path("/dev/shm"), help="a tmpfs mount (/dev/shm)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per peer process (900)")
    parser.add_argument(
        "--budget",
        type=float,
        default=1500,
        help="seconds (1500): no new round starts when the last round's time would take the "
        "run past this; the medians are then over fewer rounds, as printed",
    )
    parser.add_argument("--json", type=Path, help="write every sample to this file")
    parser.add_argument(
        "--from-json", type=Path, help="print the table of an earlier --json file; run nothing"
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        parser.error(f"unknown peer(s) {', '.join(unknown)}; known: {', '.join(PEERS)}")
    if BASE not in peers:
        parser.error(f"--peers must include {BASE}: the ratios are to it")
    durabilities = [d.strip() for d in args.durability.split(",") if d.strip()]
    wrong = [d for d in durabilities if d not in DURABILITIES]
    if wrong:
        parser.error(f"unknown --durability {', '.join(wrong)}; known: {', '.join(DURABILITIES)}")
    if args.reps < 1 or args.n < 1:
        parser.error("--reps and --n must be at least 1")
    if args.from_json:
        try:
            data = json.loads(args.from_json.read_text())
            rows = table(data["samples"], data["n"])
        except (OSError, ValueError, KeyError) as exc:
            parser.error(f"--from-json {args.from_json}: not a file this script wrote ({exc})")
        print(f"Peer workloads, n = {data['n']}, {data['date']}, {data['reps']} round(s)")
        print(render(rows, args.markdown))
        return 0
    tmpfs = args.tmpfs / f"catenary-peers-{os.getpid()}"
    if "tmpfs" in durabilities:
        tmpfs.mkdir(parents=True)

    load_before = os.getloadavg()
    started = time.perf_counter()
    results: dict[str, dict[str, list[dict]]] = {d: {p: [] for p in peers} for d in durabilities}
    done = 0
    for rep in range(args.reps):
        elapsed = time.perf_counter() - started
        if rep and elapsed + elapsed / rep > args.budget:
            print(
                f"time budget: {elapsed:.0f} s spent, another round would pass --budget "
                f"{args.budget:.0f} s; stopping after {rep} round(s)",
                file=sys.stderr,
            )
            break
        for durability in durabilities:
            for peer in peers:
                t = time.perf_counter()
                out = run_one(peer, durability, args.n, args.cpu_mib, args.timeout, tmpfs)
                results[durability][peer].append(out)
                status = "error: " + out["error"] if "error" in out else "ok"
                print(
                    f"[{time.perf_counter() - started:6.0f} s] round {rep + 1}/{args.reps} {durability} "
                    f"{peer}: {time.perf_counter() - t:.1f} s, {status}",
                    file=sys.stderr,
                    flush=True,
                )
        done = rep + 1
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()
    if tmpfs.exists():
        tmpfs.rmdir()

    versions = {
        p: next((s.get("version") for v in results.values() for s in v[p] if "version" in s), None)
        for p in peers
    }
    print(
        f"\nPeer workloads, n = {args.n}, {done} round(s) ({datetime.date.today()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after; {elapsed:.0f} s in all)"
    )
    print("versions: " + ", ".join(f"{p} {v}" for p, v in versions.items()))
    print(
        f"cell: median ms per operation (min-max over the rounds), median of the per-round "
        f"ratios to {BASE} (min-max; > 1: catenary faster)\n"
    )
    print(render(table(results, args.n), args.markdown))
    errors = [(p, d, s["error"]) for d, v in results.items() for p in peers for s in v[p] if "error" in s]
    for peer, durability, error in errors:
        print(f"\n{peer} ({durability}) failed: {error}", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "date": str(datetime.date.today()),
                    "n": args.n,
                    "reps": done,
                    "cpu_mib": args.cpu_mib,
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_before": load_before,
                    "load_after": load_after,
                    "seconds": elapsed,
                    "versions": versions,
                    "samples": results,
                },
                indent=1,
            )
        )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

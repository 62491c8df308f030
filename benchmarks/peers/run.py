#!/usr/bin/env python
"""Run the peer workloads for catenary, redun, Prefect 3 and Hamilton back to back; print the ratios.

    benchmarks/peers/setup.sh                 # once: one venv per peer under benchmarks/peers/.venvs/
    .venv/bin/python benchmarks/peers/run.py  # or: make bench-peers (does both)

Every repetition of every peer is its own process (``peer_<name>.py`` in that peer's venv,
catenary in the project's .venv), and the repetitions are interleaved (catenary, redun,
Prefect, Hamilton, catenary, ...) so the load of a shared machine falls on all of them alike.
The workloads and what each peer records are described in ``common.py`` and each
``peer_<name>.py``; docs/benchmarks.md has the figures and the discussion.

Printed: per workload, each peer's median wall time over the repetitions, the per-operation
time, and the ratio peer / catenary (> 1: catenary is faster). ``--json PATH`` also writes
every sample, for ``benchmarks/scaling/plot.py``.
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
    "catenary-fsync": (
        ROOT / ".venv" / "bin" / "python",
        HERE / "peer_catenary.py",
        {"CATENARY_BENCH_SYNCHRONOUS": "FULL"},
    ),
    "redun": (VENVS / "redun" / "bin" / "python", HERE / "peer_redun.py", {}),
    "prefect": (VENVS / "prefect" / "bin" / "python", HERE / "peer_prefect.py", {}),
    "hamilton": (VENVS / "hamilton" / "bin" / "python", HERE / "peer_hamilton.py", {}),
}

# (key in a peer's output, label, operations in it as a function of n)
WORKLOADS = [
    ("chain", "(a) chain", lambda n: n),
    ("fan", "(b) fan-out/fan-in", lambda n: n + 2),
    ("chain_cached", "(c) chain, all cached", lambda n: n),
    ("fan_cached", "(c') fan, all cached", lambda n: n + 2),
    ("cpu", "(d) sha-256 of 64 MiB", lambda n: 1),
]


def run_one(name: str, n: int, cpu_mib: int, timeout: float) -> dict:
    python, script, extra = PEERS[name]
    if not python.exists():
        return {"peer": name, "error": f"{python} is missing (run benchmarks/peers/setup.sh)"}
    env = {**os.environ, **extra, "PYTHONDONTWRITEBYTECODE": "1"}
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


def median_of(samples: list[dict], key: str) -> float | None:
    values = [s["seconds"][key] for s in samples if "seconds" in s and key in s["seconds"]]
    return statistics.median(values) if values else None


def table(results: dict[str, list[dict]], n: int) -> list[list[str]]:
    """Rows: a workload per row; per peer its median, per-operation time and ratio to catenary.

    A peer that records asynchronously (Prefect) also gets an "until recorded" row; the others
    have committed everything when the call returns, so their figure there is the same one.
    """
    peers = [p for p in results if any("seconds" in s for s in results[p])]
    rows = [["workload"] + peers]
    for key, label, ops in WORKLOADS:
        variants = [(key, label, False)]
        if any(median_of(results[p], key + "_recorded") is not None for p in peers):
            variants.append((key + "_recorded", label + ", until recorded", True))
        for name, text, recorded in variants:

            def seconds(peer: str) -> float | None:
                found = median_of(results.get(peer, []), name) if recorded else None
                return found if found is not None else median_of(results.get(peer, []), key)

            base = seconds("catenary")
            row = [text]
            for p in peers:
                m = seconds(p)
                if m is None:
                    row.append("-")
                    continue
                cell = f"{m:.3f} s, {_ms(m * 1000 / ops(n))} ms/op"
                if p != "catenary" and base:
                    cell += f", x{m / base:.1f}"
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
    parser.add_argument("--reps", type=int, default=3, help="repetitions per peer (3); medians are reported")
    parser.add_argument("--n", type=int, default=1000, help="operations in the chain and the fan (1000)")
    parser.add_argument("--cpu-mib", type=int, default=64, help="MiB hashed by workload (d) (64)")
    parser.add_argument(
        "--peers", default=",".join(PEERS), help=f"comma-separated subset of {','.join(PEERS)}"
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per peer process (900)")
    parser.add_argument(
        "--budget",
        type=float,
        default=1500,
        help="seconds (1500): no new round of repetitions starts when the last round's "
        "time would take the run past this; the medians are then over fewer "
        "repetitions, as printed",
    )
    parser.add_argument("--json", type=Path, help="write every sample and the medians to this file")
    parser.add_argument(
        "--from-json", type=Path, help="print the table of an earlier --json file; run nothing"
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        parser.error(f"unknown peer(s) {', '.join(unknown)}; known: {', '.join(PEERS)}")
    if args.reps < 1 or args.n < 1:
        parser.error("--reps and --n must be at least 1")
    if args.from_json:
        try:
            data = json.loads(args.from_json.read_text())
            rows = table(data["samples"], data["n"])
        except (OSError, ValueError, KeyError) as exc:
            parser.error(f"--from-json {args.from_json}: not a file this script wrote ({exc})")
        print(
            f"Peer workloads, n = {data['n']}, {data['date']}, repetitions: "
            f"{', '.join(f'{p} {len(v)}' for p, v in data['samples'].items())}"
        )
        print(render(rows, args.markdown))
        return 0

    load_before = os.getloadavg()
    started = time.perf_counter()
    results: dict[str, list[dict]] = {p: [] for p in peers}
    for rep in range(args.reps):
        elapsed = time.perf_counter() - started
        if rep and elapsed + elapsed / rep > args.budget:
            print(
                f"time budget: {elapsed:.0f} s spent, another round would pass --budget "
                f"{args.budget:.0f} s; stopping after {rep} repetition(s)",
                file=sys.stderr,
            )
            break
        for peer in peers:
            t = time.perf_counter()
            out = run_one(peer, args.n, args.cpu_mib, args.timeout)
            results[peer].append(out)
            status = "error: " + out["error"] if "error" in out else "ok"
            print(
                f"[{time.perf_counter() - started:6.0f} s] repetition {rep + 1}/{args.reps} {peer}: "
                f"{time.perf_counter() - t:.1f} s, {status}",
                file=sys.stderr,
                flush=True,
            )
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()

    versions = {p: next((s.get("version") for s in results[p] if "version" in s), None) for p in peers}
    done = max(len(v) for v in results.values())
    print(
        f"\nPeer workloads, n = {args.n}, median of {done} ({datetime.date.today()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after; {elapsed:.0f} s in all)"
    )
    print("versions: " + ", ".join(f"{p} {v}" for p, v in versions.items()))
    print("cell: median wall time, time per operation, ratio peer / catenary (> 1: catenary faster)\n")
    print(render(table(results, args.n), args.markdown))
    errors = [(p, s["error"]) for p in peers for s in results[p] if "error" in s]
    for peer, error in errors:
        print(f"\n{peer} failed: {error}", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        medians = {
            p: {
                key: median_of(results[p], key)
                for key in {k for s in results[p] if "seconds" in s for k in s["seconds"]}
            }
            for p in peers
        }
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
                    "medians": medians,
                    "samples": results,
                },
                indent=1,
            )
        )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

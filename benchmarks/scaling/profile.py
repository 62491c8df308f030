#!/usr/bin/env python
"""Profile the engine's hot path with py-spy and print where the time goes, per execution.

    .venv/bin/python benchmarks/scaling/profile.py [--segments 100] [--steps 100] [--top 25]

py-spy (installed in benchmarks/peers/.venvs/tools by benchmarks/peers/setup.sh, not a
dependency of catenary) samples a child process that runs ``engine_throughput``'s workflow
(SEGMENTS x STEPS ``bench/inc`` steps) fresh, then again as all cache hits. Only the samples
inside ``Engine.next`` count, split by phase (fresh / hits). For each phase it prints the
functions with the most samples, inclusive (the function and what it calls) and self (the
function's own code), as a share of the phase and as microseconds per execution (the share
times the phase's wall time over its executions).
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY_SPY = HERE.parent / "peers" / ".venvs" / "tools" / "bin" / "py-spy"


def target(segments: int, steps: int) -> None:
    """The profiled process: a fresh run then a cached run; prints their wall times as JSON."""
    sys.path.insert(0, str(HERE.parent))
    import engine_throughput as et

    from catenary.sdk import Node

    with tempfile.TemporaryDirectory(prefix="catenary-profile-") as tmp:
        node = Node(Path(tmp), registry=et._registry())
        workflow = node.workflows.create(et._manifest(segments, steps))
        fresh_s = _phase("fresh", lambda: et._run(node, workflow.id, segments))
        hits_s = _phase("hits", lambda: et._run(node, workflow.id, segments))
        node.close()
    print(json.dumps({"fresh_seconds": fresh_s, "hits_seconds": hits_s, "executions": segments * steps}))


def _phase(name: str, fn) -> float:
    # The phase is visible in the stacks as this frame's function name.
    runner = {"fresh": _phase_fresh, "hits": _phase_hits}[name]
    started = time.perf_counter()
    runner(fn)
    return time.perf_counter() - started


def _phase_fresh(fn) -> None:
    fn()


def _phase_hits(fn) -> None:
    fn()


def summarize(raw: Path, top: int, timings: dict) -> str:
    """Inclusive and self samples per function inside Engine.next, per phase."""
    phases = {"fresh": "_phase_fresh", "hits": "_phase_hits"}
    lines = []
    for phase, marker in phases.items():
        inclusive: collections.Counter = collections.Counter()
        own: collections.Counter = collections.Counter()
        total = 0
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            # "func (path/to/file.py)" -> "func (file.py)"
            names = [
                f.split(" (")[0] + " (" + f.split(" (")[-1].split("/")[-1] if " (" in f else f for f in frames
            ]
            if not any(f.startswith(marker + " ") for f in frames):
                continue
            try:
                start = next(i for i, f in enumerate(frames) if f.startswith("Engine.next "))
            except StopIteration:
                continue
            n = int(count)
            total += n
            for name in set(names[start:]):
                inclusive[name] += n
            own[names[-1]] += n
        seconds = timings[f"{phase}_seconds"]
        per_exec_us = seconds * 1e6 / timings["executions"]
        lines.append(
            f"\n{phase}: {timings['executions']:,} executions in {seconds:.3f} s "
            f"({per_exec_us:.1f} us each); {total} samples inside Engine.next"
        )
        if not total:
            continue
        lines.append(f"  {'inclusive':>9} {'us/exec':>8}  function")
        for name, n in inclusive.most_common(top):
            lines.append(f"  {100 * n / total:>8.1f}% {per_exec_us * n / total:>8.1f}  {name}")
        lines.append(f"  {'self':>9} {'us/exec':>8}  function")
        for name, n in own.most_common(top):
            lines.append(f"  {100 * n / total:>8.1f}% {per_exec_us * n / total:>8.1f}  {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=100)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rate", type=int, default=1000, help="py-spy samples per second (1000)")
    parser.add_argument("--top", type=int, default=25, help="functions listed per table (25)")
    parser.add_argument("--target", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.target:
        target(args.segments, args.steps)
        return 0
    if not PY_SPY.exists():
        parser.error(f"{PY_SPY} is missing: run benchmarks/peers/setup.sh")
    with tempfile.TemporaryDirectory(prefix="catenary-pyspy-") as tmp:
        raw = Path(tmp) / "profile.txt"
        proc = subprocess.run(
            [
                str(PY_SPY),
                "record",
                "--format",
                "raw",
                "--nolineno",
                "--rate",
                str(args.rate),
                "--output",
                str(raw),
                "--",
                sys.executable,
                __file__,
                "--target",
                "--segments",
                str(args.segments),
                "--steps",
                str(args.steps),
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        timings = json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])
        print(f"py-spy at {args.rate} Hz; {args.segments} segments x {args.steps} steps")
        print(summarize(raw, args.top, timings))
    return 0


if __name__ == "__main__":
    sys.exit(main())

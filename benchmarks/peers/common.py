"""The workloads every peer runs, and the harness that times them (standard library only).

Each peer script (``peer_<name>.py``) runs in that peer's own virtual environment and
defines a class with four methods, all of which must record and persist what the peer
records (its local caching / persistence switched on):

- ``chain(start, n) -> int``: ``x = start; x = inc(x)`` n times, one operation each; ``start + n``.
- ``fan(start, n) -> int``: ``x = start + 1`` (one operation), then n independent operations
  ``add(x, i)`` for ``i < n`` (the fan-out), then one operation summing the n results (the
  fan-in); n + 2 operations, result ``n * (start + 1) + n * (n - 1) / 2``.
- ``cpu(seed, mib) -> str``: one operation that hashes ``mib`` MiB (64; see :func:`cpu_payload`).
- ``prepare(n)``: whatever the peer needs *defined* before a run (modules, workflows,
  drivers); not timed, as a user defines a pipeline once and runs it many times.

:func:`main` runs, in one process (one repetition; ``run.py`` starts one process per peer
and repetition, interleaving the peers so the machine's load spreads over all of them):

1. a warm-up of every workload at n = 10 (imports, connections, lazy caches: not timed);
2. (a) ``chain`` on fresh inputs; (c) the same ``chain`` call again, every result cached;
3. (b) ``fan`` on fresh inputs; (c') the same ``fan`` again, every result cached;
4. (d) ``cpu`` on a fresh seed;

and prints one JSON document: wall seconds per workload. Inputs are made unique per process
(a random base) so nothing is a cache hit that should not be, even where a peer keeps a
store across processes.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CPU_MIB = 64

# How durable every contender's commits are, set by run.py for one process (docs/benchmarks.md,
# "Durability"): "fsync" fsyncs at every commit (SQLite synchronous=FULL: redun's and Hamilton's
# defaults, catenary switched to it), "normal" is WAL with synchronous=NORMAL (no fsync per
# commit: catenary's and Prefect's defaults, redun and Hamilton switched to it). run.py's tmpfs
# variant is "fsync" with every store on a tmpfs (TMPDIR), where an fsync costs nothing.
DURABILITY = os.environ.get("PEER_DURABILITY", "fsync")
if DURABILITY not in ("fsync", "normal"):
    raise SystemExit(f"PEER_DURABILITY={DURABILITY!r}: expected fsync or normal")


def sqlite_pragmas() -> list[str]:
    """The pragmas that give a SQLite connection :data:`DURABILITY`."""
    if DURABILITY == "normal":
        return ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"]
    return ["PRAGMA synchronous=FULL"]


def cpu_payload(seed: int, mib: int = CPU_MIB) -> str:
    """The CPU-heavy operation's body: SHA-256 over ``mib`` MiB of the byte ``seed % 256``.

    The buffer is made inside the operation so that no peer has to persist or fingerprint
    a 64 MiB input; what is timed is the hashing plus each engine's per-operation cost.
    """
    return hashlib.sha256(bytes([seed % 256]) * (mib << 20)).hexdigest()


def expected_fan(start: int, n: int) -> int:
    x = start + 1
    return n * x + n * (n - 1) // 2


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _workload(out: dict[str, Any], name: str, peer: Any, fn: Callable[[], Any]) -> Any:
    """Time ``fn`` as ``out[name]``; with a peer that records asynchronously (``settle``),
    also the time until it has recorded everything, as ``out[name + "_recorded"]``."""
    out[name], result = _timed(fn)
    settle = getattr(peer, "settle", None)
    if settle is not None:
        out[name + "_recorded"] = out[name] + _timed(settle)[0]
    return result


def run_workloads(peer: Any, n: int, cpu_mib: int, rng: random.Random) -> dict[str, Any]:
    """Warm-up, then (a), (c), (b), (c'), (d) on ``peer``; returns seconds per workload."""
    # Warm-up at n = 10 on inputs of its own.
    peer.prepare(10)
    warm = rng.randrange(1 << 40)
    assert peer.chain(warm, 10) == warm + 10
    assert peer.chain(warm, 10) == warm + 10
    assert peer.fan(warm, 10) == expected_fan(warm, 10)
    assert peer.cpu(warm, 1) == cpu_payload(warm, 1)

    if getattr(peer, "settle", None) is not None:
        peer.settle()

    peer.prepare(n)
    out: dict[str, Any] = {}
    start = rng.randrange(1 << 40)
    result = _workload(out, "chain", peer, lambda: peer.chain(start, n))
    assert result == start + n, ("chain", result, start + n)
    result = _workload(out, "chain_cached", peer, lambda: peer.chain(start, n))
    assert result == start + n, ("chain cached", result, start + n)

    start = rng.randrange(1 << 40)
    result = _workload(out, "fan", peer, lambda: peer.fan(start, n))
    assert result == expected_fan(start, n), ("fan", result)
    result = _workload(out, "fan_cached", peer, lambda: peer.fan(start, n))
    assert result == expected_fan(start, n), ("fan cached", result)

    seed = rng.randrange(1 << 40)
    if seed % 256 == warm % 256:
        seed += 1  # a different buffer from the warm-up's
    result = _workload(out, "cpu", peer, lambda: peer.cpu(seed, cpu_mib))
    assert result == cpu_payload(seed, cpu_mib), "cpu"
    return out


def maxrss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def main(name: str, make_peer: Callable[[Path], Any], version: str) -> None:
    """Command line of every peer script: ``--n``, ``--cpu-mib``, ``--workdir``; prints JSON."""
    parser = argparse.ArgumentParser(description=f"{name}: one repetition of the peer workloads")
    parser.add_argument("--n", type=int, default=1000, help="operations in the chain and the fan (1000)")
    parser.add_argument("--cpu-mib", type=int, default=CPU_MIB, help="MiB hashed by the CPU workload (64)")
    parser.add_argument("--workdir", type=Path, help="where the peer keeps its store (default: a temp dir)")
    args = parser.parse_args()
    if args.n < 1 or args.cpu_mib < 1:
        parser.error("--n and --cpu-mib must be at least 1")
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    with tempfile.TemporaryDirectory(prefix=f"peer-{name}-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        peer = make_peer(workdir)
        try:
            seconds = run_workloads(peer, args.n, args.cpu_mib, rng)
        finally:
            close = getattr(peer, "close", None)
            if close:
                close()
    print(
        json.dumps(
            {
                "peer": name,
                "version": version,
                "n": args.n,
                "cpu_mib": args.cpu_mib,
                "seconds": seconds,
                "durability": DURABILITY,
                "tmpdir": tempfile.gettempdir(),
                "maxrss_mib": maxrss_mib(),
            }
        )
    )

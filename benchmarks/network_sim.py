#!/usr/bin/env python
"""A network of N catenary nodes on loopback: validators, a quorum, liars and outages.

Not a test: run it directly.

    .venv/bin/python benchmarks/network_sim.py [--nodes 8] [--dishonest 0.25] [--offline 0.25]
        [--runs 20] [--need 3] [--json]

Every node is a data dir of its own (its own SQLite database and key) and an honest node
is also a ``catenary serve --validate`` process on a loopback port, which re-executes what
arrives from the others and signs the outcome. Every node's policy is the same quorum:
``need`` of all N keys vouch for one output, the executor's attestation included, and
memoization reuses only accepted results.

- Dishonest nodes (the first ``--dishonest`` share) run a forged ``std/hash`` (same version
  id, other bytes), serve no validator, and collude: for every execution they receive they
  sign a validator attestation when a liar executed it and a dissent (for a forged output)
  when an honest node did.
- Each round, ``--offline`` of the honest nodes are down (their serve process stopped; they
  receive nothing) and come back the round after, to catch up from what the others push.
- The workload: ``--runs`` runs of a 3-step workflow (utf8-encode, hash, hex) on random
  inputs, each run on a random node, a few per round. After each round every online node
  pushes what it holds that a peer has not seen (new executions or new attestations).

Records move as CAR bundles (``export`` on one side, ``import --no-reexecute`` on the other,
what peer sync will do): ``Transport`` is the seam to swap for peer sync once it exists.

It prints the time to quorum (from a run's end to its last execution being accepted on
every honest node, median and max, in seconds), the bundle bytes moved per execution, and
whether any honest node ever accepted a wrong output (one that differs from the honest
computation of its key).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catenary import Node  # noqa: E402
from catenary.cid import CID, cid_of, decode  # noqa: E402
from catenary.model import Execution  # noqa: E402
from catenary.model.enums import Acceptance  # noqa: E402
from catenary.model.filter import ExecutionFilter  # noqa: E402
from catenary.operations import Operation  # noqa: E402
from catenary.operations.registry import default_registry  # noqa: E402
from catenary.trust import attestation  # noqa: E402

HONEST = default_registry()

WORKFLOW = {
    "data": {
        "name": "network-sim",
        "creators": ["benchmarks"],
        "description": "",
        "groups": [],
        "segments": [
            {
                "inputs": [-1],
                "sequence": [
                    {"op": "std/utf8-encode", "config": {}},
                    {"op": "std/hash", "config": {}},
                    {"op": "std/hex", "config": {}},
                ],
            }
        ],
    }
}


@dataclass
class Peer:
    name: str
    node: Node
    honest: bool
    process: subprocess.Popen[str] | None = None
    online: bool = True
    # what this node already holds from each source: final execution -> attestation count
    seen: dict[tuple[str, CID], int] = field(default_factory=dict)


class Transport:
    """Moves an execution's records from one node to another. Today: a CAR bundle, exported
    and imported without re-execution (``import --no-reexecute``); peer sync replaces it."""

    def __init__(self) -> None:
        self.bytes = 0

    def push(self, src: Peer, dst: Peer, final: CID) -> None:
        buffer = io.BytesIO()
        src.node.trust.export(final, buffer)
        data = buffer.getvalue()
        self.bytes += len(data)
        report = dst.node.trust.verify_bundle(data, reexecute=False)
        dst.node.trust.import_verified(report, deferred=True, allow_shadow=True)


def start_server(peer: Peer, data_dir: Path) -> None:
    env = {**os.environ, "CATENARY_HOME": str(data_dir), "PYTHONPATH": str(ROOT)}
    peer.process = subprocess.Popen(
        [sys.executable, "-m", "catenary", "serve", "--listen", "127.0.0.1:0", "--validate"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert peer.process.stdout is not None
    line = peer.process.stdout.readline()  # "listening on 127.0.0.1:PORT"
    if not line.startswith("listening on"):
        raise SystemExit(f"node {peer.name} did not start: {line!r}")


def stop_server(peer: Peer) -> None:
    if peer.process is not None:
        peer.process.terminate()
        peer.process.wait(timeout=30)
        peer.process = None


def forge(node: Node) -> None:
    honest = node.registry.by_name("std/hash")
    assert honest is not None
    node.registry.add(
        Operation(honest.manifest, honest.version, lambda b: honest.func(b)[::-1], honest.source)
    )


def collude(liar: Peer, liars: set[str]) -> None:
    """A liar vouches for liars' outputs and dissents, with a forged output, from honest ones."""
    rows = []
    for e in liar.node.executions.iterate(ExecutionFilter()):
        if e.output is None or e.executor == liar.node.id or e.cached_from is not None:
            continue
        if any(a.signer == liar.node.id for a in liar.node.store.list_attestations(e.hash)):
            continue
        if e.executor in liars:
            rows.append(attestation.sign(liar.node.identity, e.hash, e.key, e.output, attestation.VALIDATOR))
        else:
            fake = CID(bytes(e.output.cid_bytes[:-1]) + bytes([e.output.cid_bytes[-1] ^ 1]))
            rows.append(attestation.sign(liar.node.identity, e.hash, e.key, fake, attestation.DISSENT))
    if rows:
        liar.node.store.put_attestations(rows, time.time_ns())


def honest_output(node: Node, e: Execution) -> CID:
    """What the honest code computes for ``e``'s key (the simulation's ground truth)."""
    op = HONEST.get(e.operation)
    assert op is not None, f"no honest implementation of {e.operation}"
    inputs = [decode(node.store.get_block(cid) or b"") for cid in e.inputs]
    return cid_of(op.func(*inputs, **dict(e.config)))


def attestation_count(node: Node, final: CID) -> int:
    found = node.store.ancestry(final)
    if found is None:
        return -1
    return sum(len(node.store.list_attestations(e.hash)) for e in found[0].executions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=8)
    parser.add_argument("--dishonest", type=float, default=0.25)
    parser.add_argument("--offline", type=float, default=0.25)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--need", type=int, default=0, help="default: a majority of the nodes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the nodes' data dirs (printed)")
    args = parser.parse_args()
    if not 2 <= args.nodes <= 16:
        raise SystemExit("--nodes: from 2 to 16 on this machine")
    rng = random.Random(args.seed)
    need = args.need or args.nodes // 2 + 1
    base = Path(tempfile.mkdtemp(prefix="catenary-net-"))
    liars = int(args.nodes * args.dishonest)
    from catenary.trust.identity import Identity

    for i in range(args.nodes):
        (base / f"n{i}").mkdir()
    ids = [Identity.load_or_create(base / f"n{i}").id for i in range(args.nodes)]
    keys = ", ".join(f'"{k}"' for k in ids)
    peers = []
    for i in range(args.nodes):
        (base / f"n{i}" / "policy.toml").write_text(
            f'[[quorum]]\nkeys = [{keys}]\nneed = {need}\n\n[memo]\nreuse = "accepted"\n'
        )
        peer = Peer(f"n{i}", Node(base / f"n{i}", plugins=False), honest=i >= liars)
        if not peer.honest:
            forge(peer.node)
        peers.append(peer)
    liar_ids = {p.node.id for p in peers if not p.honest}
    honest = [p for p in peers if p.honest]
    transport = Transport()
    started = time.perf_counter()
    for p in honest:
        start_server(p, base / p.name)
    wf = None
    for p in peers:
        wf = p.node.workflows.create(json.dumps(WORKFLOW)).id
    assert wf is not None
    finals: dict[CID, tuple[Peer, float]] = {}  # final execution -> (executor, when it ended)
    accepted_at: dict[CID, float] = {}
    truth: dict[CID, CID] = {}  # key -> what the honest code computes
    wrong_accepted = []
    executions = 0
    rounds = 0
    per_round = max(1, args.runs // 5)
    done_runs = 0
    try:
        while done_runs < args.runs or len(accepted_at) < len(finals):
            rounds += 1
            if rounds > args.runs + 40:
                break  # some runs never reach the quorum (too many liars or too few validators)
            down = set(rng.sample(range(len(honest)), int(len(honest) * args.offline)))
            for i, p in enumerate(honest):
                if i in down and p.online:
                    stop_server(p)
                    p.online = False
                elif i not in down and not p.online:
                    start_server(p, base / p.name)
                    p.online = True
            for _ in range(min(per_round, args.runs - done_runs)):
                executor = rng.choice([p for p in peers if p.online])
                text = f"input {rng.randrange(args.runs // 2 + 1)}"  # repeats: memo hits too
                state, result = executor.node.runs.run(wf, {0: [text]})
                finals.setdefault(result.final, (executor, time.perf_counter()))
                executions += 3
                done_runs += 1
            online = [p for p in peers if p.online]
            for src in online:
                if not src.honest:
                    collude(src, liar_ids)
                for final in list(finals):
                    count = attestation_count(src.node, final)
                    if count < 0:
                        continue
                    for dst in online:
                        if dst is not src and dst.seen.get((src.name, final), -1) < count:
                            transport.push(src, dst, final)
                            dst.seen[(src.name, final)] = count
            time.sleep(1.0)  # the served validators follow Updates (polled every 0.25 s)
            for final, (_, ended) in finals.items():
                if final in accepted_at:
                    continue
                if all(
                    p.node.acceptance.get(final).status is Acceptance.ACCEPTED
                    for p in honest
                    if p.node.store.get_execution(final)
                ):
                    if all(p.node.store.get_execution(final) for p in honest):
                        accepted_at[final] = time.perf_counter() - ended
            for p in honest:
                for e in p.node.executions.iterate(ExecutionFilter(acceptance=Acceptance.ACCEPTED)):
                    if e.key not in truth:
                        truth[e.key] = honest_output(p.node, e)
                    if e.output != truth[e.key]:
                        wrong_accepted.append((p.name, str(e.hash)))
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not orphan servers
        for p in honest:
            stop_server(p)
        for p in peers:
            p.node.close()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    elapsed = time.perf_counter() - started
    times = sorted(accepted_at.values())
    figures = {
        "nodes": args.nodes,
        "dishonest": liars,
        "offline_share": args.offline,
        "need": need,
        "runs": args.runs,
        "executions": executions,
        "rounds": rounds,
        "accepted_runs": len(accepted_at),
        "time_to_quorum_s": {
            "median": round(statistics.median(times), 2) if times else None,
            "max": round(times[-1], 2) if times else None,
        },
        "bytes_per_execution": round(transport.bytes / max(executions, 1)),
        "wrong_result_accepted": bool(wrong_accepted),
        "wrong": wrong_accepted[:5],
        "seconds": round(elapsed, 1),
        "data": str(base) if args.keep else None,
    }
    if args.json:
        print(json.dumps(figures))
        return
    for name, value in figures.items():
        print(f"{name:24} {value}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Draw the benchmark figures as PNG from the JSON the suites write (needs matplotlib).

    benchmarks/peers/.venvs/tools/bin/python benchmarks/scaling/plot.py [--dir docs/benchmarks]

Reads ``scaling.json`` (benchmarks/scaling/run.py) and ``peers.json`` (benchmarks/peers/run.py)
from ``--dir`` when they exist and writes, beside them:

- ``peers.png``: time per operation for each workload and peer (log scale);
- ``scaling-workflow.png``: executions/s fresh, cache hits/s and the raw floor against workflow
  size, and peak RSS against workflow size, with the issue-6 targets drawn in;
- ``scaling-db.png``: List / Get p50 against the number of executions in the DB;
- ``scaling-trace.png``: trace p50 against chain depth.

matplotlib lives in benchmarks/peers/.venvs/tools (benchmarks/peers/setup.sh), not in catenary.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

PLAIN = FuncFormatter(lambda value, _: f"{value:,.0f}" if value >= 1 else f"{value:g}")

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = [
    ("chain", "(a) chain"),
    ("fan", "(b) fan-out/in"),
    ("chain_cached", "(c) chain cached"),
    ("fan_cached", "(c') fan cached"),
    ("cpu", "(d) sha-256 64 MiB"),
]


def _subtitle(data: dict) -> str:
    return f"{data['date']}, {data['cpus']} cores, Python {data['python']}"


def _medians(by_peer: dict[str, list[dict]]) -> dict[str, dict[str, float]]:
    """Per peer, the median seconds of each workload over its rounds."""
    out: dict[str, dict[str, float]] = {}
    for peer, samples in by_peer.items():
        keys = {k for s in samples if "seconds" in s for k in s["seconds"]}
        out[peer] = {
            k: statistics.median([s["seconds"][k] for s in samples if k in s.get("seconds", {})])
            for k in keys
        }
    return out


def plot_peers(data: dict, out: Path) -> None:
    n = data["n"]
    ops = {"chain": n, "fan": n + 2, "chain_cached": n, "fan_cached": n + 2, "cpu": 1}
    medians: dict[str, dict] = {}
    variant = ""
    if "medians" not in data:  # run.py's samples by durability: plot the fsync variant
        variant = "fsync" if "fsync" in data["samples"] else next(iter(data["samples"]))
        data = {**data, "medians": _medians(data["samples"][variant])}
        variant = f", {variant}"
    for peer, m in data["medians"].items():
        if not m:
            continue
        medians[peer] = m
        # A peer that records after returning (Prefect) gets a second bar beside it: until recorded.
        if any(k.endswith("_recorded") for k in m):
            medians[f"{peer}, until recorded"] = {k: m.get(k + "_recorded") for k, _ in WORKLOADS}
    peers = list(medians)
    fig, ax = plt.subplots(figsize=(11, 5))
    width = 0.8 / max(1, len(peers))
    for i, peer in enumerate(peers):
        values = [(medians[peer].get(k) or float("nan")) * 1000 / ops[k] for k, _ in WORKLOADS]
        bars = ax.bar([w + i * width for w in range(len(WORKLOADS))], values, width, label=peer)
        for bar, value in zip(bars, values):
            if not math.isnan(value):  # NaN: that peer has no figure for this workload
                text = f"{value:,.0f}" if value >= 10 else f"{value:.2g}"
                ax.annotate(
                    text,
                    (bar.get_x() + bar.get_width() / 2, value),
                    ha="center",
                    va="bottom",
                    fontsize=6,
                    rotation=90,
                    xytext=(0, 2),
                    textcoords="offset points",
                )
    ax.set_xticks([w + width * (len(peers) - 1) / 2 for w in range(len(WORKLOADS))])
    ax.set_xticklabels([label for _, label in WORKLOADS])
    ax.set_yscale("log")
    ax.set_ylabel("ms per operation (median wall time / operations)")
    ax.set_title(f"Peer workloads{variant}, n = {n}, median of {data['reps']} ({_subtitle(data)})")
    low, high = ax.get_ylim()
    ax.set_ylim(low, high * 30)  # room for the legend above the bars
    ax.legend(fontsize=7, ncol=3, loc="upper left")
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "peers.png", dpi=110)
    plt.close(fig)


def plot_workflow(data: dict, out: Path) -> None:
    rows = data["workflow"]
    ops = [r["ops"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    left.plot(ops, [r["fresh_per_s"] for r in rows], "o-", label="fresh run (recorded, committed)")
    left.plot(ops, [r["hits_per_s"] for r in rows], "s-", label="cache hits")
    left.plot(ops, [r["floor_per_s"] for r in rows], "^--", label="floor: raw rows + 2 hashes")
    signed = any(s.get("floor_sign_seconds") for r in rows for s in r.get("samples", []))
    left.plot(
        ops,
        [r["floor_all_per_s"] for r in rows],
        "v:",
        label="floor: every row written + 2 hashes" + (" + ed25519 signature" if signed else ""),
    )
    left.axhline(5000, color="grey", lw=0.8, ls="--")
    left.annotate("target 5,000/s", (ops[0], 5000), fontsize=7, va="bottom")
    left.axhline(20000, color="grey", lw=0.8, ls=":")
    left.annotate("target hits 20,000/s", (ops[0], 20000), fontsize=7, va="bottom")
    left.set_xscale("log")
    left.set_yscale("log")
    left.yaxis.set_major_formatter(PLAIN)
    left.yaxis.set_minor_formatter(PLAIN)
    left.tick_params(axis="y", which="minor", labelsize=7)
    left.set_xlabel("operations in the workflow (segments of 100 steps)")
    left.set_ylabel("executions / s (median)")
    left.set_title("Throughput against workflow size")
    left.legend(fontsize=7)
    left.grid(which="both", alpha=0.3)
    right.plot(ops, [r["rss_peak_mib"] for r in rows], "o-", label="peak RSS of the process")
    right.plot(ops, [r["rss_ready_mib"] for r in rows], "s--", label="RSS before the run (workflow loaded)")
    right.axhline(500, color="grey", lw=0.8, ls="--")
    right.annotate("target 500 MiB", (ops[0], 500), fontsize=7, va="bottom")
    right.set_xscale("log")
    right.set_xlabel("operations in the workflow")
    right.set_ylabel("MiB")
    right.set_ylim(0, max(550, max(r["rss_peak_mib"] for r in rows) * 1.1))
    right.set_title("Peak memory against workflow size")
    right.legend(fontsize=7)
    right.grid(alpha=0.3)
    fig.suptitle(_subtitle(data), fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "scaling-workflow.png", dpi=110)
    plt.close(fig)


def plot_db(data: dict, out: Path) -> None:
    rows = data["db"]
    sizes = [r["executions"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    series = [
        ("list_first", "sdk List, first page (status filter)", "o-"),
        ("list_middle", "sdk List, page halfway down", "s-"),
        ("list_run", "sdk List, one run's executions", "d-"),
        ("get", "sdk Get", "^-"),
        ("grpc_list_first", "gRPC List, first page", "o--"),
        ("grpc_get", "gRPC Get", "^--"),
    ]
    for key, label, style in series:
        if key in rows[0]:
            ax.plot(sizes, [r[key]["p50"] for r in rows], style, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("executions in the DB")
    ax.yaxis.set_major_formatter(PLAIN)
    ax.set_ylabel("p50 latency, ms")
    ax.set_title(f"List / Get against DB size ({_subtitle(data)})", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "scaling-db.png", dpi=110)
    plt.close(fig)


def plot_trace(data: dict, out: Path) -> None:
    rows = data["trace"]
    depths = [r["depth"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(depths, [r["p50_ms"] for r in rows], "o-", label="node.executions.trace, p50")
    first = rows[0]
    ax.plot(
        depths,
        [first["p50_ms"] * d / first["depth"] for d in depths],
        ":",
        color="grey",
        label="linear from the first point",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("chain depth (executions back to the event)")
    ax.yaxis.set_major_formatter(PLAIN)
    ax.set_ylabel("ms")
    ax.set_title(f"Trace latency against depth ({_subtitle(data)})", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "scaling-trace.png", dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "docs" / "benchmarks")
    args = parser.parse_args()
    written = []
    peers = args.dir / "peers.json"
    if peers.exists():
        plot_peers(json.loads(peers.read_text()), args.dir)
        written.append("peers.png")
    scaling = args.dir / "scaling.json"
    if scaling.exists():
        data = json.loads(scaling.read_text())
        for key, fn, name in (
            ("workflow", plot_workflow, "scaling-workflow.png"),
            ("db", plot_db, "scaling-db.png"),
            ("trace", plot_trace, "scaling-trace.png"),
        ):
            if data.get(key):
                fn(data, args.dir)
                written.append(name)
    print(f"wrote {', '.join(written) or 'nothing (no JSON found)'} in {args.dir}")


if __name__ == "__main__":
    main()

"""CLI start-up: `catenary --help` and `catenary op list` against `python -c pass` (issue 12).

    python benchmarks/cli_startup.py [--runs 15] [--json FILE]

Each command runs as a fresh process, the three interleaved so that load on a shared machine
hits them alike; the figure is the median wall time over the runs, and the start-up cost is that
minus the median of `python -c pass` on the same interpreter. Target: within 150 ms. The CPU
time (user + system) of each process is printed beside it: on a loaded machine it moves less
than the wall time does.
`op list` runs on a data dir created beforehand (creating it is not start-up). Bytecode is
written before timing (as an installed package has it), whatever PYTHONDONTWRITEBYTECODE says.

The load average before and after the runs is printed too: the wall times mean little without it.

Then one `-X importtime` run of each command says where the time goes: the modules imported,
grouped by top-level package, by their own (self) time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

TARGET_MS = 150.0
ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "catenary --help": ["-m", "catenary", "--help"],
    "catenary op list": ["-m", "catenary", "op", "list"],
}


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["CATENARY_HOME"] = str(data_dir)
    return env


def _wall(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one process, in ms."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=Path(env["CATENARY_HOME"]).parent,
    )  # not a checkout: PYTHONPATH picks the tree
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def import_profile(args: list[str], env: dict[str, str]) -> tuple[float, dict[str, float]]:
    """Total import time (ms) of a run and the self time per top-level package, largest first."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        env=env,
        check=True,
        cwd=Path(env["CATENARY_HOME"]).parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    by_package: dict[str, float] = defaultdict(float)
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line.removeprefix("import time:").split("|")
        by_package[name.strip().split(".")[0]] += int(self_us) / 1000
    ordered = dict(sorted(by_package.items(), key=lambda kv: -kv[1]))
    return sum(ordered.values()), ordered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(Path(tmp) / "data")
        for args in COMMANDS.values():  # writes bytecode, creates the data dir
            _wall(args, env)
        times: dict[str, list[float]] = {name: [] for name in COMMANDS}
        cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for _ in range(options.runs):
            for name, args in COMMANDS.items():
                wall, used = _wall(args, env)
                times[name].append(wall)
                cpu[name].append(used)
        profiles = {name: import_profile(args, env) for name, args in COMMANDS.items()}
    load = (load_before, os.getloadavg()[0])
    print(f"load average (1 min) {load[0]:.2f} before, {load[1]:.2f} after; {os.cpu_count()} CPUs")
    base = statistics.median(times["python -c pass"])
    base_cpu = statistics.median(cpu["python -c pass"])
    figures = {}
    print(
        f"{'command':18} {'wall ms':>8} {'min ms':>7} {'over pass':>10} {'cpu ms':>7} "
        f"{'cpu over':>9} {'imports ms':>11}  target (wall over pass <= {TARGET_MS:.0f} ms)"
    )
    for name, samples in times.items():
        median, over = statistics.median(samples), statistics.median(samples) - base
        used = statistics.median(cpu[name])
        total, packages = profiles[name]
        verdict = "" if name == "python -c pass" else ("met" if over <= TARGET_MS else "missed")
        figures[name] = {
            "median_ms": round(median, 1),
            "min_ms": round(min(samples), 1),
            "over_pass_ms": round(over, 1),
            "cpu_ms": round(used, 1),
            "cpu_over_pass_ms": round(used - base_cpu, 1),
            "import_ms": round(total, 1),
            "imports_by_package_ms": {k: round(v, 1) for k, v in list(packages.items())[:8]},
        }
        print(
            f"{name:18} {median:8.1f} {min(samples):7.1f} {over:10.1f} {used:7.1f} "
            f"{used - base_cpu:9.1f} {total:11.1f}  {verdict}"
        )
    for name in list(COMMANDS)[1:]:
        top = ", ".join(f"{k} {v:.0f}" for k, v in list(profiles[name][1].items())[:8])
        print(f"  {name} imports (self ms by package): {top}")
    if options.json:
        options.json.write_text(
            json.dumps(
                {
                    "runs": options.runs,
                    "target_ms": TARGET_MS,
                    "python": sys.version.split()[0],
                    "load_average": [round(x, 2) for x in load],
                    "commands": figures,
                },
                indent=1,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()

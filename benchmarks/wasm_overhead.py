#!/usr/bin/env python
"""Per-call overhead of a trivial WASM operation against the same operation in Python.

Not a test: run it directly.

    .venv/bin/python benchmarks/wasm_overhead.py [--calls 20000] [--steps 100] [--json]

Both operations return their input unchanged (``any -> any``); the WASM one is a module of
catenary-wasm-abi/1 that hands back the input's (ptr, len).

(a) the function call, as the engine makes it (``op.func(value)``), on a small value
    (a 5-byte string) and on 64 KiB of bytes. For WASM this is: encode the input and the
    config to DAG-CBOR, a fresh store and instance (fuel and memory limits set), one
    ``catenary_alloc``, copy in, ``catenary_run``, copy out, decode and re-encode the output.
    The overhead is the WASM time minus the Python time, per call.
(b) the same inside the engine: a one-segment workflow of STEPS steps of the operation, run
    with ``fresh=True`` (every step executes, is hashed, recorded and committed); per step.
The module is compiled before timing (it is compiled once per process and cached by CID).
"""

from __future__ import annotations

import argparse
import json
from importlib import metadata
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catenary.operations import operation  # noqa: E402
from catenary.operations.registry import default_registry  # noqa: E402
from catenary.operations.wasm import from_module, wasm_bytes  # noqa: E402
from catenary.sdk import Node  # noqa: E402

ECHO_WAT = r"""(module
  (@custom "catenary.manifest" "{\"name\": \"bench/echo-wasm\", \"description\": \"the input\", \"inputs\": [\"any\"], \"output\": \"any\", \"config\": {}, \"groups\": [\"bench\"]}")
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "catenary_abi_1"))
  (func (export "catenary_alloc") (param $size i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (global.get $heap))
    (local.set $end (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
      (then (drop (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (i32.shl (memory.size) (i32.const 16)))
                                                   (i32.const 65535)) (i32.const 16))))))
    (global.set $heap (local.get $end))
    (local.get $p))
  (func (export "catenary_run") (param $args i32) (param $nargs i32) (param $config i32)
                                (param $config_len i32) (param $ret i32) (result i32)
    (i32.store (local.get $ret) (i32.load (local.get $args)))
    (i32.store offset=4 (local.get $ret) (i32.load offset=4 (local.get $args)))
    (i32.const 0)))
"""


@operation("bench/echo-python", inputs=["any"], output="any", description="the input", groups=["bench"])
def echo(value: Any) -> Any:
    return value


def best_of(measures: dict[str, Callable[[], float]], repeats: int = 7) -> dict[str, float]:
    """Each measure's best of ``repeats``, the measures interleaved so that a burst of load on
    the machine does not fall on one of them only."""
    best = {name: float("inf") for name in measures}
    for _ in range(repeats):
        for name, measure in measures.items():
            best[name] = min(best[name], measure())
    return best


def per_call(func: Callable[[Any], Any], value: Any, calls: int) -> Callable[[], float]:
    """A measure: mean seconds per call over ``calls`` calls."""
    def measure() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            func(value)
        return (time.perf_counter() - start) / calls
    return measure


def engine_per_step(node: Node, name: str, steps: int, value: Any) -> Callable[[], float]:
    """A measure: seconds per step of a fresh run of a one-segment workflow of ``steps`` steps."""
    wf = node.workflows.create({"data": {
        "name": f"bench {name}", "creators": ["bench"], "description": "", "groups": [],
        "segments": [{"inputs": [-1], "sequence": [{"op": name, "config": {}}] * steps}]}})

    def measure() -> float:
        start = time.perf_counter()
        node.runs.run(wf.id, {0: [value]}, fresh=True)
        return (time.perf_counter() - start) / steps
    return measure


def _row(best: dict[str, float]) -> dict[str, float]:
    return {"python_ms": best["python"] * 1e3, "wasm_ms": best["wasm"] * 1e3,
            "overhead_ms": (best["wasm"] - best["python"]) * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    wasm = from_module(wasm_bytes(ECHO_WAT.encode()))
    small, large = "hello", bytes(range(256)) * 256
    for value in (small, large):
        assert wasm.func(value) == echo.func(value) == value

    results: dict[str, Any] = {
        "python": platform.python_version(), "wasmtime": metadata.version("wasmtime"),
        "machine": platform.machine(), "calls": args.calls, "steps": args.steps,
        "fuel_small": None,
    }
    for label, value in (("small", small), ("64KiB", large)):
        calls = args.calls if label == "small" else max(args.calls // 10, 100)
        best = best_of({"python": per_call(echo.func, value, calls), "wasm": per_call(wasm.func, value, calls)})
        results[f"call_{label}"] = _row(best)
    wasm.func(small)
    results["fuel_small"] = wasm.last_fuel

    registry = default_registry()
    registry.add(echo)
    registry.add(wasm)
    with tempfile.TemporaryDirectory() as tmp, Node(Path(tmp), registry=registry) as node:
        best = best_of({"python": engine_per_step(node, "bench/echo-python", args.steps, small),
                        "wasm": engine_per_step(node, "bench/echo-wasm", args.steps, small)})
    results["engine_step"] = _row(best)

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"Python {results['python']}, wasmtime {results['wasmtime']}, {results['machine']}; "
          f"best of 7, interleaved; fuel per small call: {results['fuel_small']}")
    print(f"{'':28} {'python ms':>10} {'wasm ms':>10} {'overhead ms':>12}")
    for key, label in (("call_small", "op.func, 5-byte string"), ("call_64KiB", "op.func, 64 KiB bytes"),
                       ("engine_step", f"engine step ({args.steps}/segment)")):
        row = results[key]
        print(f"{label:28} {row['python_ms']:10.4f} {row['wasm_ms']:10.4f} {row['overhead_ms']:12.4f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Apache Hamilton's side of the peer workloads (run with benchmarks/peers/.venvs/hamilton).

Persistence: ``driver.Builder().with_modules(...).with_cache(path)``, Hamilton's caching with
its default stores: a SQLite metadata store (per node run: cache key = node name + code
version + data versions of its inputs -> data version of the result, with run ids) and a
file result store (each result pickled to a file named by its data version). A cache hit
looks the cache key up in the metadata store and loads the pickled result. The metadata store
gets the durability of the run (common.py): SQLite's defaults (rollback journal, fsync per
commit) or WAL with ``synchronous=NORMAL``. The result files are written without an fsync
in every variant (Hamilton does not fsync them).

Hamilton builds its DAG from the functions of a module, one node per function, named by the
function and wired by parameter names. The workloads are generated as real module files
(Hamilton hashes each function's source for the code version, so they must be importable
from a file), and each driver is built in ``prepare`` (definition, not timed):

- chain: ``s1(s0) = s0 + 1`` ... ``sN(sN-1)``, ``s0`` the input; execute ``sN``;
- fan: ``x(start) = start + 1``, ``w_i(x) = x + i`` for ``i < n``, ``total(w_0, ..., w_n-1)``;
  execute ``total`` (default executor: one node after another);
- cpu: ``digest(seed, mib)``.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hamilton  # noqa: E402
from common import main, sqlite_pragmas  # noqa: E402
from hamilton import driver  # noqa: E402


def chain_source(n: int) -> str:
    return "".join(f"def s{i}(s{i - 1}: int) -> int:\n    return s{i - 1} + 1\n\n\n" for i in range(1, n + 1))


def fan_source(n: int) -> str:
    text = "def x(start: int) -> int:\n    return start + 1\n\n\n"
    text += "".join(f"def w_{i}(x: int) -> int:\n    return x + {i}\n\n\n" for i in range(n))
    params = ", ".join(f"w_{i}: int" for i in range(n))
    text += f"def total({params}) -> int:\n    return sum([{', '.join(f'w_{i}' for i in range(n))}])\n"
    return text


CPU_SOURCE = """from common import cpu_payload


def digest(seed: int, mib: int) -> str:
    return cpu_payload(seed, mib)
"""


class HamiltonPeer:
    def __init__(self, root: Path) -> None:
        # Hamilton's default executor walks the DAG depth-first by recursion: a chain 1,000
        # nodes deep needs more than Python's default 1,000 frames.
        sys.setrecursionlimit(100_000)
        logging.getLogger("hamilton").setLevel(logging.WARNING)
        self.root = root
        self.cache = root / "hamilton_cache"
        self.modules = root / "modules"
        self.modules.mkdir()
        self.chains: dict[int, Any] = {}
        self.fans: dict[int, Any] = {}
        self.cpu_driver = self._driver(self._module("peer_cpu", CPU_SOURCE))

    def _module(self, name: str, source: str) -> ModuleType:
        path = self.modules / f"{name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    def _driver(self, module: ModuleType) -> Any:
        built = driver.Builder().with_modules(module).with_cache(path=str(self.cache)).build()
        # The metadata store's connection (one per thread; the default executor uses this one).
        connection = built.cache.metadata_store.connection
        for pragma in sqlite_pragmas():
            connection.execute(pragma)
        return built

    def prepare(self, n: int) -> None:
        self.chains[n] = self._driver(self._module(f"peer_chain_{n}", chain_source(n)))
        self.fans[n] = self._driver(self._module(f"peer_fan_{n}", fan_source(n)))

    def chain(self, start: int, n: int) -> int:
        return self.chains[n].execute([f"s{n}"], inputs={"s0": start})[f"s{n}"]

    def fan(self, start: int, n: int) -> int:
        return self.fans[n].execute(["total"], inputs={"start": start})["total"]

    def cpu(self, seed: int, mib: int) -> str:
        return self.cpu_driver.execute(["digest"], inputs={"seed": seed, "mib": mib})["digest"]


if __name__ == "__main__":
    main("hamilton", HamiltonPeer, ".".join(map(str, hamilton.__version__)))

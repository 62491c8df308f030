#!/usr/bin/env python
"""Run engine_throughput.py with some of the engine's speed-ups switched back off.

Used for the before/after table in docs/benchmarks.md: each name below puts back what the
engine or store did before that change, on the current code, so the effect of each change is
measured on the same tree and the same machine state.

    .venv/bin/python benchmarks/ablation.py NAME[,NAME...] [engine_throughput options]
    .venv/bin/python benchmarks/ablation.py all --json
    .venv/bin/python benchmarks/ablation.py none          # = engine_throughput.py

Names:
  memo        memo lookup through Store.find_completed (full record decoded) instead of the
              lean SQLiteStore.find_memo
  runstep     next() reads the run with every earlier segment's output (Store.get_run)
              instead of only those the segment reads (SQLiteStore.get_run_for_step)
  preimage    hash/key pre-images through catenary.cid.cid_of (with its value checks)
  columns     the config/parents/inputs columns through catenary.cid.encode
  output      an operation's output checked (check_value) before it is encoded
  checkpoint  SQLite's default wal_autocheckpoint (1000 pages)

Not a speed-up, not in "all": ``noattest`` runs the engine without the executor attestation
(the ed25519 signature and its rows) that a Node records with every execution that does the
work, to show what that costs.

It reaches into private names of catenary.engine.runtime and catenary.store, so it
follows the code of this change set; it is a measuring tool, not an API.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import engine_throughput  # noqa: E402

from catenary.cid import cid_of, encode  # noqa: E402
from catenary.engine import runtime  # noqa: E402
from catenary.store import rows, sqlite  # noqa: E402

NAMES = ("memo", "runstep", "preimage", "columns", "output", "checkpoint")
EXTRA = ("noattest",)


def ablate(names: set[str]) -> None:
    if "memo" in names:
        delattr(sqlite.SQLiteStore, "find_memo")
    if "runstep" in names:
        delattr(sqlite.SQLiteStore, "get_run_for_step")
    if "preimage" in names:
        runtime._preimage_cid = cid_of
    if "columns" in names:
        rows.links_bytes = lambda cids: encode(list(cids))
        rows.config_bytes = encode
    if "output" in names:
        fast = runtime.Engine._output_block

        def checked_first(self, op, output):
            problem = runtime._encodable(output)
            if problem is not None:
                return None, None, problem
            return fast(self, op, output)

        runtime.Engine._output_block = checked_first
    if "checkpoint" in names:
        sqlite.PRAGMAS = tuple(p for p in sqlite.PRAGMAS if "wal_autocheckpoint" not in p)
    if "noattest" in names:
        init = runtime.Engine.__init__

        def without_attestations(self, *args, **kwargs):
            init(self, *args, **kwargs)
            self.attest = None

        runtime.Engine.__init__ = without_attestations


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    spec = sys.argv[1]
    names = set(NAMES) if spec == "all" else set() if spec == "none" else set(spec.split(","))
    unknown = names - set(NAMES) - set(EXTRA)
    if unknown:
        print(
            f"unknown name(s): {', '.join(sorted(unknown))}; known: {', '.join(NAMES + EXTRA)}",
            file=sys.stderr,
        )
        return 2
    ablate(names)
    return engine_throughput.main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())

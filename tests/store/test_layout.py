"""How the store package loads: the SQLite path never imports the PostgreSQL driver, so a
core install (no ``postgres`` extra) opens its data dir's store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_opening_the_sqlite_store_loads_no_postgresql_module(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from catenary.cid import cid_of\n"
        "from catenary.store import open_store\n"
        f"store = open_store(None, Path({str(tmp_path)!r}))\n"
        "assert store.lineage(cid_of('x'), 'ancestors') is None and store.max_seq() == 0\n"
        "store.close()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'psycopg_pool')\n"
        "                or m.startswith('catenary.store.postgres'))\n"
        "print(loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

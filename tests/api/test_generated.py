"""The committed generated protobuf code is what scripts/gen_protos.py makes from protobuf/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    out = tmp_path / "proto"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_protos.py"), str(out)], check=True)
    committed = ROOT / "catenary" / "proto"
    fresh = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    current = {
        p.relative_to(committed): p.read_bytes()
        for p in committed.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert sorted(fresh) == sorted(current), "files differ: run `python scripts/gen_protos.py`"
    stale = [str(name) for name in fresh if fresh[name] != current[name]]
    assert not stale, f"stale generated code {stale}: run `python scripts/gen_protos.py`"

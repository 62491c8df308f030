"""catenary.toml, `catenary info`, and the new-data-dir notice (issue 19)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATENARY_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "catenary", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def test_project_file_loads_modules_and_defaults(tmp_path: Path) -> None:
    (tmp_path / "catenary.toml").write_text('operations = ["myops"]\ndata_dir = "data"\n')
    (tmp_path / "myops.py").write_text(
        'from catenary import operation\n\n@operation("my/inc", inputs=["int"], output="int")\n'
        "def inc(x):\n    return x + 1\n"
    )
    info = cli(tmp_path, "--json", "info")
    assert info.returncode == 0, info.stderr
    doc = json.loads(info.stdout)
    assert doc["data_dir"] == str(tmp_path / "data") and doc["data_dir_exists"] is False
    assert not (tmp_path / "data").exists()  # info creates nothing
    assert doc["sources"]["operations"] == doc["sources"]["data_dir"] == str(tmp_path / "catenary.toml")
    listed = cli(tmp_path, "--json", "op", "list")
    assert listed.returncode == 0, listed.stderr
    assert "my/inc" in listed.stdout  # no --ops, no PYTHONPATH for myops
    assert "created a new data dir" not in listed.stderr  # stderr is not a terminal: scripts see no change


def test_bad_project_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "catenary.toml").write_text('operation = ["typo"]\n')
    done = cli(tmp_path, "workflow", "list")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "catenary.toml: unknown key(s) operation" in lines[0], done.stderr


def test_cache_clear_through_the_cli(tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    wf = tmp_path / "wf.json"
    wf.write_text(
        json.dumps(
            {
                "data": {
                    "name": "c",
                    "creators": [],
                    "description": "",
                    "groups": [],
                    "segments": [{"inputs": [-1], "sequence": [{"op": "std/utf8-encode", "config": {}}]}],
                }
            }
        )
    )
    wid = json.loads(cli(tmp_path, "--data-dir", data, "--json", "workflow", "create", str(wf)).stdout)["id"]

    def cached() -> bool:
        out = json.loads(
            cli(tmp_path, "--data-dir", data, "--json", "run", wid, "--input", "0=text:x").stdout
        )
        got = json.loads(cli(tmp_path, "--data-dir", data, "--json", "exec", "get", out["final"]).stdout)
        return got["cached_from"] is not None

    assert cached() is False and cached() is True
    done = cli(tmp_path, "--data-dir", data, "cache", "clear", "--operation", "std/utf8-encode")
    assert done.returncode == 0 and "history kept" in done.stdout, done.stderr
    assert cached() is False
    bad = cli(tmp_path, "--data-dir", data, "cache", "clear", "--operation", "nope")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_a_big_file_input_is_refused_by_its_size_before_it_is_opened(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(100 * 1024 * 1024)  # 100 MB, sparse: its size is all that matters
    # Audit hooks see every open(): the file must be stat()ed only, never opened.
    script = (
        "import sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda e, a: opened.append(str(a[0]))\n"
        "                 if e == 'open' and str(a[0]).endswith('big.bin') else None)\n"
        "from catenary.cli.main import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    print('OPENED', opened, file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATENARY_")}
    env["PYTHONPATH"] = str(ROOT)
    wf = tmp_path / "wf.json"
    wf.write_text(
        json.dumps(
            {
                "data": {
                    "name": "b",
                    "creators": [],
                    "description": "",
                    "groups": [],
                    "segments": [{"inputs": [-1], "sequence": [{"op": "std/cid", "config": {}}]}],
                }
            }
        )
    )
    data = str(tmp_path / "d")
    wid = json.loads(cli(tmp_path, "--data-dir", data, "--json", "workflow", "create", str(wf)).stdout)["id"]
    done = subprocess.run(
        [sys.executable, "-c", script, "--data-dir", data, "run", wid, "--input", f"0=@{big}"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert "is 104857600 bytes, over the value size cap of 67108864 bytes" in done.stderr
    assert "OPENED []" in done.stderr

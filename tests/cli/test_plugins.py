"""An installed plugin's operations need no --ops, and its results export without it (issue 19).

The plugin (tests/fixtures/catenary_plugin_demo) is pip-installed into a temporary target
directory put on PYTHONPATH for the CLI subprocesses only: the shared venv is not touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent.parent / "fixtures" / "catenary_plugin_demo"
ROOT = Path(__file__).parent.parent.parent


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("plugin-site")
    build = tmp_path_factory.mktemp("plugin-build")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(FIXTURE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=build,
        env={**os.environ, "PIP_NO_CACHE_DIR": "1"},
    )
    assert done.returncode == 0, done.stderr
    return target


def cli(plugin_path: Path, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_path), str(ROOT)])}
    env.pop("CATENARY_HOME", None)
    return subprocess.run(
        [sys.executable, "-m", "catenary", "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=data.parent,
    )


def test_installed_plugin_runs_and_exports_without_ops(plugin_path: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    manifest = tmp_path / "wf.json"
    manifest.write_text(
        json.dumps(
            {
                "data": {
                    "name": "shout",
                    "creators": [],
                    "description": "",
                    "groups": [],
                    "segments": [{"inputs": [-1], "sequence": [{"op": "plugin/shout", "config": {}}]}],
                }
            }
        )
    )
    created = cli(plugin_path, data, "--json", "workflow", "create", str(manifest))
    assert created.returncode == 0, created.stderr
    wf = json.loads(created.stdout)["id"]
    ran = cli(plugin_path, data, "--json", "run", wf, "--input", "0=text:hi")
    assert ran.returncode == 0, ran.stderr
    out = json.loads(ran.stdout)
    assert out["result"] == "HI!"
    bundle = tmp_path / "proof.car"
    exported = cli(plugin_path, data, "export", out["final"], "-o", str(bundle))
    assert exported.returncode == 0, exported.stderr
    assert bundle.stat().st_size > 0


def test_missing_operation_says_how_to_load_it(tmp_path: Path) -> None:
    manifest = tmp_path / "wf.json"
    manifest.write_text(
        json.dumps(
            {
                "data": {
                    "name": "shout",
                    "creators": [],
                    "description": "",
                    "groups": [],
                    "segments": [{"inputs": [-1], "sequence": [{"op": "plugin/shout", "config": {}}]}],
                }
            }
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "catenary",
            "--data-dir",
            str(tmp_path / "d"),
            "workflow",
            "create",
            str(manifest),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 2
    assert "no registered operation named 'plugin/shout'; load the module" in done.stderr
    assert "--ops MODULE" in done.stderr and "catenary.operations" in done.stderr


def test_the_entry_point_precheck_finds_what_importlib_metadata_finds(plugin_path: Path) -> None:
    """The cheap read of entry_points.txt files (a fresh process, as the CLI is) says no plugin
    where importlib.metadata finds none, so that it is not imported; and sees an installed one."""
    code = (
        "from importlib import metadata\n"
        "from catenary.operations.plugins import GROUP, may_declare_plugins\n"
        "print(may_declare_plugins(), bool(metadata.entry_points(group=GROUP)))\n"
    )
    for extra, expected in (([], "False False"), ([str(plugin_path)], "True True")):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([*extra, str(ROOT)])}
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, check=True
        )
        assert done.stdout.split() == expected.split(), extra

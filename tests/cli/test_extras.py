"""A command that needs a missing extra says which one, in one line, with exit 2.

The extra's module is made unimportable the way Python itself blocks a module (a ``None`` entry
in ``sys.modules``) in a real CLI process; everything else is the installed catenary.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from catenary.errors import CatenaryError, MissingExtraError
from catenary.extras import EXTRAS, require_extra

BLOCK_AND_RUN = (
    "import sys\n"
    "for name in sys.argv[1].split(','):\n"
    "    sys.modules[name] = None\n"
    "sys.argv = ['catenary', *sys.argv[2:]]\n"
    "from catenary.cli.main import main\n"
    "main()\n"
)


def catenary_without(modules: str, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CATENARY_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-c", BLOCK_AND_RUN, modules, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize(
    "modules,args,line",
    [
        (
            "psycopg",
            ["--db", "postgresql://u@127.0.0.1:1/d", "workflow", "list"],
            "error: the PostgreSQL store needs the 'postgres' extra: pip install 'catenary[postgres]'",
        ),
        (
            "uvicorn",
            ["serve", "--http", "127.0.0.1:0"],
            "error: the web explorer needs the 'web' extra: pip install 'catenary[web]'",
        ),
        (
            "wasmtime",
            ["op", "add", "-"],
            "error: a WebAssembly operation needs the 'wasm' extra: pip install 'catenary[wasm]'",
        ),
    ],
)
def test_missing_extra_is_one_line_and_exit_2(
    tmp_path: Path, modules: str, args: list[str], line: str
) -> None:
    proc = catenary_without(modules, *args, home=tmp_path / "data")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == line
    assert proc.stdout == ""


def test_core_commands_run_without_any_extra(tmp_path: Path) -> None:
    blocked = ",".join(m for _, modules in EXTRAS.values() for m in modules)
    proc = catenary_without(blocked, "op", "list", "--json", home=tmp_path / "data")
    assert proc.returncode == 0, proc.stderr
    assert '"std/exif"' in proc.stdout  # listed; it needs the 'image' extra only to run


def test_require_extra_passes_an_installed_one_and_names_a_missing_one() -> None:
    for extra in EXTRAS:
        require_extra(extra)  # the test install has every extra
    assert issubclass(MissingExtraError, CatenaryError) and MissingExtraError.exit_code == 2
    error = MissingExtraError("std/exif", "image")
    assert (str(error), error.extra) == (
        "std/exif needs the 'image' extra: pip install 'catenary[image]'",
        "image",
    )

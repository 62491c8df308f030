"""CLI start-up stays lean: what `import catenary.cli.main` may load (docs/benchmarks.md).

Timing is benchmarks/cli_startup.py's job (it needs a quiet machine); this checks the cause, in a
fresh interpreter: the command tree is built from click and the light parts of catenary only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "catenary.sdk",
    "catenary.engine",
    "catenary.store",
    "catenary.trust",
    "catenary.client",
    "catenary.api",
    "catenary.web",
    "catenary.operations",
    "rich",
    "grpc",
    "cryptography",
    "asyncio",
    "sqlite3",
    "PIL",
    "wasmtime",
    "psycopg",
    "distributed",
)


def loaded_by(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_building_the_command_tree_loads_nothing_heavy() -> None:
    loaded = loaded_by("import catenary.cli.main")
    heavy = sorted(m for m in loaded if m.startswith(HEAVY))
    assert not heavy, f"`import catenary.cli.main` loads {heavy}; import them inside the commands"


def test_help_runs_without_loading_the_node() -> None:
    loaded = loaded_by(
        "import sys, contextlib, io\nfrom catenary.cli.main import main\n"
        "sys.argv = ['catenary', '--help']\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main()\n    except SystemExit:\n        pass"
    )
    assert not sorted(m for m in loaded if m.startswith(HEAVY))


def test_the_package_root_is_lazy_but_complete() -> None:
    import catenary

    assert "catenary.sdk" not in loaded_by("import catenary")
    for name in catenary.__all__:
        assert getattr(catenary, name) is not None, name


def test_op_list_opens_the_store_and_the_registry_only(tmp_path: Path) -> None:
    """On an existing data dir `op list` reads the store and the standard library's table: no
    node (engine, trust, keys), no rich for a pipe, no plugin metadata when none declares any."""
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "catenary", "--data-dir", str(data), "op", "list"], check=True)
    loaded = loaded_by(
        "import sys, contextlib, io\nfrom catenary.cli.main import main\n"
        f"sys.argv = ['catenary', '--data-dir', {str(data)!r}, 'op', 'list']\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main()\n    except SystemExit:\n        pass"
    )
    needless = ("catenary.engine", "catenary.trust", "catenary.sdk.node", "catenary.operations.std", "rich")
    needless += ("cryptography", "importlib.metadata", "blake3", "tomllib")
    assert not sorted(m for m in loaded if m in needless or m.startswith(tuple(f"{n}." for n in needless)))
    assert "catenary.store.sqlite" in loaded

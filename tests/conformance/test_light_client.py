"""``import catenary.client`` loads the client's own code and the model, not the node's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What a node needs and a client must not pay for.
SERVER_SIDE = (
    "catenary.store",
    "catenary.engine",
    "catenary.trust",
    "catenary.sdk",
    "catenary.operations",
    "catenary.api.server",
    "catenary.api.servicers",
)


def loaded_after(statement: str) -> list[str]:
    """The catenary modules a fresh interpreter holds after ``statement``."""
    code = (
        f"import sys\n{statement}\n"
        "import json; print(json.dumps(sorted(m for m in sys.modules if m.startswith('catenary'))))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "statement",
    [
        "import catenary.client",
        "from catenary.client import Client, NodeLike",
        "import catenary; catenary.CID; catenary.StepResult; catenary.NodeLike",
    ],
)
def test_the_client_loads_no_server_code(statement: str) -> None:
    modules = loaded_after(statement)
    assert "catenary.model.results" in modules  # the check sees what was imported
    heavy = [m for m in modules if m.startswith(SERVER_SIDE)]
    assert heavy == [], f"{statement!r} loaded {heavy}"


def test_the_package_root_still_gives_every_name() -> None:
    import catenary

    assert sorted(catenary.__all__) == sorted(catenary._EXPORTS)
    for name in catenary.__all__:
        assert getattr(catenary, name) is not None, name
    assert catenary.Node.__module__ == "catenary.sdk.node"
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        catenary.Nope  # noqa: B018

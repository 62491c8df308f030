"""Types and lint are part of the test command: zero findings.

- mypy, strict on catenary/ ([tool.mypy] in pyproject.toml; the generated protobuf code
  excluded), finds no error.
- ruff check (the [tool.ruff] rules) finds nothing in catenary/ and tests/.
- ruff format would change no file there.

The tools and the stubs they need are pinned in the `test` extra; each runs as the
project's own command would, from the repository root with its configuration.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ["catenary", "tests"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("MYPYPATH", None)  # the configuration alone says what is checked
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def findings(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}{result.stderr}"


def test_mypy_strict_finds_no_error() -> None:
    result = run("mypy")
    assert result.returncode == 0, findings(result)
    assert "Success: no issues found" in result.stdout, findings(result)


def test_ruff_check_finds_nothing() -> None:
    result = run("ruff", "check", "--no-cache", "--output-format", "concise", *TREE)
    assert result.returncode == 0, findings(result)


def test_ruff_format_would_change_nothing() -> None:
    result = run("ruff", "format", "--no-cache", "--check", *TREE)
    assert result.returncode == 0, findings(result)

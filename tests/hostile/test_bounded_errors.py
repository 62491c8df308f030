"""Crafted bundles and huge inputs get one short error line: no RecursionError, no echo of
megabytes (issue 14: a deeply nested ``format`` crashed verify-bundle, others gave 20 MB lines)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from catenary import Node
from catenary.cid import block
from catenary.errors import BadInputError
from catenary.limits import MAX_MESSAGE_CHARS, cut, shown
from tests.trust.conftest import CHAIN, OPS, Car

LINE = 4 * MAX_MESSAGE_CHARS  # a whole error report (problem lines + verdict) stays under this


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.fixture
def exported(make_node: Any, tmp_path: Path) -> bytes:
    node = make_node(data_dir=tmp_path / "a", operations=OPS)
    wf = node.workflows.create(CHAIN)
    _, result = node.runs.run(wf.id, {0: [1], 1: [5]})
    buffer = io.BytesIO()
    node.trust.export(result.final, buffer)
    return buffer.getvalue()


def _with_format(data: bytes, fmt: Any) -> bytes:
    """The bundle with its index's ``format`` replaced (the index is a root: nothing links it)."""
    car = Car(data)
    index = car.index
    index["format"] = fmt
    new, raw = block(index)
    del car.blocks[car.roots[1]]
    car.blocks[new] = raw
    car.roots[1] = new
    return car.bytes()


@pytest.mark.parametrize("fmt", [_nested(100_000), "x" * 15_000_000], ids=["deep", "huge"])
def test_crafted_format_is_one_short_problem(
    exported: bytes, make_node: Any, tmp_path: Path, fmt: Any
) -> None:
    node: Node = make_node(data_dir=tmp_path / "b", operations=OPS)
    report = node.trust.verify_bundle(_with_format(exported, fmt))
    assert not report.ok
    assert len(report.problems) == 1 and "format" in report.problems[0]
    assert len(report.summary()) < LINE


def test_cli_verify_bundle_and_import_of_deep_format_exit_cleanly(exported: bytes, tmp_path: Path) -> None:
    crafted = tmp_path / "deep.car"
    crafted.write_bytes(_with_format(exported, _nested(100_000)))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    for command in ("verify-bundle", "import"):
        proc = subprocess.run(
            [sys.executable, "-m", "catenary", "--data-dir", str(tmp_path / "c"), command, str(crafted)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 1, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr and "RecursionError" not in proc.stderr
        assert len(proc.stdout) + len(proc.stderr) < LINE
        assert "format [[[[...]]]]" in proc.stderr


def test_cli_long_input_is_elided(make_node: Any, tmp_path: Path) -> None:
    node = make_node(data_dir=tmp_path / "d", operations=OPS)
    wf = node.workflows.create(CHAIN)
    node.close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    huge = "0=" + "[" * 10 + "x" * 100_000  # one argv string is at most 128 KiB
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "catenary",
            "--data-dir",
            str(tmp_path / "d"),
            "run",
            str(wf.id),
            "--input",
            huge,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: --input")
    assert len(proc.stderr) < MAX_MESSAGE_CHARS + 200
    assert "characters elided" in proc.stderr


def test_every_catenary_error_is_bounded_and_values_are_shown_short() -> None:
    message = str(BadInputError("value " + "y" * 20_000_000 + " is wrong"))
    assert (
        len(message) <= MAX_MESSAGE_CHARS and message.startswith("value yyy") and message.endswith("is wrong")
    )
    assert cut("short") == "short"
    assert shown(_nested(1_000_000)) == "[[[[...]]]]"
    assert len(shown(b"\0" * 10**7)) < 100 and "10,000,000 bytes" in shown(b"\0" * 10**7)
    assert len(shown({"k" * 1000: ["v" * 1000] * 1000})) < 300

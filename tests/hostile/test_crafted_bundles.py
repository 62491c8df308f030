"""A few hundred crafted bundles per run (tests/hostile/crafted.py), each through verify-bundle and
import: a clean verdict or one project error of at most 2,048 characters, never another
exception, and the database unchanged by every bundle that does not verify (issue 14).

``CATENARY_BUNDLE_CASES`` (cases per mutation class, default 20) and ``CATENARY_BUNDLE_SEED``
(default 14) make a longer or another run of the same test.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from catenary import Node
from catenary.errors import CatenaryError, VerificationError
from catenary.limits import MAX_MESSAGE_CHARS
from catenary.trust.bundle import BundleReport
from tests.helpers import snapshot
from tests.hostile.crafted import MUTATIONS, Case, cases
from tests.trust.conftest import CHAIN, OPS

PER_CLASS = int(os.environ.get("CATENARY_BUNDLE_CASES", "20"))
SEED = int(os.environ.get("CATENARY_BUNDLE_SEED", "14"))
ROOT = Path(__file__).resolve().parents[2]
CLI_SAMPLE = ("header-varint", "wrong-type", "deep")  # 6 processes: a few seconds each under load


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """Bundles made by the engine: the last step of CHAIN (joins, two events, a run) and an
    execution of its first segment."""
    node = Node(tmp_path_factory.mktemp("origin"), operations=OPS)
    wf = node.workflows.create(CHAIN)
    _, result = node.runs.run(wf.id, {0: [1], 1: [5]})
    first = node.executions.list().executions[-1]  # newest first: the oldest is last
    made = []
    for execution in (result.final, first.hash):
        buffer = io.BytesIO()
        node.trust.export(execution, buffer)
        made.append(buffer.getvalue())
    node.close()
    return made


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, bases: list[bytes]) -> Node:
    """The node that verifies and imports: it holds the valid bundles already, so a crafted one
    that still verifies (blocks reordered or doubled) has nothing new to store."""
    node = Node(tmp_path_factory.mktemp("target"), operations=OPS)
    for data in bases:
        node.trust.import_bundle(data)
    return node


def bounded(message: str, where: str) -> None:
    # Plain booleans: pytest would quote a multi-megabyte message in its explanation.
    size, traced = len(message), "Traceback" in message
    assert size <= MAX_MESSAGE_CHARS, f"{where}: a message of {size} characters: {message[:300]}"
    assert not traced, f"{where}: {message[:300]}"


def check(node: Node, case: Case, db: Path, before: Any) -> str:
    """Run one case through verify-bundle and import; return its outcome."""
    where = f"seed {SEED}, case {case.name}"
    try:
        report: BundleReport | None = node.trust.verify_bundle(case.data)
    except CatenaryError as exc:
        bounded(str(exc), where)
        report = None
    if report is not None:
        for problem in report.problems:
            bounded(problem, where)
        # What the CLI says when it refuses the bundle (one error line).
        bounded(
            str(VerificationError(f"bundle does not verify: {report.overall}: {report.summary()}")), where
        )
    try:
        if report is None:
            node.trust.import_bundle(case.data)
        else:
            node.trust.import_verified(report)
    except CatenaryError as exc:
        bounded(str(exc), where)
        assert report is None or not report.ok, f"{where}: a verified bundle was refused: {exc}"
        unchanged = snapshot(db) == before
        assert unchanged, f"{where}: a refused bundle changed the database"
        return "refused" if report is None else str(getattr(report.overall, "value", report.overall))
    assert report is not None and report.ok, f"{where}: imported a bundle that does not verify"
    unchanged = snapshot(db) == before
    assert unchanged, f"{where}: a bundle of known records changed the database"
    return "verified"


def test_crafted_bundles_get_a_clean_verdict_and_change_nothing(
    bases: list[bytes], target: Node, tmp_path: Path
) -> None:
    db = target.data_dir / "catenary.db"
    before = snapshot(db)
    outcomes: dict[str, Counter[str]] = {kind: Counter() for kind in MUTATIONS}
    crashes: list[str] = []
    started = time.perf_counter()
    for case in cases(bases, SEED, PER_CLASS):
        try:
            outcomes[case.kind][check(target, case, db, before)] += 1
        except AssertionError as exc:
            crashes.append(str(exc))
        except Exception:  # noqa: BLE001 - anything but a project error is what this test is for
            crashes.append(f"seed {SEED}, case {case.name}: {traceback.format_exc(limit=-3)}")
    elapsed = time.perf_counter() - started
    total = sum(sum(c.values()) for c in outcomes.values())
    print(f"\n{total} crafted bundles in {elapsed:.1f} s (seed {SEED}, {PER_CLASS} per class)")
    for kind, counts in outcomes.items():
        print(f"  {kind:16} {sum(counts.values()):4}  {dict(counts)}")
    assert not crashes, f"{len(crashes)} of {total + len(crashes)} cases broke the promise:\n" + "\n".join(
        crashes[:10]
    )
    assert total >= 10 * len(MUTATIONS) or PER_CLASS < 10
    # Every class but the harmless ones really damages the bundle at least once.
    harmless = {"reorder-blocks", "duplicate-block"}
    for kind, counts in outcomes.items():
        if kind not in harmless:
            assert set(counts) - {"verified"}, f"no {kind} case was refused: {dict(counts)}"


def test_cli_answers_a_sample_of_crafted_bundles_in_one_line(bases: list[bytes], tmp_path: Path) -> None:
    data_dir = tmp_path / "cli"
    node = Node(data_dir, operations=OPS)
    node.trust.import_bundle(bases[0])
    node.close()
    before = snapshot(data_dir / "catenary.db")
    sample = [c for c in cases(bases, SEED, 1) if c.kind in CLI_SAMPLE]
    ops = [arg for module in OPS for arg in ("--ops", module)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    for case in sample:
        path = tmp_path / f"{case.kind}.car"
        path.write_bytes(case.data)
        for command in ("verify-bundle", "import"):
            proc = subprocess.run(
                [sys.executable, "-m", "catenary", "--data-dir", str(data_dir), *ops, command, str(path)],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
            )
            where = f"{command} of {case.name}"
            assert proc.returncode in (1, 2), f"{where}: exit {proc.returncode}: {proc.stderr[-2000:]}"
            assert "Traceback" not in proc.stderr, f"{where}: {proc.stderr[-2000:]}"
            errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
            assert len(errors) == 1 and len(errors[0]) <= MAX_MESSAGE_CHARS + 7, (
                f"{where}: {proc.stderr[-500:]}"
            )
            assert len(proc.stdout) + len(proc.stderr) < 8 * MAX_MESSAGE_CHARS, where
    assert snapshot(data_dir / "catenary.db") == before

"""A data dir that cannot be written, through the CLI: an unwritable one (chmod) and one on a
read-only file system. Reading commands work; writing ones fail with one line, exit 1, never
a traceback, and nothing stored changes (issue 19; tests/hostile covers a full disk).

Root ignores file modes, so as root the unwritable case runs the CLI as ``nobody`` (setpriv)
on a data dir owned by it; the read-only case bind-mounts the data dir read-only in a mount namespace of
the CLI's own (``unshare``), so nothing outside the test sees it.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from catenary import Node
from tests.helpers import manifest, snapshot

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534
Runner = Callable[..., subprocess.CompletedProcess[str]]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATENARY_")}
    return {**env, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/nonexistent"}


@pytest.fixture
def base() -> Iterator[Path]:
    """A directory others may enter (pytest's tmp dirs are 0700 to root: nobody could not)."""
    where = Path(tempfile.mkdtemp(prefix="catenary-ro-"))
    where.chmod(0o755)
    try:
        yield where
    finally:
        for path in [where, *where.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IWUSR)
        shutil.rmtree(where)


def prepared(data: Path) -> dict[str, str]:
    """One finished run: the ids the reading commands are asked about."""
    with Node(data) as node:
        wf = node.workflows.create(manifest(([-1], ["std/utf8-encode"]), name="ro"))
        done = node.runs.run(wf.id, {0: ["first"]})
        return {"wf": str(wf.id), "run": str(done.state.id), "final": str(done.last.final)}


def _lock_by_mode(data: Path) -> Runner:
    root = os.geteuid() == 0
    for path in [data, *data.rglob("*")]:
        if root:
            os.chown(path, NOBODY, NOBODY)
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))

    # setpriv(1) rather than os.setuid in preexec_fn: the interpreter may live under a
    # directory only root can enter (/root/.pyenv); setpriv drops the rights as it execs.
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if root else []
    if drop and shutil.which("setpriv") is None:
        pytest.skip("running as root and no setpriv(1) to run the CLI as an unprivileged user")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*drop, sys.executable, "-m", "catenary", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=_env(),
            cwd=data.parent,
        )

    probe = run("--version")
    if probe.returncode != 0:
        pytest.skip(f"cannot run the CLI as an unprivileged user here: {probe.stderr.strip()[-200:]}")
    return run


def _lock_by_mount(data: Path) -> Runner:
    # A private mount namespace (unprivileged ones map the user to root: -r) with the data dir
    # bound read-only onto itself; then the CLI in it.
    unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*unshare, "sh", "-c", script, "sh", str(data), sys.executable, "-m", "catenary", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=_env(),
            cwd=data.parent,
        )

    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) to mount the data dir read-only")
    probe = run("--version")
    if probe.returncode != 0:
        pytest.skip(f"cannot bind-mount read-only here: {probe.stderr.strip()[-200:]}")
    return run


def one_line(proc: subprocess.CompletedProcess[str], *causes: str) -> None:
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot "), lines
    assert any(cause in lines[0] for cause in causes), lines[0]


@pytest.mark.parametrize("lock", [_lock_by_mode, _lock_by_mount], ids=["unwritable", "read-only-fs"])
def test_reads_work_and_writes_are_one_line(base: Path, lock: Callable[[Path], Runner]) -> None:
    data = base / "d"
    ids = prepared(data)
    before = snapshot(data / "catenary.db")
    cli = lock(data)
    d = ["--data-dir", str(data)]

    for args in (
        ["exec", "list", "--json"],
        ["exec", "get", ids["final"]],
        ["exec", "trace", ids["final"]],
        ["runs", "list"],
        ["runs", "get", ids["run"]],
        ["workflow", "show", ids["wf"]],
        ["workflow", "list"],
        ["op", "list"],
        ["doctor"],
    ):
        done = cli(*d, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert not done.stderr.strip() or "Traceback" not in done.stderr, (args, done.stderr)

    causes = ("read-only", "permission denied")
    one_line(cli(*d, "run", ids["wf"], "--input", "0=text:second"), *causes)
    one_line(cli(*d, "new", ids["wf"]), *causes)
    one_line(cli(*d, "event", "emit", "photo.taken", "--data", "1"), *causes)
    # A data dir to be made inside the locked one: one line too.
    one_line(cli("--data-dir", str(data / "inner"), "run", ids["wf"]), *causes)
    assert snapshot(data / "catenary.db") == before
    assert not (data / "inner").exists()

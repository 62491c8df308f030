"""Failing disks for the tests: a small tmpfs the test mounts, fills, remounts read-only and
removes (Linux, root). Everything here is undone when the ``with`` block ends."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


def can_mount() -> bool:
    return os.name == "posix" and os.geteuid() == 0 and Path("/proc/mounts").exists()


@contextlib.contextmanager
def tmpfs(where: Path, size_kib: int) -> Iterator[Path]:
    """A tmpfs of ``size_kib`` mounted at ``where`` for the block's duration."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@contextlib.contextmanager
def read_only(mount: Path) -> Iterator[None]:
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    try:
        yield
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)


@contextlib.contextmanager
def full(mount: Path) -> Iterator[int]:
    """Fill the file system to its last byte; yields the bytes written, freed afterwards."""
    filler = mount / "filler"
    written = 0
    with open(filler, "wb", buffering=0) as f:
        chunk = b"\0" * 65536
        while True:
            try:
                written += f.write(chunk if len(chunk) else b"\0")
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    break
                chunk = chunk[: len(chunk) // 2]
    try:
        yield written
    finally:
        filler.unlink()

"""The project file ``catenary.toml``: operation modules and defaults for the CLI.

Looked for in the working directory, then in the data dir (``--data-dir``, ``$CATENARY_HOME``
or ``./.catenary``). Every key is optional; paths are relative to the file::

    operations = ["myops", "more.ops"]   # modules to load, as --ops does (added to it)
    data_dir = "data"                    # default for --data-dir
    node = "localhost:50051"             # default for --node
    key = "me.pem"                       # default for --key

The file's directory is put on ``sys.path``, so its modules need no ``PYTHONPATH``.
Options and environment variables win over the file. Only the standard library is imported
here: the CLI reads this at start-up.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catenary.errors import BadInputError

FILE_NAME = "catenary.toml"
DEFAULT_DATA_DIR = ".catenary"


def default_data_dir() -> Path:
    """``$CATENARY_HOME`` or ``./.catenary``."""
    return Path(os.environ.get("CATENARY_HOME") or DEFAULT_DATA_DIR)


_KEYS = {"operations", "data_dir", "node", "key"}


@dataclass(frozen=True)
class Project:
    """What a ``catenary.toml`` says (empty when there is none)."""

    path: Path | None = None
    operations: tuple[str, ...] = ()
    data_dir: Path | None = None
    node: str | None = None
    key: Path | None = None


def find_project(cwd: Path, data_dir: Path | None) -> Project:
    """The project file of ``cwd``, else of ``data_dir``; an empty Project when neither has one."""
    for folder in (cwd, data_dir):
        if folder is not None and (folder / FILE_NAME).is_file():
            return read_project(folder / FILE_NAME)
    return Project()


def read_project(path: Path) -> Project:
    """Parse one file; a bad one is refused in one line naming the file and the key."""
    import tomllib  # here: most commands run where there is no project file (start-up)

    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInputError(f"{path}: cannot read the project file: {exc}") from exc
    unknown = sorted(data.keys() - _KEYS)
    if unknown:
        raise BadInputError(
            f"{path}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})"
        )
    operations = data.get("operations", [])
    if not isinstance(operations, list) or not all(isinstance(m, str) and m for m in operations):
        raise BadInputError(f"{path}: operations is a list of module names")
    for key in ("data_dir", "node", "key"):
        if key in data and (not isinstance(data[key], str) or not data[key]):
            raise BadInputError(f"{path}: {key} is a non-empty string")
    base = path.parent.resolve()
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))  # the project's own modules import without PYTHONPATH
    return Project(
        path=path,
        operations=tuple(operations),
        data_dir=base / data["data_dir"] if "data_dir" in data else None,
        node=data.get("node"),
        key=base / data["key"] if "key" in data else None,
    )

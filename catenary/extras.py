"""The optional dependencies: each comes with a pip extra and is imported only where it is used.

A core install (``pip install catenary``) runs workflows on SQLite; the PostgreSQL store, the
Dask backend, the web explorer, WebAssembly operations and ``std/exif`` need their extra. Each
import site calls :func:`require_extra` first, so a missing one is one line naming what to
install (``MissingExtraError``, CLI exit 2) instead of a ``ModuleNotFoundError`` traceback.
"""

from __future__ import annotations

import importlib

from catenary.errors import MissingExtraError

# extra -> (what needs it, the top-level modules it installs); pyproject.toml declares the same.
EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "postgres": ("the PostgreSQL store", ("psycopg", "psycopg_pool")),
    "dask": ("the Dask executor", ("distributed",)),
    "web": ("the web explorer", ("starlette", "uvicorn", "jinja2")),
    "wasm": ("a WebAssembly operation", ("wasmtime",)),
    "image": ("std/exif", ("PIL",)),
    "c2pa": ("std/c2pa", ("c2pa",)),
    "schedule": ("a schedule (cron expressions)", ("croniter",)),
}


def require_extra(extra: str) -> None:
    """Import the modules of ``extra`` or raise :class:`MissingExtraError` naming it.

    Only the absence of one of those modules counts as missing: an ImportError from inside an
    installed module (a broken install) propagates as it is.
    """
    what, modules = EXTRAS[extra]
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            raise MissingExtraError(what, extra) from exc

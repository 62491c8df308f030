"""Turn a Python function into a content-addressed operation."""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from catenary.cid import CID, cid_of
from catenary.model import OperationManifest, OperationVersion
from catenary.model.types import TypeSpec


@dataclass(frozen=True)
class Operation:
    """A Python operation: its manifest, its version (which hashes its source) and its function."""

    manifest: OperationManifest
    version: OperationVersion
    func: Callable[..., Any]
    source: str

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version_id(self) -> CID:
        return self.version.id

    def __call__(self, *inputs: Any, **config: str) -> Any:
        return self.func(*inputs, **config)


def operation(
    name: str,
    *,
    inputs: Iterable[TypeSpec],
    output: TypeSpec,
    description: str | None = None,
    config: dict[str, Iterable[str]] | None = None,
    groups: Iterable[str] = (),
) -> Callable[[Callable[..., Any]], Operation]:
    """Decorate ``func(*inputs, **config)`` to make it an operation.

    The version id hashes the function's source text, so it changes whenever
    the code changes. ``config`` maps each key to its allowed values (an empty
    list allows any string); config reaches the function as keyword arguments.
    """

    def wrap(func: Callable[..., Any]) -> Operation:
        manifest = OperationManifest(
            name=name,
            inputs=tuple(inputs),
            output=output,
            description=description if description is not None else (inspect.getdoc(func) or ""),
            config={k: tuple(v) for k, v in (config or {}).items()},
            groups=tuple(groups),
        )
        source = textwrap.dedent(inspect.getsource(func))
        version = OperationVersion(
            operation=manifest.id,
            implementation={
                "kind": "python",
                "entry": f"{func.__module__}:{func.__qualname__}",
                "source": cid_of(source),
            },
        )
        return Operation(manifest, version, func, source)

    return wrap

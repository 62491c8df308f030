"""Turn a Python function into a content-addressed operation.

What the version id covers (``implementation.source`` is the CID of this text):

- the decorated function's source text;
- the source of every function and class *of the same module* that it references by
  global name, and of those they reference in turn (helpers);
- ``NAME = repr(value)`` for every module-level constant it (or a helper) references whose
  value is plain data: None, bool, int, float, str, bytes, and tuples, lists, sets and dicts of
  these.

Not covered: imported modules and functions from other modules (installed libraries), and
mutable state that is not plain data. An operation that references neither helpers nor
constants hashes its own source alone, so its version id is the same as under the rule of
0.1.0. ``version="..."`` pins the version instead: the hashed text is then the pin, and
edits change nothing until the pin changes.

When Python cannot give a function's source (defined in ``python -c`` or a plain REPL),
the text is a description of its bytecode, tagged with the interpreter (``cpython-311``):
such a version id is stable for that interpreter version only.
"""

from __future__ import annotations

import dis
import inspect
import sys
import textwrap
import types
from collections.abc import Callable, Iterable
from typing import Any

from catenary.cid import CID, cid_of
from catenary.model import OperationManifest, OperationVersion
from catenary.model.types import TypeSpec

_PLAIN = (type(None), bool, int, float, str, bytes)


class Operation:
    """A Python operation: its manifest, its version (which hashes its code) and its function.

    ``source`` is the hashed text: the function's code and what of its module it uses. When
    not given, the version and source are computed on first use, not at decoration: by then
    the module (or script) has defined the helpers and constants that follow the function."""

    def __init__(
        self,
        manifest: OperationManifest,
        version: OperationVersion | None,
        func: Callable[..., Any],
        source: str | None = None,
    ) -> None:
        self.manifest = manifest
        self._func = func
        self._version = version
        self._source = source

    @property
    def func(self) -> Callable[..., Any]:
        """The Python function (an operation of the standard library may load it on first use)."""
        return self._func

    @property
    def version(self) -> OperationVersion:
        if self._version is None:
            self._source = code_text(self.func)  # type: ignore[arg-type]
            self._version = _python_version(self.manifest, self.func, self._source)
        return self._version

    @property
    def source(self) -> str:
        self.version  # noqa: B018 - computes the source with the version
        return self._source or ""

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version_id(self) -> CID:
        return self.version.id

    def __call__(self, *inputs: Any, **config: str) -> Any:
        return self.func(*inputs, **config)

    def __repr__(self) -> str:
        return f"<operation {self.name}>"


def _python_version(manifest: OperationManifest, func: Callable[..., Any], source: str) -> OperationVersion:
    implementation = {
        "kind": "python",
        "entry": f"{func.__module__}:{func.__qualname__}",
        "source": cid_of(source),
    }
    return OperationVersion(manifest.id, implementation)


def operation(
    name: str,
    *,
    inputs: Iterable[TypeSpec],
    output: TypeSpec,
    description: str | None = None,
    config: dict[str, Iterable[str]] | None = None,
    groups: Iterable[str] = (),
    version: str | None = None,
) -> Callable[[Callable[..., Any]], Operation]:
    """Decorate ``func(*inputs, **config)`` to make it an operation.

    The version id hashes the function's source text and the helpers and constants of its
    own module that it uses (see this module's docstring), so it changes whenever that code
    changes. ``version="2"`` pins it instead. ``config`` maps each key to its allowed values
    (an empty list allows any string); config reaches the function as keyword arguments.
    """
    if version is not None and (not isinstance(version, str) or not version):
        raise TypeError(f"operation {name!r}: version= must be a non-empty string, got {version!r}")

    def wrap(func: Callable[..., Any]) -> Operation:
        if not isinstance(func, types.FunctionType):
            raise TypeError(f"operation {name!r} decorates a function, not {type(func).__name__}")
        manifest = OperationManifest(
            name=name,
            inputs=tuple(inputs),
            output=output,
            description=description if description is not None else (inspect.getdoc(func) or ""),
            config={k: tuple(v) for k, v in (config or {}).items()},
            groups=tuple(groups),
        )
        if version is None:
            return Operation(manifest, None, func)
        source = f"# version pinned by its author\nversion = {version!r}\n"
        return Operation(manifest, _python_version(manifest, func, source), func, source)

    return wrap


def code_text(func: types.FunctionType) -> str:
    """The text an operation's version hashes: ``func``'s source, then its module's helpers
    and constants that it reaches, each once, in the order first referenced."""
    parts = [_source(func)]
    seen: set[str] = {func.__name__}
    queue = list(_global_names(func.__code__))
    module = func.__module__
    namespace = func.__globals__
    while queue:
        name = queue.pop(0)
        if name in seen or name not in namespace:
            continue
        seen.add(name)
        value = namespace[name]
        if isinstance(value, Operation):
            value = value.func  # calling another operation of the module: its code counts
        if isinstance(value, (types.FunctionType, type)) and getattr(value, "__module__", None) == module:
            parts.append(_source(value))
            codes = (
                [value.__code__]
                if isinstance(value, types.FunctionType)
                else [v.__code__ for v in vars(value).values() if isinstance(v, types.FunctionType)]
            )
            for code in codes:
                queue.extend(_global_names(code))
        elif _plain(value):
            parts.append(f"{name} = {value!r}\n")
    return "\n".join(parts)


def _source(obj: types.FunctionType | type) -> str:
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError):
        # python -c, a plain REPL: no source text exists, so hash what runs.
        if isinstance(obj, type):
            raise TypeError(
                f"cannot get the source of class {obj.__qualname__}, which an operation uses; "
                f"define it in a module file (or pin the operation with version=...)"
            ) from None
        header = f"# no source: bytecode of {obj.__qualname__} ({sys.implementation.cache_tag})\n"
        return header + _describe(obj.__code__) + "\n"


def _describe(code: types.CodeType) -> str:
    """A deterministic text of a code object: what it does, without file names or line numbers."""
    consts = ", ".join(_describe(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts)
    return (
        f"code({code.co_name}, args={code.co_argcount}/{code.co_posonlyargcount}/{code.co_kwonlyargcount}, "
        f"flags={code.co_flags}, bytes={code.co_code.hex()}, consts=[{consts}], names={code.co_names}, "
        f"vars={code.co_varnames}, free={code.co_freevars}, cell={code.co_cellvars})"
    )


def _global_names(code: types.CodeType) -> list[str]:
    """Names the code loads as globals (not attribute names, which share ``co_names``)."""
    names = [i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.extend(_global_names(const))
    return names


def _plain(value: Any, depth: int = 0) -> bool:
    # Exact types: a Counter or an IntEnum is state or a class of its own, not plain data.
    if type(value) in _PLAIN:
        return True
    if depth > 8:
        return False
    if type(value) in (tuple, list, set, frozenset):
        return all(_plain(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in value.items())
    return False

"""``remote(op)``: the remote version of an ``@operation`` (implementation ``{kind: "remote"}``)."""

from __future__ import annotations

from catenary.model import OperationVersion
from catenary.operations import Operation


def remote(op: Operation) -> Operation:
    """Declare an operation remote: the same manifest, the version ``{kind: "remote"}``, and the
    function kept for the executors (and validators) that load the module. Put it above
    ``@operation``::

        @remote
        @operation("demo/upper", inputs=["string"], output="string")
        def upper(text: str) -> str:
            return text.upper()

    A node that loads the module (``--ops``) records the remote version; a workflow step that
    names it is then performed by an external executor (``catenary executor --operations
    MODULE``), never by the node. The version id does not hash the function's source (SPEC §2):
    every remote implementation of one manifest is the same version.
    """
    if not isinstance(op, Operation):
        raise TypeError(f"remote() takes an @operation, got {type(op).__name__} "
                        f"(write @remote above @operation)")
    if is_remote(op):
        return op
    return Operation(op.manifest, OperationVersion(op.manifest.id, {"kind": "remote"}), op.func, op.source)


def is_remote(op: Operation) -> bool:
    """Whether external executors perform ``op``."""
    return op.version.kind == "remote"

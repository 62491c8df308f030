"""The sdk: the logic the CLI and the API expose, one manager per area.

The names load on first use (PEP 562): ``catenary.sdk.operation`` alone (what `catenary op
list` needs) must not import the node, the engine and the trust code (docs/benchmarks.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from catenary._lazy import lazy_exports

if TYPE_CHECKING:
    from catenary.model.results import OperationInfo, Page, Trace, TraceNode, VerifyReport, WorkflowInfo
    from catenary.sdk.execution import ExecutionManager
    from catenary.sdk.node import Node, default_data_dir
    from catenary.sdk.operation import OperationManager
    from catenary.sdk.run import RunManager
    from catenary.sdk.trust import AttestationManager, TrustManager
    from catenary.sdk.value import ValueManager
    from catenary.sdk.workflow import WorkflowManager

# Each public name and the module that defines it.
_WHERE = {
    "OperationInfo": "catenary.model.results",
    "Page": "catenary.model.results",
    "Trace": "catenary.model.results",
    "TraceNode": "catenary.model.results",
    "VerifyReport": "catenary.model.results",
    "WorkflowInfo": "catenary.model.results",
    "ExecutionManager": "catenary.sdk.execution",
    "Node": "catenary.sdk.node",
    "default_data_dir": "catenary.sdk.node",
    "OperationManager": "catenary.sdk.operation",
    "RunManager": "catenary.sdk.run",
    "AttestationManager": "catenary.sdk.trust",
    "TrustManager": "catenary.sdk.trust",
    "ValueManager": "catenary.sdk.value",
    "WorkflowManager": "catenary.sdk.workflow",
}


__getattr__ = lazy_exports(__name__, _WHERE, globals())


__all__ = [
    "AttestationManager",
    "TrustManager",
    "VerifyReport",
    "ExecutionManager",
    "Node",
    "OperationInfo",
    "OperationManager",
    "Page",
    "RunManager",
    "Trace",
    "TraceNode",
    "ValueManager",
    "WorkflowInfo",
    "WorkflowManager",
    "default_data_dir",
]

"""The sdk: the logic the CLI and the API expose, one manager per area."""

from catenary.model.results import OperationInfo, Page, Trace, TraceNode, VerifyReport, WorkflowInfo
from catenary.sdk.execution import ExecutionManager
from catenary.sdk.node import Node, default_data_dir
from catenary.sdk.operation import OperationManager
from catenary.sdk.run import RunManager
from catenary.sdk.trust import AttestationManager, TrustManager
from catenary.sdk.value import ValueManager
from catenary.sdk.workflow import WorkflowManager

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

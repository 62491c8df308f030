"""The sdk: the logic the CLI and the API expose, one manager per area."""

from catenary.sdk.execution import ExecutionManager, Page, Trace, TraceNode
from catenary.sdk.node import Node, default_data_dir
from catenary.sdk.operation import OperationInfo, OperationManager
from catenary.sdk.run import RunManager
from catenary.sdk.trust import AttestationManager, TrustManager, VerifyReport
from catenary.sdk.value import ValueManager
from catenary.sdk.workflow import WorkflowInfo, WorkflowManager

__all__ = [
    "AttestationManager", "TrustManager", "VerifyReport",
    "ExecutionManager", "Node", "OperationInfo", "OperationManager", "Page", "RunManager", "Trace",
    "TraceNode", "ValueManager", "WorkflowInfo", "WorkflowManager", "default_data_dir",
]

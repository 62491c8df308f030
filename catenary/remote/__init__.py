"""External executors: processes that perform remote operations for a node, through its
Execution API (claim with a lease, run, report). ``remote`` declares an operation remote;
``Worker`` is the Python executor that ``catenary executor`` runs."""

from catenary.remote.decorator import is_remote, remote
from catenary.remote.worker import Worker

__all__ = ["Worker", "is_remote", "remote"]

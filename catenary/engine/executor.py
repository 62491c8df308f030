"""Where an operation invocation runs: in this process (the default) or on a Dask cluster.

The engine does everything around an invocation itself — type checks, hashing, memoization,
recording, committing — and hands an :class:`Executor` only the call: the function, the decoded
input values and the config. So a segment records the same executions, keys and outputs
whichever executor ran its operations; only ``segment_time`` differs.

- :class:`LocalExecutor` calls the function in the calling thread.
- :class:`DaskExecutor` submits it to a Dask distributed cluster (``dask://HOST:PORT``, or
  ``dask:local`` for a cluster of worker processes started in this process). The function
  travels by value (cloudpickle: the code the ``version_id`` hashed, not whatever a worker has
  installed), a WebAssembly operation as its module bytes, the values as pickles. A worker that
  dies while running a call is replaced and the call retried by Dask on another worker; a call
  that kills every worker it is given fails its execution with ``KilledWorker``.

Losing the scheduler is an outage of the infrastructure, never an operation's failure: the
calls in flight are lost (Dask cancels them), the client reconnects (Dask's own, or a new
client when it gave up), and each lost call is submitted again once the scheduler answers, for
up to ``outage`` seconds (default 300). Only then does the call raise
:class:`~catenary.errors.ExecutorUnavailableError`, and nothing is recorded for the segment.
A scheduler never reached raises it at once (a wrong address does not come back).

What the workers need: catenary and the packages the operations import (values hold CIDs). The
module that defines an operation is shipped by value (cloudpickle), so helpers the operation
calls in its own module run on workers that do not have the module; other modules it imports
must be installed there. Operations must not rely on state of the engine process (module
globals it changed, open files).
"""

from __future__ import annotations

import abc
import contextlib
import functools
import os
import sys
import threading
import time
from typing import Any

from catenary.cid import CID
from catenary.errors import BadInputError, ExecutorUnavailableError, OperationTimeout
from catenary.operations import Operation


class Executor(abc.ABC):
    """Runs one operation invocation and returns its output, or raises what the operation raised
    (the engine records that as the execution's failure), :class:`OperationTimeout`, or
    :class:`~catenary.errors.ExecutorUnavailableError` (nothing is recorded)."""

    name: str

    @abc.abstractmethod
    def call(
        self, op: Operation, values: list[Any], config: dict[str, str], timeout: float | None
    ) -> Any: ...

    def close(self) -> None:  # noqa: B027 - optional: most executors hold nothing
        """Release what the executor holds (a cluster, a connection)."""

    def interrupt(self, thread_id: int) -> bool:
        """Stop the call the thread ``thread_id`` waits on, if this executor can (a cancelled
        run, catenary.runs): the call then raises ExecutorUnavailableError and nothing of its
        segment is recorded. False when it cannot: a Python call in a thread runs to its end."""
        return False


class LocalExecutor(Executor):
    """Calls the function in the calling thread (the default)."""

    name = "local"

    def call(self, op: Operation, values: list[Any], config: dict[str, str], timeout: float | None) -> Any:
        if timeout is None:
            return op.func(*values, **config)
        return _call_with_timeout(op, values, config, timeout)


def _call_with_timeout(op: Operation, values: list[Any], config: dict[str, str], timeout: float) -> Any:
    """Python cannot stop a thread: a call past ``timeout`` finishes in the background and its
    result is discarded."""
    outcome: list[Any] = []

    def call() -> None:
        try:
            outcome.append((True, op.func(*values, **config)))
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            outcome.append((False, exc))

    worker = threading.Thread(target=call, name=f"catenary-op {op.name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise OperationTimeout(f"{op.name} did not finish within the operation timeout of {timeout:g} s")
    ok, result = outcome[0]
    if not ok:
        raise result
    return result


class ProcessExecutor(Executor):
    """Calls the function in a pool of ``workers`` local processes (``processes:N``): CPU-bound
    Python operations of segments run at once (``run --parallel``) then use several cores. The
    function travels by value (cloudpickle, as to Dask workers), the values by pickle. Worker
    processes are spawned, not forked (the engine holds threads and database connections),
    on first use. A call past its timeout is discarded (its process finishes it)."""

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: Any = None
        self._lock = threading.Lock()
        self._payloads: dict[CID, bytes] = {}

    def _executor(self) -> Any:
        with self._lock:
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                self._pool = ProcessPoolExecutor(self.workers, multiprocessing.get_context("spawn"))
            return self._pool

    def call(self, op: Operation, values: list[Any], config: dict[str, str], timeout: float | None) -> Any:
        from concurrent.futures import TimeoutError as FutureTimeout
        from concurrent.futures.process import BrokenProcessPool

        payload = self._payloads.get(op.version_id)
        if payload is None:
            from catenary.extras import require_extra

            require_extra("dask")  # cloudpickle comes with it
            import cloudpickle  # type: ignore[import-untyped]

            _ship_module(op)
            payload = self._payloads[op.version_id] = cloudpickle.dumps(op.func)
        future = self._executor().submit(_call_pickled, payload, values, config)
        try:
            return future.result(timeout)
        except FutureTimeout as exc:
            raise OperationTimeout(
                f"{op.name} did not finish within the operation timeout of {timeout:g} s"
            ) from exc
        except BrokenProcessPool as exc:
            with self._lock:
                self._pool = None  # a new pool for the next call
            raise ExecutorUnavailableError(
                f"a worker process died while running {op.name}; nothing was recorded for this "
                f"segment, step it again"
            ) from exc

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _call_pickled(payload: bytes, values: list[Any], config: dict[str, str]) -> Any:
    import pickle

    return pickle.loads(payload)(*values, **config)


class DaskExecutor(Executor):
    """Runs invocations on a Dask distributed cluster; connects (or starts it) on first use.

    ``address``: the scheduler (``tcp://HOST:PORT``); None starts a ``LocalCluster`` in this
    process with ``cluster`` as its keyword arguments (default: one single-threaded worker
    process per CPU). ``client``: use an existing ``distributed.Client`` instead.
    """

    name = "dask"

    def __init__(
        self,
        address: str | None = None,
        *,
        client: Any = None,
        cluster: dict[str, Any] | None = None,
        connect_timeout: float = 10.0,
        outage: float = 300.0,
    ) -> None:
        # Seconds a call waits for a lost scheduler to come back before ExecutorUnavailableError.
        self.outage = outage
        self._reached = client is not None  # connected once: a later loss is an outage
        self.address = address
        self._client = client
        self._owns_client = client is None
        self._cluster_options = cluster
        self._cluster: Any = None
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._payloads: dict[CID, Any] = {}
        self._waiting: dict[int, Any] = {}  # thread id -> the future it waits on (interrupt)
        self._interrupted: set[int] = set()  # id() of the futures interrupt() cancelled

    @property
    def where(self) -> str:
        """The cluster as ``--executor`` names it (for messages)."""
        return f"dask://{self.address.removeprefix('tcp://')}" if self.address else "dask:local"

    @property
    def client(self) -> Any:
        """The ``distributed.Client``, connected (and the local cluster started) on first use,
        and again after a client that gave up reconnecting closed."""
        with self._lock:
            if self._client is not None and self._owns_client and self._client.status == "closed":
                with contextlib.suppress(Exception):
                    self._client.close()
                self._client = None
            if self._client is None:
                self._client = self._connect()
                self._reached = True
            return self._client

    def _connect(self) -> Any:
        from catenary.extras import require_extra

        require_extra("dask")
        import distributed  # imported on first use: starting a node must not pay for it

        try:
            if self.address is None:
                options = {
                    "n_workers": os.cpu_count() or 1,
                    "threads_per_worker": 1,
                    "processes": True,
                    "dashboard_address": "127.0.0.1:0",
                }
                options.update(self._cluster_options or {})
                self._cluster = distributed.LocalCluster(**options)
                return distributed.Client(self._cluster, set_as_default=False)
            return distributed.Client(self.address, timeout=self._connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ExecutorUnavailableError(
                f"cannot reach the Dask scheduler at {self.where}: {type(exc).__name__}: {exc}"
            ) from exc

    def call(self, op: Operation, values: list[Any], config: dict[str, str], timeout: float | None) -> Any:
        """Run the call, submitting it again while the cluster is out, for up to ``outage`` s."""
        deadline = time.monotonic() + self.outage
        while True:
            try:
                return self._call_once(op, values, config, timeout)
            except _Interrupted:
                raise  # cancelled on purpose: not an outage to wait out
            except (_ClusterLost, ExecutorUnavailableError) as exc:
                if time.monotonic() >= deadline or not self._reached:
                    if isinstance(exc, ExecutorUnavailableError):
                        raise
                    raise ExecutorUnavailableError(
                        f"the Dask cluster at {self.where} lost the call of {op.name} and did not "
                        f"come back within {self.outage:g} s ({exc}); nothing was recorded for "
                        f"this segment, step it again"
                    ) from exc
                self._await_scheduler(deadline)

    def _await_scheduler(self, deadline: float) -> None:
        """Wait (up to ``deadline``) until the client is connected again."""
        while time.monotonic() < deadline:
            try:
                if self.client.status == "running":
                    return
            except ExecutorUnavailableError:
                pass  # not back yet: connect again next time round
            time.sleep(0.2)

    def _call_once(
        self, op: Operation, values: list[Any], config: dict[str, str], timeout: float | None
    ) -> Any:
        import asyncio  # loaded by distributed already; a node that never uses Dask skips it

        client = self.client
        if client.status != "running":
            raise _ClusterLost(f"the client is {client.status}")
        func = self._payload(op)
        # pure=False: a task per invocation, never one result shared by Dask's own key cache
        # (catenary memoizes by execution key, before it gets here).
        future = client.submit(
            functools.partial(func, **config),
            *values,
            pure=False,
            key=f"catenary-{op.name}-{os.urandom(8).hex()}",
        )
        self._waiting[threading.get_ident()] = future
        try:
            return future.result(timeout=timeout)
        except (Exception, asyncio.CancelledError) as exc:
            if id(future) in self._interrupted:
                raise _Interrupted(
                    f"{op.name} was interrupted on {self.where}: its run is being cancelled; "
                    f"nothing was recorded for this segment"
                ) from exc
            if future.status == "error":
                raise  # what the operation raised, or KilledWorker when its workers died
            lost = client.status != "running"
            if (
                isinstance(exc, TimeoutError)
                and timeout is not None
                and future.status == "pending"
                and not lost
            ):
                future.cancel()
                raise OperationTimeout(
                    f"{op.name} did not finish within the operation timeout of "
                    f"{timeout:g} s (on {self.where})"
                ) from exc
            raise _ClusterLost(f"{type(exc).__name__}: {exc}") from exc
        finally:
            self._waiting.pop(threading.get_ident(), None)
            self._interrupted.discard(id(future))
            with contextlib.suppress(Exception):  # a client that lost its scheduler may refuse
                future.release()

    def interrupt(self, thread_id: int) -> bool:
        future = self._waiting.get(thread_id)
        if future is None:
            return False
        self._interrupted.add(id(future))
        future.cancel()
        return True

    def _payload(self, op: Operation) -> Any:
        """What travels to the worker: the function (pickled by value by Dask's cloudpickle
        fallback, since the module attribute is the Operation, not the function), or for a
        WebAssembly operation its module bytes (a compiled module cannot be pickled)."""
        payload = self._payloads.get(op.version_id)
        if payload is None:
            module = getattr(op, "module", None)
            payload = op.func if module is None else _WasmCall(module.cid, module.data, module.limits)
            if module is None:
                _ship_module(op)
            self._payloads[op.version_id] = payload
        return payload

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._owns_client:
                self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = None


class _Interrupted(ExecutorUnavailableError):
    """A call :meth:`DaskExecutor.interrupt` cancelled because its run is being cancelled."""


class _ClusterLost(Exception):
    """A call the cluster lost (scheduler gone, client reconnecting): submitted again."""


def _ship_module(op: Operation) -> None:
    """Pickle the operation's module by value from now on, so that the helpers an operation
    calls in its own module travel with it to workers that do not have the module. catenary's
    own modules stay by reference: workers have catenary."""
    name = getattr(op.func, "__module__", None) or ""
    module = sys.modules.get(name)
    if module is None or name == "__main__" or name.split(".")[0] == "catenary":
        return
    import cloudpickle  # distributed's own dependency

    cloudpickle.register_pickle_by_value(module)


class _WasmCall:
    """A WebAssembly operation as it travels to a worker: its module bytes, compiled there once."""

    _compiled: dict[CID, Any] = {}

    def __init__(self, cid: CID, data: bytes, limits: Any) -> None:
        self.cid, self.data, self.limits = cid, data, limits

    def __call__(self, *inputs: Any, **config: str) -> Any:
        module = self._compiled.get(self.cid)
        if module is None:
            from catenary.operations.wasm.runtime import WasmModule

            module = self._compiled[self.cid] = WasmModule(self.cid, self.data, self.limits)
        return module.call(*inputs, **config)


def executor_from_spec(spec: str | Executor | None) -> Executor:
    """The executor a ``--executor`` value names: ``local`` (default), ``processes[:N]`` (a
    pool of N local processes), ``dask:local``, or ``dask://HOST:PORT`` (a running scheduler)."""
    if isinstance(spec, Executor):
        return spec
    if spec is None or spec in ("", "local"):
        return LocalExecutor()
    if spec == "processes":
        return ProcessExecutor()
    if spec.startswith("processes:") and spec.removeprefix("processes:").isdigit():
        count = int(spec.removeprefix("processes:"))
        if count >= 1:
            return ProcessExecutor(count)
    if spec == "dask:local":
        return DaskExecutor()
    if spec.startswith("dask://"):
        address = spec.removeprefix("dask://")
        host, _, port = address.rpartition(":")
        if host and port.isdigit():
            return DaskExecutor(f"tcp://{address}")
    raise BadInputError(
        f"--executor {spec!r}: expected local, processes[:N], dask:local or dask://HOST:PORT "
        f"(a Dask scheduler, e.g. dask://127.0.0.1:8786)"
    )

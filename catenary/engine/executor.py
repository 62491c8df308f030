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
  that kills every worker it is given fails its execution with ``KilledWorker``. A cluster
  that cannot be reached raises :class:`~catenary.errors.ExecutorUnavailableError` and nothing
  is recorded for the segment.

Operations run on Dask workers must not rely on state of the engine process (module globals it
changed, open files); catenary must be installed on the workers (values hold CIDs).
"""

from __future__ import annotations

import abc
import functools
import os
import threading
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
    ) -> None:
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
        """The ``distributed.Client``, connected (and the local cluster started) on first use."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
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
        import asyncio  # loaded by distributed already; a node that never uses Dask skips it

        client = self.client
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
                raise ExecutorUnavailableError(
                    f"{op.name} was interrupted on {self.where}: its run is being cancelled; "
                    f"nothing was recorded for this segment"
                ) from exc
            if future.status == "error":
                raise  # what the operation raised, or KilledWorker when its workers died
            if isinstance(exc, TimeoutError) and timeout is not None and future.status == "pending":
                future.cancel()
                raise OperationTimeout(
                    f"{op.name} did not finish within the operation timeout of "
                    f"{timeout:g} s (on {self.where})"
                ) from exc
            raise ExecutorUnavailableError(
                f"the Dask cluster at {self.where} lost the call of {op.name} "
                f"({type(exc).__name__}: {exc}); nothing was recorded for this segment, step it "
                f"again"
            ) from exc
        finally:
            self._waiting.pop(threading.get_ident(), None)
            self._interrupted.discard(id(future))
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
            self._payloads[op.version_id] = payload
        return payload

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._owns_client:
                self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = None


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
    """The executor a ``--executor`` value names: ``local`` (default), ``dask:local``, or
    ``dask://HOST:PORT`` (a running scheduler)."""
    if isinstance(spec, Executor):
        return spec
    if spec is None or spec in ("", "local"):
        return LocalExecutor()
    if spec == "dask:local":
        return DaskExecutor()
    if spec.startswith("dask://"):
        address = spec.removeprefix("dask://")
        host, _, port = address.rpartition(":")
        if host and port.isdigit():
            return DaskExecutor(f"tcp://{address}")
    raise BadInputError(
        f"--executor {spec!r}: expected local, dask:local or dask://HOST:PORT "
        f"(a Dask scheduler, e.g. dask://127.0.0.1:8786)"
    )

"""``catenary executor`` (perform remote operations for a node), ``catenary op register-remote``
and ``catenary exec history`` (claims and lease expiries of an execution)."""

from __future__ import annotations

import importlib
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from catenary.cli.output import cid_arg, emit, json_option, read_file
from catenary.errors import BadInputError, CatenaryError

DEFAULT_HOME = "~/.config/catenary/executor"
EXECUTOR_KEY_FILE = "executor_key.pem"


def _remote_operations(modules: tuple[str, ...]) -> list[Any]:
    from catenary.operations import Operation
    from catenary.remote import is_remote

    found = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise BadInputError(f"--operations {name}: cannot import it: {exc}") from exc
        ops = [v for v in vars(module).values() if isinstance(v, Operation) and is_remote(v)]
        if not ops:
            raise BadInputError(
                f"--operations {name}: the module defines no remote operation "
                f"(declare one with @remote above @operation; see docs/design.md)"
            )
        found.extend(ops)
    return found


@click.command("executor")
@click.option(
    "--node",
    "address",
    metavar="HOST:PORT",
    help="The node to work for (default: the global --node or $CATENARY_NODE).",
)
@click.option(
    "--operations",
    "modules",
    multiple=True,
    metavar="MODULE",
    help="A Python module whose remote operations (@remote @operation) to perform (repeatable).",
)
@click.option(
    "--dir",
    "home",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_HOME,
    show_default=True,
    metavar="DIR",
    help="This executor's own directory: its key, DIR/executor_key.pem, is created there (mode "
    "0600) on first start; its did:key is its id in the records. One directory per process.",
)
# click options: rows of one shape, each its own flag, alike by nature.
@click.option(
    "--lease",
    type=click.FloatRange(0.1, 86400),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="Each claim lasts this long unless renewed (renewed every third of it while the operation runs).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="Executions performed at the same time.",
)
@click.option(
    "--queue",
    default="default",
    show_default=True,
    metavar="NAME",
    help="The task queue to take work from (runs route remote steps to queues: `run --queue`).",
)
@click.option(
    "--wait",
    type=click.FloatRange(0, 60),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="How long one claim waits at the node for work to appear (long poll).",
)
@json_option
@click.pass_obj
def executor_cmd(
    c: Any,
    address: str | None,
    modules: tuple[str, ...],
    home: Path,
    lease: float,
    concurrency: int,
    queue: str,
    wait: float,
    as_json: bool,
) -> None:
    """Perform the remote operations of Python modules for a served node until SIGTERM/Ctrl-C:
    ask the node for work on a queue (each execution handed out is claimed, a lease renewed
    while it runs), run it, report the output or the error, signed with the executor's key.
    A report refused because the lease was lost is dropped and work goes on. With --json, one
    line per execution performed."""
    from catenary.remote import Worker
    from catenary.trust.identity import Identity

    address = address or c.address
    if not address:
        raise click.UsageError("executor needs --node HOST:PORT (a node served by `catenary serve`)")
    if not modules:
        raise click.UsageError("executor needs --operations MODULE (a module of remote operations)")
    # click 8.5 deprecates get_text_stream and serves it from a module __getattr__ typed object.
    err = click.get_text_stream("stderr")  # type: ignore[operator]

    def log(line: str) -> None:
        click.echo(line, file=err)

    def on_event(outcome: Any) -> None:
        if as_json:
            emit(
                {
                    "event": outcome.event,
                    "execution": str(outcome.execution),
                    "operation": outcome.operation,
                    "executor": outcome.executor,
                    "seconds": outcome.seconds,
                    "detail": outcome.detail,
                }
            )
        else:
            detail = f": {outcome.detail}" if outcome.detail else ""
            click.echo(
                f"{outcome.event:9} {outcome.execution} {outcome.operation} "
                f"({outcome.seconds * 1000:.1f} ms){detail}"
            )
            sys.stdout.flush()

    operations = _remote_operations(modules)  # checked before anything is created
    home = Path(home).expanduser()
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise BadInputError(f"--dir: cannot create {home}: {exc.strerror}") from None
    worker = Worker(
        address,
        operations,
        Identity.load_or_create_file(home / EXECUTOR_KEY_FILE),
        lease=lease,
        concurrency=concurrency,
        on_event=on_event,
        log=log,
        tls=c.tls,
        queue=queue,
        wait=wait,
    )
    try:
        missing = worker.unknown_operations()
    except CatenaryError as exc:
        raise CatenaryError(f"cannot reach the node at {address}: {exc}") from exc
    for op in missing:
        log(
            f"warning: the node does not know {op.name} ({op.version_id}), so it creates no "
            f"executions of it: start it with --ops {op.func.__module__} or register the manifest "
            f"with `catenary op register-remote`"
        )
    names = ", ".join(f"{op.name} ({op.version_id})" for op in worker.operations.values())
    log(f"executor {worker.id} performing {names} for {address} from queue {queue}; lease {lease:g} s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker.run(stop)
    log(f"executor {worker.id} stopped")


@click.command("register-remote")
@click.argument("manifest_file", metavar="MANIFEST.json", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
def register_remote_cmd(c: Any, manifest_file: Path, as_json: bool) -> None:
    """Record an operation that external executors perform (implementation kind remote) from
    its manifest (JSON: {name, description, inputs, output, config, groups}, or {"id"?, "data"});
    prints its version id."""
    from catenary.cid.dagjson import parse as parse_dag_json
    from catenary.operations.wasm.abi import parse_manifest
    from catenary.sdk import documents as render

    node = c.local("op register-remote")
    where = str(manifest_file)
    text = read_file(manifest_file, "manifest", stdin=True)
    try:
        document = parse_dag_json(text.decode("utf-8"), where)
    except UnicodeDecodeError as exc:
        raise BadInputError(f"{where}: not UTF-8 at byte {exc.start}") from exc
    info = node.operations.register_remote(parse_manifest(document, where))
    if as_json:
        emit(render.operation_json(info))
    else:
        click.echo(f"{info.version_id}  {info.manifest.name} (remote)")


@click.command("history")
@click.argument("execution_hash", metavar="HASH")
@json_option
@click.pass_obj
def exec_history(c: Any, execution_hash: str, as_json: bool) -> None:
    """Show what an execution's record overwrites: each claim by an external executor, each
    lease that lapsed and returned it to created, and each attempt under a retry policy."""
    wanted = cid_arg(execution_hash, "HASH")
    node = c.local("exec history")
    entries = node.executions.history(wanted)
    attempts = node.executions.attempts(wanted)
    if as_json:
        emit(
            {
                "execution": str(wanted),
                "history": [
                    {"seq": h.seq, "at": h.at, "change": h.change, "executor": h.executor, "detail": h.detail}
                    for h in entries
                ],
                "attempts": [
                    {
                        "attempt": a.attempt,
                        "started_at": a.started_at,
                        "finished_at": a.finished_at,
                        "error": a.error,
                    }
                    for a in attempts
                ],
            }
        )
        return
    for h in entries:
        detail = f"  ({h.detail})" if h.detail else ""
        click.echo(f"{h.seq:>8} {h.change:14} {h.executor or '-'}{detail}")
    for a in attempts:
        click.echo(f"attempt {a.attempt}: {a.error or 'completed'}")

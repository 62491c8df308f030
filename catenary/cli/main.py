"""The ``catenary`` command line: human output by default, ``--json`` for scripts.

Exit status: 0 success, 1 an operation/run/verification failed, 2 bad input or usage.

Start-up is part of the interface (docs/benchmarks.md): this module imports only click, rich's
console and the light parts of catenary; the node, the client and the documents load inside the
commands that use them.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from catenary._version import __version__
from catenary.cid import CID
from catenary.cid.dagjson import dumps, to_json
from catenary.cid.display import short
from catenary.cli import output
from catenary.cli.complete import complete_stored_ids
from catenary.cli.output import (
    LazyModule,
    cid_arg,
    emit,
    err,
    full_option,
    json_option,
    ns_time,
    out,
    read_file,
)
from catenary.cli.runopts import drive_options, is_local_drive, run_options
from catenary.cli.values import parse_segment_inputs, parse_value
from catenary.cli.wasm import op_add
from catenary.errors import BadInputError, CatenaryError, ExecutionFailedError
from catenary.model import Direction, Status

if TYPE_CHECKING:
    from catenary.model.filter import ExecutionFilter
    from catenary.model.node import NodeLike
    from catenary.model.results import OperationInfo
    from catenary.sdk import Node
    from catenary.sdk import documents as render
    from catenary.store import RunState
else:
    render = LazyModule("catenary.sdk.documents")


class Context:
    """Opens the node on first use, so --help and usage errors never touch the data dir.

    The global options --node, --data-dir and --db are taken before the command (the group's)
    and after it (every command's, see ``_global_options_after``); a value after the command
    wins, as a repeated option does in click. ``check`` runs once all are in.
    """

    def __init__(
        self,
        data_dir: Path | None,
        operations: tuple[str, ...],
        max_value_size: int | None,
        address: str | None,
        db: str | None = None,
        operation_timeout: float | None = None,
        executor: str | None = None,
        remote_wait: float | None = None,
        db_from_env: bool = False,
    ) -> None:
        # Plain assignments of the arguments (alike in shape to any constructor's).
        self.data_dir = data_dir
        self.executor = executor
        self.remote_wait = remote_wait
        self.operation_timeout = operation_timeout
        self.operations = operations
        self.max_value_size = max_value_size
        self.address = address
        self.db = db
        self.db_from_env = db_from_env
        self.key: Path | None = None  # --key; resolved (with CATENARY_KEY) when --node is used
        self.tls: Any = None  # ClientTLS for --node, when --tls-ca / --client-cert are given
        self._node: NodeLike | None = None
        self.project: Any = None  # the catenary.toml read (catenary.project.Project)
        self.sources: dict[str, str] = {}  # setting -> where it came from (catenary info)

    def check(self) -> None:
        """Refuse global options that exclude each other (exit 2, before anything is opened)."""
        if self.db and self.address:
            if self.db_from_env:
                self.db = None  # CATENARY_DB set for the nodes of a deployment: --node still wins
            else:
                raise click.UsageError(
                    "--db and --node exclude each other: a served node uses its "
                    "own database (give --db to `catenary serve` instead)"
                )
        if self.executor and self.address:
            raise click.UsageError(
                "--executor and --node exclude each other: a served node runs "
                "operations where it was started to (give --executor to "
                "`catenary serve` instead)"
            )

    @property
    def node(self) -> NodeLike:
        """The local node (sdk) or, with --node, a client of a remote one: the same shape."""
        if self._node is None:
            size: dict[str, Any] = (
                {} if self.max_value_size is None else {"max_value_size": self.max_value_size}
            )
            if self.address:
                from catenary.client import Client
                from catenary.trust.identity import resolve_key

                self._node = Client(self.address, **size, key=resolve_key(self.key), tls=self.tls)
            else:
                from catenary.sdk import Node

                extra: dict[str, Any] = {} if self.remote_wait is None else {"remote_wait": self.remote_wait}
                self._node = Node(
                    self.data_dir,
                    operations=self.operations,
                    db=self.db,
                    operation_timeout=self.operation_timeout,
                    executor=self.executor,
                    **size,
                    **extra,
                )
                # Not silent for a person (another directory has another history); on a terminal
                # only, so scripts that read stderr see what they always did.
                if self._node.created and sys.stderr.isatty():
                    err.print(f"created a new data dir {self._node.data_dir.resolve()}")
        return self._node

    def list_operations(self) -> list[OperationInfo]:
        """``op list``: on an existing local data dir, its store and registry only, not a whole
        node (start-up, docs/benchmarks.md); else the node's, which makes a new data dir."""
        from catenary.project import default_data_dir

        data_dir = self.data_dir or default_data_dir()
        if self.address or self._node is not None or not data_dir.is_dir():
            return self.node.operations.list()
        from catenary.sdk.catalog import stored_operations

        with stored_operations(data_dir, operations=self.operations, db=self.db) as operations:
            return operations.list()

    def match_ids(self, kind: str, fragment: str) -> list[CID]:
        """Stored ids of ``kind`` starting or ending with ``fragment`` (a shortened CID)."""
        if self.address:
            raise BadInputError(f"{fragment!r} is not a whole CID; with --node give the whole CID")
        return cast("Node", self.node).store.match_ids(kind, fragment)

    @property
    def value_cap(self) -> int:
        """The largest input value: a bigger file is refused by its size, before it is read."""
        from catenary.model.results import DEFAULT_MAX_VALUE_SIZE

        return self.max_value_size or DEFAULT_MAX_VALUE_SIZE

    def local(self, command: str) -> Node:
        if self.address:
            raise click.UsageError(f"{command} runs on a local data dir; it does not take --node")
        return cast("Node", self.node)  # without --node, node is a local Node

    def close(self) -> None:
        if self._node is not None:
            self._node.close()


pass_ctx = click.make_pass_decorator(Context)

DATA_DIR_TYPE = click.Path(file_okay=False, path_type=Path)
NODE_HELP = (
    "Talk to a node served by `catenary serve` instead of the local data dir; several nodes of "
    "one database as HOST:PORT,HOST:PORT (the next is tried when one is unavailable)."
)
DATA_DIR_HELP = "Data directory (default ./.catenary, or $CATENARY_HOME)."
KEY_TYPE = click.Path(dir_okay=False, path_type=Path)
KEY_HELP = (
    "With --node: sign each call with this key (default $CATENARY_KEY, else "
    "~/.config/catenary/key.pem if it exists; see `catenary key new`)."
)
DB_HELP = (
    "Keep the execution DB in PostgreSQL (postgresql://USER@HOST:PORT/DBNAME), "
    "shared with other nodes, instead of the data dir's SQLite file."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=DATA_DIR_TYPE, envvar="CATENARY_HOME", help=DATA_DIR_HELP)
@click.option(
    "--ops",
    "operations",
    multiple=True,
    metavar="MODULE",
    help="Import a Python module of @operation functions (repeatable).",
)
@click.option(
    "--max-value-size",
    type=click.IntRange(1),
    default=None,
    envvar="CATENARY_MAX_VALUE_SIZE",
    metavar="BYTES",
    help="Refuse values (inputs and outputs) larger than this, encoded [default: 67108864, 64 MiB].",
)
@click.option(
    "--operation-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    envvar="CATENARY_OPERATION_TIMEOUT",
    metavar="SECONDS",
    help="Fail an execution whose operation runs longer than this (default: no limit).",
)
@click.option("--node", "address", envvar="CATENARY_NODE", metavar="HOST:PORT", help=NODE_HELP)
@click.option("--db", envvar="CATENARY_DB", metavar="URL", help=DB_HELP)
@click.option(
    "--executor",
    "executor",
    envvar="CATENARY_EXECUTOR",
    metavar="SPEC",
    help="Where operations run: local (default), processes[:N] (a pool of N local processes), "
    "dask:local (a Dask cluster of worker processes started here) or dask://HOST:PORT "
    "(a running Dask scheduler).",
)
@click.option(
    "--remote-wait",
    type=click.FloatRange(min=0),
    default=None,
    envvar="CATENARY_REMOTE_WAIT",
    metavar="SECONDS",
    help="How long next() waits for external executors to finish a remote step (default 300).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON document on stdout (the same as --json after the command).",
)
@click.option("--key", type=KEY_TYPE, metavar="FILE", help=KEY_HELP)
# click options: rows of one shape, each its own flag (these TLS options are the client's, serve has its own).
@click.option(
    "--tls-ca",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="CATENARY_TLS_CA",
    metavar="PEM",
    help="With --node: talk TLS, checking the node's certificate with this CA.",
)
@click.option(
    "--client-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="CATENARY_CLIENT_CERT",
    metavar="PEM",
    help="With --node and --tls-ca: this client certificate (mutual TLS).",
)
@click.option(
    "--client-key",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="CATENARY_CLIENT_KEY",
    metavar="PEM",
    help="The private key of --client-cert.",
)
@click.version_option(__version__, prog_name="catenary")
@click.pass_context
def cli(
    ctx: click.Context,
    data_dir: Path | None,
    operations: tuple[str, ...],
    max_value_size: int | None,
    operation_timeout: float | None,
    address: str | None,
    db: str | None,
    executor: str | None,
    remote_wait: float | None,
    as_json: bool,
    key: Path | None,
    tls_ca: Path | None,
    client_cert: Path | None,
    client_key: Path | None,
) -> None:
    """catenary: workflows whose every execution is content-addressed, traceable and verifiable."""
    from_env = ctx.get_parameter_source("db") is click.core.ParameterSource.ENVIRONMENT
    state = Context(
        data_dir,
        operations,
        max_value_size,
        address,
        db,
        operation_timeout,
        executor,
        remote_wait,
        db_from_env=bool(db) and from_env,
    )
    _apply_project(ctx, state, key)
    output.ID_MATCHER = state.match_ids  # shortened CIDs resolve against this node's store
    state.check()
    if executor:
        from catenary.engine.executor import executor_from_spec

        executor_from_spec(executor)  # a malformed SPEC is refused before anything is opened
    state.key = state.key or key
    if tls_ca or client_cert or client_key:
        from catenary.client import ClientTLS

        state.tls = ClientTLS(tls_ca, client_cert, client_key)
    ctx.obj = state
    ctx.call_on_close(state.close)


def _apply_project(ctx: click.Context, state: Context, key: Path | None) -> None:
    """Defaults from catenary.toml (cwd, else the data dir); options and environment win.
    ``state.sources`` says where each setting came from (``catenary info``)."""
    from catenary.project import default_data_dir, find_project

    def source(name: str) -> str:
        found = ctx.get_parameter_source(name)
        return "environment" if found is click.core.ParameterSource.ENVIRONMENT else "option"

    project = find_project(Path.cwd(), state.data_dir or default_data_dir())
    state.project = project
    from_file = f"{project.path}" if project.path else ""
    sources = state.sources
    sources["data_dir"] = source("data_dir") if state.data_dir else "default"
    if state.data_dir is None and project.data_dir is not None:
        state.data_dir, sources["data_dir"] = project.data_dir, from_file
    sources["node"] = source("address") if state.address else "default"
    if state.address is None and project.node and not state.db:
        state.address, sources["node"] = project.node, from_file
    sources["key"] = "option" if key else "default"
    if key is None and project.key is not None:
        state.key, sources["key"] = project.key, from_file
    if project.operations:
        state.operations = (*project.operations, *state.operations)
        sources["operations"] = from_file


def _global_after(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """--node/--data-dir/--db/--key after the command: override what was given before it."""
    if value is None:
        return
    state = ctx.find_object(Context)
    assert state is not None  # the group's callback made it before any command parses
    if param.name == "address":
        state.address = value
    elif param.name == "data_dir":
        state.data_dir = value
    elif param.name == "key":
        state.key = value
    else:
        state.db, state.db_from_env = value, False
    state.check()


def _global_options_after(group: click.Group) -> None:
    """Give every command of the tree the global options users type after the subcommand
    (`catenary exec list --node HOST:PORT`); a command with an option of its own keeps it."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _global_options_after(command)
            continue
        taken = {opt for p in command.params for opt in p.opts}
        for opt, name, kwargs in (
            ("--node", "address", {"metavar": "HOST:PORT", "help": NODE_HELP}),
            ("--data-dir", "data_dir", {"type": DATA_DIR_TYPE, "help": DATA_DIR_HELP}),
            ("--db", "db", {"metavar": "URL", "help": DB_HELP}),
            ("--key", "key", {"type": KEY_TYPE, "metavar": "FILE", "help": KEY_HELP}),
        ):
            if opt not in taken:
                command.params.append(
                    click.Option(
                        [opt, name], expose_value=False, is_eager=True, callback=_global_after, **kwargs
                    )
                )


# workflows -------------------------------------------------------------------------
@cli.group()
def workflow() -> None:
    """Create, show and list workflow manifests."""


@workflow.command("create")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_ctx
def workflow_create(c: Context, file: Path, as_json: bool) -> None:
    """Validate a manifest (JSON) and store it; prints its id."""
    info = c.node.workflows.create(read_file(file, "manifest", stdin=True))
    if as_json:
        emit(render.workflow_json(info.id, info.workflow))
    else:
        out.print(f"{info.id}  {info.workflow.name} ({len(info.workflow.segments)} segments)")


@workflow.command("show")
@click.argument("workflow_id")
@json_option
@pass_ctx
def workflow_show(c: Context, workflow_id: str, as_json: bool) -> None:
    """Show a workflow manifest."""
    info = c.node.workflows.get(cid_arg(workflow_id, "WORKFLOW"))
    document = render.workflow_json(info.id, info.workflow)
    if as_json:
        emit(document)
        return
    wf = info.workflow
    out.print(f"{wf.name}  {info.id}")
    if wf.description:
        out.print(wf.description)
    names = {o.version_id: o.manifest.name for o in c.node.operations.list()}
    for index, segment in enumerate(wf.segments):
        sources = ", ".join("input" if s == -1 else f"segment {s}" for s in segment.inputs)
        chain = " -> ".join(
            names.get(step.version_id, str(step.version_id))
            + (f"({', '.join(f'{k}={v}' for k, v in step.config.items())})" if step.config else "")
            for step in segment.sequence
        )
        out.print(f"  {index} [{sources}]  {chain}")


@workflow.command("list")
@full_option
@json_option
@pass_ctx
def workflow_list(c: Context, full: bool, as_json: bool) -> None:
    """List stored workflows."""
    infos = c.node.workflows.list()
    if as_json:
        emit(
            {
                "workflows": [
                    {
                        "id": str(i.id),
                        "name": i.workflow.name,
                        "segments": len(i.workflow.segments),
                        "created_at": i.created_at,
                    }
                    for i in infos
                ]
            }
        )
        return
    from rich.table import Table

    table = Table("id", "name", "segments", "created")
    for i in infos:
        table.add_row(
            short(i.id, full), i.workflow.name, str(len(i.workflow.segments)), ns_time(i.created_at)
        )
    out.print(table)


# operations -------------------------------------------------------------------------
@cli.group("op")
def op() -> None:
    """Inspect operations."""


@op.command("list")
@full_option
@json_option
@pass_ctx
def op_list(c: Context, full: bool, as_json: bool) -> None:
    """List registered operation versions."""
    infos = c.list_operations()
    if as_json:
        emit({"operations": [render.operation_json(i) for i in infos]})
        return
    from catenary.cli.table import print_table

    rows = [
        (
            i.manifest.name,
            ", ".join(map(json.dumps, i.manifest.inputs)),
            json.dumps(i.manifest.output),
            short(i.version_id, full),
            "yes" if i.available else "no",
        )
        for i in infos
    ]
    print_table(("name", "inputs", "output", "version_id", "here"), rows)


@op.command("show")
@click.argument("version_id")
@json_option
@pass_ctx
def op_show(c: Context, version_id: str, as_json: bool) -> None:
    """Show an operation version and its manifest."""
    document = render.operation_json(c.node.operations.get(cid_arg(version_id, "VERSION_ID")))
    if as_json:
        emit(document)
        return
    for key, value in document.items():
        out.print(f"{key:15} {value if isinstance(value, str) else json.dumps(value)}")


op.add_command(op_add)


# runs ----------------------------------------------------------------------------------
@contextlib.contextmanager
def failure_document(as_json: bool) -> Iterator[None]:
    """With --json, a failed operation still prints one document (done false, the error, and
    the failed execution) before the error line on stderr and exit status 1."""
    try:
        yield
    except ExecutionFailedError as exc:
        if as_json:
            failed = exc.execution
            emit(
                {
                    "run": render.cid_text(getattr(failed, "run", None)),
                    "done": False,
                    "result": None,
                    "segment": getattr(failed, "segment", None),
                    "segment_time": None,
                    "total_time": None,
                    "final": render.cid_text(getattr(failed, "hash", None)),
                    "error": str(exc),
                }
            )
        raise


fresh_option = click.option("--fresh", is_flag=True, help="Execute everything again (no memoization).")
queue_option = click.option(
    "--queue",
    "queues",
    multiple=True,
    metavar="[SELECTOR=]NAME",
    help="Offer remote steps on task queue NAME: all of them, or those SELECTOR names "
    "(SEGMENT.STEP or an operation name); repeatable. Not hashed (docs/design.md, Task queues).",
)


@cli.command("run")
# click options: rows of one shape, each its own flag, alike by nature.
@click.argument("workflow_id", metavar="WORKFLOW")
@click.option(
    "--input",
    "-i",
    "inputs",
    multiple=True,
    metavar="SEG=VALUE",
    help="External input for a segment's -1 slot; repeat for several slots, in slot order.",
)
@fresh_option
@queue_option
@click.option(
    "--progress/--no-progress",
    default=None,
    help="A line per step and segment on stderr as they finish (default: when stderr is a terminal).",
)
@drive_options
@click.option(
    "--detach",
    is_flag=True,
    help="With --node: print the run id and return; the node drives the run to the end.",
)
@json_option
@pass_ctx
def run_cmd(
    c: Context,
    workflow_id: str,
    inputs: tuple[str, ...],
    fresh: bool,
    queues: tuple[str, ...],
    progress: bool | None,
    as_json: bool,
    parallel: int,
    retries: int | None,
    backoff: float | None,
    retry_on: tuple[str, ...],
    step_timeout: float | None,
    options_file: Path | None,
    detach: bool,
) -> None:
    """Run a workflow to the end: with --node the node drives it (follow, or --detach)."""
    from catenary.cli.progress import RunProgress
    from catenary.model.queues import parse_routes

    routes = parse_routes(queues)
    if routes and c.address:  # Run.Submit carries no routes yet: refuse rather than drop them
        raise click.UsageError(
            "--queue with --node: a run the node drives takes no queue routes yet; "
            "create it with `catenary new --queue` and step it, or run on a local data dir"
        )
    if detach and not c.address:
        raise click.UsageError("--detach needs --node: only a served node drives a run on its own")
    wf_id = cid_arg(workflow_id, "WORKFLOW")
    values = parse_segment_inputs(inputs, c.value_cap)
    options = run_options(retries, backoff, retry_on, step_timeout, options_file)
    extra: dict[str, Any] = {}
    if is_local_drive(parallel, options):
        c.local("run --parallel/--retries/--step-timeout/--options")
        extra = {"parallel": parallel, "options": options}
    live = sys.stderr.isatty() if progress is None else progress
    if c.address:
        from catenary.cli.runs import submit_and_follow

        return submit_and_follow(c, wf_id, values, fresh, live, detach, as_json)
    # With --json the document names the run, and stderr stays the one error line scripts read.
    shown = RunProgress(c.node, c.node.workflows.get(wf_id).workflow, live, say_run=live or not as_json)
    started: list[RunState] = []

    def start(state: RunState) -> None:
        started.append(state)
        shown.start(state)

    try:
        with failure_document(as_json):
            state, result = c.node.runs.run(
                wf_id, values, fresh=fresh, on_step=shown.step, on_start=start, queues=routes, **extra
            )
    except KeyboardInterrupt:
        if started:  # this process stepped it: nothing else will; end it rather than leave it running
            c.node.runs.cancel(started[0].id, "interrupted (Ctrl-C)")
            err.print(f"run {started[0].id} cancelled")
        raise
    finally:
        shown.close()
    print_run(state.id, result, as_json)


def print_run(run_id: CID, result: Any, as_json: bool) -> None:
    if as_json:
        emit(render.step_json(result))
        return
    out.print(f"run     {run_id}")
    out.print(f"result  {dumps(result.result)}")
    out.print(f"final   {result.final}")
    out.print(f"time    {result.total_time:.2f} ms")


@cli.command("new")
@click.argument("workflow_id", metavar="WORKFLOW")
@click.option(
    "--nonce",
    metavar="HEX",
    help="The run's 16-byte nonce as 32 hex digits (default: random), "
    "to repeat a run elsewhere with the same ids. Local only.",
)
@queue_option
@json_option
@pass_ctx
def new_cmd(c: Context, workflow_id: str, nonce: str | None, queues: tuple[str, ...], as_json: bool) -> None:
    """Create a run of a workflow; step it with `catenary next RUN`."""
    from catenary.model.queues import parse_routes

    routes = parse_routes(queues)
    if nonce is None:
        state = c.node.runs.new(cid_arg(workflow_id, "WORKFLOW"), queues=routes)
    else:
        try:
            raw = bytes.fromhex(nonce)
        except ValueError:
            raise BadInputError(f"--nonce {nonce!r}: expected 32 hex digits") from None
        if len(raw) != 16:
            raise BadInputError(f"--nonce {nonce!r}: expected 32 hex digits (16 bytes), got {len(raw)} bytes")
        state = c.local("new --nonce").runs.new(cid_arg(workflow_id, "WORKFLOW"), raw, queues=routes)
    if as_json:
        emit(render.run_json(state, len(c.node.workflows.get(state.workflow).workflow.segments)))
    else:
        out.print(str(state.id))


@cli.command("next")
@click.argument("run_id", metavar="RUN")
# Declared like run's --input, but for one segment's slots: its own metavar and help.
@click.option(
    "--input",
    "-i",
    "inputs",
    multiple=True,
    metavar="VALUE",
    help="Value for the segment's next -1 slot; repeat in slot order.",
)
@fresh_option
@json_option
@pass_ctx
def next_cmd(c: Context, run_id: str, inputs: tuple[str, ...], fresh: bool, as_json: bool) -> None:
    """Execute the run's next segment."""
    values = [parse_value(v, f"--input {v}", c.value_cap) for v in inputs]
    with failure_document(as_json):
        result = c.node.runs.next(cid_arg(run_id, "RUN"), values, fresh=fresh)
    if as_json:
        emit(render.step_json(result))
        return
    out.print(
        f"segment {result.segment} done in {result.segment_time:.2f} ms "
        f"(total {result.total_time:.2f} ms)  final {result.final}"
    )
    if result.done:
        out.print(f"result  {dumps(result.result)}")


@cli.group()
def runs() -> None:
    """List, inspect, follow and cancel runs."""


@runs.command("list")
@click.option("--workflow", "workflow_id", metavar="WORKFLOW", help="Only runs of this workflow.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@full_option
@json_option
@pass_ctx
def runs_list(c: Context, workflow_id: str | None, limit: int, full: bool, as_json: bool) -> None:
    """List runs, newest first."""
    wf = cid_arg(workflow_id, "--workflow") if workflow_id else None
    states = c.node.runs.list(wf, limit)
    if as_json:
        emit({"runs": [render.run_json(s) for s in states]})
        return
    from rich.table import Table

    table = Table("run", "workflow", "status", "next", "total ms", "created")
    for s in states:
        table.add_row(
            short(s.id, full),
            short(s.workflow, full),
            s.status,
            str(s.next_segment),
            f"{s.total_time:.2f}",
            ns_time(s.created_at),
        )
    out.print(table)


@runs.command("get")
@click.argument("run_id", metavar="RUN")
@json_option
@pass_ctx
def runs_get(c: Context, run_id: str, as_json: bool) -> None:
    """Show a run: status, segment outputs and its nonce (so its id recomputes)."""
    state = c.node.runs.get(cid_arg(run_id, "RUN"))
    document = render.run_json(state, len(c.node.workflows.get(state.workflow).workflow.segments))
    if as_json:
        emit(document)
        return
    for key in ("run", "workflow", "status", "next_segment", "segments", "total_time", "error"):
        out.print(f"{key:13} {document[key]}")
    out.print(f"{'nonce':13} {json.dumps(document['nonce'])}")
    for o in document["outputs"]:
        out.print(f"  segment {o['segment']}: output {o['output']} from {o['producer']}")


@runs.command("retry")
@click.argument("run_id", metavar="RUN")
@click.option(
    "--input",
    "-i",
    "inputs",
    multiple=True,
    metavar="SEG=VALUE",
    help="External input for a segment the failed run never reached; repeat in slot order.",
)
@drive_options
@json_option
@pass_ctx
def runs_retry(
    c: Context,
    run_id: str,
    inputs: tuple[str, ...],
    as_json: bool,
    parallel: int,
    retries: int | None,
    backoff: float | None,
    retry_on: tuple[str, ...],
    step_timeout: float | None,
    options_file: Path | None,
) -> None:
    """Run a failed run again as a new run with the inputs it was given: what completed is
    reused (memo), so the work starts where it failed. The failed run stays failed."""
    node = c.local("runs retry")
    values = parse_segment_inputs(inputs, c.value_cap)
    options = run_options(retries, backoff, retry_on, step_timeout, options_file)
    with failure_document(as_json):
        state, result = node.runs.retry(cid_arg(run_id, "RUN"), values, parallel, options)
    if not as_json:
        out.print(f"retry of {run_id}")
    print_run(state.id, result, as_json)


# executions ------------------------------------------------------------------------------
def filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--status",
            "statuses",
            multiple=True,
            type=click.Choice([s.value for s in Status]),
            help="Any of these statuses.",
        ),
        click.option("--workflow", "workflow_id", metavar="WORKFLOW"),
        click.option("--run", "run_id", metavar="RUN"),
        click.option("--operation", metavar="VERSION_ID", help="Operation version id."),
        click.option("--segment", type=int),
        click.option("--parent", metavar="HASH", help="Executions with this parent (execution or event)."),
        click.option("--key", metavar="KEY", help="Executions of this key (the same computation)."),
        click.option(
            "--created-after",
            metavar="TIME",
            help="Created after TIME: ISO 8601 (2026-11-27T10:00:00Z) or unix ns.",
        ),
        click.option("--created-before", metavar="TIME", help="Created before TIME (same forms)."),
        click.option("--input", "input_", metavar="CID", help="Executions that took this value as an input."),
        click.option("--output", metavar="CID", help="Executions that produced this value."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def parse_time(text: str | None, option: str) -> int | None:
    """ISO 8601 (naive means UTC) or integer unix nanoseconds."""
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    try:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadInputError(f"{option}: {text!r} is neither ISO 8601 time nor unix nanoseconds") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return int(moment.timestamp() * 1_000_000) * 1000


def build_filter(
    statuses: tuple[str, ...],
    workflow_id: str | None,
    run_id: str | None,
    operation: str | None,
    segment: int | None,
    parent: str | None,
    key: str | None,
    created_after: str | None = None,
    created_before: str | None = None,
    input_: str | None = None,
    output: str | None = None,
) -> ExecutionFilter:
    from catenary.model.filter import ExecutionFilter

    def opt(value: str | None, name: str) -> CID | None:
        return cid_arg(value, name) if value else None

    return ExecutionFilter(
        statuses=tuple(Status(s) for s in statuses),
        workflow=opt(workflow_id, "--workflow"),
        run=opt(run_id, "--run"),
        operation=opt(operation, "--operation"),
        segment=segment,
        parent=opt(parent, "--parent"),
        key=opt(key, "--key"),
        created_after=parse_time(created_after, "--created-after"),
        created_before=parse_time(created_before, "--created-before"),
        input=opt(input_, "--input"),
        output=opt(output, "--output"),
    )


@cli.group("exec")
def exec_() -> None:
    """Get, list, watch and trace executions."""


@exec_.command("get")
@click.argument("execution_hash", metavar="HASH")
@json_option
@pass_ctx
def exec_get(c: Context, execution_hash: str, as_json: bool) -> None:
    """Show one execution."""
    h = cid_arg(execution_hash, "HASH")
    execution = c.node.executions.get(h)
    document = render.execution_get_json(execution, c.node.executions.dispute(h), c.node.acceptance.get(h))
    if as_json:
        emit(document)
        return
    for key, value in document.items():
        if key.endswith("_at"):
            value = f"{value}  ({ns_time(value)})" if value else value
        if key == "disputed" and value:
            value = f"DISPUTED: {value['detail']}  ({ns_time(value['at'])}); never reused"
        if key == "acceptance":
            out.print(f"{key:12} {value['status'].upper()} under {value['rule']}: {value['reason']}")
            for vote in value["votes"]:
                counted = "counted" if vote["counted"] else "not counted"
                out.print(f"{'':12} {vote['role']:9} {vote['signer']} -> {vote['output']} ({counted})")
            continue
        if value is None:
            value = "-"
        out.print(f"{key:12} {value if not isinstance(value, (list, dict)) else json.dumps(value)}")


@exec_.command("list")
@filter_options
@click.option(
    "--acceptance",
    type=click.Choice(["accepted", "pending", "disputed"]),
    help="Only executions of this standing under the node's quorum policy.",
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--page-token", metavar="TOKEN", help="Continue from a previous page.")
@full_option
@json_option
@pass_ctx
def exec_list(
    c: Context,
    /,
    acceptance: str | None,
    limit: int,
    page_token: str | None,
    full: bool,
    as_json: bool,
    **flt: Any,
) -> None:
    """List executions, newest first, a page at a time."""
    import dataclasses

    from catenary.model.enums import Acceptance

    chosen = Acceptance(acceptance) if acceptance else None
    page = c.node.executions.list(
        dataclasses.replace(build_filter(**flt), acceptance=chosen), limit, page_token
    )
    if as_json:
        emit(
            {
                "executions": [render.execution_json(e) for e in page.executions],
                "next_page_token": page.next_page_token,
            }
        )
        return
    from rich.table import Table

    table = Table("hash", "seg.step", "status", "output", "cached", "created")
    for e in page.executions:
        table.add_row(
            short(e.hash, full),
            f"{e.segment}.{e.step}",
            e.status.value,
            short(e.output, full) if e.output else (e.error or "")[:40],
            "yes" if e.cached_from else "",
            ns_time(e.created_at),
        )
    out.print(table)
    if page.next_page_token:
        out.print(f"next page: --page-token {page.next_page_token}")


@exec_.command("watch")
@filter_options
@click.option(
    "--since",
    "since_seq",
    default=None,
    type=click.IntRange(0),
    help="Replay stored changes after this seq first (default: only new changes).",
)
@json_option
@pass_ctx
def exec_watch(c: Context, /, since_seq: int | None, as_json: bool, **flt: Any) -> None:
    """Stream executions as they change (one line each); Ctrl-C stops."""
    flt_obj = build_filter(**flt)
    start = c.node.executions.latest_seq() if since_seq is None else since_seq
    err.print(f"watching from seq {start}; Ctrl-C to stop")
    try:
        for e in c.node.executions.updates(flt_obj, start):
            if as_json:
                emit(render.execution_json(e))
            else:
                out.print(
                    f"{e.seq:>8} {e.status.value:11} {e.hash} seg {e.segment}.{e.step}"
                    + (f" error: {e.error}" if e.error else "")
                )
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass


@exec_.command("trace")
@click.argument("execution_hash", metavar="HASH")
@click.option(
    "--down", is_flag=True, help="Trace descendants instead: everything computed from HASH (its impact)."
)
@click.option(
    "--depth",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    metavar="N",
    help="At most N hops from HASH (0 = all the way).",
)
@click.option("--dot", "as_dot", is_flag=True, help="Print the graph in Graphviz DOT.")
@json_option
@pass_ctx
def exec_trace(c: Context, execution_hash: str, down: bool, depth: int, as_dot: bool, as_json: bool) -> None:
    """Trace an execution back to the events that started it (or, --down, forward)."""
    if as_dot and as_json:
        raise click.UsageError("--dot and --json are exclusive")
    trace = c.node.executions.trace(
        cid_arg(execution_hash, "HASH"), Direction.DESCENDANTS if down else Direction.ANCESTORS, depth
    )
    if as_json:
        emit(render.trace_json(trace))
        return
    from catenary.cli.trust import trace_dot, trace_tree

    names = {o.version_id: o.manifest.name for o in c.node.operations.list()}
    if as_dot:
        click.echo(trace_dot(trace, names, down))
        return
    out.print(trace_tree(trace, names, down))


# values -----------------------------------------------------------------------------------
@cli.group()
def value() -> None:
    """Read values from the content-addressed value store."""


@value.command("get")
@click.argument("cid")
@json_option
@pass_ctx
def value_get(c: Context, cid: str, as_json: bool) -> None:
    """Print a value as DAG-JSON."""
    emit(to_json(c.node.values.get(cid_arg(cid, "CID"))))


# serving ------------------------------------------------------------------------------------
@cli.command("serve")
@click.option(
    "--listen",
    default=None,
    metavar="HOST:PORT",
    help="Address for the gRPC API (default 127.0.0.1:50051, or none when only --http is "
    "given; port 0 picks a free one).",
)
@click.option(
    "--http",
    "http_listen",
    default=None,
    metavar="HOST:PORT",
    help="Also serve the web explorer and its read-only JSON gateway here (port 0 picks one).",
)
@click.option(
    "--http-host",
    "http_hosts",
    multiple=True,
    metavar="NAME",
    help="A host name the explorer answers to (repeatable; others get 400: no DNS rebinding). "
    "Default: the --http host, localhost, 127.0.0.1 and ::1.",
)
@click.option(
    "--workers",
    default=256,
    show_default=True,
    type=click.IntRange(4),
    help="Server threads; each open Updates stream holds one.",
)
@click.option(
    "--max-subscribers",
    type=click.IntRange(1),
    default=None,
    help="Cap on open Updates streams (default: workers - 16); over it: RESOURCE_EXHAUSTED.",
)
# click options: rows of one shape, each its own flag (these TLS options are the server's, not the client's).
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PEM",
    help="Serve gRPC and HTTP over TLS with this certificate (and --tls-key).",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PEM",
    help="The private key of --tls-cert.",
)
@click.option(
    "--tls-client-ca",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PEM",
    help="Mutual TLS: require client certificates signed by this CA (policy [[clients]] maps them to keys).",
)
@click.option(
    "--insecure", is_flag=True, help="Serve on a non-loopback address without TLS or authentication (warns)."
)
@click.option(
    "--webhook",
    is_flag=True,
    help="With --http: take events over POST /hooks/events/KEY (a call token; the policy's emit rule).",
)
@click.option(
    "--sync/--no-sync",
    default=True,
    show_default=True,
    help="Follow the peers (`catenary peer add`): store what they announce once it verifies.",
)
@click.option(
    "--run-lease",
    type=click.FloatRange(0.1),
    default=None,
    metavar="SECONDS",
    help="How long this node's lease on a run it drives lasts unrenewed: how soon another "
    "node takes the run over after this one dies (default 15).",
)
@click.option(
    "--validate",
    is_flag=True,
    help="Re-execute the executions other nodes did, as they arrive, signing each outcome "
    "(also [validate] on_serve in the policy).",
)
@pass_ctx
def serve(
    c: Context,
    listen: str | None,
    http_listen: str | None,
    http_hosts: tuple[str, ...],
    workers: int,
    max_subscribers: int | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    tls_client_ca: Path | None,
    insecure: bool,
    webhook: bool,
    sync: bool,
    run_lease: float | None,
    validate: bool,
) -> None:
    """Serve this data dir's node over gRPC (reflection and health on) and, with --http, the web
    explorer, until SIGTERM/Ctrl-C."""
    from catenary.api import Server
    from catenary.api.server import TLSFiles

    if (tls_cert is None) != (tls_key is None) or (tls_client_ca and not tls_cert):
        raise click.UsageError("TLS needs --tls-cert and --tls-key together (--tls-client-ca only with them)")
    tls = TLSFiles(tls_cert, tls_key, tls_client_ca) if tls_cert and tls_key else None
    if webhook and not http_listen:
        raise click.UsageError("--webhook is a route of the HTTP server: give --http HOST:PORT too")
    if listen is None and http_listen is None:
        listen = "127.0.0.1:50051"
    for address, option in ((listen, "--listen"), (http_listen, "--http")):
        if address:
            _refuse_busy(address, option)  # before the data dir is opened: a refusal touches nothing
    node = c.local("serve")
    node.triggers.dispatch()  # pairs a stopped node left unfired fire now, not at the next event
    web = None
    if http_listen:
        from catenary.web import WebServer

        # binds now: a busy address fails before gRPC starts
        web = WebServer(node, http_listen, tls=tls, insecure=insecure, hosts=http_hosts, webhook=webhook)
    server = (
        Server(
            node, listen, max_workers=workers, max_subscribers=max_subscribers, tls=tls, insecure=insecure
        ).start()
        if listen
        else None
    )
    from rich.markup import escape

    for warning in {w for w in (server and server.warning, web and web.warning) if w}:
        err.print(f"[yellow]warning:[/] {escape(warning)}", markup=True)
    if web:
        web.start()
    from catenary.sdk.schedule import Scheduler

    scheduler = Scheduler(node.schedules).start()  # ticks become events while serving
    syncer = None
    if sync:
        from catenary.network.sync import Syncer, log_to

        log_to(sys.stderr)
        syncer = Syncer(node).start()  # follows the peers there are, and those added later
    if run_lease is not None:
        node.runs.driver.set_lease(run_lease)
    node.runs.driver.start(takeover=True)  # drives submitted runs; takes over orphaned ones
    validating = node.validator.start(node.executions.updates) if validate or node.policy.validate else None
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    where = getattr(node.store, "where", node.data_dir)  # PostgreSQL: the URL without password
    on = " and ".join([*([server.address] if server else []), *([web.url] if web else [])])
    err.print(f"catenary node {node.id} serving {where} on {on}")
    if server:
        click.echo(f"listening on {server.address}")
    if web:
        click.echo(f"explorer on {web.url}")
    sys.stdout.flush()
    done.wait()
    err.print("shutting down: ending streams, finishing calls in flight")
    scheduler.stop()
    if syncer:
        syncer.stop()
    node.runs.close()  # stops at segment boundaries; the other nodes take over at once
    if validating:
        validating.set()
    if web:
        web.stop()
    if server:
        server.stop()


def _refuse_busy(address: str, option: str) -> None:
    """Exit 2 at once when another process listens on ``address`` (a probe bind; TIME_WAIT
    does not count: SO_REUSEADDR lets the probe past it, never past a listener)."""
    import socket

    from catenary.api.server import bind_error, split_address

    host, port = split_address(address, option)
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise bind_error(address, option) from None


# commands that live in their own modules -------------------------------------------------------
from catenary.cli.cache import cache_cmd  # noqa: E402
from catenary.cli.doctor import doctor  # noqa: E402
from catenary.cli.event import event_cmd  # noqa: E402
from catenary.cli.executor import exec_history, executor_cmd, register_remote_cmd  # noqa: E402
from catenary.cli.info import info_cmd  # noqa: E402
from catenary.cli.key import key_cmd  # noqa: E402
from catenary.cli.peer import peer_cmd  # noqa: E402
from catenary.cli.policy import policy_cmd  # noqa: E402
from catenary.cli.quorum import validate_cmd  # noqa: E402
from catenary.cli.runs import runs_cancel, runs_follow  # noqa: E402
from catenary.cli.schedule import schedule_cmd  # noqa: E402
from catenary.cli.statement import statement  # noqa: E402
from catenary.cli.trigger import trigger_cmd  # noqa: E402
from catenary.cli.trust import exec_attestations, export_cmd, import_cmd, verify_bundle_cmd, verify_cmd  # noqa: E402

cli.add_command(doctor)
runs.add_command(runs_follow)
runs.add_command(runs_cancel)
cli.add_command(cache_cmd)
cli.add_command(info_cmd)
cli.add_command(key_cmd)
cli.add_command(peer_cmd)
cli.add_command(policy_cmd)
cli.add_command(statement)
cli.add_command(event_cmd)
cli.add_command(trigger_cmd)
cli.add_command(schedule_cmd)
cli.add_command(executor_cmd)
op.add_command(register_remote_cmd)
exec_.add_command(exec_history)
for _command in (verify_cmd, export_cmd, verify_bundle_cmd, import_cmd, validate_cmd):
    cli.add_command(_command)
exec_.add_command(exec_attestations)
from catenary.cli.build import workflow_build  # noqa: E402

workflow.add_command(workflow_build)
_global_options_after(cli)
complete_stored_ids(cli)


def _error(message: str) -> None:
    """One red ``error:`` line on stderr (rich loads here, on the way out, not at start-up)."""
    from rich.markup import escape

    err.print(f"[red]error:[/] {escape(message)}", markup=True, highlight=False)


def main() -> None:
    """Entry point: maps catenary errors to one line on stderr and exit 1/2."""
    try:
        # The name and variable shell completion uses, also under `python -m catenary`.
        cli.main(standalone_mode=False, prog_name="catenary", complete_var="_CATENARY_COMPLETE")
    except CatenaryError as exc:
        _error(str(exc))
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(1)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        _error(exc.format_message() + hint)
        sys.exit(2)
    except click.ClickException as exc:
        _error(exc.format_message())
        sys.exit(2)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as exc:  # a file the command writes (an export, a key) on a full or read-only disk
        from catenary.store.failures import classify

        failure = classify(exc, str(exc.filename or "a file"), "write")
        if failure is None:
            raise
        _error(str(failure))
        sys.exit(failure.exit_code)
    sys.exit(0)


if __name__ == "__main__":
    main()

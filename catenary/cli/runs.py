"""Runs owned by nodes on the command line: `run --node` submits and follows (or `--detach`),
`runs follow` follows later, `runs cancel` ends a run (docs/cli.md, docs/design.md)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from catenary.cid.dagjson import dumps
from catenary.cli.output import cid_arg, emit, err, json_option, out

if TYPE_CHECKING:
    from catenary.cid import CID
    from catenary.cli.main import Context
    from catenary.cli.progress import RunProgress
    from catenary.model.results import RunState

# Seconds `runs cancel` waits for the driving node to stop the run at a step boundary.
CANCEL_WAIT = 30.0
INTERRUPTED = "Ctrl-C on a following catenary run"


def submit_and_follow(
    c: Context,
    workflow_id: CID,
    values: dict[int, list[Any]],
    fresh: bool,
    live: bool,
    detach: bool,
    as_json: bool,
) -> None:
    """`catenary run --node`: submit, print the run id first, then follow unless detached."""
    from catenary.cli.progress import RunProgress

    workflow = c.node.workflows.get(workflow_id).workflow
    # Made before the run exists: its step lines are read from the stream from here on.
    shown = RunProgress(c.node, workflow, live and not detach, say_run=live or not as_json)
    state = c.node.runs.submit(workflow_id, values, fresh=fresh)
    if detach:
        if as_json:
            emit({"run": str(state.id), "status": state.status})
        else:
            out.print(str(state.id))
        return
    follow_run(c, state, shown, as_json, since=0)


def follow_run(
    c: Context, state: RunState, shown: RunProgress, as_json: bool, since: int | None = None
) -> None:
    """Print the run's progress until it ends, then its result as `catenary run` does.
    Ctrl-C asks whether to cancel the run or detach from it (without a terminal: detach)."""
    from catenary.cli.main import failure_document
    from catenary.runs.follow import outcome
    from catenary.sdk import documents as render

    try:
        with failure_document(as_json):
            ended = _until_end(c, state, shown, since)
            if ended is None:
                return
            result = outcome(c.node, ended)
    finally:
        shown.close()
    if as_json:
        emit(render.step_json(result.last))
        return
    out.print(f"run     {ended.id}")
    out.print(f"result  {dumps(result.result)}")
    out.print(f"final   {result.final}")
    out.print(f"time    {result.total_time:.2f} ms")


def _until_end(c: Context, state: RunState, shown: RunProgress, since: int | None) -> RunState | None:
    """Follow the run to its end; None when the user detached (Ctrl-C)."""
    from catenary.runs.follow import follow

    started = False
    while True:
        try:
            if not started:
                started = True
                shown.start(state)  # the run id, first thing printed
            return follow(c.node, state.id, shown.step, since=since)
        except KeyboardInterrupt:
            if not _cancel_wanted(c, state.id):
                return None


def _cancel_wanted(c: Context, run_id: CID) -> bool:
    """After Ctrl-C: True once the run is asked to cancel (follow it to its end), False to
    detach (the node goes on driving it)."""
    follow_later = f"follow it with `catenary runs follow {run_id}`"
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        err.print(
            f"interrupted, not on a terminal: detached; run {run_id} goes on on the node ({follow_later})"
        )
        return False
    choice = click.prompt(
        f"\nrun {run_id}: cancel it, or detach (it goes on on the node)?",
        type=click.Choice(["cancel", "detach"]),
        default="detach",
        err=True,
    )
    if choice == "detach":
        err.print(f"detached: {follow_later}")
        return False
    c.node.runs.cancel(run_id, INTERRUPTED)
    err.print(f"cancel asked: the node stops run {run_id} at its next step boundary")
    return True


@click.command("follow")
@click.argument("run_id", metavar="RUN")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="A line per step and segment on stderr as they finish (default: when stderr is a terminal).",
)
@json_option
@click.pass_obj
def runs_follow(c: Context, run_id: str, progress: bool | None, as_json: bool) -> None:
    """Follow a run a node drives (after `run --detach`) until it ends; print its result."""
    from catenary.cli.progress import RunProgress

    state = c.node.runs.get(cid_arg(run_id, "RUN"))
    workflow = c.node.workflows.get(state.workflow).workflow
    live = sys.stderr.isatty() if progress is None else progress
    follow_run(c, state, RunProgress(c.node, workflow, live, say_run=False), as_json)


@click.command("cancel")
@click.argument("run_id", metavar="RUN")
@click.option("--reason", default="", help="Why; recorded in the run's error after who cancelled it.")
@click.option(
    "--wait",
    "wait_seconds",
    default=CANCEL_WAIT,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds to wait for the driving node to stop the run (0: ask and return).",
)
@json_option
@click.pass_obj
def runs_cancel(c: Context, run_id: str, reason: str, wait_seconds: float, as_json: bool) -> None:
    """End a running run `cancelled`: its node stops it at the next step boundary."""
    import threading

    from catenary.runs.follow import follow
    from catenary.sdk import documents as render

    run = cid_arg(run_id, "RUN")
    state = c.node.runs.cancel(run, reason)
    if wait_seconds and state.status == "running":
        stop = threading.Event()
        timer = threading.Timer(wait_seconds, stop.set)
        timer.daemon = True
        timer.start()
        try:
            state = follow(c.node, run, stop=stop)
        finally:
            timer.cancel()
    if as_json:
        emit(render.run_json(state))
    elif state.status == "running":
        out.print(f"run {state.id}: cancel asked; its node stops it at the next step boundary")
    else:
        out.print(f"run {state.id} {state.status}" + (f": {state.error}" if state.error else ""))

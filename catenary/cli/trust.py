"""Trust commands: ``verify``, ``export``, ``verify-bundle``, ``import``,
``exec attestations``, and the tree / DOT views of ``exec trace``.

A verification that does not hold prints its report, then exits 1 with one error line
on stderr; an unreadable bundle exits 2 (see docs/trust.md). ``verify`` and ``exec
attestations`` also work with ``--node`` (gRPC ``Execution.Verify`` / ``Attestations``:
the served node re-executes and checks); the bundle commands read and write local files
and a local data dir, so they refuse ``--node``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from catenary.cid import CID
from catenary.cli.output import cid_arg, emit, json_option, out, read_file
from catenary.errors import BadInputError, VerificationError

if TYPE_CHECKING:  # at run time these load with the command that needs them (CLI start-up)
    from rich.table import Table
    from rich.tree import Tree

    from catenary.model.results import Trace, Verdict
    from catenary.trust.bundle import BundleReport

from catenary.cli.output import LazyModule
from catenary.model import NodeKind

render = LazyModule("catenary.sdk.documents")

if TYPE_CHECKING:
    from catenary.trust import BundleReport


def _verdict_table(verdicts: list[Verdict], attestations: bool) -> Table:
    columns = ["execution", "operation", "seg.step", "verdict"]
    if attestations:
        columns.append("attestations")
    from rich.table import Table

    table = Table(*columns, "reason")
    for v in verdicts:
        row = [str(v.execution), v.name or str(v.operation), f"{v.segment}.{v.step}", v.verdict]
        if attestations:
            valid = sum(1 for a in v.attestations if a.valid)
            row.append(f"{valid}/{len(v.attestations)} valid")
        table.add_row(*row, v.reason)
    return table


# verify ---------------------------------------------------------------------------------------
@click.command("verify")
@click.argument("execution_hash", metavar="HASH")
@click.option(
    "--trace",
    "whole",
    is_flag=True,
    help="Verify every execution in HASH's ancestry too, and each record's hash and key.",
)
@json_option
@click.pass_obj
def verify_cmd(c: Any, execution_hash: str, whole: bool, as_json: bool) -> None:
    """Verify an execution by re-executing it (no cached result is reused).

    With --node, the served node re-executes it and signs its attestations."""
    node = c.node  # a local Node, or with --node a Client of the same shape
    report = node.trust.verify(cid_arg(execution_hash, "HASH"), trace=whole)
    if as_json:
        emit(render.verify_report_json(report))
    else:
        out.print(_verdict_table(report.verdicts, attestations=False))
        out.print(f"verdict  {report.overall}")
        if report.attested:
            out.print(f"added {len(report.attested)} validator attestation(s) signed by {report.signer}")
    if not report.ok:
        bad = [v for v in report.verdicts if not v.ok]
        first = bad[0]
        raise VerificationError(
            f"verification failed: {len(bad)} of {len(report.verdicts)} "
            f"execution(s) not verified; first: {first.execution} "
            f"{first.verdict}: {first.reason}"
        )


# attestations -----------------------------------------------------------------------------------
@click.command("attestations")
@click.argument("execution_hash", metavar="HASH")
@json_option
@click.pass_obj
def exec_attestations(c: Any, execution_hash: str, as_json: bool) -> None:
    """List an execution's signed attestations, each checked (valid or invalid, and why).

    With --node, the served node lists and checks them."""
    node = c.node
    hash_ = cid_arg(execution_hash, "HASH")
    checks = node.attestations.list(hash_)
    if as_json:
        emit(render.attestations_json(hash_, checks))
        return
    from rich.table import Table

    table = Table("attestation", "signer", "role", "check", "reason")
    for a in checks:
        table.add_row(str(a.cid), a.signer or "?", a.role, "valid" if a.valid else "INVALID", a.reason)
    out.print(table)
    if not checks:
        out.print("no attestations")


# bundles ---------------------------------------------------------------------------------------
@click.command("export")
# click options: rows of one shape, each its own flag, alike by nature.
@click.argument("execution_hash", metavar="HASH")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the CAR file here.",
)
@json_option
@click.pass_obj
def export_cmd(c: Any, execution_hash: str, output: Path, as_json: bool) -> None:
    """Write HASH's proof bundle: a CARv1 file with everything needed to check it.

    Local only: reads the local data dir and writes a local file (no --node)."""
    node = c.local("export")
    hash_ = cid_arg(execution_hash, "HASH")
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as stream:
            counts = node.trust.export(hash_, stream)
        os.replace(tmp, output)
    except OSError as exc:
        raise BadInputError(f"cannot write {str(output)!r}: {exc.strerror}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    size = output.stat().st_size
    if as_json:
        emit({"file": str(output), "root": str(hash_), **counts, "bytes": size})
    else:
        out.print(
            f"wrote {output}: {counts['executions']} execution(s), {counts['events']} event(s), "
            f"{counts['blocks']} blocks, {size} bytes"
        )


def _print_report(report: BundleReport) -> None:
    if report.verdicts:
        out.print(_verdict_table(report.verdicts, attestations=True))
    for problem in report.problems:
        out.print(f"problem: {problem}")
    out.print(f"verdict  {report.overall} ({report.summary()})")


def _fail(report: BundleReport, what: str) -> None:
    raise VerificationError(f"{what}: {report.overall}: {report.summary()}")


@click.command("verify-bundle")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
def verify_bundle_cmd(c: Any, file: Path, as_json: bool) -> None:
    """Check a proof bundle offline: blocks, records, signatures, re-execution.

    WASM operations run from the bundle's own module bytes. Local only (no --node)."""
    node = c.local("verify-bundle")
    data = read_file(file)
    report = node.trust.verify_bundle(data)
    from catenary.trust.quorum import bundle_standings

    standings = bundle_standings(report, node.policy)  # under this node's quorum policy
    if as_json:
        acceptance = {str(h): render.standing_json(s) for h, s in standings.items()}
        emit({**render.bundle_report_json(file, report), "acceptance": acceptance})
    else:
        _print_report(report)
        for h, s in standings.items():
            out.print(f"acceptance  {h}  {s.status.value}: {s.reason}")
    if not report.ok:
        _fail(report, "bundle does not verify")


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
# click options: rows of one shape, each its own flag, alike by nature.
@click.option(
    "--allow-shadow",
    is_flag=True,
    help="Import operations named like local ones (the names keep resolving to the local ones).",
)
@click.option(
    "--no-reexecute",
    is_flag=True,
    help="Check every block, record, link and signature, but re-execute nothing: the outputs "
    "stay pending until validators vouch for them (docs/network.md).",
)
@json_option
@click.pass_obj
def import_cmd(c: Any, file: Path, allow_shadow: bool, no_reexecute: bool, as_json: bool) -> None:
    """Verify a proof bundle and load it into this data dir (all or nothing).

    Local only: loads into the local data dir (no --node). Names never change meaning here:
    a bundle's operation named like a local one is refused unless --allow-shadow."""
    node = c.local("import")
    data = read_file(file)
    report = node.trust.verify_bundle(data, reexecute=not no_reexecute)
    if not (report.checked if no_reexecute else report.ok):
        if as_json:
            emit({**render.bundle_report_json(file, report), "imported": None})
        else:
            _print_report(report)
        _fail(report, "bundle does not verify; nothing was imported")
    counts = node.trust.import_verified(report, allow_shadow=allow_shadow, deferred=no_reexecute)
    if as_json:
        emit({**render.bundle_report_json(file, report), "imported": counts})
        return
    _print_report(report)
    out.print(
        "imported " + ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
        if any(counts.values())
        else "imported nothing new (all of it was already here)"
    )


# trace views -------------------------------------------------------------------------------------
def _label(node: Any, names: dict[CID, str]) -> str:
    if node.kind == NodeKind.EVENT:
        label = f"event {node.hash} (segment {node.segment}, {len(node.inputs)} input(s))"
        if node.cause is not None:  # the emitted event whose trigger started the run
            label += f" <- {node.cause.event.key} {node.cause.id} by {node.cause.event.emitter}"
        return label
    e = node.execution
    return f"{names.get(e.operation, '?')} {e.hash} seg {e.segment}.{e.step} {e.status.value}"


def trace_tree(trace: Trace, names: dict[CID, str], down: bool = False) -> Tree:
    """The trace as a rich tree from the root: parents (or, ``down``, children) as branches.
    A node reached again says ``(shown above)``. Built without recursion: traces run deep."""
    nodes = {n.hash: n for n in trace.nodes}
    following: dict[CID, list[CID]] = {h: [] for h in nodes}
    for parent, child in trace.edges:
        if down:
            following[parent].append(child)
        else:
            following[child].append(parent)
    from rich.tree import Tree

    tree = Tree(_label(nodes[trace.root], names))
    seen = {trace.root}
    # Depth-first, in the order a recursive walk would print: (branch to add to, node).
    stack = [(tree, nxt) for nxt in reversed(following.get(trace.root, []))]
    while stack:
        branch, current = stack.pop()
        if current in seen:
            branch.add(_label(nodes[current], names) + " (shown above)")
            continue
        seen.add(current)
        grown = branch.add(_label(nodes[current], names))
        stack.extend((grown, nxt) for nxt in reversed(following.get(current, [])))
    return tree


def trace_dot(trace: Trace, names: dict[CID, str], down: bool = False) -> str:
    """The trace in Graphviz DOT: events as ellipses, executions as boxes, edges parent -> child."""
    lines = [
        f"digraph {'impact' if down else 'trace'} {{",
        "  rankdir=LR;",
        '  node [fontname="monospace", fontsize=10];',
    ]
    for n in trace.nodes:
        short = str(n.hash)[-12:]
        if n.kind == NodeKind.EVENT:
            label = f"event seg {n.segment}\\n…{short}"
            lines.append(f'  "{n.hash}" [shape=ellipse, label="{label}"];')
        elif (e := n.execution) is not None:
            name = names.get(e.operation, "?").replace('"', "'")
            style = ", style=bold" if n.hash == trace.root else ""
            label = f"{name}\\nseg {e.segment}.{e.step} {e.status.value}\\n…{short}"
            lines.append(f'  "{n.hash}" [shape=box{style}, label="{label}"];')
    for parent, child in trace.edges:
        lines.append(f'  "{parent}" -> "{child}";')
    lines.append("}")
    return "\n".join(lines)

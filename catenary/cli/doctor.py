"""``catenary doctor``: check a data dir's invariants; ``--repair`` fixes what is safe."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from catenary.cli.output import emit, json_option

if TYPE_CHECKING:
    from catenary.cli.main import Context


@click.command("doctor")
@click.option(
    "--repair",
    is_flag=True,
    help="Fix what is safe to fix: fail orphaned in_progress executions, quarantine misfit records, "
    "drive runs nothing drives to their end here.",
)
@json_option
@click.pass_obj
def doctor(c: Context, repair: bool, as_json: bool) -> None:
    """Check every invariant of the execution DB (exit 1 if any does not hold)."""
    from catenary.sdk.documents import doctor_json

    node = c.local("doctor")
    report = node.doctor.check(repair=repair)
    if as_json:
        emit(doctor_json(report))
    else:
        for f in report.findings:
            click.echo(
                f"{f.check:9} {f.subject}: {f.message}" + ("  (--repair fixes this)" if f.repairable else "")
            )
        for r in report.repairs:
            click.echo(f"{r.action:9} {r.subject}: {r.reason}")
        verdict = "ok" if report.ok else f"{len(report.findings)} problem(s)"
        click.echo(
            f"checked {report.executions} executions and {report.runs} runs: {verdict}"
            + (f"; repaired {report.repaired}" if report.repaired else "")
            + (f"; {report.quarantined} quarantined" if report.quarantined else "")
        )
    if not report.ok:
        sys.exit(1)

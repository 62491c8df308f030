"""``catenary validate``: re-execute what other nodes executed, signing each outcome."""

from __future__ import annotations

from typing import Any

import click

from catenary.cli.output import cid_arg, emit, json_option, out


@click.command("validate")
@click.argument("execution_hash", metavar="[HASH]", required=False)
@click.option("--run", "run_id", metavar="RUN", help="Every execution of this run (sampled, as serve does).")
@json_option
@click.pass_obj
def validate_cmd(c: Any, execution_hash: str | None, run_id: str | None, as_json: bool) -> None:
    """Validate an execution (or --run RUN's) another node executed: re-execute it, sign a
    validator attestation for the same output, a dissent and a dispute for another.

    Local only. Skips what this node executed, what it signed already, and operations it
    does not run; with --run, executions outside the policy's [validate] sample too."""
    if (execution_hash is None) == (run_id is None):
        raise click.UsageError("give an execution HASH or --run RUN (one of them)")
    node = c.local("validate")
    if execution_hash is None:
        done = node.validator.validate_run(cid_arg(str(run_id), "--run"))
    else:
        done = [node.validator.validate(cid_arg(execution_hash, "HASH"))]
    if as_json:
        emit(
            {
                "signer": node.id,
                "validations": [
                    {"execution": str(v.execution), "outcome": v.outcome, "reason": v.reason} for v in done
                ],
            }
        )
        return
    from rich.table import Table

    table = Table("execution", "outcome", "reason")
    for v in done:
        table.add_row(str(v.execution), v.outcome, v.reason)
    out.print(table)
    counts = {k: sum(1 for v in done if v.outcome == k) for k in ("validated", "dissent", "skipped")}
    out.print(", ".join(f"{n} {k}" for k, n in counts.items()) + f" (signed by {node.id})")

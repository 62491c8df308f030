"""``catenary statement``: create, verify and list statements (signed claims over proofs).

``verify`` checks the signature, then the proof by re-execution, then that the claim matches
the proven result; a statement that does not hold prints its report, then exits 1 with one
line naming the check that refused it (signature, proof or claim). See docs/statements.md.
Local only (a served node offers the same through gRPC ``Statement``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from catenary.cli.output import cid_arg, emit, json_option, out, read_file
from catenary.errors import BadInputError, VerificationError

if TYPE_CHECKING:  # loaded by the commands that use them (CLI start-up)
    from catenary.statements import Proof, StatementReport


def _proof_json(proof: Proof | None) -> dict[str, str] | None:
    return proof.data() if proof else None


def report_json(r: StatementReport) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "claimant": r.claimant,
        "claim": r.claim,
        "proof": _proof_json(r.proof),
        "verdict": "holds" if r.ok else "refused",
        "refused": r.refused,
        "reason": r.reason,
    }


@click.group("statement")
def statement() -> None:
    """Signed claims over verified results (in-toto Statement v1 in a DSSE envelope)."""


@statement.command("create")
# click options: rows of one shape, each its own flag, alike by nature.
@click.option(
    "--proof",
    "proof",
    required=True,
    metavar="HASH",
    help="The execution whose verified result supports the claim.",
)
@click.option(
    "--claim",
    "claim",
    required=True,
    metavar="JSON",
    help='What is claimed, a JSON object, e.g. \'{"owns": {"camera": "CX1-004217"}}\'.',
)
@click.option(
    "--key",
    "key",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The claimant's ed25519 key (PEM, as a node's node_key.pem).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the DSSE envelope (JSON) to this file.",
)
@json_option
@click.pass_obj
def statement_create(c: Any, proof: str, claim: str, key: Path, output: Path | None, as_json: bool) -> None:
    """Sign a claim over a proof: refused unless the proof verifies by re-execution and its
    result supports the claim."""
    from catenary.sdk.statement import load_key

    try:
        claimed = json.loads(claim)
    except (ValueError, RecursionError) as exc:
        raise BadInputError(f"--claim is not JSON (or nested too deeply): {exc}") from None
    identity = load_key(key)
    node = c.local("statement create")
    sid, envelope = node.statements.create(cid_arg(proof, "--proof"), claimed, identity)
    if output is not None:
        output.write_text(envelope.dumps())
    if as_json:
        emit(
            {
                "id": str(sid),
                "claimant": identity.id,
                "envelope": envelope.to_json(),
                "file": str(output) if output else None,
            }
        )
    else:
        out.print(f"statement {sid}")
        out.print(f"claimant  {identity.id}")
        if output is not None:
            out.print(f"written   {output}")


@statement.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
def statement_verify(c: Any, file: Path, as_json: bool) -> None:
    """Verify a statement: FILE is a DSSE envelope (its proof must be on this node) or a proof
    bundle carrying statements (checked offline, nothing stored). Signature, then the proof by
    re-execution, then the claim against the proven result."""
    data = read_file(file)
    node = c.local("statement verify")
    if data.lstrip()[:1] == b"{":
        from catenary.statements import Envelope

        reports = [node.statements.verify(Envelope.loads(data, str(file)))]
    else:
        reports = node.statements.verify_bundle(node.trust.verify_bundle(data))
        if not reports:
            raise BadInputError(f"{file}: the proof bundle carries no statement")
    if as_json:
        emit({"file": str(file), "statements": [report_json(r) for r in reports]})
    else:
        for r in reports:
            out.print(f"statement {r.id}")
            out.print(f"  claimant  {r.claimant}")
            out.print(f"  claims    {json.dumps(r.claim, sort_keys=True)}")
            out.print(f"  proof     {r.proof.execution if r.proof else '-'}")
            out.print(f"  verdict   {'holds' if r.ok else 'REFUSED (' + str(r.refused) + ')'}: {r.reason}")
    refused = [r for r in reports if not r.ok]
    if refused:
        raise VerificationError(f"statement {refused[0].id} {refused[0].message()}")


@statement.command("list")
@click.option("--proof", "proof", default=None, metavar="HASH", help="Only statements over this execution.")
@json_option
@click.pass_obj
def statement_list(c: Any, proof: str | None, as_json: bool) -> None:
    """The statements made on this node."""
    node = c.local("statement list")
    rows = node.statements.list(cid_arg(proof, "--proof") if proof else None)
    if as_json:
        emit(
            {
                "statements": [
                    {"id": str(s.id), "claimant": s.claimant, "claim": s.claim, "proof": s.proof.data()}
                    for s in rows
                ]
            }
        )
        return
    from rich.table import Table

    table = Table("statement", "claimant", "claim", "proof")
    for s in rows:
        table.add_row(str(s.id), s.claimant, json.dumps(s.claim, sort_keys=True), str(s.proof.execution))
    out.print(table)

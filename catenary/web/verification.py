"""The explorer's view of trust: attestations with their check, and verification by re-execution.

The work is done by the sdk's trust managers (catenary/sdk/trust.py):
``node.attestations.list`` checks each recorded attestation and
``node.trust.verify`` re-executes. This module only adapts their results for
the execution page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catenary.cid import CID
from catenary.model import Execution, Status, VerdictKind
from catenary.sdk import Node
from catenary.trust.attestation import AttestationCheck


@dataclass(frozen=True)
class TrustStatus:
    """What the trust section of an execution page shows."""

    can_verify: bool
    why_not: str = ""
    attestations: list[AttestationCheck] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Verdict:
    """A verification outcome as the page shows it; ``attested``: this node signed it now."""

    verdict: VerdictKind
    reason: str
    expected: CID | None = None
    got: CID | None = None
    attested: bool = False


def status(node: Node, execution: Execution) -> TrustStatus:
    """Attestations recorded for ``execution``, each checked, and whether Verify can run."""
    checks = node.attestations.list(execution.hash)
    note = "" if checks else "No attestation has been recorded for this execution."
    if execution.status is not Status.COMPLETED:
        return TrustStatus(
            False,
            f"only a completed execution can be verified (this one is "
            f"{execution.status.value.replace('_', ' ')})",
            checks,
            note,
        )
    return TrustStatus(True, "", checks, note)


def verify(node: Node, execution_hash: CID) -> Verdict:
    """Re-execute the execution through ``node.trust.verify`` and return its verdict."""
    report = node.trust.verify(execution_hash)
    found = next(v for v in report.verdicts if v.execution == execution_hash)
    return Verdict(found.verdict, found.reason, found.expected, found.got, execution_hash in report.attested)

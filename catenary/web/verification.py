"""The explorer's view of trust: attestations with their check, and verification by re-execution.

The work is done by the sdk's trust manager (``node.trust``, catenary/sdk/trust.py);
this module only adapts its results for the execution page, and says why the
Verify button is disabled on a node that has no such manager.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from catenary.cid import CID
from catenary.errors import CatenaryError
from catenary.model import Execution
from catenary.sdk import Node


@dataclass(frozen=True)
class TrustStatus:
    """What the trust section of an execution page shows."""

    can_verify: bool
    why_not: str = ""
    attestations: list[Any] = field(default_factory=list)  # objects with signer, role, valid, reason, cid
    note: str = ""


@dataclass(frozen=True)
class Verdict:
    """A verification outcome as the page shows it."""

    verdict: str  # verified | mismatch | unverifiable
    reason: str
    expected: CID | None = None
    got: CID | None = None


def _manager(node: Node) -> Any:
    return getattr(node, "trust", None)


def status(node: Node, execution: Execution) -> TrustStatus:
    """Attestations recorded for ``execution``, each checked, and whether Verify can run."""
    manager = _manager(node)
    if manager is None or not hasattr(manager, "verify"):
        return TrustStatus(False, "this node has no trust manager (catenary.sdk.trust) yet",
                           note="No attestations: this node does not record them yet.")
    checks = list(manager.attestations(execution.hash)) if hasattr(manager, "attestations") else []
    note = "" if checks else "No attestation has been recorded for this execution."
    if execution.output is None:
        return TrustStatus(False, f"only a completed execution can be verified (this one is "
                                  f"{execution.status.value})", checks, note)
    return TrustStatus(True, "", checks, note)


def verify(node: Node, execution_hash: CID) -> Verdict:
    """Re-execute through the sdk's trust manager and return its verdict."""
    manager = _manager(node)
    if manager is None or not hasattr(manager, "verify"):
        from catenary.errors import BadInputError
        raise BadInputError("verification is not available on this node: it has no trust manager")
    try:
        result = manager.verify(execution_hash)
    except CatenaryError:
        raise
    return Verdict(result.verdict, result.reason, getattr(result, "expected", None),
                   getattr(result, "got", None))

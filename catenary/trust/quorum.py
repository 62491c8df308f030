"""Quorum: whether an execution's output counts on this node, from the attestations it holds.

Every attestation is a claim "execution E with key K produced output O" by its signer
(catenary/trust/attestation.py). Executions with the same key must produce the same
output, so the claims over every execution of a key are votes on one question: what
does K produce? The node's policy names, per operation, the keys whose votes count and
how many must agree (``[[quorum]]`` in policy.toml, docs/network.md). Then:

- an output *reaches* the quorum when ``need`` counted signers vouch for it (and, when the
  rule says so, the executor that produced it signed it too);
- the *canonical* output is the one output that reaches it (none when none or several do);
- an execution is ``accepted`` when its output is the canonical one; ``disputed`` when
  this node's own re-execution disagreed (a dispute row), when another output is canonical,
  or when counted signers vouched for different outputs and none reached the quorum;
  ``pending`` otherwise (one counted signer against an uncounted executor is not yet a
  dispute: the trusted signers have not disagreed among themselves).

Pure: the rows come from the store (``Store.key_attestations``), whose index was checked
(signature, execution, key) when each row was stored.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from catenary.cid import CID
from catenary.model import Execution
from catenary.model.enums import Acceptance, Role, VerdictKind
from catenary.model.results import Standing, Verdict, Vote
from catenary.store import AttestationRow
from catenary.trust.attestation import attested_output, role_of
from catenary.trust.bundle import BundleReport
from catenary.trust.policy import Policy, QuorumRule


def votes(
    rows: Iterable[tuple[Execution, AttestationRow]], counts: Callable[[str], bool]
) -> tuple[Vote, ...]:
    """One vote per (signer, output), in the order the rows come; unreadable blocks are skipped."""
    found: dict[tuple[str, CID], Vote] = {}
    for e, row in rows:
        output = attested_output(row.data)
        if output is None or (row.signer, output) in found:
            continue
        found[(row.signer, output)] = Vote(row.signer, output, Role(row.role), e.hash, counts(row.signer))
    return tuple(found.values())


def reached(all_votes: tuple[Vote, ...], rule: QuorumRule) -> list[CID]:
    """The outputs that reach the quorum (one: it is canonical; several: the key is split)."""
    tally: dict[CID, set[str]] = {}
    for v in all_votes:
        if v.counted:
            tally.setdefault(v.output, set()).add(v.signer)
    by_executor = {v.output for v in all_votes if v.role is Role.EXECUTOR}
    return sorted(
        (o for o, s in tally.items() if len(s) >= rule.need and (not rule.executor or o in by_executor)),
        key=str,
    )


def standing(
    e: Execution, all_votes: tuple[Vote, ...], rule: QuorumRule, dispute: str | None = None
) -> Standing:
    """The acceptance of ``e`` under ``rule``; ``dispute``: why this node disputes it, if it does."""
    outputs = reached(all_votes, rule)
    agreed = outputs[0] if len(outputs) == 1 else None

    def result(status: Acceptance, reason: str) -> Standing:
        return Standing(e.hash, status, rule.label, rule.need, agreed, all_votes, reason)

    if dispute is not None:
        return result(Acceptance.DISPUTED, f"disputed here: {dispute}")
    if agreed is not None and agreed == e.output:
        signers = sorted({v.signer for v in all_votes if v.counted and v.output == agreed})
        return result(Acceptance.ACCEPTED, f"{len(signers)} of the counted keys vouch for {agreed}")
    if agreed is not None:
        return result(Acceptance.DISPUTED, f"the quorum agreed on {agreed}, not on this output {e.output}")
    if len(outputs) > 1:
        return result(
            Acceptance.DISPUTED, f"the counted keys are split: {len(outputs)} outputs reach the quorum"
        )
    vouched = {v.output for v in all_votes if v.counted}
    if len(vouched) > 1:
        return result(
            Acceptance.DISPUTED, f"the counted keys disagree: {len(vouched)} outputs, none by a quorum"
        )
    counted = {v.signer for v in all_votes if v.counted and v.output == e.output}
    missing = (
        ""
        if not rule.executor or any(v.role is Role.EXECUTOR and v.output == e.output for v in all_votes)
        else " (and no executor attestation)"
    )
    return result(Acceptance.PENDING, f"{len(counted)} of {rule.need} counted key(s) vouch for it{missing}")


def bundle_standings(report: BundleReport, policy: Policy) -> dict[CID, Standing]:
    """The standing of each execution of a checked bundle under the verifier's ``policy``:
    the bundle's attestations are the votes, and this process's own re-execution counts as
    the verifier's (``self``) vote, for the output it got, though nothing is signed. Only
    attestations the bundle check found valid are votes."""
    carried = report.bundle
    if carried is None:
        return {}
    verdicts = {v.execution: v for v in report.verdicts}
    by_key: dict[CID, list[tuple[Execution, AttestationRow]]] = {}
    for h, e in carried.executions.items():
        rows = by_key.setdefault(e.key, [])
        checked = verdicts.get(h)
        valid = {a.cid for a in checked.attestations if a.valid} if checked else set()
        for cid, raw, signer in carried.attestations.get(h, ()):
            if cid not in valid:  # a bad signature is a problem of the bundle, never a vote
                continue
            role = role_of(raw, e.executor, e.cached_from, e.output)
            rows.append((e, AttestationRow(h, cid, raw, signer, role.value)))
    found = {}
    for h, e in carried.executions.items():
        manifest = carried.versions.get(e.operation)
        names = (manifest[0].name, str(e.operation)) if manifest else (str(e.operation),)
        rule = policy.quorum_for(names)
        counted = votes(by_key.get(e.key, []), functools.partial(policy.counts, rule))
        here, dispute = _own_vote(e, verdicts.get(h), policy, rule)
        found[h] = standing(e, counted + here, rule, dispute)
    return found


def _own_vote(
    e: Execution, v: Verdict | None, policy: Policy, rule: QuorumRule
) -> tuple[tuple[Vote, ...], str | None]:
    """The verifier's vote from its re-execution (none when it could not re-execute)."""
    if v is None or e.output is None:
        return (), None
    if v.verdict == VerdictKind.VERIFIED:
        return (Vote(policy.node, e.output, Role.VALIDATOR, e.hash, policy.counts(rule, policy.node)),), None
    if v.verdict == VerdictKind.MISMATCH:
        return (), f"re-executed here: {v.reason}"
    return (), None

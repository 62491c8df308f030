"""``verify --trace`` reads and parses the workflow once, not once per execution (issue 14:
verifying an N-deep chain of an N-step workflow cost N^2; benchmarks/verify_linear.py)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from catenary.cid import CID
from catenary.model.enums import Direction
from catenary.sdk.trust import StoreEvidence
from catenary.trust.verify import Verifier
from tests.helpers import manifest


class Counting:
    """The real store evidence, counting what the verifier asks of it."""

    def __init__(self, inner: StoreEvidence) -> None:
        self.inner, self.calls = inner, Counter[str]()

    def __getattr__(self, name: str) -> Any:
        def call(cid: CID) -> Any:
            self.calls[name] += 1
            return getattr(self.inner, name)(cid)

        return call


def test_each_workflow_and_version_is_read_once_per_verification(node: Any) -> None:
    depth = 60
    wf = node.workflows.create(manifest(([-1], ["test/inc"] * depth), name="chain"))
    _, result = node.runs.run(wf.id, {0: [0]})
    lineage = node.store.lineage(result.final, Direction.ANCESTORS, 0)
    evidence = Counting(StoreEvidence(node.store))
    verifier = Verifier(evidence, node.registry)  # type: ignore[arg-type]
    verdicts = [verifier.verify(e) for e in sorted(lineage.executions, key=lambda e: e.step)]
    assert len(verdicts) == depth and all(v.ok for v in verdicts)
    assert evidence.calls["workflow"] == 1
    assert evidence.calls["version"] <= 1

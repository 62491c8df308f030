"""A dishonest node's operations (``--ops tests.network.forged_ops``): ``trust/square`` with
the honest version id, whose function returns another output (x * x + 1). A version id
covers the source text it was given, not what the process runs: the forger claims it."""

from __future__ import annotations

from catenary.operations import Operation
from tests.trust import trust_ops

square = Operation(
    trust_ops.square.manifest, trust_ops.square.version, lambda x: x * x + 1, trust_ops.square.source
)

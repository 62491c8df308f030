"""Statements: claims signed by their owner over verified results (in-toto Statement v1 in a
DSSE envelope). See docs/statements.md."""

from catenary.statements.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, Signature, pae
from catenary.statements.statement import (
    CLAIM,
    PREDICATE_TYPE,
    PROOF,
    SIGNATURE,
    STATEMENT_TYPE,
    Proof,
    ProofEvidence,
    Statement,
    StatementReport,
    check,
    claim_problem,
    create,
    parse_claim,
    read,
    statement_id,
)

__all__ = [
    "CLAIM",
    "IN_TOTO_PAYLOAD_TYPE",
    "PREDICATE_TYPE",
    "PROOF",
    "SIGNATURE",
    "STATEMENT_TYPE",
    "Envelope",
    "Proof",
    "ProofEvidence",
    "Signature",
    "Statement",
    "StatementReport",
    "check",
    "claim_problem",
    "create",
    "pae",
    "parse_claim",
    "read",
    "statement_id",
]

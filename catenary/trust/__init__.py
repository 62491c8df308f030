"""Trust: node identity (ed25519, did:key), signed attestations, verification by
re-execution, and proof bundles (CAR files) that another node verifies offline.

See docs/trust.md for the trust model.
"""

from catenary.trust.attestation import AttestationCheck
from catenary.trust.bundle import BundleReport, export_bundle, import_bundle, verify_bundle
from catenary.trust.identity import Identity
from catenary.trust.verify import MISMATCH, UNVERIFIABLE, VERIFIED, Verdict, Verifier

__all__ = [
    "AttestationCheck", "BundleReport", "Identity", "MISMATCH", "UNVERIFIABLE", "VERIFIED", "Verdict",
    "Verifier", "export_bundle", "import_bundle", "verify_bundle",
]

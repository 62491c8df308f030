"""Trust: node identity (ed25519, did:key), signed attestations, verification by
re-execution, and proof bundles (CAR files) that another node verifies offline.

See docs/trust.md for the trust model. The names below are imported on first use (PEP 562):
reading a key file (``catenary key show``) does not load the bundle code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from catenary._lazy import lazy_exports

if TYPE_CHECKING:
    from catenary.trust.attestation import AttestationCheck
    from catenary.trust.bundle import BundleReport, export_bundle, import_bundle, verify_bundle
    from catenary.trust.identity import Identity
    from catenary.trust.verify import MISMATCH, UNVERIFIABLE, VERIFIED, Verdict, Verifier

_EXPORTS = {
    "AttestationCheck": "catenary.trust.attestation",
    "BundleReport": "catenary.trust.bundle",
    "export_bundle": "catenary.trust.bundle",
    "import_bundle": "catenary.trust.bundle",
    "verify_bundle": "catenary.trust.bundle",
    "Identity": "catenary.trust.identity",
    "MISMATCH": "catenary.trust.verify",
    "UNVERIFIABLE": "catenary.trust.verify",
    "VERIFIED": "catenary.trust.verify",
    "Verdict": "catenary.trust.verify",
    "Verifier": "catenary.trust.verify",
}

__all__ = [
    "AttestationCheck",
    "BundleReport",
    "Identity",
    "MISMATCH",
    "UNVERIFIABLE",
    "VERIFIED",
    "Verdict",
    "Verifier",
    "export_bundle",
    "import_bundle",
    "verify_bundle",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())

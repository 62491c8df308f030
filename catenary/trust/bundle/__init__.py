"""Proof bundles: an execution and everything needed to check it, as one CARv1 file.

By job: :mod:`.layout` (the format and the shape of each block, drawn there),
:mod:`.export` (write one), :mod:`.read` (decode and check its blocks and records),
:mod:`.verify` (check it all, re-executing what this process can run) and :mod:`.load`
(store a verified one).
"""

from catenary.cid import raw_cid
from catenary.trust.bundle.export import export_bundle
from catenary.trust.bundle.layout import FORMAT
from catenary.trust.bundle.load import import_bundle, load_bundle
from catenary.trust.bundle.read import Bundle
from catenary.trust.bundle.verify import BundleReport, verify_bundle

__all__ = [
    "FORMAT",
    "Bundle",
    "BundleReport",
    "export_bundle",
    "import_bundle",
    "load_bundle",
    "raw_cid",
    "verify_bundle",
]

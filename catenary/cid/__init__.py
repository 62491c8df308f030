"""Content addressing: DAG-CBOR, CIDv1 (dag-cbor, blake2b-256), DAG-JSON.

Pure: no I/O, no imports from the rest of catenary except its errors.
"""

from catenary.cid.cid import CID, block_cid, raw_cid, raw_sha256_cid
from catenary.cid.codec import block, check_value, cid_of, decode, encode

__all__ = [
    "CID",
    "block",
    "block_cid",
    "check_value",
    "cid_of",
    "decode",
    "encode",
    "raw_cid",
    "raw_sha256_cid",
]

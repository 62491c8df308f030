"""Execution DB and value store."""

from catenary.store.base import (
    AttestationRow, ImportBatch, Lineage, RunState, SegmentOutput, StepCommit, Store,
)
from catenary.store.sqlite import SQLiteStore

__all__ = ["AttestationRow", "ImportBatch", "Lineage", "RunState", "SQLiteStore", "SegmentOutput",
           "StepCommit", "Store"]

"""Execution DB and value store."""

from catenary.store.base import RunState, SegmentOutput, StepCommit, Store
from catenary.store.sqlite import SQLiteStore

__all__ = ["RunState", "SQLiteStore", "SegmentOutput", "StepCommit", "Store"]

"""Workflows: create from a manifest, get, list."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from catenary.cid import CID, dagjson
from catenary.errors import BadInputError, EncodingError, InvalidCIDError, ManifestError, NotFoundError
from catenary.model import OperationManifest, Workflow
from catenary.model.results import WorkflowInfo as WorkflowInfo
from catenary.model.workflow import load_manifest
from catenary.sdk.operation import OperationManager
from catenary.store import Store

DEFAULT_MAX_SEGMENTS = 10_000
DEFAULT_MAX_SEQUENCE = 10_000


class WorkflowManager:
    """Validates and stores workflow manifests."""

    def __init__(
        self,
        store: Store,
        operations: OperationManager,
        max_segments: int = DEFAULT_MAX_SEGMENTS,
        max_sequence: int = DEFAULT_MAX_SEQUENCE,
    ) -> None:
        # Plain assignments of the arguments (alike in shape to any constructor's).
        self._store = store
        self._operations = operations
        self._max_segments = max_segments
        self._max_sequence = max_sequence

    def parse(self, manifest: dict[str, Any] | str | bytes) -> Workflow:
        """Parse and validate a manifest (a dict, or JSON text) without storing it."""
        if isinstance(manifest, (str, bytes)):
            try:
                text = manifest.decode("utf-8") if isinstance(manifest, bytes) else manifest
            except UnicodeDecodeError as exc:
                raise ManifestError("", f"manifest is not UTF-8 (byte {exc.start})") from exc
            try:
                manifest = dagjson.parse(text, "manifest")
            except (EncodingError, InvalidCIDError) as exc:
                raise ManifestError("", str(exc)) from exc
        workflow = load_manifest(manifest, self._operations.resolve_name)
        if len(workflow.segments) > self._max_segments:
            raise ManifestError(
                "segments",
                f"{len(workflow.segments)} segments is over this node's cap of {self._max_segments}",
            )
        for index, segment in enumerate(workflow.segments):
            if len(segment.sequence) > self._max_sequence:
                raise ManifestError(
                    f"segments[{index}].sequence",
                    f"{len(segment.sequence)} operations is over this node's cap of "
                    f"{self._max_sequence} per segment",
                )

        def lookup(version_id: CID) -> OperationManifest | None:
            info = self._operations.lookup(version_id)
            return None if info is None else info.manifest

        workflow.validate(lookup)
        try:
            workflow.id  # noqa: B018 - encodes: a lone surrogate or a non-DAG-CBOR kind is refused here
        except EncodingError as exc:
            where, _, reason = str(exc).partition(": ")
            if where.startswith("$."):
                raise ManifestError(where[2:], reason) from exc
            raise ManifestError("", str(exc)) from exc
        return workflow

    def create(self, manifest: dict[str, Any] | str | bytes | Path) -> WorkflowInfo:
        """Validate and store a manifest; returns its id. Creating it again is a no-op."""
        if isinstance(manifest, Path):
            try:
                manifest = manifest.read_bytes()
            except OSError as exc:
                raise BadInputError(f"cannot read manifest: {exc}") from exc
        workflow = self.parse(manifest)
        self._store.put_workflow(workflow, time.time_ns())
        return WorkflowInfo(workflow.id, workflow)

    def get(self, workflow_id: CID) -> WorkflowInfo:
        workflow = NotFoundError.require(
            self._store.get_workflow(workflow_id), "unknown workflow {}", workflow_id
        )
        return WorkflowInfo(workflow_id, workflow)

    def list(self) -> list[WorkflowInfo]:
        return [WorkflowInfo(i, w, t) for i, w, t in self._store.list_workflows()]

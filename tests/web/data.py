"""A node with a bit of everything for the explorer tests: the camera-ownership workflow run
twice (an image input, joins, events, cache hits), a failing run, and enough small runs to page."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from catenary.cid import CID
from catenary.errors import ExecutionFailedError
from catenary.sdk import Node
from tests.helpers import manifest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "camera-ownership"


def photo_bytes(tmp: Path, body: str = "CX1-004217", lens: str = "L35-99812") -> bytes:
    """The demo's JPEG, made by the demo's own script."""
    spec = importlib.util.spec_from_file_location("make_photo", EXAMPLE / "make_photo.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    path = tmp / "photo.jpg"
    module.make_photo(str(path), body, lens)
    return path.read_bytes()


@dataclass
class Dataset:
    """Ids of what :func:`populate` recorded."""

    camera: CID  # workflow
    proven_run: CID
    proven_final: CID  # the last execution of the proven claim (a join of segments 4 and 3)
    photo_execution: CID  # std/exif on the photo (segment 0): its input is the JPEG
    failed_run: CID
    failed_execution: CID
    counter: CID  # workflow of test/inc, run several times for paging


def populate(node: Node, tmp: Path, small_runs: int = 6) -> Dataset:
    camera = node.workflows.create(json.loads((EXAMPLE / "manifest.json").read_text())).id
    photo = photo_bytes(tmp)
    state, result = node.runs.run(camera, {0: [photo], 2: ["CX1-004217"], 4: ["L35-99812"]})
    node.runs.run(camera, {0: [photo], 2: ["CX1-004217"], 4: ["L35-00000"]})
    exif = node.executions.list(_filter(run=state.id, segment=0), 10).executions[0]
    counter = node.workflows.create(manifest(([-1], ["test/inc", "test/inc"]), name="counter")).id
    for i in range(small_runs):
        node.runs.run(counter, {0: [i]})
    failing = node.workflows.create(manifest(([-1], ["test/inc", "test/boom"]), name="failing")).id
    failed_run = node.runs.new(failing)
    try:
        node.runs.next(failed_run.id, [41])
    except ExecutionFailedError as exc:
        failed = exc.execution
    else:  # pragma: no cover - test/boom always raises
        raise AssertionError("test/boom did not fail")
    return Dataset(camera, state.id, result.final, exif.hash, failed_run.id, failed.hash, counter)


def _filter(**kwargs):
    from catenary.model.filter import ExecutionFilter

    return ExecutionFilter(**kwargs)

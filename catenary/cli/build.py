"""``catenary workflow build WORKFLOW -o DIR``: a workflow of WASM operations as an ES module
that runs in a browser (docs/browser.md).

DIR receives ``workflow.mjs`` (exports ``new()``, ``next(inputs)``, ``exportBundle()``), the
runtime ``catenary-browser.mjs`` (built from ``js/`` by ``make js``) and one ``.wasm`` file per
operation module. The workflow, version and manifest blocks are embedded in ``workflow.mjs`` as
the exact bytes the node stores, so the browser computes the same ids.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import click

from catenary.cid import block
from catenary.cli.output import cid_arg, emit, json_option, out
from catenary.errors import BadInputError, NotFoundError

RUNTIME = Path(__file__).resolve().parent.parent / "web" / "static" / "catenary-browser.mjs"

# The generated module. Workers (the time limit per call) exist in browsers; in Node.js the
# calls run in the calling thread, and module files are read from disk.
TEMPLATE = """// Built by `catenary workflow build` for workflow %(id)s (%(name)s); do not edit.
import { Workflow, workerInvoker } from './catenary-browser.mjs'

const spec = %(spec)s
const bytes = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
async function load(name) {
  const url = new URL(name, import.meta.url)
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises')
    return new Uint8Array(await readFile(url))
  }
  const response = await fetch(url)
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`)
  return new Uint8Array(await response.arrayBuffer())
}
const versions = await Promise.all(spec.versions.map(async (v) => ({
  version: bytes(v.version), manifest: bytes(v.manifest), module: await load(v.module),
})))
export const workflow = new Workflow({ workflow: bytes(spec.workflow), versions },
  { invoke: typeof Worker === 'undefined' ? undefined : workerInvoker(globalThis.CATENARY_TIME_LIMIT_MS) })
export const id = spec.id
const create = (nonce) => workflow.new(nonce)
export { create as new }
export const next = (inputs = []) => workflow.next(inputs)
export const exportBundle = (execution) => workflow.exportBundle(execution)
"""


def build_workflow(node: Any, workflow_id: Any, directory: Path) -> dict[str, Any]:
    """Write the browser build of a stored workflow to ``directory``; returns what was written."""
    info = node.workflows.get(workflow_id)
    versions = []
    seen = set()
    for index, segment in enumerate(info.workflow.segments):
        for number, step in enumerate(segment.sequence):
            op = node.operations.get(step.version_id)
            if op.version.kind != "wasm":
                raise BadInputError(
                    f"segment {index} step {number} ({op.manifest.name}) is a "
                    f"{op.version.kind} operation; only workflows whose operations "
                    f"are all WASM run in the browser"
                )
            if step.version_id in seen:
                continue
            seen.add(step.version_id)
            module = op.version.implementation["module"]
            data = node.store.get_block(module)
            if data is None:
                raise NotFoundError(
                    f"the wasm module {module} of {op.manifest.name} is not on this "
                    f"node; `catenary op add` it first"
                )
            versions.append((op, module, data))
    directory.mkdir(parents=True, exist_ok=True)
    if not RUNTIME.exists():
        raise NotFoundError(f"{RUNTIME} is missing; build it with `make js`")
    (directory / RUNTIME.name).write_bytes(RUNTIME.read_bytes())  # not shutil: start-up of every command
    entries = []
    for op, module, data in versions:
        name = f"{op.manifest.name.replace('/', '-')}-{module}.wasm"
        (directory / name).write_bytes(data)
        entries.append(
            {
                "version": _b64(block(op.version.data())[1]),
                "manifest": _b64(block(op.manifest.data())[1]),
                "module": name,
            }
        )
    spec = {"id": str(info.id), "workflow": _b64(block(info.workflow.data())[1]), "versions": entries}
    text = TEMPLATE % {"id": info.id, "name": info.workflow.name, "spec": json.dumps(spec, indent=1)}
    (directory / "workflow.mjs").write_text(text)
    return {
        "workflow": str(info.id),
        "directory": str(directory),
        "module": "workflow.mjs",
        "operations": [op.manifest.name for op, _, _ in versions],
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@click.command("build")
# click options: rows of one shape, each its own flag, alike by nature.
@click.argument("workflow_id", metavar="WORKFLOW")
@click.option(
    "--output",
    "-o",
    "directory",
    required=True,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the build to.",
)
@json_option
@click.pass_obj
def workflow_build(c: Any, workflow_id: str, directory: Path, as_json: bool) -> None:
    """Build an all-WASM workflow as an ES module that runs in a browser (new()/next())."""
    result = build_workflow(c.local("workflow build"), cid_arg(workflow_id, "WORKFLOW"), directory)
    if as_json:
        emit(result)
    else:
        out.print(
            f"wrote {directory}/workflow.mjs: {len(result['operations'])} operation module(s) "
            f"({', '.join(result['operations'])})"
        )

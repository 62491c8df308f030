"""``catenary op add``: register a WebAssembly operation (docs/wasm-abi.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from catenary.cid.dagjson import parse as parse_dag_json
from catenary.cli.output import emit, json_option, read_file
from catenary.errors import BadInputError


@click.command("add")
@click.argument("module", metavar="MODULE.wasm|MODULE.wat", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--manifest",
    "manifest_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The operation manifest (JSON), for a module without a catenary.manifest section.",
)
@json_option
@click.pass_obj
def op_add(c: Any, module: Path, manifest_file: Path | None, as_json: bool) -> None:
    """Validate a WebAssembly module (binary or WAT) against catenary-wasm-abi/1 and store it;
    prints its version id. Adding the same module again gives the same id."""
    from catenary.operations.wasm import parse_manifest, wasm_bytes
    from catenary.sdk import documents as render

    node = c.local("op add")
    data = wasm_bytes(read_file(module, "module", stdin=True), str(module))
    manifest = None
    if manifest_file is not None:
        where = f"--manifest {manifest_file}"
        text = read_file(manifest_file, "manifest", stdin=True)
        try:
            document = parse_dag_json(text.decode("utf-8"), where)
        except UnicodeDecodeError as exc:
            raise BadInputError(f"{where}: not UTF-8 at byte {exc.start}") from exc
        manifest = parse_manifest(document, where)
    info = node.operations.add_wasm(data, manifest)
    if as_json:
        emit(render.operation_json(info))
    else:
        click.echo(
            f"{info.version_id}  {info.manifest.name} (wasm module {info.version.implementation['module']})"
        )

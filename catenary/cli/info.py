"""``catenary info``: where this command's settings come from and what the node has loaded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import click

from catenary.cli.output import emit, json_option

if TYPE_CHECKING:
    from catenary.cli.main import Context
    from catenary.sdk import Node


@click.command("info")
@json_option
@click.pass_obj
def info_cmd(c: Context, as_json: bool) -> None:
    """Show the data dir, the DB, the node id, the key, the loaded operation modules and
    plugins, the project file, and where each setting came from (option, environment,
    catenary.toml or default). It creates nothing: a missing data dir is reported as such."""
    import os

    from catenary.project import default_data_dir
    from catenary.trust.identity import KEY_ENV, default_key_path, resolve_key

    sources = c.sources
    doc: dict[str, Any] = {
        "project_file": str(c.project.path) if c.project and c.project.path else None,
        "operations": list(c.operations),
        "sources": {"operations": "option" if c.operations else "default", **sources},
    }
    key = resolve_key(c.key)
    if c.key is None and os.environ.get(KEY_ENV):
        sources["key"] = "environment"
    key_path = c.key or os.environ.get(KEY_ENV) or default_key_path()
    doc["key"] = {"id": key.id, "path": str(key_path)} if key else None
    if c.address:
        doc["node_address"] = c.address
    else:
        data_dir = c.data_dir or default_data_dir()
        doc["data_dir"] = str(data_dir.resolve())
        doc["data_dir_exists"] = data_dir.is_dir()
        doc["db"] = c.db and _without_password(c.db) or str((data_dir / "catenary.db").resolve())
        if data_dir.is_dir():
            node = cast("Node", c.node)  # without --node, node is a local Node
            doc["node_id"] = node.id
            doc["plugins"] = list(node.plugins)
    if as_json:
        emit(doc)
        return
    rows = [
        (
            "data dir",
            doc.get("data_dir", "-") + ("" if doc.get("data_dir_exists", True) else "  (does not exist yet)"),
            sources.get("data_dir", "default"),
        ),
        ("db", doc.get("db", "-"), "option" if c.db else "default"),
        ("node", doc.get("node_address") or doc.get("node_id", "-"), sources.get("node", "default")),
        ("key", doc["key"]["id"] if doc["key"] else "none", sources.get("key", "default")),
        ("operations", ", ".join(doc["operations"]) or "-", doc["sources"]["operations"]),
        ("plugins", ", ".join(doc.get("plugins", [])) or "-", "entry points catenary.operations"),
        ("project file", doc["project_file"] or "none", "cwd, else the data dir"),
    ]
    for name, value, where in rows:
        click.echo(f"{name:<13}{value}  [{where}]")


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url

"""``catenary peer``: add, list and remove the nodes this one follows (docs/network.md).

Local to a data dir (a node's peers are its own business, not a remote call); ``catenary
serve`` follows them while it serves, unless ``--no-sync``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from catenary.cli.output import emit, json_option, ns_time, out

if TYPE_CHECKING:  # loaded by the commands that use them (CLI start-up)
    from catenary.store.peers import PeerRow


def peer_json(row: PeerRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "address": row.address,
        "gateway": row.gateway,
        "tls_ca": row.tls_ca,
        "added_at": row.added_at,
        "cursor": row.cursor,
        "received": row.received,
        "refused": row.refused,
        "last_error": row.last_error,
        "last_error_at": row.last_error_at,
        "last_seen_at": row.last_seen_at,
    }


@click.group("peer")
def peer_cmd() -> None:
    """Peers: the nodes this one follows, pulling and verifying what they announce."""


@peer_cmd.command("add")
@click.argument("peer_address", metavar="ADDRESS")
@click.option(
    "--id",
    "peer_id",
    required=True,
    metavar="DID",
    help="The peer's did:key, pinned: another node at ADDRESS is refused.",
)
@click.option(
    "--gateway",
    required=True,
    metavar="URL",
    help="The peer's HTTP base URL (its serve --http), where blocks and bundles are fetched.",
)
@click.option(
    "--tls-ca",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PEM",
    help="The CA that signs the peer's TLS certificate (gRPC and HTTPS); without it, plain connections.",
)
@json_option
@click.pass_obj
def peer_add(
    c: Any, peer_address: str, peer_id: str, gateway: str, tls_ca: Path | None, as_json: bool
) -> None:
    """Follow the node at ADDRESS (its gRPC HOST:PORT); an existing peer moves to the new
    address and keeps its cursor. Refused (exit 2, nothing stored) with what does not fit."""
    row, new = c.local("peer add").peers.add(peer_address, peer_id, gateway, tls_ca)
    if as_json:
        emit({**peer_json(row), "new": new})
    else:
        out.print(
            f"{'added' if new else 'updated'} peer {row.id} at {row.address} (gateway {row.gateway})",
            markup=False,
        )


@peer_cmd.command("list")
@json_option
@click.pass_obj
def peer_list(c: Any, as_json: bool) -> None:
    """The peers, with how following each went: its cursor, executions stored from it,
    records refused and the last error."""
    rows = [peer_json(r) for r in c.local("peer list").peers.list()]
    if as_json:
        emit({"peers": rows})
        return
    from rich.table import Table

    table = Table("peer", "address", "cursor", "received", "refused", "last error")
    for r in rows:
        error = f"{ns_time(r['last_error_at'])} {r['last_error']}" if r["last_error"] else "-"
        table.add_row(r["id"], r["address"], str(r["cursor"]), str(r["received"]), str(r["refused"]), error)
    out.print(table)


@peer_cmd.command("remove")
@click.argument("peer_id", metavar="DID")
@click.pass_obj
def peer_remove(c: Any, peer_id: str) -> None:
    """Stop following a peer; what it sent stays, with where it came from."""
    c.local("peer remove").peers.remove(peer_id)
    out.print(f"removed peer {peer_id}", markup=False)

"""``catenary key new`` / ``key show``: a user's or a script's own key, to sign calls to a node."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from catenary.cli.output import emit, json_option
from catenary.errors import BadInputError

if TYPE_CHECKING:
    from catenary.cli.main import Context


@click.group("key")
def key_cmd() -> None:
    """Create and show ed25519 keys (did:key ids) that sign calls to a node (--key, CATENARY_KEY)."""


@key_cmd.command("new")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@json_option
def key_new(path: Path | None, as_json: bool) -> None:
    """Create a key file (mode 0600) at PATH (default: $CATENARY_KEY, else
    ~/.config/catenary/key.pem) and print its did:key. An existing file is never overwritten."""
    import os

    from catenary.trust.identity import KEY_ENV, Identity, default_key_path

    target = path or Path(os.environ.get(KEY_ENV) or default_key_path())
    if path is None and not os.environ.get(KEY_ENV):
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    identity = Identity.create_file(target)
    if as_json:
        emit({"key": identity.id, "path": str(target)})
    else:
        click.echo(identity.id)
        click.echo(
            f"key written to {target} (mode 0600); use it with --key {target} or {KEY_ENV}={target}", err=True
        )


@key_cmd.command("show")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
def key_show(c: Context, path: Path | None, as_json: bool) -> None:
    """Print the did:key of the key at PATH (default: --key, $CATENARY_KEY, or the default file)."""
    from catenary.trust.identity import KEY_ENV, Identity, resolve_key

    identity = Identity.load_file(path) if path else resolve_key(getattr(c, "key", None))
    if identity is None:
        raise BadInputError(
            f"no key: give PATH or --key, set {KEY_ENV}, or create one with `catenary key new`"
        )
    if as_json:
        emit({"key": identity.id})
    else:
        click.echo(identity.id)


@key_cmd.command("token")
@click.argument("method")
@click.option("--audience", metavar="DID", help="The node's did:key (default: asked of --node).")
# click options: rows of one shape, each its own flag, alike by nature.
@click.option(
    "--lifetime",
    type=click.FloatRange(1, 300),
    default=60,
    show_default=True,
    metavar="SECONDS",
    help="How long the token is valid.",
)
@click.pass_obj
def key_token(c: Context, method: str, audience: str | None, lifetime: float) -> None:
    """Print a one-call token for METHOD (e.g. catenary.api.v1.Workflow/List), signed with --key,
    for tools such as buf curl: -H "authorization: Bearer $(catenary key token ...)"."""
    from catenary.trust.identity import KEY_ENV, resolve_key
    from catenary.trust.token import issue

    identity = resolve_key(getattr(c, "key", None))
    if identity is None:
        raise BadInputError(f"no key: give --key, set {KEY_ENV}, or create one with `catenary key new`")
    if audience is None:
        if not c.address:
            raise click.UsageError("give --audience DID, or --node HOST:PORT to ask the node its id")
        import grpc

        from catenary.client.auth import ClientTLS, NodeId

        tls = c.tls if isinstance(c.tls, ClientTLS) else None
        channel = (
            grpc.secure_channel(c.address, tls.credentials()) if tls else grpc.insecure_channel(c.address)
        )
        with channel:
            audience = NodeId(channel)()
    click.echo(issue(identity, audience, "/" + method.lstrip("/"), lifetime=lifetime))

"""``catenary policy show``: the effective trust policy of a data dir (docs/trust.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from catenary.cli.output import emit, json_option

if TYPE_CHECKING:
    from catenary.cli.main import Context


@click.group("policy")
def policy_cmd() -> None:
    """The node's trust policy: which keys may do what (policy.toml in the data dir)."""


@policy_cmd.command("show")
@json_option
@click.pass_obj
def policy_show(c: Context, as_json: bool) -> None:
    """Print the effective policy: policy.toml over the defaults (only this node's key)."""
    node = c.local("policy show")
    from catenary.trust.policy import Policy

    document = Policy.load(node.data_dir, node.id).to_json()
    if as_json:
        emit(document)
        return
    click.echo(f"node     {document['node']}")
    click.echo(f"source   {document['source'] or 'defaults (no policy.toml)'}")
    for name, grants in document["rules"].items():
        if grants and isinstance(grants[0], dict):
            for i, grant in enumerate(grants):
                scope = next(v for k, v in grant.items() if k != "keys")
                click.echo(
                    f"{name}[{i}]".ljust(20) + f"keys {', '.join(grant['keys'])}; on {', '.join(scope)}"
                )
        else:
            click.echo(name.ljust(20) + (", ".join(grants) or "(nobody)"))
    for client in document["clients"]:
        click.echo(f"client CN={client['common_name']} acts as {client['key']}")

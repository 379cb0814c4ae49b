"""`segcheck schema policy|topology` — the JSON Schema (draft 2020-12) of a file language."""

from __future__ import annotations

import json

import click

from segcheck.policy.schema import schema


@click.command()
@click.argument("kind", type=click.Choice(["policy", "topology"]))
def command(kind: str) -> None:
    """Print the JSON Schema (draft 2020-12) of the policy or topology language.

    Point your editor's YAML language server at it, e.g.
    `segcheck schema policy > policy.schema.json`.
    """
    click.echo(json.dumps(schema(kind), indent=2))

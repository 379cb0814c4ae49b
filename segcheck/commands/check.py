"""`segcheck check` — placeholder until its issue lands (see DESIGN.md §4 for the contract)."""

from __future__ import annotations

import click

from segcheck.errors import UsageError


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def command(args: tuple[str, ...]) -> None:
    """Not implemented yet."""
    raise UsageError("'segcheck check' is not implemented yet")

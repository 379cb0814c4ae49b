"""`segcheck explain` — the path(s) one packet takes, each device's deciding rule, the verdict.

Exit codes: 0 explained (whatever the verdict), 2 bad input.
"""

from __future__ import annotations

import json

import click

from segcheck.analysis.explain import explain, make_packet, render_text
from segcheck.analysis.site import load_site
from segcheck.errors import UsageError
from segcheck.outputs import write_output


@click.command()
@click.option("--policy", required=True, type=click.Path(dir_okay=False))
@click.option("--topology", required=True, type=click.Path(dir_okay=False))
@click.option("--src", required=True, help="Source IP address.")
@click.option("--dst", required=True, help="Destination IP address.")
@click.option("--proto", default="tcp", show_default=True, help="Protocol name or number.")
@click.option("--dport", default=0, type=click.IntRange(0, 65535), help="Destination port.")
@click.option("--sport", default=40000, type=click.IntRange(0, 65535), show_default=True,
              help="Source port.")
@click.option("--format", "fmt", default="text", type=click.Choice(["text", "json"]))
def command(policy: str, topology: str, src: str, dst: str, proto: str, dport: int,
            sport: int, fmt: str) -> int:
    """Explain the verdict for one connection-initiating packet."""
    try:
        packet = make_packet(src, dst, proto, dport, sport)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    ex = explain(load_site(policy, topology), packet)
    if fmt == "json":
        write_output(json.dumps(ex.to_json(), indent=2) + "\n", None)
    else:
        write_output(render_text(ex), None)
    return 0

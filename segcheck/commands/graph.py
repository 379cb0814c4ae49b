"""`segcheck graph` — draw the zone reachability graph of a site.

``segcheck graph --policy P --topology T [--capture PCAP]... -o FILE.{dot,svg,png,pdf}``
runs the same analysis as ``check`` (``segcheck.analysis.check.run_check``) and writes the
graph (``segcheck.report.graph``); ``-o -`` writes the DOT text to stdout. Rendered formats
need graphviz's ``dot``: without it the DOT file is written next to FILE and the command
exits 2 saying how to install graphviz. Exit 0 otherwise: the graph is a picture, not a gate
(``check --fail-on`` is the gate).
"""

from __future__ import annotations

import click

from segcheck.analysis.check import run_check
from segcheck.commands.check import parse_today
from segcheck.errors import UsageError
from segcheck.outputs import write_output
from segcheck.report import graph as graph_report


@click.command()
@click.option("--policy", "policy", required=True, type=click.Path(dir_okay=False),
              help="Zone/conduit policy (policies/*.yaml).")
@click.option("--topology", "topology", required=True, type=click.Path(dir_okay=False),
              help="Site topology naming the firewall exports (topologies/*.yaml).")
@click.option("--capture", "captures", multiple=True, type=click.Path(dir_okay=False),
              help="Packet capture whose observed traffic is overlaid (repeatable).")
@click.option("-o", "--output", "output", required=True,
              help="Graph file: .dot, .svg, .png or .pdf (or - for DOT on stdout).")
@click.option("--assets", is_flag=True, help="List each zone's assets inside its node.")
@click.option("--today", "today", default=None, hidden=True,
              help="Pin today's date (ISO) for exception expiry (reproducible graphs).")
def command(policy: str, topology: str, captures: tuple[str, ...], output: str, assets: bool,
            today: str | None) -> int:
    """Draw the zone reachability graph (Purdue levels as ranks, violations coloured)."""
    suffix = output.rsplit(".", 1)[-1].lower() if "." in output else ""
    if output != "-" and suffix not in graph_report.FORMATS:
        raise UsageError(f"-o: the graph file must end in one of "
                         f"{', '.join('.' + f for f in graph_report.FORMATS)}: {output}")
    result = run_check(policy, topology, captures=captures, today=parse_today(today)).result
    if output == "-":
        write_output(graph_report.to_dot(result, assets=assets), None)
        return 0
    path = graph_report.write_graph(result, output, assets=assets)
    click.echo(f"segcheck: wrote {path}", err=True)
    if not result.complete:
        click.echo("segcheck: WARNING: analysis INCOMPLETE — some configuration lines were not "
                   "understood (see `segcheck check`)", err=True)
    return 0

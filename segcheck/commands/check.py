"""`segcheck check` — does the configured network honour the zone/conduit policy?

Exit codes: 0 clean, 1 an active finding at or above ``--fail-on`` (default ``high``), 2 bad
input or usage — and, with ``--strict``, an incomplete analysis (diagnostics that mark
config lines as not understood). The report goes to stdout or, atomically, to ``-o FILE``.
"""

from __future__ import annotations

import importlib
import os
from datetime import date

import click

from segcheck.analysis.check import run_check
from segcheck.analysis.result import CheckResult
from segcheck.errors import UsageError
from segcheck.outputs import write_output
from segcheck.report import registry

FAIL_ON = ("critical", "high", "medium", "low", "info", "never")


def parse_today(value: str | None) -> date | None:
    """``--today`` / ``SEGCHECK_TODAY`` (ISO date) pins "today" for exception expiry."""
    value = value or os.environ.get("SEGCHECK_TODAY")
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"--today: not an ISO date: {value!r}") from exc


def exit_code(result: CheckResult, fail_on: str, strict: bool) -> int:
    """2 when ``strict`` and incomplete; 1 on an active finding at or above ``fail_on``."""
    if strict and not result.complete:
        return 2
    if any(f.severity.at_least(fail_on) for f in result.active_findings()):
        return 1
    return 0


@click.command()
@click.option("--policy", "policy", required=True, type=click.Path(dir_okay=False),
              help="Zone/conduit policy (policies/*.yaml).")
@click.option("--topology", "topology", required=True, type=click.Path(dir_okay=False),
              help="Site topology naming the firewall exports (topologies/*.yaml).")
@click.option("--capture", "captures", multiple=True, type=click.Path(dir_okay=False),
              help="Packet capture to check against the policy (repeatable).")
@click.option("--format", "fmt", default="text", show_default=True,
              type=click.Choice(list(registry.FORMATS)), help="Report format.")
@click.option("-o", "--output", "output", default=None, help="Write the report here (atomic).")
@click.option("--graph", "graph", default=None,
              help="Also write the reachability graph (.dot, .svg, .png, .pdf).")
@click.option("--fail-on", "fail_on", default="high", show_default=True,
              type=click.Choice(FAIL_ON), help="Exit 1 on an active finding at or above this.")
@click.option("--strict", is_flag=True, help="Exit 2 when the analysis is incomplete.")
@click.option("--today", "today", default=None, hidden=True,
              help="Pin today's date (ISO) for exception expiry (tests, reproducible reports).")
def command(policy: str, topology: str, captures: tuple[str, ...], fmt: str,
            output: str | None, graph: str | None, fail_on: str, strict: bool,
            today: str | None) -> int:
    """Check firewall exports (and captures) against the zone/conduit policy."""
    analysis = run_check(policy, topology, captures=captures, today=parse_today(today))
    result = analysis.result
    write_output(registry.render(result, fmt), output)
    if graph:
        try:
            gmod = importlib.import_module("segcheck.report.graph")
        except ModuleNotFoundError as exc:
            raise UsageError("--graph: graph output is not available in this build") from exc
        gmod.write_graph(result, graph)
    if not result.complete:
        click.echo("segcheck: WARNING: analysis INCOMPLETE — some configuration lines were not "
                   "understood (see diagnostics)" + ("; --strict makes this fatal" if strict
                                                     else ""), err=True)
    return exit_code(result, fail_on, strict)

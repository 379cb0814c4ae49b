"""`segcheck check` — does the configured network honour the zone/conduit policy?

Exit codes: 0 clean, 1 an active finding at or above ``--fail-on`` (default ``high``), 2 bad
input or usage — and, with ``--strict``, an incomplete analysis (diagnostics that mark
config lines as not understood). The report goes to stdout or, atomically, to ``-o FILE``.

Outputs are all-or-nothing for bad input: every output target (``-o``, ``--graph``: its
suffix, not a directory, not below a file) is checked before any work; the report and the
graph are rendered in memory, the graph is written to a temporary file next to its target,
then the report is written, then the graph is moved into place — so a failure leaves
neither file (or the previous ones) behind. Lint errors (what ``validate`` rejects) are
bad input: exit 2 before any analysis.

``--strict`` and an incomplete analysis (a decision, pinned by tests/e2e): the report IS
still written (it documents the incomplete result, with its diagnostics), each blocking
diagnostic is printed on stderr as ``path:line: message`` (at most ``STRICT_SHOWN``, then
"and N more"), stderr says the report was written and is incomplete, and the exit is 2.
"""

from __future__ import annotations

import importlib
import os
from datetime import date
from pathlib import Path
from typing import Any

import click

from segcheck.analysis.check import fewer_collections, run_check
from segcheck.analysis.result import CheckResult
from segcheck.errors import SegcheckError, UsageError
from segcheck.gcpause import collector_paused
from segcheck.outputs import stage_output, write_output
from segcheck.report import registry

FAIL_ON = ("critical", "high", "medium", "low", "info", "never")
GRAPH_SUFFIXES = (".dot", ".svg", ".png", ".pdf")
STRICT_SHOWN = 20
"""With ``--strict``, at most this many blocking diagnostics are printed on stderr."""


def check_target(path: str | None, option: str) -> None:
    """Refuse an output target that cannot be written, before any work (``UsageError``):
    an existing directory, or a path below a regular file. ``None``/``-`` is stdout."""
    if path is None or path == "-":
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{option} {target}: is a directory, not an output file")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{option} {target}: cannot write: {parent} is not a directory")
            break


def graph_module() -> Any:
    """``segcheck.report.graph``, or a ``UsageError`` when this build lacks it."""
    try:
        return importlib.import_module("segcheck.report.graph")
    except ModuleNotFoundError as exc:
        raise UsageError("--graph: graph output is not available in this build") from exc


def render_graph(result: CheckResult, graph: str) -> bytes:
    """The graph file's bytes, in memory (``dot`` for rendered formats). Raises
    ``SegcheckError`` (graphviz missing or failing) without writing anything."""
    gmod = graph_module()
    text: str = gmod.to_dot(result)
    fmt = Path(graph).suffix.lower().lstrip(".")
    if fmt == "dot":
        return text.encode()
    try:
        data: bytes = gmod.render(text, fmt)
    except SegcheckError as exc:
        raise type(exc)(f"--graph {graph}: {exc.message} (nothing was written; "
                        f"'--graph FILE.dot' needs no graphviz)", exc.span) from exc
    return data


def blocking_lines(result: CheckResult, limit: int = STRICT_SHOWN) -> list[str]:
    """``path:line: message`` of each diagnostic that makes ``result`` incomplete (capped)."""
    blocking = [d for d in result.diagnostics if d.level.makes_incomplete]
    lines = [str(d) for d in blocking[:limit]]
    if len(blocking) > limit:
        lines.append(f"... and {len(blocking) - limit} more (see the report's diagnostics)")
    return lines


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
@click.option("--strict", is_flag=True,
              help="Exit 2 when the analysis is incomplete; the report is still written "
                   "(marked incomplete) and each blocking diagnostic is printed on stderr.")
@click.option("--today", "today", default=None, hidden=True,
              help="Pin today's date (ISO) for exception expiry (tests, reproducible reports).")
def command(policy: str, topology: str, captures: tuple[str, ...], fmt: str,
            output: str | None, graph: str | None, fail_on: str, strict: bool,
            today: str | None) -> int:
    """Check firewall exports (and captures) against the zone/conduit policy.

    Nothing is written unless everything succeeds (report and graph alike). With --strict
    an incomplete analysis exits 2, but the report is still written: it documents the
    incomplete result, and stderr lists the lines that were not understood.
    """
    check_target(output, "-o")
    if graph:
        if Path(graph).suffix.lower() not in GRAPH_SUFFIXES:
            raise UsageError(f"--graph {graph}: the file must end in one of "
                             f"{', '.join(GRAPH_SUFFIXES)}")
        check_target(graph, "--graph")
        graph_module()
    day = parse_today(today)
    # no cyclic collection until the report is rendered: the analysis leaves almost no
    # cycles (run_check pauses the collector too), so a collection here would only rescan
    # the analysis's large heap (~1.2 s on a 10x10k-rule site)
    with fewer_collections(), collector_paused():
        analysis = run_check(policy, topology, captures=captures, today=day)
        result = analysis.result
        report = registry.render(result, fmt)
    staged: tuple[Path, Path] | None = None  # (temporary file, graph target)
    if graph:
        staged = (stage_output(render_graph(result, graph), Path(graph)), Path(graph))
    try:
        write_output(report, output)
        if staged is not None:
            try:
                os.replace(*staged)
            except OSError as exc:
                raise UsageError(f"--graph {graph}: cannot write: {exc.strerror or exc}"
                                 + (f" (the report {output} was written)" if output else "")
                                 ) from exc
    finally:
        if staged is not None:
            staged[0].unlink(missing_ok=True)
    if not result.complete:
        click.echo("segcheck: WARNING: analysis INCOMPLETE — some configuration lines were not "
                   "understood" + (":" if strict else " (see diagnostics)"), err=True)
        if strict:
            for line in blocking_lines(result):
                click.echo(f"  {line}", err=True)
            where = f"written to {output}" if output and output != "-" else "written to stdout"
            click.echo(f"segcheck: --strict: the report was {where} and is INCOMPLETE; "
                       "exit 2", err=True)
    return exit_code(result, fail_on, strict)

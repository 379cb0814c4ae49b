"""`segcheck rules` — rule hygiene of one firewall export, no policy needed (DESIGN.md §4).

For every filter of the device: each rule's status (``ok``, ``shadowed``, ``redundant``,
``disabled``), the rules covering it (file:line) and flags (``any``, ``any-source``,
``any-destination``, ``any-service``, ``broad-ports``, ``disabled``); see
``segcheck.engine.hygiene`` for the semantics, including interface conditions.

Exit codes: 0 (the report was produced, whatever it says), 2 bad input or usage. Parser
diagnostics go to stderr; an incomplete parse is said there too, since a skipped line can
change which rules are shadowed.
"""

from __future__ import annotations

import json

import click

from segcheck.engine.hygiene import DEFAULT_MAX_PORT_SPAN, FilterReport, audit, to_json
from segcheck.errors import UsageError
from segcheck.outputs import write_output
from segcheck.parsers.registry import VENDORS, load_device


def render_text(reports: list[FilterReport]) -> str:
    """Per filter: a count line, then every rule that is not ``ok`` or carries a flag."""
    lines: list[str] = []
    for rep in reports:
        counts = rep.counts()
        summary = ", ".join(f"{counts[k]} {k}" for k in ("ok", "shadowed", "redundant",
                                                           "disabled") if counts.get(k))
        lines.append(f"filter {rep.name}: {len(rep.rules)} rules ({summary or 'none'})")
        for r in rep.rules:
            if r.status == "ok" and not r.flags:
                continue
            where = f"{r.rule.span.path}:{r.rule.span.line}"
            name = f" {r.rule.name}" if r.rule.name else ""
            text = f"  {where}: {r.status} {r.rule.action.value}{name}"
            if r.flags:
                text += f" [{', '.join(r.flags)}]"
            if r.covered_by:
                cover = ", ".join(
                    f"{rep.filter.rules[j].span.path}:{rep.filter.rules[j].span.line}"
                    for j in r.covered_by
                )
                text += f" — covered by {cover}"
            lines.append(text)
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--config", "config", required=True, type=click.Path(dir_okay=False),
              help="The firewall export to audit.")
@click.option("--vendor", type=click.Choice(sorted(VENDORS)), default=None,
              help="Vendor of the export (default: detected).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--max-port-span", type=int, default=DEFAULT_MAX_PORT_SPAN, show_default=True,
              help="Flag port sets larger than this as broad-ports.")
@click.option("-o", "--output", "output", default=None, help="Write here instead of stdout.")
def command(config: str, vendor: str | None, fmt: str, max_port_span: int,
            output: str | None) -> int:
    """Rule hygiene of one export: shadowed, redundant and overly broad rules."""
    if max_port_span < 0:
        raise UsageError("--max-port-span must be >= 0")
    device = load_device(config, vendor)
    for d in device.diagnostics:
        click.echo(f"segcheck: {d}", err=True)
    if not device.complete:
        click.echo("segcheck: the export was not fully understood; statuses may be wrong "
                   "around the lines above", err=True)
    reports = audit(device, max_port_span)
    if fmt == "json":
        write_output(json.dumps(to_json(reports), indent=2) + "\n", output)
    else:
        write_output(render_text(reports), output)
    return 0

"""`segcheck validate FILE...` — load and lint policy and topology files.

Policies are read first, so a topology on the same command line can use one of them; a
topology otherwise uses its own ``policy:`` key or ``--policy``. Lint diagnostics go to
stdout (they are the command's output), followed by one summary line per file saying what
was checked. Exit 2 on any error (bad input or lint error), 0 otherwise (warnings allowed).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click
import yaml

from segcheck.errors import UsageError
from segcheck.model.source import Diagnostic, Level
from segcheck.policy import Policy, Topology, load_policy, load_topology, topology_policy_path
from segcheck.policy.lint import has_errors, lint_policy, lint_topology


def _kind(path: str) -> str:
    """``policy`` or ``topology``, from the top-level keys (cheap: the loader re-reads)."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return "policy"  # let the loader report the problem with its location
    topo_keys = ("policy", "devices", "routes", "hosts")
    if isinstance(data, dict) and "zones" not in data and any(k in data for k in topo_keys):
        return "topology"
    return "policy"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


def _policy_summary(p: Policy) -> str:
    zones = [z for z in p.zones if not z.implicit]
    implicit = " (+ implicit z-internet)" if len(zones) < len(p.zones) else ""
    assets = sum(len(z.assets) for z in p.zones)
    flows = sum(len(c.flows) for c in p.conduits)
    return (f"policy {p.suc or '-'}: {_n(len(zones), 'zone')}{implicit}, {_n(assets, 'asset')}, "
            f"{_n(len(p.services), 'service')}, {_n(len(p.conduits), 'conduit')} "
            f"({_n(flows, 'flow')}), {_n(len(p.exceptions), 'exception')}")


def _topology_summary(t: Topology, policy: str) -> str:
    files = sum(len(d.configs) for d in t.devices)
    ifaces = sum(len(d.interfaces) for d in t.devices)
    return (f"topology: {_n(len(t.devices), 'device')} ({_n(files, 'config file')}, "
            f"{_n(ifaces, 'interface')}), {_n(len(t.routes), 'route')}, "
            f"{_n(len(t.hosts), 'bridging host')}; policy {policy}")


def _counts(diags: tuple[Diagnostic, ...]) -> str:
    errors = sum(d.level is Level.ERROR for d in diags)
    return f"{_n(errors, 'error')}, {_n(len(diags) - errors, 'warning')}"


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False),
              help="Policy for topology files that do not name one with 'policy:'.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Judge expiry dates as of this day (YYYY-MM-DD; default: today).")
def command(files: tuple[str, ...], policy_path: str | None, today: datetime | None) -> int:
    """Check policy and topology files: syntax, references, and lint.

    Prints every error and warning as path:line:col, then what was checked.
    Exits 2 when anything is an error, 0 otherwise.
    """
    day: date | None = today.date() if today else None
    kinds = {f: _kind(f) for f in files}
    policies: dict[Path, Policy] = {}
    all_diags: list[Diagnostic] = []
    lines: list[str] = []
    for f in (f for f in files if kinds[f] == "policy"):
        p = load_policy(f)
        policies[Path(f).resolve()] = p
        diags = lint_policy(p, today=day)
        all_diags += diags
        lines.append(f"{f}: {_policy_summary(p)} — {_counts(diags)}")
    explicit = load_policy(policy_path) if policy_path else None
    for f in (f for f in files if kinds[f] == "topology"):
        own = topology_policy_path(f)
        if explicit is not None:
            policy = explicit
        elif own is not None:
            policy = policies.get(own.resolve()) or load_policy(own)
        elif len(policies) == 1:
            policy = next(iter(policies.values()))
        else:
            raise UsageError(f"{f}: a topology needs its policy: add 'policy: PATH' to it, "
                             "or pass --policy")
        t = load_topology(f, policy)
        diags = lint_topology(t, policy)
        all_diags += diags
        lines.append(f"{f}: {_topology_summary(t, policy.path)} — {_counts(diags)}")
    for d in all_diags:
        click.echo(str(d))
    for line in lines:
        click.echo(line)
    failed = has_errors(all_diags)
    click.echo(f"{'FAILED' if failed else 'OK'}: {_n(len(files), 'file')} checked, "
               f"{_counts(tuple(all_diags))}")
    return 2 if failed else 0

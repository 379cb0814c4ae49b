"""Loading a site: the policy, its topology and every device export, merged per device.

A topology device may list several exports (``configs``), e.g. ``iptables-save`` and
``ip6tables-save`` for one Linux firewall. Each export is parsed on its own; when exports
cover different IP families they are merged into one ``Device`` whose filters keep each
export's first-match order *within its family*: every rule of an export is restricted to the
export's family and the export's default action becomes a final synthetic rule for that
family. Two exports of the same family (or of unknown family) are concatenated in file
order, which first-match makes "the first export wins" — a diagnostic says so.

Lint: ``load_site`` runs the same policy/topology lint as ``segcheck validate``. An
ERROR-level lint diagnostic (duplicate id, an address in two zones, ...) means the analysis
could be wrong, so it raises ``LintError`` (exit 2, every error as ``path:line:col:
message``); warnings join the site's diagnostics (non-blocking: they never make the result
incomplete).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from segcheck.analysis.result import InputFile
from segcheck.errors import PolicyError
from segcheck.model.device import Device, Stage
from segcheck.model.rules import Filter, Match, Rule
from segcheck.model.source import Diagnostic, Level, SourceSpan
from segcheck.parsers.registry import load_device
from segcheck.policy import load_policy, load_topology
from segcheck.policy.lint import lint_policy, lint_topology


class LintError(PolicyError):
    """The policy or topology has ERROR-level lint (what ``segcheck validate`` rejects).

    The message cites the first error at the exception's span and lists the others, one
    ``path:line:col: message`` a line; ``errors`` keeps them all."""

    def __init__(self, errors: tuple[Diagnostic, ...]) -> None:
        first, rest = errors[0], errors[1:]
        code = f" [{first.code}]" if first.code else ""
        lines = [f"{first.message}{code}", *(str(d) for d in rest),
                 f"({len(errors)} lint error{'s' * (len(errors) != 1)}; the analysis would "
                 "not be trustworthy — fix them, see: segcheck validate POLICY TOPOLOGY)"]
        super().__init__("\n".join(lines), first.span)
        self.errors = errors


@dataclass(frozen=True)
class Site:
    policy: Any
    topology: Any
    devices: dict[str, Device]
    inputs: tuple[InputFile, ...]
    diagnostics: tuple[Diagnostic, ...]


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _families(device: Device) -> set[int | None]:
    fams: set[int | None] = set()
    for flt in device.filters.values():
        for rule in flt.rules:
            for m in rule.matches:
                fams.add(m.family)
    return fams


def _restrict(m: Match, family: int) -> Match | None:
    if m.family is not None:
        return m if m.family == family else None
    return replace(m, family=family)


def _family_filter(flt: Filter, family: int) -> list[Rule]:
    rules: list[Rule] = []
    for rule in flt.rules:
        ms = tuple(x for x in (_restrict(m, family) for m in rule.matches) if x is not None)
        if not ms:
            continue
        xs = tuple(x for x in (_restrict(m, family) for m in rule.excludes) if x is not None)
        rules.append(replace(rule, matches=ms, excludes=xs))
    span = flt.default_span or SourceSpan(flt.name, 0)
    rules.append(Rule(flt.default_action, (Match(family=family),), span,
                      name=f"{flt.name} default (IPv{family})", synthetic=True))
    return rules


def merge_devices(name: str, parts: list[Device]) -> tuple[Device, list[Diagnostic]]:
    """One device from several exports (see the module docstring)."""
    if len(parts) == 1:
        return parts[0], []
    diags: list[Diagnostic] = []
    fams: list[set[int]] = [{f for f in _families(d) if f is not None} for d in parts]
    unknown = [k for k, f in enumerate(fams) if not f]
    known = set().union(*fams)
    if len(parts) == 2 and len(unknown) == 1 and len(known) == 1:
        # an export without a single rule (e.g. an empty ip6tables-save): the other family
        fams[unknown[0]] = {4, 6} - known
    split = all(len(f) == 1 for f in fams) and len({next(iter(f)) for f in fams}) == len(parts)
    if not split:
        diags.append(Diagnostic(
            Level.WARNING, f"device {name}: exports of the same or mixed IP families are "
            "concatenated in order (the first export's rules win)", code="site.merge-order"))
    filters: dict[str, list[Rule]] = {}
    notes: dict[str, Filter] = {}
    for d, fam in zip(parts, fams, strict=True):
        for fname, flt in d.filters.items():
            notes.setdefault(fname, flt)
            rules = (_family_filter(flt, next(iter(fam))) if split else list(flt.rules))
            filters.setdefault(fname, []).extend(rules)
    merged_filters = {
        fname: replace(notes[fname], rules=tuple(rules)) for fname, rules in filters.items()
    }

    def stages(which: str) -> tuple[Stage, ...]:
        out: list[Stage] = []
        for d in parts:
            for st in getattr(d, which):
                if st not in out:
                    out.append(st)
        return tuple(out)

    ifaces: dict[str, Any] = {}
    for d in parts:
        for k, v in d.interfaces.items():
            ifaces.setdefault(k, v)
    first = parts[0]
    merged = Device(
        name=name, vendor=first.vendor, path=first.path, filters=merged_filters,
        forward=stages("forward"), local=stages("local"), interfaces=ifaces,
        nat=tuple(n for d in parts for n in d.nat),
        diagnostics=tuple(x for d in parts for x in d.diagnostics),
    )
    return merged, diags


def lint_site(policy: Any, topology: Any, today: date | None = None) -> list[Diagnostic]:
    """The lint warnings of ``policy``/``topology``; raises ``LintError`` on any lint error."""
    lint = (*lint_policy(policy, today=today), *lint_topology(topology, policy))
    errors = tuple(d for d in lint if d.level is Level.ERROR)
    if errors:
        raise LintError(errors)
    return [d for d in lint if d.level is not Level.ERROR]


def load_site(policy_path: str | Path, topology_path: str | Path, *,
              today: date | None = None) -> Site:
    """Load, lint and parse everything a ``check`` needs (errors: ``SegcheckError`` with a
    span; ``LintError`` on lint errors). ``today`` dates the expiry lint (default: today)."""
    policy = load_policy(policy_path)
    topology = load_topology(topology_path, policy)
    diags: list[Diagnostic] = lint_site(policy, topology, today)
    inputs = [InputFile(str(policy_path), sha256(policy_path), "policy"),
              InputFile(str(topology_path), sha256(topology_path), "topology")]
    devices: dict[str, Device] = {}
    for td in topology.devices:
        parts = []
        for cfg in td.configs or (td.config,):
            parts.append(load_device(cfg, td.vendor, td.id))
            inputs.append(InputFile(str(cfg), sha256(cfg), "config"))
        dev, extra = merge_devices(td.id, parts)
        devices[td.id] = dev
        diags.extend(extra)
        diags.extend(dev.diagnostics)
        if dev.interfaces:
            diags.extend(
                Diagnostic(Level.WARNING,
                           f"device {td.id}: topology interface {iface!r} is not in the export",
                           td.span, code="site.unknown-interface")
                for iface in td.interfaces if iface not in dev.interfaces)
    return Site(policy, topology, devices, tuple(inputs), tuple(diags))

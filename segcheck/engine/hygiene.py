"""Rule hygiene of one device export: shadowed, redundant and overly broad rules.

``audit(device)`` reports, for every filter of the device and every rule in it, the rule's
status, the rules that cover it and hygiene flags (the ``segcheck rules`` command, Batfish's
filterLineReachability).

Interface conditions. Rules may carry ingress/egress conditions (iptables ``-i``/``-o``,
zones); analysing a filter with them read as "any" would be wrong (a rule for ``eth1`` does
not shadow a later rule for ``eth2``). Instead every filter is split into *interface
classes*: each realisable (ingress, egress) context is mapped to the truth values of all
interface conditions of that filter, and contexts with equal truth values form one class —
packets in one class meet exactly the same rules. The representative contexts are the
device's interfaces (with their vendor zones), every interface name and zone a condition
mentions, one made-up name per ``+`` wildcard, and "unknown". Each class is analysed
exactly on ``Filter.specialize`` of its representative, and the results are combined:

- ``ok`` if the rule is ``ok`` in some class where it applies;
- ``redundant`` if it decides packets in some class but removing it changes no class;
- ``shadowed`` if it decides nothing in any class and, in some class, a covering rule has
  another action; ``redundant`` if it decides nothing and every covering rule agrees (or
  the rule applies in no class at all);
- ``disabled`` for disabled rules.

``covered_by`` is the union over classes of the covering rules (``engine.filters``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from segcheck.engine.filters import COVER_CAP, analyze
from segcheck.engine.mdd import Universe
from segcheck.model import ranges as R
from segcheck.model.device import Device
from segcheck.model.packet import PORT_PROTOCOLS
from segcheck.model.rules import Filter, IfaceContext, IfaceMatch, Match, Rule

DEFAULT_MAX_PORT_SPAN = 16
"""A port set larger than this is flagged ``broad-ports``."""
_WILD = "\x00"
"""Suffix that turns a ``+`` wildcard prefix into an interface name matching it."""


@dataclass(frozen=True, slots=True)
class RuleReport:
    index: int
    rule: Rule
    status: str
    """``ok``, ``shadowed``, ``redundant`` or ``disabled``."""
    covered_by: tuple[int, ...]
    """Indices (in the same filter) of the rules that cover this one."""
    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FilterReport:
    name: str
    filter: Filter
    rules: tuple[RuleReport, ...]
    classes: int
    """How many interface classes the filter was analysed in."""

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rules:
            out[r.status] = out.get(r.status, 0) + 1
        return out


def rule_flags(rule: Rule, max_port_span: int = DEFAULT_MAX_PORT_SPAN) -> tuple[str, ...]:
    """Hygiene flags of one rule, from its own matches (interface conditions aside)."""
    flags: list[str] = []
    if not rule.enabled:
        flags.append("disabled")
    if is_return_traffic(rule):
        # ``ct state established,related accept``: no connection starts here, so "any" and
        # port spans say nothing about what the rule opens.
        flags.append("return-traffic")
        return tuple(flags)
    ms = [m for m in rule.matches if m.matches_new()]
    if any(m.src is None and m.dst is None and m.protocols is None for m in ms):
        flags.append("any")
    if any(m.src is None for m in ms):
        flags.append("any-source")
    if any(m.dst is None for m in ms):
        flags.append("any-destination")
    if any(m.protocols is None for m in ms):
        flags.append("any-service")
    if any(_broad_ports(m, max_port_span) for m in ms):
        flags.append("broad-ports")
    return tuple(flags)


def is_return_traffic(rule: Rule) -> bool:
    """True when no match of ``rule`` can match a connection-initiating (``new``) packet: a
    stateful return-traffic rule. Statuses are about which *connections* a rule decides, so
    such a rule is reported ``ok`` (it serves replies), never shadowed or redundant."""
    return bool(rule.matches) and not any(m.matches_new() for m in rule.matches)


def _broad_ports(m: Match, max_span: int) -> bool:
    """A port-protocol match whose destination ports (all, when unconstrained) exceed
    ``max_span`` values; ``any-service`` covers matches without a protocol."""
    if m.protocols is None:
        return False
    if not all(p in PORT_PROTOCOLS for lo, hi in m.protocols for p in range(lo, hi + 1)):
        return False
    return m.dports is None or R.size(m.dports) > max_span


# -- interface classes ----------------------------------------------------------------------


def _conditions(flt: Filter) -> tuple[list[IfaceMatch], list[IfaceMatch]]:
    ins: dict[IfaceMatch, None] = {}
    outs: dict[IfaceMatch, None] = {}
    for rule in flt.rules:
        for m in (*rule.matches, *rule.excludes):
            ins.update(dict.fromkeys(m.in_iface))
            outs.update(dict.fromkeys(m.out_iface))
    return list(ins), list(outs)


def _contexts(device: Device, conds: Iterable[IfaceMatch]) -> list[IfaceContext]:
    ctxs: dict[IfaceContext, None] = {IfaceContext(): None}
    for name, iface in device.interfaces.items():
        ctxs[IfaceContext(name, iface.zone)] = None
    for c in conds:
        for pattern in c.names:
            if pattern.endswith("+"):
                ctxs[IfaceContext(pattern[:-1] + _WILD, None)] = None
            elif pattern not in device.interfaces:
                ctxs[IfaceContext(pattern, None)] = None
        for zone in c.zones:
            ctxs[IfaceContext(None, zone)] = None
    return list(ctxs)


def _classes(device: Device, flt: Filter) -> list[tuple[IfaceContext, IfaceContext]]:
    """One representative (ingress, egress) per interface class of ``flt``."""
    in_conds, out_conds = _conditions(flt)

    def reps(conds: list[IfaceMatch]) -> list[IfaceContext]:
        by_sig: dict[tuple[bool, ...], IfaceContext] = {}
        for ctx in _contexts(device, conds):
            by_sig.setdefault(tuple(c.matches(ctx) for c in conds), ctx)
        return list(by_sig.values())

    return [(i, e) for i in reps(in_conds) for e in reps(out_conds)]


def _applies(rule: Rule, ingress: IfaceContext, egress: IfaceContext) -> bool:
    """Mirrors ``Filter.specialize``: the rule survives when one of its matches applies."""
    return any(m.iface_ok(ingress, egress) for m in rule.matches)


# -- audit ----------------------------------------------------------------------------------


def audit_filter(
    device: Device,
    flt: Filter,
    max_port_span: int = DEFAULT_MAX_PORT_SPAN,
    universe: Universe | None = None,
) -> FilterReport:
    """The hygiene report of one filter of ``device`` (module docstring)."""
    classes = _classes(device, flt)
    per_rule: dict[int, list[str]] = {i: [] for i in range(len(flt.rules))}
    covers: dict[int, set[int]] = {i: set() for i in range(len(flt.rules))}
    for ingress, egress in classes:
        kept = [i for i, r in enumerate(flt.rules) if _applies(r, ingress, egress)]
        spec = flt.specialize(ingress, egress)
        fa = analyze(spec, universe)
        for ra in fa.rules:
            orig = kept[ra.index]
            per_rule[orig].append("live" if ra.status == "redundant" and ra.decides
                                  else ra.status)
            if ra.status in ("shadowed", "redundant"):
                covers[orig].update(kept[j] for j in ra.covered_by)
    reports = []
    for i, rule in enumerate(flt.rules):
        seen = per_rule[i]
        if not rule.enabled:
            status = "disabled"
        elif "ok" in seen or is_return_traffic(rule):
            status = "ok"
        elif "live" in seen or not seen:  # removable wherever it decides, or never applies
            status = "redundant"
        else:  # decides nothing in any class
            status = "shadowed" if "shadowed" in seen else "redundant"
        cover = tuple(sorted(covers[i]))[:COVER_CAP] if status != "ok" else ()
        reports.append(RuleReport(i, rule, status, cover, rule_flags(rule, max_port_span)))
    return FilterReport(flt.name, flt, tuple(reports), len(classes))


def audit(device: Device, max_port_span: int = DEFAULT_MAX_PORT_SPAN) -> list[FilterReport]:
    """Hygiene reports for every filter of the device, in the device's order."""
    return [audit_filter(device, flt, max_port_span) for flt in device.filters.values()]


def to_json(reports: list[FilterReport]) -> dict[str, object]:
    """The DESIGN.md §4 ``rules --format json`` shape."""
    def covers(rep: FilterReport, r: RuleReport) -> list[dict[str, object]]:
        return [
            {"file": rep.filter.rules[j].span.path, "line": rep.filter.rules[j].span.line}
            for j in r.covered_by
        ]

    return {"filters": [
        {"filter": rep.name, "rules": [
            {
                "file": r.rule.span.path,
                "line": r.rule.span.line,
                "name": r.rule.name,
                "action": r.rule.action.value,
                "status": r.status,
                "covered_by": covers(rep, r),
                "flags": list(r.flags),
            }
            for r in rep.rules
        ]}
        for rep in reports
    ]}

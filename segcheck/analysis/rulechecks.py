"""Rule-level findings: SC-ANY-RULE, SC-BROAD-PORTS, SC-SHADOWED, SC-REDUNDANT.

Every forward crossing (device, ingress, egress) of the topology is analysed (first-match,
``engine.filters.analyze`` on the specialized filters); facts are aggregated per rule of the
unspecialized filter (``kept`` maps indices back):

- ANY-RULE / BROAD-PORTS: an enabled, non-synthetic permit on a crossing between two
  different zones whose effective set is non-empty there, with an ``any`` source,
  destination or service (when ``no_any_in_cross_zone_rules``), or a destination-port span
  above ``max_port_span``. The witness comes from the effective set scoped to the crossing's
  zones when that is non-empty; when no crossing's own zones hold the rule's packets (they
  transit from/to zones behind other devices), the finding names the zones of the
  witness's addresses instead of an interface pair the packets never use.
- SHADOWED / REDUNDANT: the rule decides nothing on *every* crossing it sits on and some
  *earlier* rule covers it (the engine also calls a rule redundant when a later rule would
  decide its packets alike; of two duplicates only the later one is reported). Shadowed
  wins over redundant; a shadowed deny under a permit is raised to high (reviewers believe
  the traffic is blocked). Rules that match only return traffic (conntrack state) are skipped.
"""

from __future__ import annotations

import functools
import ipaddress
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from segcheck.analysis.result import Evidence, Severity
from segcheck.engine.packetset import PacketSet
from segcheck.model import ranges as R
from segcheck.model.packet import PORT_PROTOCOLS
from segcheck.model.rules import Action, Rule

if TYPE_CHECKING:
    from segcheck.analysis.findings import Analyzer


def rule_object(device: str, rule: Rule) -> str:
    """``device:name``, or ``device:file-basename:line`` for unnamed rules (stable across
    checkouts, so exceptions can name it)."""
    if rule.name:
        return f"{device}:{rule.name}"
    return f"{device}:{PurePath(rule.span.path).name}:{rule.span.line}"


def rule_label(rule: Rule) -> str:
    """The rule's name, or ``file-basename:line`` for unnamed rules: finding messages must
    not depend on where the checkout lives (``Rule.label`` carries the full path)."""
    return rule.name or f"{PurePath(rule.span.path).name}:{rule.span.line}"


def decides(ra: Any) -> bool:
    """Whether the rule decides some packet on its crossing (non-empty effective set)."""
    flag = getattr(ra, "decides", None)
    return bool(flag) if flag is not None else not ra.effective.is_empty()


def earlier_status(ra: Any) -> tuple[str, tuple[int, ...]]:
    """(status, covering rules) counting only *earlier* covers: a rule that decides packets
    but could be removed because later rules would decide them alike (the engine's
    "redundant" for a live rule) is ``ok`` here — of two duplicates the later one is the
    anomaly. Covers are read only for rules that decide nothing (cheap for the engine)."""
    if decides(ra):  # first: a live rule is "ok" here, and this skips the engine's costly
        return "ok", ()  # backward (removability) pass that reading ``status`` would trigger
    if ra.status not in ("shadowed", "redundant"):
        return ra.status, ()
    return ra.status, tuple(ra.covered_by)


def rule_findings(an: Analyzer) -> None:
    """SC-ANY-RULE, SC-BROAD-PORTS, SC-SHADOWED, SC-REDUNDANT over every crossing."""
    gr = an.policy.global_rules
    zone_of = {td.id: dict(td.interfaces) for td in an.topology.devices
               if td.id in an.devices}
    # (device, filter, index) -> aggregated facts
    statuses: dict[tuple[str, str, int], list[tuple[str, tuple[int, ...], Any]]] = {}
    decided: set[tuple[str, str, int]] = set()
    """Rules with a status other than shadowed/redundant/disabled on some crossing: never a
    SHADOWED/REDUNDANT finding, so their other crossings' statuses are not collected."""
    flagged: dict[tuple[str, str, int], bool] = {}
    cross: dict[tuple[str, str, int], tuple[str, str, PacketSet, Rule, PacketSet]] = {}
    for dev, ifaces in zone_of.items():
        for i, zi in ifaces.items():
            for e, ze in ifaces.items():
                if e == i:
                    continue
                hop = an.reach.hop(dev, i, e)
                for fname, _spec, fa, kept in hop.filters:
                    for ra in fa.rules:
                        key = (dev, fname, kept[ra.index])
                        if key not in decided:
                            status, cov = earlier_status(ra)
                            if status in ("shadowed", "redundant", "disabled"):
                                statuses.setdefault(key, []).append(
                                    (status, tuple(kept[c] for c in cov), ra))
                            else:
                                decided.add(key)
                                statuses.pop(key, None)
                        if zi == ze or ra.rule.action is not Action.PERMIT or (
                                not ra.rule.enabled or ra.rule.synthetic):
                            continue
                        flag = flagged.get(key)
                        if flag is None:
                            flag = flagged[key] = _rule_flagged(an, ra.rule)
                        if flag and decides(ra):
                            scoped = (ra.effective & an.reach.src_of(zi)
                                      & an.reach.dst_of(ze))
                            # prefer a crossing whose own zones the rule's space joins
                            if key not in cross or (cross[key][2].is_empty()
                                                    and not scoped.is_empty()):
                                cross[key] = (zi, ze, scoped, ra.rule, ra.effective)
    for key, (zi, ze, scoped, rule, eff) in sorted(cross.items(), key=lambda kv: kv[0]):
        dev = key[0]
        if scoped.is_empty():
            # no crossing's own zones hold the rule's packets: they come from / go to zones
            # behind other devices (transit), so name the zones the addresses belong to
            zi, ze, eff = _witness_zones(an, eff, zi, ze)
        ev = [Evidence(dev, rule.span, rule.name or (rule.span.text or ""), "permit")]
        offending = scoped if not scoped.is_empty() else eff
        if gr.no_any_in_cross_zone_rules:
            anys = _any_fields(rule)
            if anys:
                an.finding(
                    "SC-ANY-RULE",
                    f"{dev} rule {rule_label(rule)} permits {zi}->{ze} with any "
                    f"{', '.join(anys)}",
                    src=zi, dst=ze, offending=offending, evidence=ev,
                    obj=rule_object(dev, rule))
        if gr.max_port_span is not None:
            span = _port_span(rule)
            if span > gr.max_port_span:
                an.finding(
                    "SC-BROAD-PORTS",
                    f"{dev} rule {rule_label(rule)} opens {span} ports from {zi} to {ze} "
                    f"(max_port_span {gr.max_port_span})",
                    src=zi, dst=ze, offending=offending, evidence=ev,
                    obj=rule_object(dev, rule))
    first_hop = _first_hops(an, [k for k, items in statuses.items()
                                 if {s for s, _, _ in items} - {"disabled"}])
    for key, items in sorted(statuses.items(), key=lambda kv: kv[0]):
        states = {s for s, _, _ in items if s != "disabled"}
        if not states or not states <= {"shadowed", "redundant"}:
            continue
        dev, fname, _idx = key
        flt = an.devices[dev].filters[fname]
        rule = flt.rules[key[2]]
        if rule.synthetic or not any(m.matches_new() for m in rule.matches):
            continue  # state-only rules (ESTABLISHED/INVALID) never see new packets
        code = "SC-SHADOWED" if "shadowed" in states else "SC-REDUNDANT"
        # only earlier rules count: of two duplicates, the later one is the redundant one
        covers = sorted({c for _, cov, _ in items for c in cov if c < key[2]})
        if not covers:
            continue  # nothing earlier covers it (empty match, or a later duplicate)
        ev = [Evidence(dev, rule.span, rule.name or (rule.span.text or ""),
                       rule.action.value)]
        ev += [Evidence(dev, flt.rules[c].span,
                        flt.rules[c].name or (flt.rules[c].span.text or ""),
                        flt.rules[c].action.value) for c in covers]
        covering_actions = {flt.rules[c].action for c in covers}
        severity = None
        if code == "SC-SHADOWED" and rule.action is Action.DENY and \
                Action.PERMIT in covering_actions:
            severity = Severity.HIGH
        witness_set = PacketSet.from_rule(items[0][2].rule)
        zones = first_hop.get(key, (None, None))
        an.finding(
            code,
            f"{dev} rule {rule_label(rule)} ({rule.action.value}) never decides: covered by "
            + ", ".join(f"{rule_label(flt.rules[c])} ({flt.rules[c].action.value})"
                        for c in covers),
            src=zones[0], dst=zones[1], offending=witness_set, evidence=ev,
            obj=rule_object(dev, rule), severity=severity)

def _witness_zones(an: Analyzer, eff: PacketSet, zi: str,
                   ze: str) -> tuple[str, str, PacketSet]:
    """Zones for a rule whose packets the crossing's own zones do not both hold: each side
    keeps the crossing's zone when the rule's packets touch it, else takes the policy zone
    of the witness's address (falling back to the crossing's zone when that resolves to
    none). Also returns the part of ``eff`` the witness is drawn from."""
    src_part = eff & an.reach.src_of(zi)
    base = eff if src_part.is_empty() else src_part
    dst_part = base & an.reach.dst_of(ze)
    part = base if dst_part.is_empty() else dst_part
    w = part.sample()
    if w is None:
        return zi, ze, eff
    ip = ipaddress.IPv4Address if w.version == 4 else ipaddress.IPv6Address
    src, dst = an.policy.resolve(ip(w.src)), an.policy.resolve(ip(w.dst))
    return ((zi if not src_part.is_empty() or src is None else src[0]),
            (ze if not dst_part.is_empty() or dst is None else dst[0]), part)


def _rule_flagged(an: Analyzer, rule: Rule) -> bool:
    """Whether the rule is an ANY-RULE or BROAD-PORTS candidate (cheap, on its matches)."""
    gr = an.policy.global_rules
    if gr.no_any_in_cross_zone_rules and _any_fields(rule):
        return True
    return gr.max_port_span is not None and _port_span(rule) > gr.max_port_span

def _first_hops(an: Analyzer, keys: list[tuple[str, str, int]],
                ) -> dict[tuple[str, str, int], tuple[str | None, str | None]]:
    """For each (device, filter, rule index): the zones of the interfaces of the first
    forward crossing (in analysis order) whose specialized filter keeps the rule — one pass
    over the crossings for all the rules (was one pass per rule)."""
    want: dict[tuple[str, str], set[int]] = {}
    for dev, fname, idx in keys:
        want.setdefault((dev, fname), set()).add(idx)
    ifaces = {td.id: td.interfaces for td in an.topology.devices}
    out: dict[tuple[str, str, int], tuple[str | None, str | None]] = {}
    for (d, i, e), hop in an.reach.hops.items():
        if e is None:
            continue
        for fname, _s, _fa, kept in hop.filters:
            todo = want.get((d, fname))
            if not todo:
                continue
            for idx in todo.intersection(kept):
                out[(d, fname, idx)] = (ifaces[d].get(i), ifaces[d].get(e))
            todo.difference_update(kept)
    return out


def _any_fields(rule: Rule) -> list[str]:
    out: list[str] = []
    for m in rule.matches:
        if m.src is None and "source" not in out:
            out.append("source")
        if m.dst is None and "destination" not in out:
            out.append("destination")
        if m.protocols is None and "service" not in out:
            out.append("service")
    return out


def _port_span(rule: Rule) -> int:
    """The widest destination-port span of the rule's port-protocol matches (0 if none)."""
    widest = 0
    for m in rule.matches:
        if m.protocols is None or not _port_protocols_only(m.protocols):
            continue
        span = R.PORT_MAX + 1 if m.dports is None else R.size(m.dports)
        widest = max(widest, span)
    return widest


@functools.lru_cache(maxsize=1024)
def _port_protocols_only(protocols: R.Ranges) -> bool:
    """Whether ``protocols`` is not empty and every protocol in it has ports (cached: rules
    share a handful of protocol sets)."""
    protos = [p for lo, hi in protocols for p in range(lo, min(hi, 255) + 1)]
    return bool(protos) and all(p in PORT_PROTOCOLS for p in protos)

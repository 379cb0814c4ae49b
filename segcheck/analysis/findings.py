"""Config-side findings: the policy (intended) against the reach matrix (configured).

Each check is a method of ``Analyzer`` returning ``Finding``s. Shared invariants:

- a finding about packets carries an *offending set* ``O`` (exact); its witness is
  ``O.sample()`` and its evidence the permitting rules whose effective sets meet ``O`` on
  some path (``ReachMatrix.contributions``), so the witness is in ``O`` and every rule listed
  lets part of ``O`` through;
- ``object`` is what an exception names: ``"<src>-><dst>"`` for zone-pair findings,
  ``"<device>:<rule name>"`` for rule findings (``"<device>:<file>:<line>"`` when the rule has
  no name), a conduit or exception id for policy findings;
- rule findings (ANY-RULE, BROAD-PORTS, SHADOWED, REDUNDANT) name as zone pair the zones of
  the interfaces of a crossing the rule sits on (preferring one whose zones the rule's space
  actually joins); one finding per rule, however many crossings it appears on;
- severity, title, remediation and standards come from ``standards.yaml``.

"Sides": a zone is on the *OT side* when its kind is ``ot`` or ``mgmt``, or it is a DMZ at
Purdue level below 4 (or with no level, or listed in ``disjoint_protocols_across``); every
other zone is on the IT side. A zone pair is *governed* (checked for unauthorised paths) when
one of its zones is on the OT side or a conduit joins them: the policy describes the OT
system under consideration, not the corporate network's internet access.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from segcheck.analysis.conduits import Allowed, endpoint_space, port_matches, ports_set
from segcheck.analysis.result import Evidence, Finding, Hop, Severity
from segcheck.analysis.rulechecks import rule_findings, rule_object  # noqa: F401 (re-export)
from segcheck.analysis.standards import info, standards_for
from segcheck.engine.packetset import PacketSet
from segcheck.engine.reach import (
    Contribution,
    ReachMatrix,
    dst_set,
    hop_contributions,
    networks_space,
    space_intersect,
    src_set,
)
from segcheck.model import ranges as R
from segcheck.model.device import Device
from segcheck.model.packet import ICMP, ICMPV6, TCP, UDP, protocol_name
from segcheck.model.rules import Match
from segcheck.model.source import SourceSpan
from segcheck.policy.model import OPERATIONS

MANAGEMENT_PORTS: tuple[tuple[int, R.Ranges], ...] = (
    (TCP, ((22, 23), (80, 80), (443, 443), (830, 830), (3389, 3389), (4443, 4443),
           (8080, 8080), (8443, 8443), (10443, 10443))),
    (UDP, ((161, 161),)),
)
"""Services that give control of a network device (SSH, Telnet, HTTP(S) GUIs, NETCONF, SNMP)."""

IPV6_TUNNELS: tuple[tuple[int, R.Ranges], ...] = ((41, ((0, 65535),)), (UDP, ((3544, 3544),)))
"""IPv6 carried over IPv4: 6in4 (protocol 41) and Teredo (udp/3544)."""


def family_set(version: int) -> PacketSet:
    return PacketSet.from_match(Match(family=version))


def evidence_of(c: Contribution) -> Evidence:
    rule = c.rule
    return Evidence(c.device, rule.span, rule.name or (rule.span.text or ""), rule.action.value)


@dataclass
class Analyzer:
    policy: Any
    topology: Any
    devices: dict[str, Device]
    reach: ReachMatrix
    allowed: Allowed
    today: date
    attack_version: str | None = None
    _found: list[Finding] = field(default_factory=list)

    # -- helpers ----------------------------------------------------------------------

    def zone(self, zid: str) -> Any:
        return self.policy.zone(zid)

    def ot_side(self, zid: str) -> bool:
        z = self.zone(zid)
        if z.kind in ("ot", "mgmt"):
            return True
        if z.kind == "dmz":
            if zid in self.policy.global_rules.disjoint_protocols_across:
                return True
            return not z.purdue_levels or min(z.purdue_levels) < 4
        return False

    def governed(self, a: str, b: str) -> bool:
        return self.ot_side(a) or self.ot_side(b) or self.allowed.has_conduit(a, b)

    def zone_ids(self) -> list[str]:
        return [z.id for z in self.policy.zones]

    def finding(self, code: str, message: str, *, src: str | None = None,
                dst: str | None = None, offending: PacketSet | None = None,
                evidence: Sequence[Evidence] = (), obj: str = "",
                severity: Severity | None = None, path: Sequence[Hop] = ()) -> Finding:
        ci = info(code)
        f = Finding(
            code=code, severity=severity or ci.severity, title=ci.title, message=message,
            src_zone=src, dst_zone=dst,
            witness=offending.sample() if offending is not None else None,
            evidence=tuple(evidence), standards=standards_for(code, self.attack_version),
            object=obj, remediation=ci.remediation, path=tuple(path),
        )
        self._found.append(f)
        return f

    def pair_evidence(self, a: str, b: str, offending: PacketSet) -> list[Evidence]:
        return [evidence_of(c) for c in self.reach.contributions(a, b, offending)]

    def pairs(self) -> Iterable[tuple[str, str, PacketSet]]:
        for (a, b), cell in sorted(self.reach.cells.items()):
            if a != b and not cell.permitted.is_empty():
                yield a, b, cell.permitted

    # -- checks -----------------------------------------------------------------------

    def run(self) -> list[Finding]:
        self._found = []
        self.path_unauth()
        self.dmz_bypass()
        self.dmz_transit()
        self.rule_checks()
        self.egress_internet()
        self.remote_no_mfa()
        self.sis_reach()
        self.direction()
        self.mgmt_exposed()
        self.ipv6_gap()
        self.ipv6_hops()
        self.governance()
        self.unimplemented()
        return list(self._found)

    def path_unauth(self) -> None:
        for a, b, cell in self.pairs():
            if not self.governed(a, b):
                continue
            excess = cell - self.allowed.pair(a, b)
            if excess.is_empty():
                continue
            self.finding(
                "SC-PATH-UNAUTH",
                f"{a} may initiate {self.reach.describe(excess)} towards {b}, outside every "
                "conduit flow",
                src=a, dst=b, offending=excess, evidence=self.pair_evidence(a, b, excess),
                obj=f"{a}->{b}")

    def dmz_bypass(self) -> None:
        term = self.policy.global_rules.dmz_termination
        if term is None:
            return
        for a, b, cell in self.pairs():
            if self.zone(a).kind in term.from_kinds and self.zone(b).kind in term.to_kinds:
                self.finding(
                    "SC-DMZ-BYPASS",
                    f"{a} ({self.zone(a).kind}) reaches {b} ({self.zone(b).kind}) directly "
                    f"({self.reach.describe(cell)}); the session does not terminate in a DMZ",
                    src=a, dst=b, offending=cell, evidence=self.pair_evidence(a, b, cell),
                    obj=f"{a}->{b}")

    def _dmz_hosts(self, zid: str) -> list[tuple[str, PacketSet, PacketSet]]:
        """(host id, src-in-host set, dst-in-host set) for the DMZ's assets and bridge hosts."""
        out = []
        space = self.reach.spaces.get(zid, {})
        for asset in self.zone(zid).assets.values():
            sp = space_intersect(networks_space(asset.networks), space)
            if sp:
                out.append((asset.id, src_set(sp), dst_set(sp)))
        known = {a for a, _, _ in out}
        for h in getattr(self.topology, "hosts", ()):
            if zid in h.zones and h.id not in known and (h.asset is None or h.asset not in known):
                sp = networks_space(
                    ipaddress.ip_network(a) for a in h.addresses)
                out.append((h.id, src_set(sp), dst_set(sp)))
        return out

    def dmz_transit(self) -> None:
        zones = self.policy.global_rules.disjoint_protocols_across
        for x in zones:
            for host, as_src, as_dst in self._dmz_hosts(x):
                for inbound_side, outbound_side in ((False, True), (True, False)):
                    # IT side -> host -> OT side, then OT side -> host -> IT side
                    ins = [(a, self.reach.cell(a, x) & as_dst) for a in self.zone_ids()
                           if a != x and self.ot_side(a) == inbound_side]
                    outs = [(b, self.reach.cell(x, b) & as_src) for b in self.zone_ids()
                            if b != x and self.ot_side(b) == outbound_side]
                    for a, sin in ins:
                        if sin.is_empty():
                            continue
                        in_ports = ports_set(self.reach.services(sin))
                        for b, sout in outs:
                            if sout.is_empty():
                                continue
                            common = in_ports & ports_set(self.reach.services(sout))
                            if common.is_empty():
                                continue
                            o_in, o_out = sin & common, sout & common
                            ev_in = self.pair_evidence(a, x, o_in)
                            ev_out = self.pair_evidence(x, b, o_out)
                            svc = _ports_label(common)
                            self.finding(
                                "SC-DMZ-TRANSIT",
                                f"{svc} enters DMZ host {host} from {a} and leaves it towards "
                                f"{b}: the same protocol crosses {x} end to end",
                                src=a, dst=b, offending=o_in, evidence=ev_in + ev_out,
                                obj=f"{x}:{host}",
                                path=(Hop("device", ",".join(sorted({e.device for e in ev_in})),
                                          a, x, tuple(ev_in), svc),
                                      Hop("host", host, x, x, (), svc),
                                      Hop("device", ",".join(sorted({e.device for e in ev_out})),
                                          x, b, tuple(ev_out), svc)))

    def rule_checks(self) -> None:
        """SC-ANY-RULE, SC-BROAD-PORTS, SC-SHADOWED, SC-REDUNDANT (``rulechecks``)."""
        rule_findings(self)

    def egress_internet(self) -> None:
        eg = self.policy.global_rules.internet_egress
        if eg is None:
            return
        for a, b, cell in self.pairs():
            if self.zone(a).kind not in eg.deny_from_kinds or self.zone(b).kind != "external":
                continue
            excess = cell - self.allowed.pair(a, b, conduits=eg.allow_conduits)
            if excess.is_empty():
                continue
            self.finding(
                "SC-EGRESS-INTERNET",
                f"{a} ({self.zone(a).kind}) may initiate {self.reach.describe(excess)} to "
                f"external zone {b}",
                src=a, dst=b, offending=excess, evidence=self.pair_evidence(a, b, excess),
                obj=f"{a}->{b}")

    def _gateways(self) -> tuple[list[str], PacketSet]:
        ra = self.policy.global_rules.remote_access
        ids: list[str] = []
        space = PacketSet.empty()
        if ra is None or ra.terminate_on_role is None:
            return ids, space
        for zid in self.zone_ids():
            zspace = self.reach.spaces.get(zid, {})
            for asset in self.zone(zid).assets.values():
                if asset.role == ra.terminate_on_role and \
                        set(ra.require_controls) <= set(asset.controls):
                    ids.append(asset.id)
                    space = space | dst_set(space_intersect(networks_space(asset.networks),
                                                            zspace))
        return ids, space

    def remote_no_mfa(self) -> None:
        ra = self.policy.global_rules.remote_access
        if ra is None:
            return
        gw_ids, gw = self._gateways()
        for a, b, cell in self.pairs():
            if self.zone(a).kind != "external" or not self.ot_side(b):
                continue
            excess = cell - gw
            if excess.is_empty():
                continue
            where = f"the gateway ({', '.join(gw_ids)})" if gw_ids else "no MFA gateway"
            self.finding(
                "SC-REMOTE-NO-MFA",
                f"external zone {a} may initiate {self.reach.describe(excess)} into {b}, "
                f"not terminating on {where}",
                src=a, dst=b, offending=excess, evidence=self.pair_evidence(a, b, excess),
                obj=f"{a}->{b}")
        for conduit, flow in self.policy.flows():
            if not any(self.zone(s.zone).kind == "external" for s in flow.sources):
                continue
            dst_ok = all(d.asset is not None and d.asset in gw_ids for d in flow.destinations)
            missing = set(ra.require_controls) - set(flow.controls)
            if dst_ok and not missing:
                continue
            why = (f"lacks controls {', '.join(sorted(missing))}" if missing
                   else "does not end on the remote-access gateway")
            self.finding(
                "SC-REMOTE-NO-MFA",
                f"conduit {conduit.id} remote-access flow {why}",
                src=flow.sources[0].zone, dst=flow.destinations[0].zone,
                evidence=_policy_evidence(flow.span or conduit.span, conduit.id),
                obj=conduit.id)

    def sis_reach(self) -> None:
        sz = self.policy.global_rules.safety_zones
        only = None if sz is None or not sz.only_conduits else sz.only_conduits
        for s in self.zone_ids():
            if not self.zone(s).safety:
                continue
            for a in self.zone_ids():
                if a == s:
                    continue
                cell = self.reach.cell(a, s)
                excess = cell - self.allowed.pair(a, s, conduits=only)
                if excess.is_empty():
                    continue
                self.finding(
                    "SC-SIS-REACH",
                    f"{a} may initiate {self.reach.describe(excess)} into safety zone {s} beyond "
                    f"{', '.join(only) if only else 'its conduits'}",
                    src=a, dst=s, offending=excess, evidence=self.pair_evidence(a, s, excess),
                    obj=f"{a}->{s}", severity=Severity.CRITICAL)
        if sz is None or not sz.forbid_operations:
            return
        for conduit, flow in self.policy.flows():
            if not any(self.zone(d.zone).safety for d in flow.destinations):
                continue
            ops = set(self_ops(flow)) & set(sz.forbid_operations)
            if ops:
                self.finding(
                    "SC-SIS-REACH",
                    f"conduit {conduit.id} allows {', '.join(sorted(ops))} into a safety zone",
                    src=flow.sources[0].zone, dst=flow.destinations[0].zone,
                    evidence=_policy_evidence(flow.span or conduit.span, conduit.id),
                    obj=conduit.id, severity=Severity.CRITICAL)

    def direction(self) -> None:
        for fs in self.allowed.flows:
            if fs.reverse or fs.flow.bidirectional or fs.packets.is_empty():
                continue
            a, b = fs.dst_zone, fs.src_zone  # responder -> initiator
            svc = PacketSet.empty()
            for name in fs.flow.services:
                svc = svc | ports_set(self.policy.services[name].ports)
            src_ep = next(s for s in fs.flow.sources if s.ref == fs.src_ref)
            dst_ep = next(d for d in fs.flow.destinations if d.ref == fs.dst_ref)
            rev = (self.reach.cell(a, b) & src_set(endpoint_space(dst_ep, self.reach.spaces))
                   & dst_set(endpoint_space(src_ep, self.reach.spaces)) & svc)
            rev = rev - self.allowed.pair(a, b)
            if rev.is_empty():
                continue
            self.finding(
                "SC-DIRECTION",
                f"conduit {fs.label} says {fs.src_ref} initiates to {fs.dst_ref}, but "
                f"{fs.dst_ref} may initiate {self.reach.describe(rev)} back",
                src=a, dst=b, offending=rev, evidence=self.pair_evidence(a, b, rev),
                obj=f"{fs.conduit.id}:{fs.dst_ref}->{fs.src_ref}")

    def mgmt_exposed(self) -> None:
        mp = self.policy.global_rules.management_plane
        if mp is None:
            return
        mgmt = ports_set(MANAGEMENT_PORTS)
        for (a, dev), cell in sorted(self.reach.local.items()):
            if a in mp.only_from:
                continue
            exposed = cell.permitted & mgmt
            if exposed.is_empty():
                continue
            ev = [evidence_of(c) for c in self.reach.contributions(a, dev, exposed, local=True)]
            self.finding(
                "SC-MGMT-EXPOSED",
                f"{a} may reach the management of {dev} ({self.reach.describe(exposed)}); "
                f"management is allowed only from {', '.join(mp.only_from) or 'nowhere'}",
                src=a, dst=f"device:{dev}", offending=exposed, evidence=ev,
                obj=f"{dev}:management<-{a}")

    def ipv6_gap(self) -> None:
        if not self.policy.global_rules.ipv6_parity:
            return
        v4, v6 = family_set(4), family_set(6)
        tunnels = ports_set(IPV6_TUNNELS)
        for a, b, cell in self.pairs():
            if not self.governed(a, b):
                continue
            c6 = cell & v6
            offending = PacketSet.empty()
            why = ""
            if not c6.is_empty():
                s6 = ports_set(p for p in self.reach.services(c6) if p[0] not in (ICMP, ICMPV6))
                s4 = ports_set(p for p in self.reach.services(cell & v4)
                               if p[0] not in (ICMP, ICMPV6))
                gap = c6 & (s6 - s4)
                if not gap.is_empty():
                    why = f"IPv6 permits {self.reach.describe(gap)} that IPv4 does not"
                    offending = gap
            tun = cell & v4 & tunnels
            if offending.is_empty() and not tun.is_empty():
                offending, why = tun, f"IPv6 tunnels pass over IPv4: {self.reach.describe(tun)}"
            if offending.is_empty():
                continue
            self.finding("SC-IPV6-GAP", f"{a}->{b}: {why}", src=a, dst=b, offending=offending,
                         evidence=self.pair_evidence(a, b, offending), obj=f"{a}->{b}")

    def _v6_scope(self, zone: str, side: str) -> PacketSet:
        v6 = family_set(6)
        if 6 not in self.reach.spaces.get(zone, {}):
            return v6
        return v6 & (self.reach.src_of(zone) if side == "src" else self.reach.dst_of(zone))

    def ipv6_hops(self) -> None:
        """Per device crossing between zones of a governed pair: IPv6 services the crossing
        forwards that its IPv4 filtering does not (hosts get IPv6 addresses the policy may not
        list — SLAAC, link-local — so this compares crossings, not zone cells)."""
        if not self.policy.global_rules.ipv6_parity:
            return
        v4 = family_set(4)
        for td in self.topology.devices:
            if td.id not in self.devices:
                continue
            hops: list[tuple[str, str, str, str, PacketSet, list[Evidence]]] = []
            for i, zi in td.interfaces.items():
                for e, ze in td.interfaces.items():
                    if e == i or zi == ze or not self.governed(zi, ze):
                        continue
                    hop = self.reach.hop(td.id, i, e)
                    # each family scoped to the zones' addresses of that family; a zone with
                    # no IPv6 prefix is scoped to all of IPv6 (its hosts still have addresses)
                    p6 = hop.permitted & self._v6_scope(zi, "src") & self._v6_scope(ze, "dst")
                    if p6.is_empty():
                        continue
                    p4 = hop.permitted & v4 & self.reach.src_of(zi) & self.reach.dst_of(ze)
                    s6 = ports_set(p for p in self.reach.services(p6) if p[0] not in (ICMP, ICMPV6))
                    s4 = ports_set(p for p in self.reach.services(p4) if p[0] not in (ICMP, ICMPV6))
                    gap = p6 & (s6 - s4)
                    if gap.is_empty():
                        continue
                    mine = gap & self.reach.src_of(zi)
                    offending = mine if not mine.is_empty() else gap
                    ev = [evidence_of(c) for c in hop_contributions(hop, offending)]
                    hops.append((i, e, zi, ze, offending, ev))
            if not hops:
                continue
            # witness from a crossing whose source zone has IPv6 addresses, when there is one
            hops.sort(key=lambda h: (
                (h[4] & self.reach.src_of(h[2])).is_empty(), h[0], h[1]))
            i, e, zi, ze, offending, _ = hops[0]
            evidence: list[Evidence] = []
            for *_, ev in hops:
                evidence.extend(x for x in ev if x not in evidence)
            where = ", ".join(f"{a}->{b}" for a, b, *_ in hops[:8])
            self.finding(
                "SC-IPV6-GAP",
                f"{td.id} forwards IPv6 services its IPv4 rules do not, on {len(hops)} "
                f"crossing(s) ({where}{', ...' if len(hops) > 8 else ''}); e.g. "
                f"{self.reach.describe(offending)}",
                src=zi, dst=ze, offending=offending, evidence=evidence, obj=f"{td.id}:ipv6")

    def governance(self) -> None:
        for exc in self.policy.exceptions:
            if exc.expires is not None and exc.expires < self.today:
                self.finding(
                    "SC-EXC-EXPIRED",
                    f"exception {exc.id} ({exc.finding} on {exc.object}) expired on "
                    f"{exc.expires.isoformat()}",
                    evidence=_policy_evidence(exc.span, exc.id), obj=exc.id)
        for conduit in self.policy.conduits:
            if not (conduit.justification or "").strip():
                self.finding(
                    "SC-NO-JUSTIFICATION",
                    f"conduit {conduit.id} ({' <-> '.join(conduit.between)}) has no justification",
                    src=conduit.between[0], dst=conduit.between[1],
                    evidence=_policy_evidence(conduit.span, conduit.id), obj=conduit.id)

    def unimplemented(self) -> None:
        for fs in self.allowed.flows:
            if fs.reverse:
                continue
            if not (fs.packets & self.reach.cell(fs.src_zone, fs.dst_zone)).is_empty():
                continue
            self.finding(
                "SC-CONDUIT-UNIMPLEMENTED",
                f"conduit flow {fs.label} ({fs.src_ref} -> {fs.dst_ref}, "
                f"{', '.join(fs.flow.services)}) is not permitted by any rule path",
                src=fs.src_zone, dst=fs.dst_zone,
                evidence=_policy_evidence(fs.flow.span or fs.conduit.span, fs.conduit.id),
                obj=fs.label)


def self_ops(flow: Any) -> frozenset[str]:
    """A flow's operations; ``None`` (any) counts as every operation."""
    if flow.operations is None:
        return frozenset(OPERATIONS)
    return frozenset(flow.operations)


def _policy_evidence(span: SourceSpan | None, what: str) -> list[Evidence]:
    return [Evidence("policy", span, what)] if span is not None else []


def _service_ports(ps: PacketSet) -> list[tuple[int, R.Ranges]]:
    return list(ps.protocols_and_ports())


def _ports_label(ps: PacketSet) -> str:
    parts = []
    for m in port_matches(_service_ports(ps)):
        proto = m.protocols[0][0] if m.protocols else 0
        if m.dports:
            parts.append(f"{protocol_name(proto)}/" + ",".join(
                str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in m.dports))
        else:
            parts.append(protocol_name(proto))
    return ", ".join(parts)

"""``explain``: why one packet is (or is not) let through, path by path.

For a concrete connection-initiating packet, resolve its source and destination zones
(``Policy.resolve``; a destination address of a device is the device itself), enumerate the
loop-free device paths between them exactly as ``engine.reach`` does (with the same route
restriction), and decide every filter each crossing applies with the *reference*
first-match (``Filter.decide``), reporting the deciding rule's ``file:line`` or the filter's
default. A path permits the packet when every filter on every crossing permits it; the
packet reaches its destination when some path does — the same "may reach" meaning as the
matrix, so ``explain`` and ``check`` agree by construction of two independent evaluations.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from segcheck.analysis.site import Site
from segcheck.engine.reach import device_addresses, route_spaces, zone_spaces
from segcheck.model import ranges as R
from segcheck.model.packet import Packet, has_ports, protocol_number
from segcheck.model.rules import Action, IfaceContext
from segcheck.report.summary import rel_path


@dataclass(frozen=True)
class Decision:
    device: str
    ingress: str
    egress: str | None
    filter: str
    action: str
    file: str | None
    line: int | None
    rule: str


@dataclass(frozen=True)
class PathVerdict:
    zones: tuple[str, ...]
    decisions: tuple[Decision, ...]
    verdict: str
    note: str = ""


@dataclass(frozen=True)
class Explanation:
    packet: Packet
    src_zone: str | None
    dst_zone: str | None
    dst_device: str | None
    paths: tuple[PathVerdict, ...]

    @property
    def verdict(self) -> str:
        return "permit" if any(p.verdict == "permit" for p in self.paths) else "deny"

    def to_json(self) -> dict[str, Any]:
        return {
            "packet": self.packet.to_json(), "src_zone": self.src_zone,
            "dst_zone": self.dst_zone, "dst_device": self.dst_device, "verdict": self.verdict,
            "paths": [{"zones": list(p.zones), "verdict": p.verdict, "note": p.note,
                       "hops": [d.__dict__ for d in p.decisions]} for p in self.paths],
        }


def _in_space(space: dict[int, R.Ranges], version: int, value: int) -> bool:
    return R.contains(space.get(version, ()), value)


def explain(site: Site, packet: Packet) -> Explanation:
    policy, topo = site.policy, site.topology
    src = policy.resolve(packet.src_ip)
    src_zone = src[0] if src else None
    dst_device = None
    for td in topo.devices:
        if td.id in site.devices and _in_space(
                device_addresses(site.devices[td.id], td.management), packet.version, packet.dst):
            dst_device = td.id
    dst = policy.resolve(packet.dst_ip)
    dst_zone = dst[0] if dst else None
    tds = [td for td in topo.devices if td.id in site.devices]
    routes = route_spaces(tds, site.devices, topo.routes, zone_spaces(policy))
    iface_zone = {td.id: dict(td.interfaces) for td in tds}
    attach: dict[str, list[tuple[str, str]]] = {}
    for td in tds:
        for i, z in td.interfaces.items():
            attach.setdefault(z, []).append((td.id, i))
    out: list[PathVerdict] = []

    def decide(dev: str, i: str, e: str | None) -> list[Decision]:
        d = site.devices[dev]
        ci = d.context(i)
        ce = d.context(e) if e is not None else IfaceContext()
        stages = d.forward if e is not None else d.local
        ds = []
        for st in stages:
            if not st.applies(ci, ce):
                continue
            flt = d.filters[st.filter]
            action, rule = flt.decide(packet, "new", ci, ce)
            span = rule.span if rule is not None else flt.default_span
            ds.append(Decision(dev, i, e, st.filter, action.value,
                               rel_path(span.path) if span else None,
                               span.line if span else None,
                               rule.label if rule is not None else "(default action)"))
        if not ds:
            ds.append(Decision(dev, i, e, "(no filter)", "permit", None, None,
                               "(no applicable stage: forwards)"))
        if e is not None and (dev, e) in routes and not _in_space(routes[(dev, e)],
                                                                  packet.version, packet.dst):
            ds.append(Decision(dev, i, e, "(routes)", "deny", None, None,
                               "(no route to the destination via this interface)"))
        return ds

    def walk(dev: str, i: str, vdev: frozenset[str], zones: tuple[str, ...],
             acc: tuple[Decision, ...]) -> None:
        if dst_device == dev:
            ds = decide(dev, i, None)
            ok = all(x.action == "permit" for x in (*acc, *ds))
            out.append(PathVerdict((*zones, f"device:{dev}"), (*acc, *ds),
                                   "permit" if ok else "deny"))
        for e, z in iface_zone[dev].items():
            if e == i or z in zones:
                continue
            ds = decide(dev, i, e)
            nacc = (*acc, *ds)
            if z == dst_zone and dst_device is None:
                ok = all(x.action == Action.PERMIT.value for x in nacc)
                out.append(PathVerdict((*zones, z), nacc, "permit" if ok else "deny"))
                continue
            for dev2, j in attach.get(z, ()):
                if dev2 not in vdev:
                    walk(dev2, j, vdev | {dev2}, (*zones, z), nacc)

    if src_zone is not None:
        for dev, i in attach.get(src_zone, ()):
            walk(dev, i, frozenset({dev}), (src_zone,), ())
    return Explanation(packet, src_zone, dst_zone, dst_device, tuple(out))


def render_text(ex: Explanation) -> str:
    lines = [f"packet: {ex.packet}",
             f"from zone {ex.src_zone or '(none)'} to "
             + (f"device {ex.dst_device}" if ex.dst_device else f"zone {ex.dst_zone or '(none)'}")]
    if not ex.paths:
        lines.append("no device path joins the two zones: deny")
    for k, p in enumerate(ex.paths, 1):
        lines.append(f"path {k}: {' -> '.join(p.zones)}: {p.verdict.upper()}")
        for d in p.decisions:
            where = f"{d.file}:{d.line}" if d.file else ""
            lines.append(f"  {d.device} {d.ingress} -> {d.egress or '(local)'} "
                         f"[{d.filter}] {d.action.upper()} by {d.rule} {where}".rstrip())
    lines.append(f"verdict: {ex.verdict.upper()}")
    return "\n".join(lines) + "\n"


def make_packet(src: str, dst: str, proto: str, dport: int, sport: int) -> Packet:
    """The connection-initiating packet ``explain`` is asked about (ICMP: echo request)."""
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version != d.version:
        raise ValueError(f"--src {src} and --dst {dst} are of different IP versions")
    p = protocol_number(proto)
    if p is None:
        raise ValueError(f"unknown protocol {proto!r}")
    if p == 1 and s.version == 6:
        p = 58
    if p in (1, 58):  # an echo request: the usual connection-initiating ICMP packet
        return Packet(s.version, int(s), int(d), p, icmp_type=8 if p == 1 else 128)
    if not has_ports(p):
        return Packet(s.version, int(s), int(d), p)
    return Packet(s.version, int(s), int(d), p, sport, dport)

"""Property: the reach matrix equals brute force on a tiny universe.

Random topologies of 1-3 devices joining 3-4 zones (each a /30), random first-match filters
with interface conditions. The oracle enumerates every packet of a tiny universe (every
address of every zone plus two outside any zone, tcp/udp to three ports, ICMP echo) and
every loop-free zone/device path with independent code, deciding each crossing with the
reference ``Filter.decide`` on the *unspecialized* filter and, for devices given static
routes, the longest-prefix route (connected zones first). The matrix must agree on every
packet: no packet missing (soundness) and none extra (exactness).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from segcheck.engine.reach import compute
from segcheck.model import ranges as R
from segcheck.model.device import Device, Stage
from segcheck.model.packet import Packet
from segcheck.model.rules import Action, Filter, IfaceContext, IfaceMatch, Match, Rule
from segcheck.model.source import SourceSpan
from segcheck.policy.model import Policy, Route, TopoDevice, Topology, Zone

ZONE_NETS = [ipaddress.ip_network(f"10.0.{k}.0/30") for k in range(4)]
OUTSIDE = [int(ipaddress.ip_address("192.0.2.1")), int(ipaddress.ip_address("192.0.2.2"))]
PORTS = (22, 80, 443)


def addr_ranges(draw: st.DrawFn, nzones: int) -> R.Ranges | None:
    kind = draw(st.sampled_from(["any", "zone", "host", "outside"]))
    if kind == "any":
        return None
    if kind == "outside":
        return R.single(OUTSIDE[0])
    net = ZONE_NETS[draw(st.integers(0, nzones - 1))]
    if kind == "zone":
        return (R.network_range(net),)
    host = int(net.network_address) + draw(st.integers(0, 3))
    return R.single(host)


@st.composite
def sites(draw: st.DrawFn) -> tuple[Policy, Topology, dict[str, Device]]:
    nzones = draw(st.integers(3, 4))
    zones = tuple(Zone(id=f"z{k}", kind="ot", networks=(ZONE_NETS[k],)) for k in range(nzones))
    ndev = draw(st.integers(1, 3))
    tdevs, devices = [], {}
    for d in range(ndev):
        attached = draw(st.lists(st.integers(0, nzones - 1), min_size=2, max_size=3,
                                 unique=True))
        ifaces = {f"e{k}": f"z{z}" for k, z in enumerate(attached)}
        rules = []
        for n in range(draw(st.integers(0, 5))):
            proto = draw(st.sampled_from([None, 6, 17]))
            dports = None
            if proto is not None and draw(st.booleans()):
                dports = draw(st.sampled_from([R.single(22), R.single(80), ((20, 80),)]))
            m = Match(family=4, src=addr_ranges(draw, nzones), dst=addr_ranges(draw, nzones),
                      protocols=None if proto is None else R.single(proto), dports=dports,
                      in_iface=(IfaceMatch((draw(st.sampled_from(list(ifaces))),)),)
                      if draw(st.booleans()) else (),
                      out_iface=(IfaceMatch((draw(st.sampled_from(list(ifaces))),)),)
                      if draw(st.booleans()) else ())
            action = draw(st.sampled_from([Action.PERMIT, Action.DENY]))
            rules.append(Rule(action, (m,), SourceSpan(f"d{d}", n + 1)))
        flt = Filter("FWD", tuple(rules), draw(st.sampled_from([Action.PERMIT, Action.DENY])))
        name = f"d{d}"
        devices[name] = Device(name, "test", name, {"FWD": flt}, forward=(Stage("FWD"),))
        tdevs.append(TopoDevice(name, None, Path(name), ifaces))
    routes = []
    for td in tdevs:
        if draw(st.booleans()):
            continue  # a device without routes may forward along any path
        for _ in range(draw(st.integers(1, 3))):
            k = draw(st.integers(0, nzones - 1))
            dest = draw(st.sampled_from([ZONE_NETS[k], ipaddress.ip_network("10.0.0.0/16"),
                                         ipaddress.ip_network("0.0.0.0/0")]))
            routes.append(Route(td.id, dest, draw(st.sampled_from(list(td.interfaces)))))
    policy = Policy(path="p", suc=None, services={}, zones=zones, conduits=())
    topo = Topology(path="t", devices=tuple(tdevs), routes=tuple(routes))
    return policy, topo, devices


def universe(nzones: int) -> list[Packet]:
    addrs = [int(n.network_address) + k for n in ZONE_NETS[:nzones] for k in range(4)] + OUTSIDE
    out = []
    for s in addrs:
        for d in addrs:
            out.append(Packet(4, s, d, 1, icmp_type=8))
            for proto in (6, 17):
                out.extend(Packet(4, s, d, proto, 1000, port) for port in PORTS)
    return out


def brute_force(policy: Policy, topo: Topology, devices: dict[str, Device],
                p: Packet, a: str, b: str) -> bool:
    """Some loop-free path from zone a to zone b lets p through every crossing."""

    def routed(dev: str, e: str) -> bool:
        """Connected zone first, then the longest (first-listed) static route."""
        rs = [r for r in topo.routes if r.device == dev]
        if not rs:
            return True
        td = next(t for t in topo.devices if t.id == dev)
        dst_zone = policy.resolve(p.dst_ip)
        connected = [i for i, z in td.interfaces.items() if dst_zone and z == dst_zone[0]]
        if connected:
            return e in connected
        best = None
        for r in rs:
            if p.dst_ip in r.destination and (
                    best is None or r.destination.prefixlen > best.destination.prefixlen):
                best = r
        return best is not None and best.interface == e

    def passes(dev: str, i: str, e: str) -> bool:
        if not routed(dev, e):
            return False
        flt = devices[dev].filters["FWD"]
        return flt.decide(p, "new", IfaceContext(i), IfaceContext(e))[0] is Action.PERMIT

    def search(zone: str, used_dev: set[str], used_zone: set[str]) -> bool:
        for td in topo.devices:
            if td.id in used_dev:
                continue
            for i, zi in td.interfaces.items():
                if zi != zone:
                    continue
                for e, ze in td.interfaces.items():
                    if e == i or ze in used_zone or not passes(td.id, i, e):
                        continue
                    if ze == b:
                        return True
                    if search(ze, used_dev | {td.id}, used_zone | {ze}):
                        return True
        return False

    return search(a, set(), {a})


@settings(max_examples=60)
@given(sites())
def test_reach_equals_brute_force(site: tuple[Policy, Topology, dict[str, Device]]) -> None:
    policy, topo, devices = site
    rm = compute(policy, topo, devices)
    for p in universe(len(policy.zones)):
        src, dst = policy.resolve(p.src_ip), policy.resolve(p.dst_ip)
        if src is None or dst is None or src[0] == dst[0]:
            continue
        expected = brute_force(policy, topo, devices, p, src[0], dst[0])
        assert rm.cell(src[0], dst[0]).contains(p) == expected, (p, src[0], dst[0])
    # nothing outside the zones' addresses ever appears in a cell
    for (a, b), cell in rm.cells.items():
        assert cell.permitted <= rm.src_of(a) & rm.dst_of(b)


@settings(max_examples=25)
@given(sites())
def test_contributions_fast_path_equals_per_rule_intersections(
        site: tuple[Policy, Topology, dict[str, Device]]) -> None:
    """The classification-walk shortcut names exactly the rules whose effective sets meet
    the cell (the per-rule intersection it replaces)."""
    import segcheck.engine.reach as reach_mod

    policy, topo, devices = site
    rm = compute(policy, topo, devices)
    fast = {k: {(c.device, c.index) for c in rm.contributions(*k)} for k in rm.cells}
    original = reach_mod._deciders
    try:
        reach_mod._deciders = lambda fa, part: None  # type: ignore[assignment]
        rm._contrib_cache.clear()
        slow = {k: {(c.device, c.index) for c in rm.contributions(*k)} for k in rm.cells}
    finally:
        reach_mod._deciders = original
    assert fast == slow


@settings(max_examples=30)
@given(sites())
def test_specialize_kept_matches_filter_specialize(
        site: tuple[Policy, Topology, dict[str, Device]]) -> None:
    from segcheck.engine.reach import kept_indices, specialize_kept

    _, topo, devices = site
    for td in topo.devices:
        flt = devices[td.id].filters["FWD"]
        for i in td.interfaces:
            for e in (*td.interfaces, None):
                ci, ce = IfaceContext(i), IfaceContext(e)
                spec, kept = specialize_kept(flt, ci, ce)
                assert spec == flt.specialize(ci, ce)
                assert kept == kept_indices(flt, ci, ce)


@settings(max_examples=25)
@given(sites())
def test_memoised_descriptions_equal_the_engine_renderings(
        site: tuple[Policy, Topology, dict[str, Device]]) -> None:
    from segcheck.engine.reach import _facts_of

    policy, topo, devices = site
    rm = compute(policy, topo, devices)
    for cell in rm.cells.values():
        ps = cell.permitted
        assert _facts_of(ps) == (ps.summary(), tuple(ps.protocols_and_ports()))
        assert rm.describe(ps) == ps.summary()

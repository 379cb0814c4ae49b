"""Policy model semantics: host -> zone resolution against a brute-force oracle, the implicit
internet zone, services as (protocol, Ranges), zone and endpoint address spaces."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from segcheck.policy import load_policy
from segcheck.policy.model import (
    INTERNET_ZONE,
    Asset,
    IPAddress,
    IPNetwork,
    Policy,
    Zone,
    sl_max,
    sl_vector,
)
from tests.policy.helpers import BASE, change

ROOT = Path(__file__).resolve().parents[2]


def brute_resolve(policy: Policy, ip: IPAddress) -> tuple[str, str | None] | None:
    """The definition, literally: the longest asset network holding ``ip`` (first defined on
    ties), else the longest zone CIDR (first defined on ties)."""
    best: tuple[int, str, str | None] | None = None
    for z in policy.zones:
        for a in z.assets.values():
            for n in a.networks:
                if ip.version == n.version and ip in n and (best is None or n.prefixlen > best[0]):
                    best = (n.prefixlen, z.id, a.id)
    if best is not None:
        return best[1], best[2]
    for z in policy.zones:
        for n in z.networks:
            if ip.version == n.version and ip in n and (best is None or n.prefixlen > best[0]):
                best = (n.prefixlen, z.id, None)
    return None if best is None else (best[1], best[2])


# A tiny universe: networks inside 10.0.0.0/28, so random zones overlap a lot.
SMALL_NET = st.builds(
    lambda a, p: ipaddress.ip_network((0x0A000000 + a, p), strict=False),
    st.integers(0, 15), st.integers(28, 32),
)


@st.composite
def small_policies(draw: st.DrawFn) -> Policy:
    zones = []
    count = 0
    for i in range(draw(st.integers(1, 4))):
        assets = {}
        for _ in range(draw(st.integers(0, 2))):
            aid = f"a{count}"
            count += 1
            assets[aid] = Asset(aid, f"z{i}", tuple(draw(st.lists(SMALL_NET, min_size=1,
                                                                   max_size=2))))
        nets: list[IPNetwork] = list(draw(st.lists(SMALL_NET, max_size=2)))
        zones.append(Zone(id=f"z{i}", kind="ot", networks=tuple(nets), assets=assets))
    return Policy(path="x", suc=None, services={}, zones=tuple(zones), conduits=())


@settings(max_examples=200)
@given(small_policies())
def test_resolve_matches_brute_force(policy: Policy) -> None:
    for last in range(0, 20):
        ip = ipaddress.ip_address(0x0A000000 + last)
        assert policy.resolve(ip) == brute_resolve(policy, ip), ip


def test_resolve_riverbend() -> None:
    p = load_policy(ROOT / "policies" / "riverbend.yaml")
    cases = {
        "10.40.1.50": ("z-scada", "ews"),
        "10.40.1.11": ("z-scada", "hmi"),
        "10.40.1.99": ("z-scada", None),
        "10.99.3.7": ("z-ent", "corp-vpn-pool"),      # asset outside its zone's CIDRs
        "10.10.40.5": ("z-ent", "ot-engineers"),
        "10.10.200.5": ("z-ent", None),
        "10.60.9.9": ("z-field-remote", "rtu"),
        "10.70.1.10": ("z-sis", "sis-ews"),
        "203.0.113.77": ("z-vendor", None),
        "8.8.8.8": (INTERNET_ZONE, None),
        "2001:db8:10::1": ("z-ent", None),
        "2001:db8:99::1": (INTERNET_ZONE, None),
    }
    for ip, want in cases.items():
        assert p.resolve(ipaddress.ip_address(ip)) == want, ip
        assert p.resolve(ip) == want
        assert brute_resolve(p, ipaddress.ip_address(ip)) == want


def test_implicit_internet_zone(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(BASE)
    p = load_policy(path)
    inet = p.zone(INTERNET_ZONE)
    assert inet.implicit
    assert inet.kind == "external"
    assert inet.networks == (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
    assert p.zones[-1] is inet
    # A policy that defines z-internet itself gets no implicit one.
    path.write_text(change(BASE, "conduits:", "  - {id: z-internet, kind: external, "
                           "cidrs: [192.0.2.0/24]}\nconduits:"))
    q = load_policy(path)
    assert [z.id for z in q.zones].count(INTERNET_ZONE) == 1
    assert not q.zone(INTERNET_ZONE).implicit
    assert q.resolve(ipaddress.ip_address("8.8.8.8")) is None


def test_services_endpoints_and_networks() -> None:
    p = load_policy(ROOT / "policies" / "riverbend.yaml")
    assert p.services["wsus"].ports == ((6, ((8530, 8531),)),)
    assert p.services["rdp"].app == "rdp"
    assert p.zone_networks("z-ent") == (
        ipaddress.ip_network("10.10.0.0/16"), ipaddress.ip_network("10.99.0.0/22"),
        ipaddress.ip_network("2001:db8:10::/48"),
    )
    assert p.endpoint_networks("hmi") == (ipaddress.ip_network("10.40.1.10/32"),
                                          ipaddress.ip_network("10.40.1.11/32"))
    c02 = p.conduit("C-02")
    jump = c02.flows[1]
    assert [e.ref for e in jump.destinations] == ["ews", "hmi"]
    assert jump.sources[0].zone == "z-ot-dmz"
    assert jump.sources[0].asset == "jump-01"
    c01 = p.conduit("C-01").flows[0]
    assert c01.sources[0].asset is None
    assert c01.sources[0].networks == p.zone_networks("z-ent")
    c03 = p.conduit("C-03").flows[1]
    assert c03.operations == frozenset({"read", "write", "program", "control"})
    assert p.conduit("C-01").flows[0].operations is None
    scada = p.zone("z-scada")
    assert scada.purdue_levels == (2.0, 3.0)
    assert sl_max(scada.sl_t) == 3
    assert sl_vector(2) == dict.fromkeys(("IAC", "UC", "SI", "DC", "RDF", "TRE", "RA"), 2)
    assert p.is_safety_asset(p.asset("sis-ews"))
    assert not p.is_safety_asset(p.asset("ews"))
    assert p.global_rules.internet_egress is not None
    assert p.global_rules.internet_egress.allow_conduits == ("C-07",)
    assert p.exceptions[0].expires is not None
    assert p.exceptions[0].expires.isoformat() == "2026-10-31"


def test_values_are_hashable() -> None:
    p = load_policy(ROOT / "policies" / "riverbend.yaml")
    assert len(set(p.zones)) == len(p.zones)
    assert len(set(p.conduits)) == len(p.conduits)
    assert len({p, load_policy(ROOT / "policies" / "riverbend.yaml")}) == 1
    assert len({f for _, f in p.flows()}) == 12

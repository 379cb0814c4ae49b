"""Round trip: for random policies, load(dump(load(text))) equals load(text) (spans aside).

Policies are generated as policy-language *data* (so references are valid by construction),
written as YAML, loaded, dumped with ``dump_policy``, written again and reloaded.
"""

from __future__ import annotations

import ipaddress
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from segcheck.policy import load_policy
from segcheck.policy.dump import dump_policy, dump_policy_yaml
from segcheck.policy.lint import FINDING_CODES
from segcheck.policy.model import CONTROLS, FOUNDATIONAL_REQUIREMENTS, OPERATIONS, ZONE_KINDS

NAME = st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True)
DATES = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
               max_size=12).filter(lambda s: s.strip() != "")


@st.composite
def networks(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        addr = draw(st.integers(0, 2**32 - 1))
        prefix = draw(st.integers(8, 32))
        return str(ipaddress.ip_network((addr, prefix), strict=False))
    addr6 = draw(st.integers(0, 2**128 - 1))
    prefix6 = draw(st.integers(16, 128))
    return str(ipaddress.ip_network((addr6, prefix6), strict=False))


def host(net: str) -> str:
    return str(ipaddress.ip_network(net).network_address)


@st.composite
def ports(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 5)) == 0:
        return "any"
    items: list[Any] = []
    for _ in range(draw(st.integers(1, 4))):
        lo = draw(st.integers(0, 65535))
        hi = draw(st.integers(lo, min(65535, lo + 2000)))
        items.append(lo if lo == hi else f"{lo}-{hi}")
    return items


@st.composite
def sl_t(draw: st.DrawFn) -> Any:
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(st.integers(0, 4))
    if kind == 1:
        return {fr: draw(st.integers(0, 4)) for fr in FOUNDATIONAL_REQUIREMENTS}
    return None


def opt(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(NAME, min_size=12, max_size=12, unique=True))
    n_zones = draw(st.integers(1, 4))
    zone_ids = [f"z-{n}" for n in names[:n_zones]]
    asset_pool = [f"a-{n}" for n in names[4:10]]
    service_names = [f"s-{n}" for n in names[10:12]]
    services: dict[str, Any] = {}
    for s in service_names:
        protos = draw(st.lists(st.sampled_from(["tcp", "udp", "sctp", "icmp", "gre"]),
                               min_size=1, max_size=3, unique=True))
        svc: dict[str, Any] = {}
        for p in protos:
            if p == "gre":
                svc[p] = "any"
            elif p == "icmp":
                svc[p] = draw(st.one_of(st.just("any"), st.lists(st.integers(0, 255), min_size=1,
                                                                 max_size=3)))
            else:
                svc[p] = draw(ports())
        opt(svc, "app", draw(st.none() | NAME))
        services[s] = svc
    zones: list[dict[str, Any]] = []
    assets_left = list(asset_pool)
    zone_of: dict[str, str] = {}
    for zid in zone_ids:
        z: dict[str, Any] = {"id": zid, "kind": draw(st.sampled_from(ZONE_KINDS))}
        opt(z, "name", draw(st.none() | TEXT))
        levels = draw(st.lists(st.sampled_from([0, 1, 2, 2.5, 3, 3.5, 4, 5]), max_size=2))
        if levels:
            z["purdue_level"] = levels[0] if len(levels) == 1 else levels
        opt(z, "sl_t", draw(sl_t()))
        if draw(st.booleans()):
            z["safety"] = draw(st.booleans())
        opt(z, "segmentation", draw(st.none() | st.sampled_from(["physical", "logical"])))
        z["cidrs"] = draw(st.lists(networks(), max_size=3))
        assets: dict[str, Any] = {}
        for _ in range(draw(st.integers(0, 2))):
            if not assets_left:
                break
            aid = assets_left.pop(0)
            zone_of[aid] = zid
            a: dict[str, Any] = {}
            form = draw(st.integers(0, 3))
            nets = draw(st.lists(networks(), min_size=1, max_size=3))
            if form == 0:
                a["ip"] = host(nets[0])
            elif form == 1:
                a["ips"] = [host(n) for n in nets]
            elif form == 2:
                a["cidrs"] = nets
            else:
                a["ip"] = host(nets[0])
                a["cidrs"] = nets
            opt(a, "role", draw(st.none() | NAME))
            if draw(st.booleans()):
                a["controls"] = draw(st.lists(st.sampled_from(CONTROLS), max_size=2))
            if draw(st.booleans()):
                a["safety"] = draw(st.booleans())
            assets[aid] = a
        if assets:
            z["assets"] = assets
        opt(z, "owner", draw(st.none() | TEXT))
        zones.append(z)
    refs = zone_ids + list(zone_of)
    conduits: list[dict[str, Any]] = []
    for i in range(draw(st.integers(0, 3))):
        flows = []
        for _ in range(draw(st.integers(1, 3))):
            f: dict[str, Any] = {
                "from": draw(st.lists(st.sampled_from(refs), min_size=1, max_size=2)),
                "to": draw(st.lists(st.sampled_from(refs), min_size=1, max_size=2)),
                "service": draw(st.lists(st.sampled_from(service_names), min_size=1,
                                         max_size=2)),
            }
            if draw(st.booleans()):
                f["operations"] = draw(st.lists(st.sampled_from(OPERATIONS), max_size=3))
            if draw(st.booleans()):
                f["controls"] = draw(st.lists(st.sampled_from(CONTROLS), max_size=2))
            if draw(st.booleans()):
                f["bidirectional"] = draw(st.booleans())
            flows.append(f)
        c: dict[str, Any] = {"id": f"C-{i}", "between": [draw(st.sampled_from(zone_ids)),
                                                          draw(st.sampled_from(zone_ids))],
                             "flows": flows}
        opt(c, "sl_t", draw(sl_t()))
        for key in ("justification", "owner", "approved_by", "ticket", "name"):
            opt(c, key, draw(st.none() | TEXT))
        opt(c, "expires", draw(st.none() | DATES))
        if draw(st.booleans()):
            c["compensating"] = draw(st.lists(st.sampled_from(CONTROLS), max_size=2))
        conduits.append(c)
    rules: dict[str, Any] = {}
    if draw(st.booleans()):
        rules["default_action"] = draw(st.sampled_from(["deny", "permit"]))
    if draw(st.booleans()):
        rules["dmz_termination"] = {"from_kinds": draw(st.lists(st.sampled_from(ZONE_KINDS),
                                                                max_size=2))}
    if conduits and draw(st.booleans()):
        rules["internet_egress"] = {"allow_conduits": [conduits[0]["id"]]}
        rules["safety_zones"] = {"only_conduits": [conduits[-1]["id"]],
                                 "forbid_operations": ["write"]}
    if draw(st.booleans()):
        rules["management_plane"] = {"only_from": [zone_ids[0]]}
        rules["remote_access"] = {"terminate_on_role": "gw", "require_controls": ["mfa"]}
    for key in ("ipv6_parity", "conduit_sl_ge_zone_sl", "no_any_in_cross_zone_rules"):
        if draw(st.booleans()):
            rules[key] = draw(st.booleans())
    opt(rules, "max_port_span", draw(st.none() | st.integers(1, 65536)))
    opt(rules, "max_exception_days", draw(st.none() | st.integers(1, 1000)))
    exceptions = [
        {"id": f"E-{i}", "finding": draw(st.sampled_from(FINDING_CODES)), "object": draw(TEXT),
         "created": draw(DATES), "expires": draw(DATES),
         "compensating": draw(st.lists(st.sampled_from(CONTROLS), max_size=2))}
        for i in range(draw(st.integers(0, 2)))
    ]
    data: dict[str, Any] = {"segcheck": 1, "suc": draw(TEXT), "services": services,
                            "zones": zones, "conduits": conduits, "global_rules": rules}
    if exceptions:
        data["exceptions"] = exceptions
    if draw(st.booleans()):
        data["devices"] = [{"id": "fw", "vendor": "iptables",
                            "interfaces": {"eth0": zone_ids[0]}, "management": ["10.0.0.1"]}]
    return data


@settings(max_examples=60)
@given(policies())
def test_dump_load_round_trip(data: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        first = Path(tmp) / "a.yaml"
        first.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        p1 = load_policy(first)
        second = Path(tmp) / "b.yaml"
        second.write_text(dump_policy_yaml(p1))
        p2 = load_policy(second)
    assert p2 == p1
    assert dump_policy(p2) == dump_policy(p1)
    for z1, z2 in zip(p1.zones, p2.zones, strict=True):
        assert z1.assets == z2.assets
    assert p1.flows() == p2.flows()


def test_riverbend_round_trips() -> None:
    root = Path(__file__).resolve().parents[2]
    p1 = load_policy(root / "policies" / "riverbend.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rb.yaml"
        out.write_text(dump_policy_yaml(p1))
        assert load_policy(out) == p1

"""PAN-OS semantics oracle beyond what aerleon renders.

aerleon's ``paloalto`` target emits ``interzone`` rules for one zone pair, flat groups and
no negation. Here random XML configurations with several zones, all three
rule types, ``any`` zones, nested address groups, literal addresses and ranges,
negate-source/destination, service groups, protocol applications, disabled rules and
overridden predefined rules are written from plain dicts; each packet's verdict comes from a
naive reading of those dicts (``ipaddress`` membership, recursive groups, first match, then
intrazone/interzone defaults) sharing no code with the parser.
"""

from __future__ import annotations

import ipaddress
import os
import random
from dataclasses import dataclass, field

import pytest

from segcheck.model.packet import Packet
from segcheck.model.rules import Action
from segcheck.parsers import panos

ZONES = {"z1": ("ethernet1/1",), "z2": ("ethernet1/2",), "z3": ("ethernet1/3", "ethernet1/4")}
IFACE_ZONE = {i: z for z, ifs in ZONES.items() for i in ifs}
V4 = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.168.0.0/16", "192.168.7.0/25"]
V6 = ["2001:db8::/32", "2001:db8:1::/48", "fd00::/8"]

SCALE = max(1, int(os.environ.get("SEGCHECK_ORACLE_SCALE", "1")))
"""``make oracle`` multiplies the random configurations (CI: 100)."""


@dataclass
class Cfg:
    addrs: dict[str, str] = field(default_factory=dict)  # name -> cidr or "a-b"
    groups: dict[str, list[str]] = field(default_factory=dict)
    services: dict[str, tuple[str, tuple[int, int], tuple[int, int] | None]] = field(
        default_factory=dict)
    sgroups: dict[str, list[str]] = field(default_factory=dict)
    rules: list[dict[str, object]] = field(default_factory=list)
    intra_allow: bool = True
    inter_allow: bool = False


def _zones(rng: random.Random) -> list[str]:
    return rng.choice((["any"], [rng.choice(sorted(ZONES))], rng.sample(sorted(ZONES), 2)))


def random_cfg(rng: random.Random) -> Cfg:
    c = Cfg(intra_allow=rng.random() < 0.7, inter_allow=rng.random() < 0.2)
    for i in range(4):
        c.addrs[f"a{i}"] = rng.choice([*V4, *V6, "10.1.2.10-10.1.2.90"])
    c.groups["g0"] = rng.sample(sorted(c.addrs), 2)
    c.groups["g1"] = ["g0", rng.choice([*V4, *V6])]
    for i in range(3):
        lo = rng.choice((22, 80, 443, 502))
        c.services[f"s{i}"] = (rng.choice(("tcp", "udp")), (lo, lo + rng.choice((0, 10))),
                               (1024, 65535) if rng.random() < 0.3 else None)
    c.sgroups["sg0"] = rng.sample(sorted(c.services), 2)
    names = [*c.addrs, *c.groups, rng.choice(V4), rng.choice(V6)]
    for i in range(rng.randint(1, 8)):
        r: dict[str, object] = {
            "name": f"r{i}",
            "type": rng.choice(("universal", "universal", "intrazone", "interzone")),
            "from": _zones(rng),
            "to": _zones(rng),
            "src": rng.choice((["any"], rng.sample(names, rng.randint(1, 2)))),
            "dst": rng.choice((["any"], rng.sample(names, rng.randint(1, 2)))),
            "nsrc": rng.random() < 0.15, "ndst": rng.random() < 0.15,
            "app": rng.choice(("any", "any", "any", "icmp", "ipv6-icmp")),
            "action": rng.choice(("allow", "deny", "drop")),
            "disabled": rng.random() < 0.1,
        }
        if r["type"] == "intrazone":
            r["to"] = r["from"]
        r["service"] = (["application-default"] if r["app"] != "any" else
                        rng.choice((["any"], rng.sample([*c.services, "sg0"], rng.randint(1, 2)))))
        c.rules.append(r)
    return c


def _members(tag: str, names: list[str]) -> str:
    return f"<{tag}>" + "".join(f"<member>{n}</member>" for n in names) + f"</{tag}>"


def render(c: Cfg) -> str:
    ifs = "".join(f'<entry name="{i}"><layer3><ip><entry name="10.255.{n}.1/24"/></ip>'
                  "</layer3></entry>" for n, i in enumerate(IFACE_ZONE))
    zones = "".join(f'<entry name="{z}"><network>{_members("layer3", list(ifs_))}</network>'
                    "</entry>" for z, ifs_ in ZONES.items())
    addrs = []
    for n, v in c.addrs.items():
        kind = "ip-range" if "-" in v else "ip-netmask"
        addrs.append(f'<entry name="{n}"><{kind}>{v}</{kind}></entry>')
    groups = "".join(f'<entry name="{n}">{_members("static", m)}</entry>'
                     for n, m in c.groups.items())
    svcs = []
    for n, (proto, (lo, hi), src) in c.services.items():
        sp = f"<source-port>{src[0]}-{src[1]}</source-port>" if src else ""
        svcs.append(f'<entry name="{n}"><protocol><{proto}><port>{lo}-{hi}</port>{sp}'
                    f"</{proto}></protocol></entry>")
    sgroups = "".join(f'<entry name="{n}">{_members("members", m)}</entry>'
                      for n, m in c.sgroups.items())
    rules = []
    for r in c.rules:
        body = [_members("from", r["from"]), _members("to", r["to"]),  # type: ignore[arg-type]
                _members("source", r["src"]), _members("destination", r["dst"]),  # type: ignore[arg-type]
                _members("service", r["service"]), _members("application", [r["app"]]),  # type: ignore[arg-type, list-item]
                f"<action>{r['action']}</action>", f"<rule-type>{r['type']}</rule-type>"]
        if r["nsrc"]:
            body.append("<negate-source>yes</negate-source>")
        if r["ndst"]:
            body.append("<negate-destination>yes</negate-destination>")
        if r["disabled"]:
            body.append("<disabled>yes</disabled>")
        rules.append(f'<entry name="{r["name"]}">' + "".join(body) + "</entry>")
    defaults = (
        '<default-security-rules><rules>'
        f'<entry name="intrazone-default"><action>{"allow" if c.intra_allow else "deny"}'
        '</action></entry>'
        f'<entry name="interzone-default"><action>{"allow" if c.inter_allow else "deny"}'
        '</action></entry></rules></default-security-rules>')
    return (
        '<config version="10.1.0"><devices><entry name="localhost.localdomain">'
        f"<network><interface><ethernet>{ifs}</ethernet></interface></network>"
        f'<vsys><entry name="vsys1"><zone>{zones}</zone>'
        f"<address>{''.join(addrs)}</address><address-group>{groups}</address-group>"
        f"<service>{''.join(svcs)}</service><service-group>{sgroups}</service-group>"
        f"<rulebase><security><rules>{''.join(rules)}</rules></security>{defaults}</rulebase>"
        "</entry></vsys></entry></devices></config>\n")


# ---------------------------------------------------------------- naive reference

def in_addr(c: Cfg, name: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if name == "any":
        return True
    if name in c.groups:
        return any(in_addr(c, m, ip) for m in c.groups[name])
    value = c.addrs.get(name, name)
    if "-" in value:
        a, b = (ipaddress.ip_address(x) for x in value.split("-"))
        return a.version == ip.version and a <= ip <= b  # type: ignore[operator]
    net = ipaddress.ip_network(value)
    return net.version == ip.version and ip in net


def in_service(c: Cfg, name: str, p: Packet) -> bool:
    if name in ("any", "application-default"):
        return True
    if name == "sg0":
        return any(in_service(c, m, p) for m in c.sgroups["sg0"])
    proto, (lo, hi), src = c.services[name]
    return (p.proto == (6 if proto == "tcp" else 17) and lo <= p.dport <= hi
            and (src is None or src[0] <= p.sport <= src[1]))


def zone_ok(names: object, zone: str) -> bool:
    return "any" in names or zone in names  # type: ignore[operator]


def reference(c: Cfg, p: Packet, zin: str, zout: str) -> bool:
    for r in c.rules:
        if r["disabled"]:
            continue
        if r["type"] == "intrazone":
            if zin != zout or not zone_ok(r["from"], zin):
                continue
        elif not (zone_ok(r["from"], zin) and zone_ok(r["to"], zout)) or (
                r["type"] == "interzone" and zin == zout):
            continue
        src_in = any(in_addr(c, n, p.src_ip) for n in r["src"])  # type: ignore[attr-defined]
        dst_in = any(in_addr(c, n, p.dst_ip) for n in r["dst"])  # type: ignore[attr-defined]
        if src_in == bool(r["nsrc"]) or dst_in == bool(r["ndst"]):
            continue
        wanted = {"icmp": (4, 1), "ipv6-icmp": (6, 58)}.get(str(r["app"]))
        if wanted is not None and (p.version, p.proto) != wanted:
            continue
        if any(in_service(c, n, p) for n in r["service"]):  # type: ignore[attr-defined]
            return r["action"] == "allow"
    return c.intra_allow if zin == zout else c.inter_allow


def random_packet(rng: random.Random) -> Packet:
    version = rng.choice((4, 4, 6))
    nets = [ipaddress.ip_network(n) for n in (V4 if version == 4 else V6)]

    def addr() -> int:
        n = rng.choice(nets)
        return int(n.network_address) + rng.randrange(min(n.num_addresses, 1 << 16))

    proto = rng.choice((6, 6, 17, 1 if version == 4 else 58, 47))
    sport = dport = itype = 0
    if proto in (6, 17):
        sport = rng.choice((80, 1023, 1024, 40000))
        dport = rng.choice((22, 27, 80, 443, 453, 502, 512, 513, rng.randint(0, 65535)))
    if proto in (1, 58):
        itype = rng.choice((0, 8, 128))
    return Packet(version, addr(), addr(), proto, sport, dport, itype)


@pytest.mark.slow
def test_panos_agrees_with_naive_reading_of_random_configs() -> None:
    checked = permits = 0
    bad: list[str] = []
    ifaces = sorted(IFACE_ZONE)
    for seed in range(100 * SCALE):
        rng = random.Random(seed)
        cfg = random_cfg(rng)
        device = panos.parse(render(cfg), f"seed{seed}.xml")
        assert device.complete, [str(d) for d in device.diagnostics]
        for _ in range(100):
            p = random_packet(rng)
            i, e = rng.choice(ifaces), rng.choice(ifaces)
            want = reference(cfg, p, IFACE_ZONE[i], IFACE_ZONE[e])
            (f,) = device.forward_filters(device.context(i), device.context(e))
            got = f.decide(p)[0] is Action.PERMIT
            checked += 1
            permits += want
            if got != want and len(bad) < 5:
                bad.append(f"seed {seed}: {p} {i}->{e}: reference {want}, segcheck {got}")
    assert not bad, "\n".join(bad)
    assert checked == 100 * 100 * SCALE
    assert 500 < permits < 9500

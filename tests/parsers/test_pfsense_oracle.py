"""pf last-match semantics oracle for the pfSense/OPNsense conversion.

aerleon has no pfSense/OPNsense config.xml generator (its ``packetfilter`` target writes
pf.conf, a different input), so this is a differential test against an independent
reference: random config.xml files (floating rules quick and non-quick in every direction,
interface-group rules, interface rules, negation, ports, ICMP types, IPv4/IPv6/both) are
rendered from plain Python dicts, and each packet's verdict is computed by *scanning the
dicts the way pf scans its ruleset* — every applicable rule in pf order, a quick match
decides, otherwise the last match, otherwise pass; ``in`` on the ingress interface, then
``out`` on the egress one. segcheck must agree after its first-match rewrite.
"""

from __future__ import annotations

import ipaddress
import os
import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from segcheck.model.device import Device
from segcheck.model.packet import Packet
from segcheck.model.rules import Action
from segcheck.parsers import opnsense, pfsense

IFACES = {  # logical -> (device, v4 net, v6 net)
    "lan": ("em1", "192.168.1.1/24", "2001:db8:1::1/64"),
    "wan": ("em0", "203.0.113.2/24", "2001:db8:ff::2/64"),
    "opt1": ("em2", "10.20.0.1/16", "2001:db8:20::1/64"),
}
GROUP = ("grp", ("lan", "opt1"))
NETS = ["192.168.1.0/24", "192.168.1.128/25", "10.20.0.0/16", "10.20.5.0/24", "203.0.113.0/24",
        "2001:db8:1::/64", "2001:db8:20::/48", "2001:db8:ff::/64"]
ICMP_NAMES = {4: {"echoreq": 8, "unreach": 3}, 6: {"echoreq": 128, "unreach": 1}}

SCALE = max(1, int(os.environ.get("SEGCHECK_ORACLE_SCALE", "1")))
"""``make oracle`` multiplies the random configurations (CI: 100)."""


@dataclass
class R:
    kind: str  # floating | group | iface
    action: str
    ifaces: tuple[str, ...]
    quick: bool = True
    direction: str = "in"
    ipproto: str = "inet"
    proto: str = ""
    icmptype: str = ""
    src: str = "any"  # any | CIDR | lan (macro)
    src_not: bool = False
    dst: str = "any"
    dst_not: bool = False
    dport: tuple[int, int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def random_rules(rng: random.Random) -> list[R]:
    out: list[R] = []
    for _ in range(rng.randint(1, 9)):
        kind = rng.choice(("floating", "floating", "group", "iface", "iface"))
        if kind == "floating":
            ifaces = tuple(rng.sample(sorted(IFACES), rng.randint(1, 2)))
        elif kind == "group":
            ifaces = (GROUP[0],)
        else:
            ifaces = (rng.choice(sorted(IFACES)),)
        ipproto = rng.choice(("inet", "inet", "inet6", "inet46"))
        proto = rng.choice(("", "tcp", "udp", "tcp/udp", "icmp", "esp"))
        r = R(kind, rng.choice(("pass", "block", "reject")), ifaces,
              quick=kind != "floating" or rng.random() < 0.5,
              direction=rng.choice(("in", "out", "any")) if kind == "floating" else "in",
              ipproto=ipproto, proto=proto)
        if proto == "icmp" and ipproto != "inet46" and rng.random() < 0.6:
            r.icmptype = rng.choice(("echoreq", "unreach"))
        for side in ("src", "dst"):
            choice = rng.random()
            if choice < 0.4:
                continue
            value = "lan" if choice < 0.55 else rng.choice(NETS)
            setattr(r, side, value)
            setattr(r, f"{side}_not", rng.random() < 0.2)
        if proto in ("tcp", "udp", "tcp/udp") and rng.random() < 0.7:
            lo = rng.choice((22, 80, 443, 502, 1000))
            r.dport = (lo, lo + rng.choice((0, 0, 10, 500)))
        out.append(r)
    return out


def render(rules: list[R], root: str = "pfsense") -> str:
    def ep(tag: str, value: str, neg: bool, port: tuple[int, int] | None) -> str:
        inner = "<any/>" if value == "any" else (
            f"<network>{value}</network>" if value == "lan" else f"<address>{value}</address>")
        if neg:
            inner += "<not/>"
        if port:
            inner += f"<port>{port[0]}" + (f"-{port[1]}" if port[1] != port[0] else "") + "</port>"
        return f"<{tag}>{inner}</{tag}>"

    ifs = "".join(
        f"<{n}><enable/><if>{d}</if><ipaddr>{v4.split('/')[0]}</ipaddr>"
        f"<subnet>{v4.split('/')[1]}</subnet><ipaddrv6>{v6.split('/')[0]}</ipaddrv6>"
        f"<subnetv6>{v6.split('/')[1]}</subnetv6></{n}>" for n, (d, v4, v6) in IFACES.items())
    body = []
    for r in rules:
        parts = [f"<type>{r.action}</type>", f"<interface>{','.join(r.ifaces)}</interface>",
                 f"<ipprotocol>{r.ipproto}</ipprotocol>"]
        if r.kind == "floating":
            parts.append("<floating>yes</floating>")
            parts.append(f"<direction>{r.direction}</direction>")
            if r.quick:
                parts.append("<quick>yes</quick>")
        if r.proto:
            parts.append(f"<protocol>{r.proto}</protocol>")
        if r.icmptype:
            parts.append(f"<icmptype>{r.icmptype}</icmptype>")
        parts.append(ep("source", r.src, r.src_not, None))
        parts.append(ep("destination", r.dst, r.dst_not, r.dport))
        body.append("<rule>" + "".join(parts) + "</rule>")
    return (f"<?xml version=\"1.0\"?>\n<{root}>\n<system><hostname>fw</hostname><ipv6allow/>"
            f"<webgui><protocol>https</protocol><noantilockout/></webgui></system>\n"
            f"<interfaces>{ifs}</interfaces>\n"
            f"<ifgroups><ifgroupentry><ifname>{GROUP[0]}</ifname><members>"
            f"{' '.join(GROUP[1])}</members></ifgroupentry></ifgroups>\n"
            "<filter>\n" + "\n".join(body) + "\n</filter>\n" + f"</{root}>\n")


# ---------------------------------------------------------------- the reference (pf scan)

def _in(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, value: str) -> bool:
    if value == "any":
        return True
    net = IFACES["lan"][1] if value == "lan" and addr.version == 4 else (
        IFACES["lan"][2] if value == "lan" else value)
    n = ipaddress.ip_network(net, strict=False)
    return n.version == addr.version and addr in n


def ref_matches(r: R, p: Packet) -> bool:
    fams = {"inet": {4}, "inet6": {6}, "inet46": {4, 6}}[r.ipproto]
    if p.version not in fams:
        return False
    if _in(p.src_ip, r.src) == r.src_not or _in(p.dst_ip, r.dst) == r.dst_not:
        return False
    if r.proto:
        wanted = {"tcp": {6}, "udp": {17}, "tcp/udp": {6, 17}, "esp": {50},
                  "icmp": {1 if p.version == 4 else 58}}[r.proto]
        if p.proto not in wanted:
            return False
    if r.dport and not r.dport[0] <= p.dport <= r.dport[1]:
        return False
    return not (r.icmptype and p.icmp_type != ICMP_NAMES[p.version][r.icmptype])


def ref_applies(r: R, iface: str, direction: str) -> bool:
    if r.direction not in (direction, "any"):
        return False
    names = set(r.ifaces)
    if GROUP[0] in names:
        names |= set(GROUP[1])
    return iface in names


def ref_pass(rules: list[R], p: Packet, iface: str, direction: str) -> bool:
    order = [r for kind in ("floating", "group", "iface") for r in rules if r.kind == kind]
    decision = direction == "out"  # default: block in, pass out
    if direction == "in" and p.version == 6 and p.proto == 58 and p.icmp_type in (1, 2, 135, 136):
        return True  # automatic quick pass for ICMPv6 errors and ND
    for r in order:
        if ref_applies(r, iface, direction) and ref_matches(r, p):
            if r.quick:
                return r.action == "pass"
            decision = r.action == "pass"
    return decision


def segcheck_pass(device: Device, p: Packet, ingress: str, egress: str) -> bool:
    for f in device.forward_filters(device.context(ingress), device.context(egress)):
        if f.decide(p)[0] is not Action.PERMIT:
            return False
    return True


def random_packet(rng: random.Random) -> Packet:
    version = rng.choice((4, 6))
    pool = [n for n in NETS if ipaddress.ip_network(n).version == version]
    pool.append("0.0.0.0/0" if version == 4 else "::/0")

    def addr() -> str:
        n = ipaddress.ip_network(rng.choice(pool))
        return str(n.network_address + rng.randrange(min(n.num_addresses, 1 << 20)))

    proto = rng.choice((6, 17, 50, 1 if version == 4 else 58, 47))
    sport = dport = itype = 0
    if proto in (6, 17):
        sport = rng.randint(1, 65535)
        dport = rng.choice((22, 80, 443, 502, 1000, 1005, 1010, 1011, 1500, rng.randint(0, 65535)))
    if proto in (1, 58):
        itype = rng.choice([*ICMP_NAMES[version].values(), 135, 0, 129])
    return Packet.make(addr(), addr(), proto, sport, dport, itype)


def _agree(vendor_parse: Any, root: str, seeds: range) -> tuple[int, list[str]]:
    checked = 0
    bad: list[str] = []
    for seed in seeds:
        rng = random.Random(seed)
        rules = random_rules(rng)
        device = vendor_parse(render(rules, root), f"seed{seed}.xml")
        assert device.complete, [str(d) for d in device.diagnostics]
        for _ in range(100):
            p = random_packet(rng)
            i, e = rng.choice(sorted(IFACES)), rng.choice(sorted(IFACES))
            want = ref_pass(rules, p, i, "in") and ref_pass(rules, p, e, "out")
            for ingress, egress in ((i, e), (IFACES[i][0], IFACES[e][0])):
                got = segcheck_pass(device, p, ingress, egress)
                checked += 1
                if got != want and len(bad) < 5:
                    bad.append(f"seed {seed}: {p} {ingress}->{egress}: pf {want}, segcheck {got}")
    return checked, bad


@pytest.mark.slow
def test_pfsense_conversion_agrees_with_pf_scan() -> None:
    checked, bad = _agree(pfsense.parse, "pfsense", range(100 * SCALE))
    assert checked >= 100 * 100
    assert not bad, "\n".join(bad)


def test_opnsense_legacy_rules_agree_with_pf_scan() -> None:
    checked, bad = _agree(opnsense.parse, "opnsense", range(1000, 1030))
    assert not bad, "\n".join(bad)
    assert checked > 0


def test_non_quick_floating_rule_is_last_match() -> None:
    """The classic trap: a non-quick floating pass is overridden by a *later* non-quick
    block, but not by an earlier one; a quick rule anywhere wins at once."""
    rules = [
        R("floating", "pass", ("lan",), quick=False, direction="in"),
        R("floating", "block", ("lan",), quick=False, direction="in", proto="tcp",
          dport=(22, 22)),
    ]
    d = pfsense.parse(render(rules), "trap.xml")
    ssh = Packet.make("192.168.1.5", "10.20.0.9", "tcp", 40000, 22)
    web = Packet.make("192.168.1.5", "10.20.0.9", "tcp", 40000, 80)
    assert not segcheck_pass(d, ssh, "lan", "opt1")
    assert segcheck_pass(d, web, "lan", "opt1")
    rules.reverse()
    d = pfsense.parse(render(rules), "trap2.xml")
    assert segcheck_pass(d, ssh, "lan", "opt1")  # the later pass wins now

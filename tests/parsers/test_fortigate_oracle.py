"""FortiGate semantics oracle beyond what aerleon renders.

aerleon's ``fortigate`` target only emits flat address groups, port services and
accept/deny between two interfaces (no ICMP, zones, exclusion, negation, disabled rules).
Here random configurations using those features are written from plain Python dicts and
each packet's verdict is computed by a deliberately naive reading of the same dicts
(membership with ``ipaddress``, recursive group expansion, policies scanned in listed order,
implicit deny) that shares no code with the parser. segcheck must agree on every packet.
"""

from __future__ import annotations

import ipaddress
import os
import random
from dataclasses import dataclass, field

import pytest

from segcheck.model.packet import Packet
from segcheck.model.rules import Action
from segcheck.parsers import fortigate

PORTS = ("port1", "port2", "port3", "port4")
ZONE = ("zA", ("port3", "port4"))
V4 = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.168.0.0/16", "192.168.7.0/25",
      "172.16.0.0/12"]
V6 = ["2001:db8::/32", "2001:db8:1::/48", "fd00::/8"]

SCALE = max(1, int(os.environ.get("SEGCHECK_ORACLE_SCALE", "1")))
"""``make oracle`` multiplies the random configurations (CI: 100)."""


@dataclass
class Cfg:
    intrazone_allow: bool
    addr4: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (kind, value)
    addr6: dict[str, str] = field(default_factory=dict)
    groups: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    services: dict[str, dict[str, object]] = field(default_factory=dict)
    sgroups: dict[str, list[str]] = field(default_factory=dict)
    policies: list[dict[str, object]] = field(default_factory=list)


def random_cfg(rng: random.Random) -> Cfg:
    c = Cfg(intrazone_allow=rng.random() < 0.5)
    for i in range(4):
        if rng.random() < 0.7:
            c.addr4[f"a{i}"] = ("ipmask", rng.choice(V4))
        else:
            lo = rng.randint(0, 200)
            c.addr4[f"a{i}"] = ("iprange", f"10.1.2.{lo}-10.1.2.{lo + rng.randint(0, 50)}")
    for i in range(2):
        c.addr6[f"b{i}"] = rng.choice(V6)
    c.groups["g0"] = (rng.sample(sorted(c.addr4), 2), [])
    c.groups["g1"] = (["g0", rng.choice(sorted(c.addr4))], [])
    c.groups["gx"] = ([rng.choice(("a0", "a1", "g0"))], [rng.choice(sorted(c.addr4))])
    for i in range(5):
        kind = rng.choice(("tcp", "udp", "icmp", "icmp6", "ip"))
        if kind in ("tcp", "udp"):
            lo = rng.choice((22, 80, 443, 502, 1000))
            svc: dict[str, object] = {"kind": kind, "d": (lo, lo + rng.choice((0, 0, 20)))}
            if rng.random() < 0.3:
                svc["s"] = (1024, 65535)
        elif kind in ("icmp", "icmp6"):
            svc = {"kind": kind, "type": rng.choice((None, 0, 8, 128, 3)),
                   "code": rng.choice((None, None, 0, 1))}
            if svc["type"] is None:
                svc["code"] = None
        else:
            svc = {"kind": "ip", "proto": rng.choice((0, 47, 50))}
        c.services[f"s{i}"] = svc
    c.sgroups["sg0"] = rng.sample(sorted(c.services), 2)
    names4 = [*c.addr4, *c.groups, "all"]
    for i in range(rng.randint(1, 8)):
        p: dict[str, object] = {
            "id": i + 1,
            "src": rng.choice([*PORTS, ZONE[0], "any"]),
            "dst": rng.choice([*PORTS, ZONE[0], "any"]),
            "action": rng.choice(("accept", "deny")),
            "disabled": rng.random() < 0.15,
            "service": rng.sample([*c.services, "sg0", "ALL"], rng.randint(1, 2)),
        }
        if rng.random() < 0.8:
            p["srcaddr"] = rng.sample(names4, rng.randint(1, 2))
            p["dstaddr"] = rng.sample(names4, rng.randint(1, 2))
            p["srcneg"] = rng.random() < 0.15
        if rng.random() < 0.5:
            p["srcaddr6"] = [rng.choice([*c.addr6, "all"])]
            p["dstaddr6"] = [rng.choice([*c.addr6, "all"])]
            p["dst6neg"] = rng.random() < 0.2
        c.policies.append(p)
    return c


def render(c: Cfg) -> str:
    q = lambda names: " ".join(f'"{n}"' for n in names)  # noqa: E731
    out = ["config system interface"]
    for i, port in enumerate(PORTS):
        out += [f'    edit "{port}"', f"        set ip 10.200.{i}.1 255.255.255.0", "    next"]
    out += ["end", "config system zone", f'    edit "{ZONE[0]}"',
            f"        set intrazone {'allow' if c.intrazone_allow else 'deny'}",
            f"        set interface {q(ZONE[1])}", "    next", "end",
            "config firewall address"]
    for n, (kind, value) in c.addr4.items():
        out.append(f'    edit "{n}"')
        if kind == "ipmask":
            out.append(f"        set subnet {value}")
        else:
            a, b = value.split("-")
            out += ["        set type iprange", f"        set start-ip {a}",
                    f"        set end-ip {b}"]
        out.append("    next")
    out += ["end", "config firewall address6"]
    for n, v6 in c.addr6.items():
        out += [f'    edit "{n}"', f"        set ip6 {v6}", "    next"]
    out += ["end", "config firewall addrgrp"]
    for n, (members, excl) in c.groups.items():
        out += [f'    edit "{n}"', f"        set member {q(members)}"]
        if excl:
            out += ["        set exclude enable", f"        set exclude-member {q(excl)}"]
        out.append("    next")
    out += ["end", "config firewall service custom"]
    for n, s in c.services.items():
        out.append(f'    edit "{n}"')
        if s["kind"] in ("tcp", "udp"):
            lo, hi = s["d"]  # type: ignore[misc]
            spec = f"{lo}-{hi}"
            if "s" in s:
                slo, shi = s["s"]  # type: ignore[misc]
                spec += f":{slo}-{shi}"
            out.append(f"        set {s['kind']}-portrange {spec}")
        elif s["kind"] in ("icmp", "icmp6"):
            out.append(f"        set protocol {'ICMP' if s['kind'] == 'icmp' else 'ICMP6'}")
            if s["type"] is not None:
                out.append(f"        set icmptype {s['type']}")
            if s["code"] is not None:
                out.append(f"        set icmpcode {s['code']}")
        else:
            out += ["        set protocol IP", f"        set protocol-number {s['proto']}"]
        out.append("    next")
    out += ["end", "config firewall service group", '    edit "sg0"',
            f"        set member {q(c.sgroups['sg0'])}", "    next", "end",
            "config firewall policy"]
    for p in c.policies:
        out += [f"    edit {p['id']}", f'        set srcintf "{p["src"]}"',
                f'        set dstintf "{p["dst"]}"', f"        set action {p['action']}",
                f"        set service {q(p['service'])}"]  # type: ignore[arg-type]
        for key in ("srcaddr", "dstaddr", "srcaddr6", "dstaddr6"):
            if key in p:
                out.append(f"        set {key} {q(p[key])}")  # type: ignore[arg-type]
        if p.get("srcneg"):
            out.append("        set srcaddr-negate enable")
        if p.get("dst6neg"):
            out.append("        set dstaddr6-negate enable")
        if p["disabled"]:
            out.append("        set status disable")
        out.append("    next")
    out.append("end")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- naive reference

def in_addr(c: Cfg, name: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if name == "all":
        return True
    if ip.version == 6:
        return name in c.addr6 and ip in ipaddress.ip_network(c.addr6[name])
    if name in c.groups:
        members, excl = c.groups[name]
        return any(in_addr(c, m, ip) for m in members) and not any(
            in_addr(c, m, ip) for m in excl)
    kind, value = c.addr4[name]
    if kind == "ipmask":
        return ip in ipaddress.ip_network(value)
    a, b = (ipaddress.ip_address(x) for x in value.split("-"))
    return a <= ip <= b  # type: ignore[operator]


def in_service(c: Cfg, name: str, p: Packet) -> bool:
    if name == "ALL":
        return True
    if name == "sg0":
        return any(in_service(c, m, p) for m in c.sgroups["sg0"])
    s = c.services[name]
    if s["kind"] in ("tcp", "udp"):
        lo, hi = s["d"]  # type: ignore[misc]
        slo, shi = s.get("s", (0, 65535))  # type: ignore[misc]
        return (p.proto == (6 if s["kind"] == "tcp" else 17) and lo <= p.dport <= hi
                and slo <= p.sport <= shi)
    if s["kind"] in ("icmp", "icmp6"):
        want = (4, 1) if s["kind"] == "icmp" else (6, 58)
        return ((p.version, p.proto) == want
                and (s["type"] is None or p.icmp_type == s["type"])
                and (s["code"] is None or p.icmp_code == s["code"]))
    return s["proto"] == 0 or p.proto == s["proto"]


def intf_ok(name: object, iface: str) -> bool:
    return name in ("any", iface) or (name == ZONE[0] and iface in ZONE[1])


def reference(c: Cfg, p: Packet, ingress: str, egress: str) -> bool:
    if c.intrazone_allow and ingress in ZONE[1] and egress in ZONE[1]:
        return True
    for pol in c.policies:
        if pol["disabled"] or not (intf_ok(pol["src"], ingress) and intf_ok(pol["dst"], egress)):
            continue
        sk, dk = ("srcaddr", "dstaddr") if p.version == 4 else ("srcaddr6", "dstaddr6")
        if sk not in pol or dk not in pol:
            continue
        src_in = any(in_addr(c, n, p.src_ip) for n in pol[sk])  # type: ignore[attr-defined]
        if p.version == 4 and pol.get("srcneg"):
            src_in = not src_in
        dst_in = any(in_addr(c, n, p.dst_ip) for n in pol[dk])  # type: ignore[attr-defined]
        if p.version == 6 and pol.get("dst6neg"):
            dst_in = not dst_in
        if not (src_in and dst_in):
            continue
        if any(in_service(c, n, p) for n in pol["service"]):  # type: ignore[attr-defined]
            return pol["action"] == "accept"
    return False


def random_packet(rng: random.Random) -> Packet:
    version = rng.choice((4, 4, 6))
    nets = [ipaddress.ip_network(n) for n in (V4 if version == 4 else V6)]

    def addr() -> int:
        n = rng.choice(nets)
        return int(n.network_address) + rng.randrange(min(n.num_addresses, 1 << 16))

    proto = rng.choice((6, 17, 1 if version == 4 else 58, 47, 50))
    sport = dport = itype = icode = 0
    if proto in (6, 17):
        sport = rng.choice((80, 1023, 1024, 40000))
        dport = rng.choice((22, 80, 443, 502, 1000, 1010, 1020, 1021, rng.randint(0, 65535)))
    if proto in (1, 58):
        itype, icode = rng.choice((0, 8, 128, 3)), rng.choice((0, 1, 2))
    return Packet(version, addr(), addr(), proto, sport, dport, itype, icode)


@pytest.mark.slow
def test_fortigate_agrees_with_naive_reading_of_random_configs() -> None:
    checked = permits = 0
    bad: list[str] = []
    for seed in range(100 * SCALE):
        rng = random.Random(seed)
        cfg = random_cfg(rng)
        device = fortigate.parse(render(cfg), f"seed{seed}.conf")
        assert device.complete, [str(d) for d in device.diagnostics]
        for _ in range(100):
            p = random_packet(rng)
            i, e = rng.choice(PORTS), rng.choice(PORTS)
            want = reference(cfg, p, i, e)
            (f,) = device.forward_filters(device.context(i), device.context(e))
            got = f.decide(p)[0] is Action.PERMIT
            checked += 1
            permits += want
            if got != want and len(bad) < 5:
                bad.append(f"seed {seed}: {p} {i}->{e}: reference {want}, segcheck {got}")
    assert not bad, "\n".join(bad)
    assert checked == 100 * 100 * SCALE
    assert permits > 500

"""Random SRX ``host-inbound-traffic`` configurations against a direct reading of the rules.

The oracle below decides a packet to an interface's own address straight from the
statements, without the parser's rule building (placement by destination, ``all`` minus
``except`` as excludes, routing protocols carved out of ``system-services all``): the
interface's own statements if it has any, else its zone's; a listed name admits the
packets of its service or protocol (``host_inbound.SYSTEM_SERVICES``/``PROTOCOLS``, read
field by field here); ``all`` admits every item of its category but the ``except``ed ones
(system services: any TCP/UDP/ICMP/ICMPv6 packet that is no routing protocol's);
neighbour discovery always. The parser's device must agree on every packet.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from segcheck.model import ranges as R
from segcheck.model.packet import Packet
from segcheck.model.rules import Action, IfaceContext
from segcheck.parsers import _cisco as C
from segcheck.parsers import junos
from segcheck.parsers.junos.host_inbound import PROTOCOLS, SYSTEM_SERVICES

Stmt = tuple[str, str, bool]  # (category, name, except)

NAMES = {"system-services": ["ssh", "telnet", "https", "snmp", "ping", "netconf", "all"],
         "protocols": ["bgp", "ospf", "rip", "vrrp", "pim", "all"]}
UNITS = ("ge-0/0/0.0", "ge-0/0/1.0")
ADDR = {"ge-0/0/0.0": 0x0A000001, "ge-0/0/1.0": 0x0A010001}  # 10.0.0.1, 10.1.0.1
V6 = {"ge-0/0/0.0": 0x20010DB8 << 96 | 1, "ge-0/0/1.0": 0x20010DB8 << 96 | 0x10001}


def stmt() -> st.SearchStrategy[Stmt]:
    return st.sampled_from(list(NAMES)).flatmap(
        lambda cat: st.tuples(st.just(cat), st.sampled_from(NAMES[cat]),
                              st.sampled_from([False, False, False, True])))


def in_svc(s: C.Svc, p: Packet) -> bool:
    def has(r: R.Ranges | None, v: int) -> bool:
        return r is None or any(lo <= v <= hi for lo, hi in r)

    return (s.family in (None, p.version) and has(s.protocols, p.proto)
            and has(s.dports, p.dport) and has(s.sports, p.sport)
            and has(s.icmp_types, p.icmp_type) and has(s.icmp_codes, p.icmp_code))


def named(cat: str, name: str, p: Packet) -> bool:
    table = PROTOCOLS if cat == "protocols" else SYSTEM_SERVICES
    return any(in_svc(s, p) for s in table.get(name, ()))


def oracle(stmts: list[Stmt], p: Packet) -> bool:
    if p.proto == 58 and 133 <= p.icmp_type <= 137:
        return True
    excepted = {(c, n) for c, n, x in stmts if x}
    for cat, name, x in stmts:
        if x:
            continue
        if name != "all":
            if (cat, name) not in excepted and named(cat, name, p):
                return True
        elif cat == "protocols":
            if any(named(cat, k, p) for k in PROTOCOLS if (cat, k) not in excepted):
                return True
        elif p.proto in (6, 17, 1, 58) and not any(named("protocols", k, p) for k in PROTOCOLS) \
                and not any(named(c, k, p) for c, k in excepted if c == cat):
            return True
    return False


def config(zone: list[Stmt], per_iface: dict[str, list[Stmt]]) -> str:
    out = [f"set interfaces {u[:-2]} unit 0 family inet address "
           f"{'10.0.0.1' if u == UNITS[0] else '10.1.0.1'}/24" for u in UNITS]
    out += [f"set interfaces {u[:-2]} unit 0 family inet6 address "
            f"2001:db8::{'1' if u == UNITS[0] else '1:1'}/64" for u in UNITS]
    zp = "set security zones security-zone z"
    out += [f"{zp} host-inbound-traffic {c} {n}{' except' if x else ''}" for c, n, x in zone]
    for u in UNITS:
        out.append(f"{zp} interfaces {u}")
        out += [f"{zp} interfaces {u} host-inbound-traffic {c} {n}{' except' if x else ''}"
                for c, n, x in per_iface.get(u, [])]
    return "\n".join(out) + "\n"


PACKETS = st.one_of(
    st.tuples(st.just(6), st.sampled_from([22, 23, 443, 830, 179, 80, 12345])),
    st.tuples(st.just(17), st.sampled_from([161, 520, 521, 646, 3784, 33434, 53, 12345])),
    st.tuples(st.just(1), st.sampled_from([0, 8, 9, 3])),
    st.tuples(st.just(58), st.sampled_from([128, 135, 130, 1])),
    st.tuples(st.sampled_from([89, 112, 2, 103, 47]), st.just(0)),
)


@settings(max_examples=300)
# the cases each rule of the oracle is about, always tried: the interface overrides the
# zone, 'all' minus 'except', routing protocols are not system services
@example(zone=[("system-services", "ssh", False)], own={"ge-0/0/0.0": [
    ("system-services", "ping", False)]}, unit="ge-0/0/0.0", pkt=(6, 22), v6=False)
@example(zone=[("system-services", "all", False), ("system-services", "telnet", True)],
         own={}, unit="ge-0/0/1.0", pkt=(6, 23), v6=True)
@example(zone=[("system-services", "all", False)], own={}, unit="ge-0/0/0.0",
         pkt=(6, 179), v6=False)
@example(zone=[("protocols", "all", False), ("protocols", "bgp", True)], own={},
         unit="ge-0/0/0.0", pkt=(6, 179), v6=False)
@given(zone=st.lists(stmt(), max_size=4),
       own=st.dictionaries(st.sampled_from(UNITS), st.lists(stmt(), min_size=1, max_size=3)),
       unit=st.sampled_from(UNITS), pkt=PACKETS, v6=st.booleans())
def test_host_inbound_agrees_with_the_statements(zone: list[Stmt],
                                                 own: dict[str, list[Stmt]], unit: str,
                                                 pkt: tuple[int, int], v6: bool) -> None:
    proto, arg = pkt
    version = 6 if v6 or proto == 58 else 4
    if proto == 1:
        version = 4
    src, dst = (0x20010DB8 << 96 | 0x99, V6[unit]) if version == 6 else (0x0A000099, ADDR[unit])
    ports = proto in (6, 17)
    p = Packet(version, src, dst, proto, 40000 if ports else 0, arg if ports else 0,
               arg if proto in (1, 58) else 0, 0)
    dev = junos.parse(config(zone, own), "srx.conf")
    ci, none = dev.context(unit), IfaceContext()
    got = all(dev.filters[s.filter].decide(p, "new", ci, none)[0] is Action.PERMIT
              for s in dev.local if s.applies(ci, none))
    assert got == oracle(own.get(unit) or zone, p)

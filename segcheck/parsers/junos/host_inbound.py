"""SRX ``host-inbound-traffic``: which packets an interface of a zone lets reach the device
itself -> the local-stage filter ``host-inbound-traffic``.

Semantics (each fact with the document it comes from):

- Traffic to the device arriving on an interface of a security zone (or of the
  ``functional-zone management``) is dropped unless that zone's — or that interface's —
  ``host-inbound-traffic`` admits it: ``system-services S`` (management and infrastructure
  services: ssh, https, snmp, ...) and ``protocols P`` (routing and signalling protocols:
  bgp, ospf, ...). The statements exist at the zone level and per interface under the zone;
  the interface's configuration overrides the zone's — Junos OS Security Configuration
  Guide, "Understanding How to Control Inbound Traffic Based on Traffic Types" (Junos 12.2):
  "Interface configuration overrides that of the zone"; "Inbound traffic destined to this
  device is dropped by default". Decision: an interface with *any* active
  ``host-inbound-traffic`` statement of its own takes nothing from the zone level (neither
  services nor protocols); an interface without one takes the zone's whole configuration.
- Which zone's configuration applies: a packet for the address of the interface it enters
  by meets that interface's; a packet for the address of *another* zone interface ``U``
  (another revenue port, or ``lo0`` placed in a zone) crosses from the ingress zone to
  ``U``'s zone — a security policy between them must permit it — and then ``U``'s
  host-inbound-traffic applies — Juniper KB27211 ("What is local..0 interface?": pinging
  the trust interface from untrust passes untrust -> trust, then trust -> junos-host; a
  policy from untrust to trust is required) and KB30997 (traffic to the loopback address:
  ingress zone -> loopback zone policy, then loopback zone -> junos-host). Decision: a
  packet for an address of no zone interface (multicast such as OSPF hellos, broadcast,
  ``lo0`` outside the zones, the out-of-band port's) meets the ingress interface's
  configuration and needs no policy (the over-approximation: more reachable, never less).
  ``to_device_policy`` is that policy lookup (local stage ``security-policy to the
  device``); ``build`` places each interface's rules by destination.
- ``all`` admits every item of its category; ``X except`` removes ``X`` from ``all`` —
  ``host-inbound-traffic`` statement syntax (``service-name <except>``, ``protocol-name
  <except>``; Junos ES 9.3 CLI reference, ``host-inbound-traffic``).
- The protocols and what they admit: the documented list (``PROTOCOLS``: all, bfd, bgp,
  dvmrp, igmp, ldp, msdp, nhrp, ospf, ospf3, pgm, pim, rip, ripng, router-discovery, rsvp,
  sap, vrrp) — "Understanding How to Control Inbound Traffic Based on Protocols" (Junos
  12.2), which also says enabling DVMRP or PIM enables IGMP and MLD, and that NDP needs no
  configuration (IPv6 neighbour discovery, ICMPv6 133-137, is admitted on every zone
  interface). Ports and protocol numbers are the IANA assignments (the same numbers as the
  Junos port-name table, e.g. bgp 179, ldp 646, msdp 639, rip 520 in the Junos
  ``destination-port`` reference), so ``protocols all`` is exactly their union.
- ``system-services``: the ports of ``SYSTEM_SERVICES`` (IANA / Junos port names); ``http``
  and ``https`` follow ``system services web-management http|https port N`` when set.
  ``system-services all`` (and ``any-service``) is modelled as every TCP, UDP, ICMP and
  ICMPv6 packet except those of the ``protocols`` (a BGP packet is the protocols category's
  to admit): an over-approximation of "every system service" (it contains every
  management port, so management exposure is never missed). A service name not in the
  table is UNSUPPORTED at its line (its ports are not known here), never silently dropped.
- ``ping`` admits all ICMP/ICMPv6, ``traceroute`` ICMP plus udp/33434-33534 and ``netconf``
  tcp/830 plus tcp/22: kept from the first version of this reader, not checked against a
  document this time (over-approximations; only the netconf one touches a management port).
- The ``functional-zone management`` interfaces accept management traffic by the same rules
  and forward nothing (a forward stage denies transit through them) — DISA STIG SV-223228
  (Juniper SRX): an interface placed in the functional zone management "will not
  participate in routing network traffic. It will only support device management traffic".
- Interfaces in no zone admit nothing, except the out-of-band management ports (``fxp0``,
  ``em0``, ``me0``), which security zones do not govern.

Not modelled here: whether the daemon behind a service is configured (``system services
ssh``): host-inbound admission is the filter, so this is an over-approximation of what
answers; policies ``to-zone junos-host`` (a warning in ``srx``: they can only remove access).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import replace

from segcheck.model import ranges as R
from segcheck.model.device import Interface
from segcheck.model.rules import Action, Filter, IfaceMatch, Match, Rule
from segcheck.model.source import Level, SourceSpan
from segcheck.parsers import _cisco as C
from segcheck.parsers.junos import values as V
from segcheck.parsers.junos.lexer import Statement

FILTER = "host-inbound-traffic"
FUNCTIONAL_ZONE = "functional-zone:management"
"""The vendor zone name given to the ``functional-zone management`` interfaces."""

Svcs = tuple[C.Svc, ...]


def _tcp(*ports: int | tuple[int, int]) -> Svcs:
    return _ported(6, ports)


def _udp(*ports: int | tuple[int, int]) -> Svcs:
    return _ported(17, ports)


def _ported(proto: int, ports: Iterable[int | tuple[int, int]]) -> Svcs:
    rr = R.normalize((p, p) if isinstance(p, int) else p for p in ports)
    svc = C.with_ports(C.proto_svc(proto), None, rr)
    assert svc is not None
    return (svc,)


def _ip(proto: int, family: int | None = None) -> Svcs:
    return (C.proto_svc(proto, family),)


def _icmp(family: int, *types: int) -> Svcs:
    if not types:
        return (C.icmp_svc(family, None, None),)
    return tuple(C.icmp_svc(family, t, None) for t in types)


MLD = _icmp(6, 130, 131, 132, 143)
NDP = _icmp(6, 133, 134, 135, 136, 137)

SYSTEM_SERVICES: dict[str, Svcs] = {
    "ssh": _tcp(22), "telnet": _tcp(23), "ftp": _tcp(21), "http": _tcp(80),
    "https": _tcp(443), "netconf": _tcp(830, 22), "snmp": _udp(161), "snmp-trap": _udp(162),
    "ping": _icmp(4) + _icmp(6), "traceroute": _icmp(4) + _icmp(6) + _udp((33434, 33534)),
    "dns": _udp(53) + _tcp(53), "ntp": _udp(123), "ike": _udp(500, 4500),
    "dhcp": _udp((67, 68)), "bootp": _udp((67, 68)), "dhcpv6": _udp((546, 547)),
    "tftp": _udp(69), "xnm-ssl": _tcp(3220), "xnm-clear-text": _tcp(3221),
    "finger": _tcp(79), "rlogin": _tcp(513), "rsh": _tcp(514), "ident-reset": _tcp(113),
    "lsping": _udp(3503),
}
"""``system-services`` name -> what it admits (``all``/``any-service``: see the docstring)."""

PROTOCOLS: dict[str, Svcs] = {
    "bgp": _tcp(179), "ospf": _ip(89, 4), "ospf3": _ip(89, 6), "rip": (replace(
        _udp(520)[0], family=4),), "ripng": (replace(_udp(521)[0], family=6),),
    "ldp": _tcp(646) + _udp(646), "bfd": _udp((3784, 3785), 4784), "vrrp": _ip(112),
    "igmp": _ip(2, 4), "pim": _ip(103) + _ip(2, 4) + MLD, "dvmrp": _ip(2, 4) + MLD,
    "msdp": _tcp(639), "nhrp": _ip(54), "rsvp": _ip(46), "pgm": _ip(113),
    "router-discovery": _icmp(4, 9, 10), "sap": _udp(9875), "ndp": NDP,
}
"""``protocols`` name -> what it admits; ``all`` is the union (the documented list)."""

EVERYTHING: Svcs = (C.proto_svc(6), C.proto_svc(17), *_icmp(4), *_icmp(6))


def web_ports(stmts: Iterable[Statement], ctx: V.Ctx) -> dict[str, Svcs]:
    """``system services web-management http|https port N``: the ports ``http``/``https``
    admit instead of 80/443 (a port not understood: a diagnostic, the default kept)."""
    out: dict[str, Svcs] = {}
    for st in stmts:
        w = st.words
        if w[:3] == ("system", "services", "web-management") and len(w) >= 5 \
                and w[3] in ("http", "https") and w[4] == "port" and not st.inactive:
            if len(w) == 6 and w[5].isdigit() and 0 < int(w[5]) <= 65535:
                out[w[3]] = _tcp(int(w[5]))
            else:
                ctx.diag(Level.UNSUPPORTED, f"web-management {w[3]} port not understood "
                         "(the default port is assumed)", st, "host-inbound")
    return out


def build(zones: dict[str, list[tuple[str, Statement]]],
          stmts_of: dict[tuple[str, str | None], list[Statement]],
          interfaces: Mapping[str, Interface], anchor: SourceSpan, ctx: V.Ctx,
          services: dict[str, Svcs] | None = None) -> Filter:
    """The ``host-inbound-traffic`` filter for ``zones`` (zone -> member units with their
    statement) and ``stmts_of`` ((zone, unit or None for the zone level) -> its active
    ``host-inbound-traffic`` statements). ``interfaces``: every configured unit with its
    addresses (out-of-band management ports among them are admitted wholesale).

    Which interface's configuration applies depends on the destination: the address of
    another zone interface ``U`` -> ``U``'s; the ingress interface's own address, or an
    address of no zone interface (multicast, broadcast, ``lo0`` outside the zones...) ->
    the ingress interface's."""
    table = {**SYSTEM_SERVICES, **(services or {})}
    members = [(zone, unit, zst) for zone, ms in zones.items() for unit, zst in ms]
    own = {unit: unit_addresses(interfaces, unit) for _z, unit, _s in members}
    everywhere = union(own.values())
    elsewhere = not_in(everywhere)
    all_units = IfaceMatch(names=tuple(n for _z, u, _s in members for n in unit_names(u)))
    rules: list[Rule] = []
    reported: set[int] = set()
    for zone, unit, zst in members:
        mine = stmts_of.get((zone, unit))
        stmts = mine if mine else stmts_of.get((zone, None), [])
        cond = IfaceMatch(names=unit_names(unit))
        others = (all_units, IfaceMatch(names=cond.names, negate=True))
        for r in _unit_rules(zone, unit, zst, stmts, table, ctx, reported):
            rules.extend(x for x in (
                place(r, (cond,), own[unit].union(elsewhere), ""),
                place(r, others, own[unit], f" (to {unit}'s address)"),
            ) if x is not None)
    oob = tuple(n for u in interfaces if u.partition(".")[0] in ("fxp0", "em0", "me0")
                for n in (u, u.partition(".")[0]))
    if oob:
        why = "out-of-band management port (not in a security zone)"
        rules.append(Rule(Action.PERMIT, (Match(in_iface=(IfaceMatch(names=oob),)),),
                          anchor, name=why, synthetic=True, detail=why))
    return Filter(FILTER, tuple(rules), Action.DENY, anchor,
                  notes=("per zone interface: its own host-inbound-traffic, else the zone's; "
                         "to another zone interface's address: that interface's; everything "
                         "else to the device is dropped",))


def to_device_policy(policy: Filter, zones: dict[str, list[tuple[str, Statement]]],
                     interfaces: Mapping[str, Interface], anchor: SourceSpan) -> Filter:
    """The security-policy lookup for traffic to the device: a packet entering zone ``A``
    for the address of an interface of zone ``B`` (not the ingress interface itself) needs
    a ``from-zone A to-zone B`` (or global) policy permitting it, then ``B``'s
    host-inbound-traffic. ``policy``'s rules with their ``to-zone`` conditions turned into
    destination addresses (the addresses of that zone's interfaces), its default action
    after them. Packets for the ingress interface's own address, for no zone interface's
    address, or entering by an interface in no zone (out-of-band ports) need no lookup."""
    members = [(zone, unit) for zone, ms in zones.items() for unit, _st in ms]
    own = {unit: unit_addresses(interfaces, unit) for _z, unit in members}
    of_zone = {z: union(own[u] for zz, u in members if zz == z) for z in zones}
    elsewhere = not_in(union(own.values()))
    why = "no policy lookup: the ingress interface's own address, or no zone interface's"
    free = [m for _z, unit in members for m in _restrict(
        (Match(),), (IfaceMatch(names=unit_names(unit)),), own[unit].union(elsewhere))]
    zoneless = IfaceMatch(names=tuple(n for _z, u in members for n in unit_names(u)),
                          negate=True)
    rules = [Rule(Action.PERMIT, (*free, Match(in_iface=(zoneless,))), anchor, name=why,
                  synthetic=True, detail=why)]
    for r in policy.rules:
        ms = tuple(m2 for m in r.matches for m2 in _to_zone_as_dst(m, of_zone))
        xs = tuple(m2 for m in r.excludes for m2 in _to_zone_as_dst(m, of_zone))
        if ms:
            rules.append(replace(r, matches=ms, excludes=xs))
    return Filter("security-policy to the device", tuple(rules), policy.default_action,
                  policy.default_span, notes=(
                      "to another zone interface's address: ingress zone -> that zone's "
                      "policies (then its host-inbound-traffic)",))


def _to_zone_as_dst(m: Match, of_zone: dict[str, C.Addr]) -> list[Match]:
    """``m`` with its egress zone conditions replaced by those zones' interface addresses."""
    dst = C.ANY
    for cond in m.out_iface:
        if cond.negate or cond.names:
            return []  # SRX policies test zones only
        dst = _meet(dst, union(of_zone.get(z, C.NONE) for z in cond.zones))
    return list(_restrict((replace(m, out_iface=()),), m.in_iface, dst))


def unit_names(unit: str) -> tuple[str, ...]:
    """How packets name a unit's interface: ``ge-0/0/0.0`` also as ``ge-0/0/0``."""
    return (unit, unit.partition(".")[0]) if unit.endswith(".0") else (unit,)


def unit_addresses(interfaces: Mapping[str, Interface], unit: str) -> C.Addr:
    itf = interfaces.get(unit)
    out = C.NONE
    for a in itf.addresses if itf else ():
        out = out.union(C.addr_of_network(ipaddress.ip_network(a.ip)))
    return out


def union(addrs: Iterable[C.Addr]) -> C.Addr:
    out = C.NONE
    for a in addrs:
        out = out.union(a)
    return out


def not_in(a: C.Addr) -> C.Addr:
    """Every address of each family outside ``a``."""
    def comp(r: R.Ranges | None, fam: int) -> R.Ranges:
        return () if r is None else R.complement(r, (1 << R.ADDRESS_BITS[fam]) - 1)

    return C.Addr(comp(a.v4, 4), comp(a.v6, 6))


def _meet(a: C.Addr, b: C.Addr) -> C.Addr:
    def m(x: R.Ranges | None, y: R.Ranges | None) -> R.Ranges | None:
        if x is None:
            return y
        if y is None:
            return x
        return R.intersect(x, y)

    return C.Addr(m(a.v4, b.v4), m(a.v6, b.v6))


def place(rule: Rule, ifaces: tuple[IfaceMatch, ...], dst: C.Addr, suffix: str) -> Rule | None:
    """``rule`` (pure packet boxes) for packets entering by ``ifaces`` to ``dst``."""
    ms = _restrict(rule.matches, ifaces, dst)
    if not ms:
        return None
    return replace(rule, matches=ms, excludes=_restrict(rule.excludes, ifaces, dst),
                   name=rule.name + suffix)


def _restrict(ms: Iterable[Match], ifaces: tuple[IfaceMatch, ...], dst: C.Addr
              ) -> tuple[Match, ...]:
    out: list[Match] = []
    for m in ms:
        for fam in ((m.family,) if m.family else (4, 6)):
            d = dst.family(fam)
            if d == ():
                continue
            got = m.intersect(Match(family=fam, dst=d)) if d is not None or m.family is None \
                else m
            if got is not None:
                out.append(replace(got, in_iface=ifaces))
    return tuple(out)


def _unit_rules(zone: str, unit: str, zst: Statement, stmts: list[Statement],
                table: dict[str, Svcs], ctx: V.Ctx, reported: set[int]) -> list[Rule]:
    """What ``stmts`` admit, as rules of pure packet boxes (``place`` adds where from/to)."""
    allow: dict[tuple[str, str], Statement] = {}
    excepted: set[tuple[str, str]] = set()
    for st in stmts:
        w = st.words
        i = w.index("host-inbound-traffic") + 1
        tail = w[i:]
        known = PROTOCOLS if tail[:1] == ("protocols",) else table
        if len(tail) not in (2, 3) or tail[0] not in ("system-services", "protocols") or (
                len(tail) == 3 and tail[2] != "except"):
            _once(ctx, reported, st, "host-inbound-traffic statement not understood")
            continue
        key = (tail[0], tail[1])
        if tail[1] not in known and tail[1] not in ("all", "any-service"):
            _once(ctx, reported, st, f"host-inbound {tail[0]} {tail[1]} is not modelled "
                  "(its ports are not known here)")
        elif len(tail) == 3:
            excepted.add(key)
        else:
            allow.setdefault(key, st)
    rules: list[Rule] = []
    for (cat, name), st in allow.items():
        known = PROTOCOLS if cat == "protocols" else table
        if name in ("all", "any-service"):
            svcs = tuple(s for k in sorted(known) for s in known[k]) if cat == "protocols" \
                else EVERYTHING
            xs = tuple(m for c, k in sorted(excepted) if c == cat
                       for m in _matches(known.get(k, ())))
            if cat == "system-services":
                # packets of a routing protocol are the protocols category's to admit
                xs += _matches(s for k in sorted(PROTOCOLS) for s in PROTOCOLS[k])
            rules.append(Rule(Action.PERMIT, _matches(svcs), ctx.span(st), excludes=xs,
                              name=f"{zone} {unit} host-inbound {cat} {name}"))
        elif (cat, name) not in excepted:
            rules.append(Rule(Action.PERMIT, _matches(known[name]), ctx.span(st),
                              name=f"{zone} {unit} host-inbound {cat} {name}"))
    why = "IPv6 neighbour discovery (needs no host-inbound configuration)"
    rules.append(Rule(Action.PERMIT, _matches(NDP), ctx.span(zst), name=why,
                      synthetic=True, detail=why))
    return rules


def _once(ctx: V.Ctx, reported: set[int], st: Statement, msg: str) -> None:
    """One diagnostic per statement, however many interfaces inherit it."""
    if st.line not in reported:
        reported.add(st.line)
        ctx.diag(Level.UNSUPPORTED, msg, st, "host-inbound")


def _matches(svcs: Iterable[C.Svc]) -> tuple[Match, ...]:
    return C.build_matches(C.ANY, C.ANY, list(svcs))

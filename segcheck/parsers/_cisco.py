"""Helpers shared by the Cisco IOS and ASA parsers: tokens, names, addresses, services.

Semantics tables (data, not code): Cisco port names, ICMP/ICMPv6 message names (some imply a
code), protocol keywords. An operand is turned into ``Addr`` (per-family address ranges,
``None`` meaning "any address of this family", ``()`` meaning "no address of this family")
and ``Svc`` (one protocol/port/ICMP box); ``build_matches`` forms the ``Match`` disjunction
of one ACL entry as the product of its source, destination and services.

Invariants: ``Addr`` ranges are normalized; a ``Svc`` with ICMP constraints carries the
family its ICMP protocol belongs to, so ``Match`` construction never fails on valid input.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from segcheck.model import ranges as R
from segcheck.model.packet import PORT_PROTOCOLS, protocol_number
from segcheck.model.rules import Match

PORT_NAMES: dict[str, int] = {
    "aol": 5190, "bgp": 179, "biff": 512, "bootpc": 68, "bootps": 67, "chargen": 19,
    "cifs": 3020, "citrix-ica": 1494, "cmd": 514, "ctiqbe": 2748, "daytime": 13,
    "discard": 9, "dnsix": 195, "domain": 53, "echo": 7, "exec": 512, "finger": 79,
    "ftp": 21, "ftp-data": 20, "gopher": 70, "h323": 1720, "hostname": 101, "http": 80,
    "https": 443, "ident": 113, "imap4": 143, "irc": 194, "isakmp": 500, "kerberos": 88,
    "klogin": 543, "kshell": 544, "ldap": 389, "ldaps": 636, "login": 513,
    "lotusnotes": 1352, "lpd": 515, "mobile-ip": 434, "nameserver": 42, "netbios-dgm": 138,
    "netbios-ns": 137, "netbios-ss": 139, "netbios-ssn": 139, "nfs": 2049, "nntp": 119,
    "ntp": 123, "pcanywhere-data": 5631, "pcanywhere-status": 5632, "pim-auto-rp": 496,
    "pop2": 109, "pop3": 110, "pptp": 1723, "radius": 1645, "radius-acct": 1646, "rip": 520,
    "rsh": 514, "rtsp": 554, "secureid-udp": 5510, "sip": 5060, "smtp": 25, "snmp": 161,
    "snmptrap": 162, "sqlnet": 1521, "ssh": 22, "sunrpc": 111, "syslog": 514, "tacacs": 49,
    "talk": 517, "telnet": 23, "tftp": 69, "time": 37, "uucp": 540, "vxlan": 4789,
    "who": 513, "whois": 43, "www": 80, "xdmcp": 177, "microsoft-ds": 445, "bfd": 3784,
    "bfd-echo": 3785, "lpd-printer": 515, "non500-isakmp": 4500, "rdp": 3389,
}
"""Cisco port keywords (IOS and ASA share most; ``syslog``/``cmd`` differ only by protocol)."""

ICMP4_NAMES: dict[str, tuple[int, int | None]] = {
    "echo-reply": (0, None), "unreachable": (3, None), "net-unreachable": (3, 0),
    "host-unreachable": (3, 1), "protocol-unreachable": (3, 2), "port-unreachable": (3, 3),
    "packet-too-big": (3, 4), "source-route-failed": (3, 5), "network-unknown": (3, 6),
    "host-unknown": (3, 7), "host-isolated": (3, 8), "dod-net-prohibited": (3, 9),
    "dod-host-prohibited": (3, 10), "net-tos-unreachable": (3, 11),
    "host-tos-unreachable": (3, 12), "administratively-prohibited": (3, 13),
    "host-precedence-unreachable": (3, 14), "precedence-unreachable": (3, 15),
    "source-quench": (4, None), "redirect": (5, None), "net-redirect": (5, 0),
    "host-redirect": (5, 1), "net-tos-redirect": (5, 2), "host-tos-redirect": (5, 3),
    "alternate-address": (6, None), "echo": (8, None), "router-advertisement": (9, None),
    "router-solicitation": (10, None), "time-exceeded": (11, None), "ttl-exceeded": (11, 0),
    "reassembly-timeout": (11, 1), "parameter-problem": (12, None),
    "option-missing": (12, 1), "timestamp-request": (13, None),
    "timestamp-reply": (14, None), "information-request": (15, None),
    "information-reply": (16, None), "mask-request": (17, None), "mask-reply": (18, None),
    "traceroute": (30, None), "conversion-error": (31, None), "mobile-redirect": (32, None),
}
ICMP6_NAMES: dict[str, tuple[int, int | None]] = {
    "unreachable": (1, None), "destination-unreachable": (1, None),
    "no-admin": (1, 1), "packet-too-big": (2, None), "time-exceeded": (3, None),
    "hop-limit": (3, 0), "reassembly-timeout": (3, 1), "parameter-problem": (4, None),
    "echo-request": (128, None), "echo": (128, None), "echo-reply": (129, None),
    "mld-query": (130, None), "mld-report": (131, None), "mld-reduction": (132, None),
    "router-solicitation": (133, None), "router-advertisement": (134, None),
    "nd-ns": (135, None), "neighbor-solicitation": (135, None), "nd-na": (136, None),
    "neighbor-advertisement": (136, None), "redirect": (137, None),
    "router-renumbering": (138, None), "mldv2": (143, None),
    "membership-query": (130, None), "membership-report": (131, None),
    "membership-reduction": (132, None), "neighbor-redirect": (137, None),
}

PROTOCOL_ALIASES: dict[str, int] = {
    "ahp": 51, "ipinip": 4, "icmp6": 58, "icmpv6": 58, "igrp": 9, "nos": 94, "pcp": 108,
    "snp": 109, "ipsec": 50, "pptp": 47, "nd": 58, "ipv4": 4,
}
"""Cisco protocol keywords beyond the common table (``ipsec`` = esp, ``pptp`` = gre on ASA)."""


def proto_number(word: str) -> int | None:
    w = word.lower()
    if w in PROTOCOL_ALIASES:
        return PROTOCOL_ALIASES[w]
    return protocol_number(w)


def port_number(word: str) -> int | None:
    if word.isdigit():
        n = int(word)
        return n if 0 <= n <= 65535 else None
    return PORT_NAMES.get(word.lower())


def port_op(op: str, args: list[int]) -> R.Ranges | None:
    """Cisco port operator -> ranges (None for an unknown operator)."""
    if op == "eq":
        return R.normalize((a, a) for a in args)
    if op == "neq":
        return R.complement(R.normalize((a, a) for a in args), R.PORT_MAX)
    if op == "lt":
        return R.normalize([(0, args[0] - 1)])
    if op == "gt":
        return R.normalize([(args[0] + 1, R.PORT_MAX)])
    if op == "range":
        return R.normalize([(args[0], args[1])])
    return None


PORT_OPS = {"eq": 0, "neq": 0, "lt": 1, "gt": 1, "range": 2}
"""Operator -> fixed number of ports (0: one or more, IOS ``eq 80 443``)."""


@dataclass(frozen=True, slots=True)
class Addr:
    """An address operand per family: ``None`` any, ``()`` none."""

    v4: R.Ranges | None
    v6: R.Ranges | None

    def family(self, version: int) -> R.Ranges | None:
        return self.v4 if version == 4 else self.v6

    def union(self, other: Addr) -> Addr:
        def u(a: R.Ranges | None, b: R.Ranges | None) -> R.Ranges | None:
            if a is None or b is None:
                return None
            return R.normalize(a + b)

        return Addr(u(self.v4, other.v4), u(self.v6, other.v6))


ANY = Addr(None, None)
ANY4 = Addr(None, ())
ANY6 = Addr((), None)
NONE = Addr((), ())


def addr_of_network(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Addr:
    r = (R.network_range(net),)
    return Addr(r, ()) if net.version == 4 else Addr((), r)


def addr_of_range(lo: str, hi: str) -> Addr | None:
    try:
        a, b = ipaddress.ip_address(lo), ipaddress.ip_address(hi)
    except ValueError:
        return None
    if a.version != b.version or int(a) > int(b):
        return None
    r = ((int(a), int(b)),)
    return Addr(r, ()) if a.version == 4 else Addr((), r)


def wildcard_ranges(address: str, wildcard: str, limit: int = 4096) -> R.Ranges | None:
    """The exact set of an IPv4 address/wildcard pair (any wildcard, contiguous or not).

    A wildcard whose set needs more than ``limit`` intervals returns None (the caller
    reports it). The set is ``{a | (a & ~w) == (addr & ~w)}``: the trailing run of one bits
    in ``w`` gives the interval size, each other one bit doubles the interval count.
    """
    try:
        base = int(ipaddress.IPv4Address(address))
        w = int(ipaddress.IPv4Address(wildcard))
    except ValueError:
        return None
    base &= ~w & 0xFFFFFFFF
    low = 0
    while low < 32 and (w >> low) & 1:
        low += 1
    high_bits = [b for b in range(low, 32) if (w >> b) & 1]
    if (1 << len(high_bits)) > limit:
        return None
    size = 1 << low
    out = []
    for k in range(1 << len(high_bits)):
        start = base
        for j, b in enumerate(high_bits):
            if (k >> j) & 1:
                start |= 1 << b
        out.append((start, start + size - 1))
    return R.normalize(out)


def netmask_network(address: str, mask: str) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(f"{address}/{mask}", strict=False)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Svc:
    """One protocol box of an ACL entry; ``family`` set when only one family applies."""

    protocols: R.Ranges | None = None
    sports: R.Ranges | None = None
    dports: R.Ranges | None = None
    icmp_types: R.Ranges | None = None
    icmp_codes: R.Ranges | None = None
    family: int | None = None
    states: frozenset[str] | None = None


ANY_SVC = Svc()


def proto_svc(proto: int | None, family: int | None = None) -> Svc:
    if proto is None:
        return Svc(family=family)
    return Svc(protocols=R.single(proto), family=family)


def with_ports(svc: Svc, sports: R.Ranges | None, dports: R.Ranges | None) -> Svc | None:
    """``svc`` restricted to ports (None when its protocols carry no ports)."""
    if sports is None and dports is None:
        return svc
    if svc.protocols is None or any(
        p not in PORT_PROTOCOLS for lo, hi in svc.protocols for p in range(lo, hi + 1)
    ):
        return None
    return Svc(svc.protocols, sports, dports, None, None, svc.family, svc.states)


def protos_with_ports(protos: list[int], sports: R.Ranges | None,
                      dports: R.Ranges | None) -> list[Svc] | None:
    """One service per protocol of ``protos`` with the ports (None when one carries none)."""
    out = []
    for p in protos:
        s = with_ports(proto_svc(p), sports, dports)
        if s is None:
            return None
        out.append(s)
    return out


def icmp_svc(version: int, itype: int | None, icode: int | None) -> Svc:
    proto = 1 if version == 4 else 58
    return Svc(
        protocols=R.single(proto),
        icmp_types=None if itype is None else R.single(itype),
        icmp_codes=None if icode is None else R.single(icode),
        family=version,
    )


def build_matches(src: Addr, dst: Addr, svcs: list[Svc] | tuple[Svc, ...]) -> tuple[Match, ...]:
    """The disjunction of boxes ``src x dst x svc`` for each family that has addresses."""
    out: list[Match] = []
    for fam in (4, 6):
        s, d = src.family(fam), dst.family(fam)
        if s == () or d == ():
            continue
        for svc in svcs:
            if svc.family not in (None, fam):
                continue
            m = Match(
                family=fam, src=s, dst=d, protocols=svc.protocols, sports=svc.sports,
                dports=svc.dports, icmp_types=svc.icmp_types, icmp_codes=svc.icmp_codes,
                states=svc.states,
            )
            if not m.is_empty:
                out.append(m)
    return tuple(out)


def strip_comment(line: str) -> str:
    """Drop a trailing ``!`` comment (IOS/ASA allow them after commands in pasted configs)."""
    idx = line.find(" !")
    return line[:idx].rstrip() if idx >= 0 else line.rstrip()


def command_in(words: list[str], table: frozenset[str]) -> bool:
    """Whether the command ``words`` (a leading ``no`` ignored) starts with an entry of
    ``table`` (entries of one to three words, e.g. ``"logging"``, ``"ip route"``)."""
    if words[:1] == ["no"]:
        words = words[1:]
    return any(" ".join(words[:k]) in table for k in (1, 2, 3) if k <= len(words))


BANNER_MAX_LINES = 2000
"""A banner longer than this is taken as never closed (bounds the work on damaged input)."""


def banner_bodies(text: str) -> set[int]:
    """1-based numbers of the lines inside IOS delimited banners (``banner motd ^C`` ...
    ``^C``), which are free text and must not be read as commands. The head line itself is
    not included. The delimiter is ``^C`` when written that way, else the first character
    after the banner type. A banner closed on its own head line has no body; one never closed
    has none either (its lines stay commands, so a wrong guess hides nothing)."""
    out: set[int] = set()
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        w = lines[i].split(None, 2)
        i += 1
        if len(w) < 3 or w[0] != "banner":
            continue
        rest = w[2]
        delim = "^C" if rest.startswith("^C") else rest[0]
        if delim in rest[len(delim):]:
            continue
        end = next((j for j in range(i, min(len(lines), i + BANNER_MAX_LINES))
                    if delim in lines[j]), None)
        if end is None:  # never closed: not a delimited banner, read its lines as commands
            continue
        out.update(range(i + 1, end + 2))
        i = end + 1
    return out

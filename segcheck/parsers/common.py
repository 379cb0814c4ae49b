"""Small, stable helpers shared by vendor parsers: addresses, ports, ICMP names, DNF products.

Everything here is pure and raises ``ValueError`` with a short message on bad input; the
calling parser turns that into a ``Diagnostic`` (or a ``ConfigParseError``) with its line.

Semantics fixed here (parsers rely on them):

- ``address_ranges`` accepts ``a.b.c.d``, ``a.b.c.d/len``, ``a.b.c.d/255.255.0.0`` (contiguous
  masks only) and ranges ``a-b``; host bits under the mask are ignored, as iptables and nft do.
- ``port_ranges`` accepts ``80``, ``80:90``/``80-90``, ``:90`` (0-90), ``80:`` (80-65535) and the
  service names of ``SERVICES``.
- ICMP names follow iptables' ``libxt_icmp``/``libip6t_icmp6`` tables: a name stands for a type
  and a code range (``echo-request`` = type 8, any code; ``port-unreachable`` = 3/3).
- ``conjoin`` is the product of disjunctions of ``Match``es (empty conjunctions dropped).
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from segcheck.model import ranges as R
from segcheck.model.rules import Match, Rule

SERVICES: dict[str, int] = {
    "ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "dns": 53,
    "bootps": 67, "bootpc": 68, "tftp": 69, "http": 80, "www": 80, "kerberos": 88,
    "pop3": 110, "sunrpc": 111, "ntp": 123, "netbios-ns": 137, "netbios-dgm": 138,
    "netbios-ssn": 139, "imap": 143, "imap2": 143, "snmp": 161, "snmp-trap": 162,
    "bgp": 179, "ldap": 389, "https": 443, "microsoft-ds": 445, "isakmp": 500, "syslog": 514,
    "submission": 587, "ldaps": 636, "imaps": 993, "pop3s": 995, "openvpn": 1194,
    "ms-sql-s": 1433, "radius": 1812, "nfs": 2049, "mysql": 3306, "ms-wbt-server": 3389,
    "rdp": 3389, "sip": 5060, "postgresql": 5432, "x11": 6000, "http-alt": 8080,
    "modbus": 502, "mbap": 502, "dnp": 20000, "iec-104": 2404, "bacnet": 47808,
    "enip": 44818, "opcua": 4840, "s7comm": 102, "iso-tsap": 102,
}
"""Service names accepted in port positions (a subset of /etc/services plus ICS ports)."""

ICMP_NAMES: dict[str, tuple[int, int, int]] = {
    "echo-reply": (0, 0, 255), "pong": (0, 0, 255),
    "destination-unreachable": (3, 0, 255), "network-unreachable": (3, 0, 0),
    "host-unreachable": (3, 1, 1), "protocol-unreachable": (3, 2, 2),
    "port-unreachable": (3, 3, 3), "fragmentation-needed": (3, 4, 4),
    "source-route-failed": (3, 5, 5), "network-unknown": (3, 6, 6), "host-unknown": (3, 7, 7),
    "network-prohibited": (3, 9, 9), "host-prohibited": (3, 10, 10),
    "tos-network-unreachable": (3, 11, 11), "tos-host-unreachable": (3, 12, 12),
    "communication-prohibited": (3, 13, 13), "host-precedence-violation": (3, 14, 14),
    "precedence-cutoff": (3, 15, 15), "source-quench": (4, 0, 255), "redirect": (5, 0, 255),
    "network-redirect": (5, 0, 0), "host-redirect": (5, 1, 1),
    "tos-network-redirect": (5, 2, 2), "tos-host-redirect": (5, 3, 3),
    "echo-request": (8, 0, 255), "ping": (8, 0, 255), "router-advertisement": (9, 0, 255),
    "router-solicitation": (10, 0, 255), "time-exceeded": (11, 0, 255),
    "ttl-exceeded": (11, 0, 255), "ttl-zero-during-transit": (11, 0, 0),
    "ttl-zero-during-reassembly": (11, 1, 1), "parameter-problem": (12, 0, 255),
    "ip-header-bad": (12, 0, 0), "required-option-missing": (12, 1, 1),
    "timestamp-request": (13, 0, 255), "timestamp-reply": (14, 0, 255),
    "info-request": (15, 0, 255), "info-reply": (16, 0, 255),
    "address-mask-request": (17, 0, 255), "address-mask-reply": (18, 0, 255),
}
"""ICMP (IPv4) names -> (type, min code, max code)."""

ICMPV6_NAMES: dict[str, tuple[int, int, int]] = {
    "destination-unreachable": (1, 0, 255), "no-route": (1, 0, 0),
    "communication-prohibited": (1, 1, 1), "beyond-scope": (1, 2, 2),
    "address-unreachable": (1, 3, 3), "port-unreachable": (1, 4, 4),
    "failed-policy": (1, 5, 5), "reject-route": (1, 6, 6), "packet-too-big": (2, 0, 255),
    "time-exceeded": (3, 0, 255), "ttl-exceeded": (3, 0, 255),
    "ttl-zero-during-transit": (3, 0, 0), "ttl-zero-during-reassembly": (3, 1, 1),
    "parameter-problem": (4, 0, 255), "bad-header": (4, 0, 0),
    "unknown-header-type": (4, 1, 1), "unknown-option": (4, 2, 2),
    "echo-request": (128, 0, 255), "ping": (128, 0, 255), "echo-reply": (129, 0, 255),
    "pong": (129, 0, 255), "mld-listener-query": (130, 0, 255),
    "mld-listener-report": (131, 0, 255), "mld-listener-done": (132, 0, 255),
    "mld-listener-reduction": (132, 0, 255), "nd-router-solicit": (133, 0, 255),
    "router-solicitation": (133, 0, 255), "nd-router-advert": (134, 0, 255),
    "router-advertisement": (134, 0, 255), "nd-neighbor-solicit": (135, 0, 255),
    "neighbour-solicitation": (135, 0, 255), "neighbor-solicitation": (135, 0, 255),
    "nd-neighbor-advert": (136, 0, 255), "neighbour-advertisement": (136, 0, 255),
    "neighbor-advertisement": (136, 0, 255), "redirect": (137, 0, 255),
    "nd-redirect": (137, 0, 255), "router-renumbering": (138, 0, 255),
    "ind-neighbor-solicit": (141, 0, 255), "ind-neighbor-advert": (142, 0, 255),
    "mld2-listener-report": (143, 0, 255),
}
"""ICMPv6 names -> (type, min code, max code)."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def address_family(text: str) -> int:
    """4 or 6, judged by the text of an address/prefix/range."""
    return 6 if ":" in text else 4


def network(text: str) -> Network:
    """A prefix with host bits cleared; dotted masks must be contiguous."""
    t = text.strip()
    if "/" in t:
        addr, mask = t.split("/", 1)
        if "." in mask and ":" not in addr:
            bits = int(ipaddress.IPv4Address(mask))
            inv = (~bits) & 0xFFFFFFFF
            if inv & (inv + 1):
                raise ValueError(f"non-contiguous netmask {mask!r} is not supported")
            t = f"{addr}/{32 - inv.bit_length()}"
    try:
        return ipaddress.ip_network(t, strict=False)
    except ValueError as exc:
        raise ValueError(f"bad address {text!r}") from exc


_OCTET = r"(0|[1-9][0-9]{0,2})"
_V4_PREFIX = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}(?:/(0|[1-9][0-9]?))?")
"""Canonical dotted IPv4 with an optional length: no leading zeros (bounds checked after)."""


def _v4_prefix(t: str) -> tuple[int, int] | None:
    """Fast path of ``address_ranges`` for a canonical dotted IPv4 address or ``a.b.c.d/len``
    (no leading zeros, octets <= 255, len <= 32): its (first, last) address. ``None`` for
    anything else, which then takes the general (``ipaddress``) path — so results and errors
    are exactly the general path's."""
    m = _V4_PREFIX.fullmatch(t)
    if m is None:
        return None
    a_s, b_s, c_s, d_s, plen_s = m.groups()
    a, b, c, d = int(a_s), int(b_s), int(c_s), int(d_s)
    if a > 255 or b > 255 or c > 255 or d > 255:
        return None
    value = (a << 24) | (b << 16) | (c << 8) | d
    if plen_s is None:
        return value, value
    plen = int(plen_s)
    if plen > 32:
        return None
    host = (1 << (32 - plen)) - 1
    lo = value & ~host
    return lo, lo | host


@functools.lru_cache(maxsize=1 << 16)
def address_ranges(text: str, family: int) -> R.Ranges:
    """One address, prefix or ``a-b`` range of ``family`` as normalized ranges (cached:
    configurations repeat their addresses; the result is immutable)."""
    t = text.strip()
    if family == 4:
        fast = _v4_prefix(t)
        if fast is not None:
            return (fast,)
    if "-" in t and "/" not in t:
        lo_s, hi_s = t.split("-", 1)
        try:
            lo, hi = ipaddress.ip_address(lo_s.strip()), ipaddress.ip_address(hi_s.strip())
        except ValueError as exc:
            raise ValueError(f"bad address range {text!r}") from exc
        if lo.version != family or hi.version != family:
            raise ValueError(f"address range {text!r} is not IPv{family}")
        if int(lo) > int(hi):
            raise ValueError(f"empty address range {text!r}")
        return R.single(int(lo), int(hi))
    net = network(t)
    if net.version != family:
        raise ValueError(f"address {text!r} is not IPv{family}")
    return (R.network_range(net),)


def port_number(text: str) -> int:
    t = text.strip().lower()
    if t.isdigit():
        n = int(t)
        if n > R.PORT_MAX:
            raise ValueError(f"port {text!r} out of range")
        return n
    if t in SERVICES:
        return SERVICES[t]
    raise ValueError(f"unknown port or service {text!r}")


def port_ranges(text: str, sep: str = ":") -> R.Ranges:
    """``80``, ``80:90``, ``:90``, ``80:`` (``sep`` is ``:`` for iptables, ``-`` for nft)."""
    t = text.strip()
    if sep in t:
        lo_s, hi_s = t.split(sep, 1)
        lo = port_number(lo_s) if lo_s.strip() else 0
        hi = port_number(hi_s) if hi_s.strip() else R.PORT_MAX
        if lo > hi:
            raise ValueError(f"empty port range {text!r}")
        return R.single(lo, hi)
    return R.single(port_number(t))


def icmp_type_code(text: str, version: int) -> tuple[int, int, int] | None:
    """``8``, ``3/1``, or a name -> (type, min code, max code); ``None`` for ``any``."""
    t = text.strip().lower()
    if t == "any":
        return None
    names = ICMP_NAMES if version == 4 else ICMPV6_NAMES
    if t in names:
        return names[t]
    if "/" in t:
        ty, code = t.split("/", 1)
        if ty.isdigit() and code.isdigit() and int(ty) <= 255 and int(code) <= 255:
            return int(ty), int(code), int(code)
    elif t.isdigit() and int(t) <= 255:
        return int(t), 0, 255
    raise ValueError(f"unknown ICMP{'v6' if version == 6 else ''} type {text!r}")


def conjoin(parts: Sequence[Sequence[Match]]) -> tuple[Match, ...]:
    """The conjunction of disjunctions: every combination intersected, empty ones dropped.

    ``parts == []`` is the empty conjunction, i.e. ``(Match(),)`` (any packet)."""
    out: list[Match] = [Match()]
    for alternatives in parts:
        nxt: list[Match] = []
        for a, b in itertools.product(out, alternatives):
            m = a.intersect(b)
            if m is not None:
                nxt.append(m)
        out = nxt
        if not out:
            break
    return tuple(dict.fromkeys(out))


def complement_ranges(ranges: Iterable[tuple[int, int]], maximum: int) -> R.Ranges:
    return R.complement(R.normalize(ranges), maximum)


def addr_match(family: int, side: str, ranges: R.Ranges) -> Match:
    """A match on the source (``side == "src"``) or destination addresses."""
    if side == "src":
        return Match(family=family, src=ranges)
    return Match(family=family, dst=ranges)


def port_match(protocols: R.Ranges, side: str, ranges: R.Ranges) -> Match:
    """A match on source (``side == "src"``) or destination ports of ``protocols``."""
    if side == "src":
        return Match(protocols=protocols, sports=ranges)
    return Match(protocols=protocols, dports=ranges)


def before_conntrack(m: Match) -> Match | None:
    """``m`` as seen by a hook that runs before conntrack (iptables raw table, nft priority
    below -200): the kernel sees every packet there as INVALID (checked against the kernel),
    so a state condition holds for all packets or for none."""
    if m.states is None:
        return m
    if "invalid" in m.states:
        return replace(m, states=None)
    return None


def rules_before_conntrack(rules: Sequence[Rule]) -> tuple[Rule, ...]:
    """``before_conntrack`` applied to every match and exclude (rules left empty are kept:
    they match nothing but still carry their line)."""
    out = []
    for r in rules:
        ms = tuple(x for m in r.matches if (x := before_conntrack(m)) is not None)
        xs = tuple(x for m in r.excludes if (x := before_conntrack(m)) is not None)
        out.append(replace(r, matches=ms, excludes=xs))
    return tuple(out)
